//! `buildstatus import-buildbot`: copies the history of a Buildbot 4 database into our store,
//! through the hub like any master's events, so every rule (build numbers only grow, a batch
//! is all or nothing) holds for imported history too.
//!
//! Resumable and safe to re-run: each batch of builds is one transaction, and a build here
//! with its number was imported before, as is a change whose number is here with the same
//! author and revision. A build not here but numbered at or below its builder's newest here
//! never can be (build numbers only grow), nor can the builds after one that is still
//! running or cannot be read, until it can. The summary says what was imported and what was
//! skipped, and why.

use std::fmt::Write as _;

use indicatif::{ProgressBar, ProgressStyle};

use crate::adapters::buildbot::db::{BuildRow, BuildbotDb, BuildbotError, ImportedBuild};
use crate::domain::event::StatusEvent;
use std::collections::{BTreeMap, HashSet};

use crate::domain::model::{Buildset, Change};
use crate::ports::{ChangeQuery, SinkError, StatusReader, StatusSink};

/// Builds recorded per transaction, at most.
const BUILDS_PER_BATCH: usize = 200;
/// Log bytes (as stored by Buildbot) read per batch, at most (a batch has at least one build).
const BATCH_LOG_BYTES: u64 = 8 << 20;
/// Log text (decompressed) per batch: a batch ends after the build that passes this. Stored
/// bytes do not bound the text (a damaged or hostile chunk can expand a thousandfold or
/// more); this does, with each build's text bounded by `buildbot_db::MAX_BUILD_TEXT`. A
/// batch's logs are held in memory until it is recorded, and up to four batches are at once
/// (two waiting, one being read, one being recorded).
const BATCH_TEXT_BYTES: u64 = 64 << 20;
/// Changes recorded per transaction.
const CHANGES_PER_BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub schema: String,
    pub builders_added: usize,
    pub builders_known: usize,
    pub changes_imported: usize,
    pub changes_known: usize,
    /// Changes not imported, and why.
    pub changes_skipped: Vec<String>,
    pub builds_imported: usize,
    pub steps_imported: usize,
    pub logs_imported: usize,
    /// Builds imported by an earlier run.
    pub builds_known: usize,
    /// Builds not imported, and why.
    pub builds_skipped: Vec<String>,
    /// Logs imported with a part that could not be read, and why.
    pub damaged_logs: Vec<String>,
    pub workers_added: usize,
    pub workers_known: usize,
    /// Build requests waiting for a worker, queued here too.
    pub requests_queued: usize,
    pub requests_known: usize,
    /// Requests claimed by builds still running in Buildbot (not imported).
    pub requests_claimed: u64,
    /// Requests queued here by an earlier import that no longer wait in Buildbot (built,
    /// cancelled or claimed there since), taken off the queue here.
    pub requests_gone: usize,
    /// Requests not queued, and why.
    pub requests_skipped: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "imported from a Buildbot database (schema {}):", self.schema)?;
        writeln!(f, "  builders: {} added, {} already known", self.builders_added, self.builders_known)?;
        writeln!(f, "  changes:  {} imported, {} imported before", self.changes_imported, self.changes_known)?;
        writeln!(
            f,
            "  builds:   {} imported ({} steps, {} logs), {} imported before",
            self.builds_imported, self.steps_imported, self.logs_imported, self.builds_known
        )?;
        let mut skipped = String::new();
        let lists =
            [("change ", &self.changes_skipped), ("build ", &self.builds_skipped), ("", &self.requests_skipped)];
        for (what, list) in lists {
            for why in list {
                let _ = writeln!(skipped, "    {what}{why}");
            }
        }
        if !skipped.is_empty() {
            let count = self.changes_skipped.len() + self.builds_skipped.len() + self.requests_skipped.len();
            writeln!(f, "  skipped ({count}):")?;
            f.write_str(&skipped)?;
        }
        if !self.damaged_logs.is_empty() {
            writeln!(f, "  logs imported with unreadable parts (marked in the log) ({}):", self.damaged_logs.len())?;
            for why in &self.damaged_logs {
                writeln!(f, "    {why}")?;
            }
        }
        writeln!(
            f,
            "  workers:  {} added, {} already known (connected or not: buildstatus learns that when they connect)",
            self.workers_added, self.workers_known
        )?;
        writeln!(
            f,
            "  build requests waiting for a worker: {} queued, {} already queued; {} claimed by builds still running",
            self.requests_queued, self.requests_known, self.requests_claimed
        )?;
        if self.requests_gone > 0 {
            // Built, cancelled or claimed there since an earlier import queued them.
            let gone = self.requests_gone;
            writeln!(f, "  build requests no longer waiting in Buildbot: {gone} taken off the queue here")?;
        }
        Ok(())
    }
}

/// Why an import stopped. What was recorded before stays; a re-run goes on from there.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Buildbot(#[source] BuildbotError),
    #[error("{0} (what was imported before is kept: run the import again to go on)")]
    Store(String),
}

impl From<BuildbotError> for ImportError {
    fn from(e: BuildbotError) -> Self {
        Self::Buildbot(e)
    }
}

fn store(e: impl std::fmt::Display) -> ImportError {
    ImportError::Store(e.to_string())
}

/// Imports everything `db` holds that is not here yet.
pub async fn import(
    db: &BuildbotDb,
    sink: &dyn StatusSink,
    reader: &dyn StatusReader,
    progress: bool,
) -> Result<Summary, ImportError> {
    let mut summary = Summary { schema: db.schema.clone(), ..Summary::default() };
    let known = reader.builders().await.map_err(store)?;
    let mut added = Vec::new();
    for builder in db.builders().await? {
        if known.contains(&builder) {
            summary.builders_known += 1;
        } else {
            added.push(StatusEvent::BuilderAdded { builder });
        }
    }
    summary.builders_added = added.len();
    sink.record_history(added).await.map_err(store)?;

    let mut fresh = Vec::new();
    let (theirs, unreadable) = db.changes().await?;
    summary.changes_skipped = unreadable;
    let first = theirs.iter().map(|c| c.number).min().unwrap_or(0);
    let last = theirs.iter().map(|c| c.number).max().unwrap_or(0);
    let mut ours = changes_here(reader, first, last).await?;
    for change in theirs {
        match ours.remove(&change.number) {
            Some(here) if here.who == change.who && here.revision == change.revision => summary.changes_known += 1,
            Some(here) => summary.changes_skipped.push(format!(
                "{}: buildstatus has another change {} (by {}), from another source",
                change.number, here.number, here.who
            )),
            None => fresh.push(StatusEvent::ChangeAdded { change }),
        }
    }
    for batch in fresh.chunks(CHANGES_PER_BATCH) {
        summary.changes_imported += record(sink, batch.to_vec(), &mut summary.changes_skipped).await?;
    }

    let list = db.builds().await?;
    let bar = if progress { ProgressBar::new(list.rows.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} builds {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Reading the next batch from Buildbot overlaps with recording the last one.
    let (batches, mut received) = tokio::sync::mpsc::channel::<Batch>(2);
    let reading = async {
        let mut read = Summary { builds_skipped: list.unreadable.clone(), ..Summary::default() };
        let mut builder: Option<&str> = None;
        let mut here = Here::default();
        // A builder's first build still running, or that cannot be read, and why: the builds
        // after it wait (numbers only grow here, so it could not be added once a newer one is).
        let mut held: Option<(u32, &str)> = None;
        // Finished builds of one builder still to read, in number order, and their log bytes.
        let (mut run, mut bytes): (Vec<BuildRow>, u64) = (Vec::new(), 0);
        for row in &list.rows {
            bar.inc(1);
            if builder != Some(row.builder.as_str()) {
                if send(db, &batches, &mut run, &mut read).await? == Sent::Closed {
                    break;
                }
                (bytes, held) = (0, None);
                bar.set_message(row.builder.clone());
                here = Here::read(reader, &row.builder, row.number).await?;
                builder = Some(&row.builder);
            }
            if let Some(newest) = here.newest.filter(|n| row.number <= *n) {
                if here.numbers.contains(&row.number) {
                    read.builds_known += 1;
                } else {
                    read.builds_skipped.push(format!(
                        "{}: builds up to #{newest} came here from elsewhere first; numbers only grow",
                        label(row)
                    ));
                }
                continue;
            }
            if let Some((first, why)) = held {
                read.builds_skipped.push(format!("{}: waits for #{first}, {why}", label(row)));
                continue;
            }
            // Before a running build, the builds before it are read: one of them that cannot
            // be read holds the running one back too.
            let full = run.len() >= BUILDS_PER_BATCH || bytes + row.log_bytes > BATCH_LOG_BYTES;
            if !run.is_empty() && (full || !row.finished) {
                match send(db, &batches, &mut run, &mut read).await? {
                    Sent::Closed => break,
                    Sent::Held(first) => {
                        read.builds_skipped.push(format!("{}: waits for #{first}, {UNREADABLE}", label(row)));
                        held = Some((first, UNREADABLE));
                        continue;
                    }
                    Sent::Done => bytes = 0,
                }
            }
            if !row.finished {
                read.builds_skipped.push(format!("{}: {RUNNING}", label(row)));
                held = Some((row.number, RUNNING));
                continue;
            }
            bytes += row.log_bytes;
            run.push(row.clone());
        }
        send(db, &batches, &mut run, &mut read).await?;
        drop(batches);
        Ok::<_, ImportError>(read)
    };
    let recording = async {
        let mut written = Summary::default();
        while let Some(batch) = received.recv().await {
            if let Err(e) = flush(db, sink, batch, &mut written).await {
                // Reading stops at its next batch.
                received.close();
                return Err(e);
            }
        }
        Ok::<_, ImportError>(written)
    };
    let (read, written) = tokio::join!(reading, recording);
    // When recording failed, reading stopped for it: recording's error is the cause.
    let written = written?;
    let read = read?;
    bar.finish_and_clear();
    summary.builds_known = read.builds_known;
    summary.builds_skipped = read.builds_skipped;
    summary.builds_skipped.extend(written.builds_skipped);
    summary.damaged_logs = read.damaged_logs;
    summary.builds_imported = written.builds_imported;
    summary.steps_imported = written.steps_imported;
    summary.logs_imported = written.logs_imported;
    queue(db, sink, reader, &mut summary).await?;
    Ok(summary)
}

/// Imports the workers and what waits for them: buildsets not complete, and the requests no
/// build has claimed. Workers are described again on every run (the newest description wins);
/// a request already here (by Buildbot's id) is left as it is, and one here that Buildbot no
/// longer has waiting is taken off the queue (as cancelled: the only event for a request
/// leaving the queue without a build here). Each buildset goes in with its
/// requests, or is skipped (and said why) when the status refuses it.
async fn queue(
    db: &BuildbotDb,
    sink: &dyn StatusSink,
    reader: &dyn StatusReader,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let known: HashSet<String> = reader.workers().await.map_err(store)?.into_iter().map(|w| w.name).collect();
    let workers = db.workers().await?;
    summary.workers_known = workers.iter().filter(|w| known.contains(&w.name)).count();
    summary.workers_added = workers.len() - summary.workers_known;
    sink.record_history(workers.into_iter().map(|worker| StatusEvent::WorkerAdded { worker }).collect())
        .await
        .map_err(store)?;

    let pending = db.pending().await?;
    summary.requests_claimed = pending.claimed;
    summary.requests_skipped.extend(pending.unreadable);
    let ours = reader.pending_requests(None).await.map_err(store)?;
    // Requests an earlier import queued that Buildbot has since built, cancelled or given to
    // a build: they leave the queue here too (those of another source are left alone).
    let waiting: HashSet<u64> = pending.requests.iter().map(|r| r.id).collect();
    let stale: Vec<u64> = ours.iter().map(|r| r.id).filter(|id| !waiting.contains(id)).collect();
    let gone: Vec<StatusEvent> = db
        .requests_gone(&stale)
        .await?
        .into_iter()
        .filter(|(id, builder)| ours.iter().any(|r| r.id == *id && r.builder == *builder))
        .map(|(request_id, builder)| StatusEvent::BuildRequestCancelled { builder, request_id })
        .collect();
    summary.requests_gone = gone.len();
    sink.record_history(gone).await.map_err(store)?;
    let queued: HashSet<u64> = ours.iter().map(|r| r.id).collect();
    let (fresh, here): (Vec<_>, Vec<_>) = pending.requests.into_iter().partition(|r| !queued.contains(&r.id));
    summary.requests_known = here.len();
    let mut of_set: BTreeMap<Option<u64>, Vec<StatusEvent>> = BTreeMap::new();
    for request in fresh {
        of_set.entry(request.buildset_id).or_default().push(StatusEvent::BuildRequestSubmitted { request });
    }
    let mut sets: BTreeMap<u64, Buildset> = pending.buildsets.into_iter().map(|s| (s.id, s)).collect();
    for (set, requests) in of_set {
        let count = requests.len();
        let buildset = set.and_then(|id| sets.remove(&id)).map(|buildset| StatusEvent::BuildsetSubmitted { buildset });
        match sink.record_history(buildset.into_iter().chain(requests).collect()).await {
            Ok(()) => summary.requests_queued += count,
            Err(SinkError::Rejected(e)) => {
                let set = set.map_or_else(|| "without a buildset".to_owned(), |id| format!("of buildset {id}"));
                summary.requests_skipped.push(format!("{count} request(s) {set}: {e}"));
            }
            Err(e) => return Err(store(e)),
        }
    }
    Ok(())
}

/// Our changes numbered `first` to `last`, read newest first a page at a time (one query for
/// an empty store, not one per change).
async fn changes_here(reader: &dyn StatusReader, first: u64, last: u64) -> Result<BTreeMap<u64, Change>, ImportError> {
    const PAGE: usize = 500;
    let mut here = BTreeMap::new();
    let mut before = last.saturating_add(1);
    loop {
        let query = ChangeQuery { before: Some(before), limit: PAGE, ..ChangeQuery::default() };
        let page = reader.changes(&query).await.map_err(store)?;
        let full = page.len() == PAGE;
        for change in page {
            if change.number < first {
                return Ok(here);
            }
            before = before.min(change.number);
            here.insert(change.number, change);
        }
        if !full {
            return Ok(here);
        }
    }
}

fn label(row: &BuildRow) -> String {
    format!("{} #{}", row.builder, row.number)
}

/// Builds read, with the rows they were read from.
type Batch = (Vec<BuildRow>, Vec<ImportedBuild>);

/// Why builds wait for an earlier one.
const RUNNING: &str = "still running in Buildbot";
const UNREADABLE: &str = "which cannot be read";

/// What is here of a builder's builds: its newest number, and which of the numbers from the
/// first Buildbot has up to that one are here (read once per builder, numbers only).
#[derive(Default)]
struct Here {
    newest: Option<u32>,
    numbers: HashSet<u32>,
}

impl Here {
    async fn read(reader: &dyn StatusReader, builder: &str, first: u32) -> Result<Self, ImportError> {
        let newest = reader.newest_build_number(builder).await.map_err(store)?;
        let numbers = match newest.filter(|n| *n >= first) {
            // The highest `newest - first + 1` numbers hold every one from `first` up.
            Some(n) => reader.build_numbers(builder, (n - first) as usize + 1).await.map_err(store)?,
            None => Vec::new(),
        };
        Ok(Self { newest, numbers: numbers.into_iter().collect() })
    }
}

/// What became of a run handed on to be recorded.
#[derive(Debug, PartialEq)]
enum Sent {
    Done,
    /// Recording has stopped.
    Closed,
    /// Handed on up to this build, which cannot be read: it and the rest of the run were
    /// skipped (and said why).
    Held(u32),
}

/// Reads `run` (one builder's builds, in number order) and hands it on to be recorded, in
/// batches that end after the build whose log text passes [`BATCH_TEXT_BYTES`].
async fn send(
    db: &BuildbotDb,
    batches: &tokio::sync::mpsc::Sender<Batch>,
    run: &mut Vec<BuildRow>,
    summary: &mut Summary,
) -> Result<Sent, ImportError> {
    while !run.is_empty() {
        let mut read = db.read_builds(run, BATCH_TEXT_BYTES).await?;
        let rows: Vec<BuildRow> = run.drain(..read.builds.len()).collect();
        for build in &mut read.builds {
            summary.damaged_logs.append(&mut build.damaged_logs);
        }
        if !rows.is_empty() && batches.send((rows, read.builds)).await.is_err() {
            return Ok(Sent::Closed);
        }
        if let Some(why) = read.unreadable {
            let rows = std::mem::take(run);
            let Some((bad, after)) = rows.split_first() else { break };
            summary.builds_skipped.push(format!("{}: cannot be read ({why})", label(bad)));
            for row in after {
                summary.builds_skipped.push(format!("{}: waits for #{}, {UNREADABLE}", label(row), bad.number));
            }
            return Ok(Sent::Held(bad.number));
        }
    }
    Ok(if batches.is_closed() { Sent::Closed } else { Sent::Done })
}

/// Records a batch of builds in one transaction; when the status refuses it, one by one, so
/// that only the refused builds are skipped (and said why).
async fn flush(
    db: &BuildbotDb,
    sink: &dyn StatusSink,
    (rows, builds): Batch,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let mut recorded = |(steps, logs): (usize, usize)| {
        summary.builds_imported += 1;
        summary.steps_imported += steps;
        summary.logs_imported += logs;
    };
    let counts: Vec<(usize, usize)> = builds.iter().map(|b| (b.steps, b.logs)).collect();
    match sink.record_history(builds.into_iter().flat_map(|b| b.events).collect()).await {
        Ok(()) => counts.into_iter().for_each(&mut recorded),
        Err(SinkError::Rejected(_)) => {
            // Seldom: the builds are read again (the batch was moved into the hub).
            let again = db.read_builds(&rows, u64::MAX).await?;
            if let (Some(why), Some(bad)) = (&again.unreadable, rows.get(again.builds.len())) {
                let not_read = rows.iter().filter(|r| r.number >= bad.number);
                let why = format!("#{} cannot be read again ({why})", bad.number);
                summary.builds_skipped.extend(not_read.map(|r| format!("{}: {why}", label(r))));
            }
            for (row, build) in rows.iter().zip(again.builds) {
                match sink.record_history(build.events).await {
                    Ok(()) => recorded((build.steps, build.logs)),
                    Err(SinkError::Rejected(e)) => summary.builds_skipped.push(format!("{}: {e}", label(row))),
                    Err(e) => return Err(store(e)),
                }
            }
        }
        Err(e) => return Err(store(e)),
    }
    Ok(())
}

/// Records changes in one transaction, or one by one when the status refuses the batch.
async fn record(
    sink: &dyn StatusSink,
    events: Vec<StatusEvent>,
    skipped: &mut Vec<String>,
) -> Result<usize, ImportError> {
    let n = events.len();
    match sink.record_history(events.clone()).await {
        Ok(_) => Ok(n),
        Err(SinkError::Rejected(_)) => {
            let mut done = 0;
            for event in events {
                let number = match &event {
                    StatusEvent::ChangeAdded { change } => change.number,
                    _ => 0,
                };
                match sink.record_history(vec![event]).await {
                    Ok(_) => done += 1,
                    Err(SinkError::Rejected(e)) => skipped.push(format!("{number}: {e}")),
                    Err(e) => return Err(store(e)),
                }
            }
            Ok(done)
        }
        Err(e) => Err(store(e)),
    }
}
