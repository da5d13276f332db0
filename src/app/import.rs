//! `buildstatus import-buildbot`: copies the history of a Buildbot 4 database into our store,
//! through the hub like any master's events, so every rule (build numbers only grow, a batch
//! is all or nothing) holds for imported history too.
//!
//! Resumable and safe to re-run: each batch of builds is one transaction, and a build whose
//! number is not above its builder's newest here was imported before (build numbers only
//! grow), as is a change whose number is here with the same author and revision. The
//! summary says what was imported and what was skipped, and why.

use std::fmt::Write as _;

use indicatif::{ProgressBar, ProgressStyle};

use crate::adapters::buildbot_db::{BuildRow, BuildbotDb, BuildbotError};
use crate::domain::event::StatusEvent;
use crate::ports::{SinkError, StatusReader, StatusSink};

/// Builds recorded per transaction.
const BUILDS_PER_BATCH: usize = 50;
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
    /// Rows Buildbot keeps that have no counterpart here.
    pub workers_seen: u64,
    pub unfinished_requests: u64,
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
        for (what, list) in [("change", &self.changes_skipped), ("build", &self.builds_skipped)] {
            for why in list {
                let _ = writeln!(skipped, "    {what} {why}");
            }
        }
        if !skipped.is_empty() {
            writeln!(f, "  skipped ({}):", self.changes_skipped.len() + self.builds_skipped.len())?;
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
            "  not imported: {} workers (buildstatus learns workers when they connect), {} unfinished build requests",
            self.workers_seen, self.unfinished_requests
        )
    }
}

/// Why an import stopped. What was recorded before stays; a re-run goes on from there.
#[derive(Debug)]
pub enum ImportError {
    Buildbot(BuildbotError),
    Store(String),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Buildbot(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "{e} (what was imported before is kept: run the import again to go on)"),
        }
    }
}

impl std::error::Error for ImportError {}

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
    sink.record_all(added).await.map_err(store)?;

    let mut fresh = Vec::new();
    for change in db.changes().await? {
        match reader.change(change.number).await.map_err(store)? {
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

    let rows = db.builds().await?;
    let bar = if progress { ProgressBar::new(rows.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} builds {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut newest: Option<(String, Option<u32>)> = None;
    // Finished builds of one builder still to read, in number order.
    let mut run: Vec<BuildRow> = Vec::new();
    for row in &rows {
        bar.inc(1);
        if newest.as_ref().is_none_or(|(b, _)| *b != row.builder) {
            read_and_record(db, sink, &mut run, &mut summary).await?;
            bar.set_message(row.builder.clone());
            newest = Some((row.builder.clone(), reader.newest_build_number(&row.builder).await.map_err(store)?));
        }
        if newest.as_ref().and_then(|(_, n)| *n).is_some_and(|n| row.number <= n) {
            summary.builds_known += 1;
            continue;
        }
        if !row.finished {
            summary.builds_skipped.push(format!("{}: still running in Buildbot", label(row)));
            continue;
        }
        run.push(row.clone());
        if run.len() >= BUILDS_PER_BATCH {
            read_and_record(db, sink, &mut run, &mut summary).await?;
        }
    }
    read_and_record(db, sink, &mut run, &mut summary).await?;
    bar.finish_and_clear();
    summary.workers_seen = db.workers().await?;
    summary.unfinished_requests = db.unfinished_requests().await?;
    Ok(summary)
}

fn label(row: &BuildRow) -> String {
    format!("{} #{}", row.builder, row.number)
}

/// Reads `run` (one builder's builds, in number order) and records it in one transaction.
async fn read_and_record(
    db: &BuildbotDb,
    sink: &dyn StatusSink,
    run: &mut Vec<BuildRow>,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let rows = std::mem::take(run);
    let mut batch = Vec::with_capacity(rows.len());
    for (row, build) in rows.iter().zip(db.read_builds(&rows).await?) {
        summary.steps_imported += build.steps;
        summary.logs_imported += build.logs;
        summary.damaged_logs.extend(build.damaged_logs);
        batch.push((label(row), build.events));
    }
    flush(sink, &mut batch, summary).await
}

/// Records a batch of builds in one transaction; when the status refuses it, one by one, so
/// that only the refused builds are skipped (and said why).
async fn flush(
    sink: &dyn StatusSink,
    batch: &mut Vec<(String, Vec<StatusEvent>)>,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let builds = std::mem::take(batch);
    let all: Vec<StatusEvent> = builds.iter().flat_map(|(_, events)| events.iter().cloned()).collect();
    match sink.record_all(all).await {
        Ok(_) => summary.builds_imported += builds.len(),
        Err(SinkError::Rejected(_)) => {
            for (label, events) in builds {
                match sink.record_all(events).await {
                    Ok(_) => summary.builds_imported += 1,
                    Err(SinkError::Rejected(e)) => summary.builds_skipped.push(format!("{label}: {e}")),
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
    match sink.record_all(events.clone()).await {
        Ok(_) => Ok(n),
        Err(SinkError::Rejected(_)) => {
            let mut done = 0;
            for event in events {
                let number = match &event {
                    StatusEvent::ChangeAdded { change } => change.number,
                    _ => 0,
                };
                match sink.record(event).await {
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
