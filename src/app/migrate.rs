//! `buildstatus migrate --to postgresql://…`: copies a SQLite data directory (the history and
//! its journal, the ingest receipts, the notifiers' outbox with their cursors and notes, and
//! the logs' content) into an empty PostgreSQL store, for a site moving to several instances.
//!
//! The copy is of stored rows, not of events applied again through the hub (as
//! `import-buildbot` does): sequence numbers, log ids, cursors and the outbox's order stay
//! exactly what they were, so a notifier neither sends again nor skips, and every link stays.
//!
//! Resumable: each batch is one transaction with the record of how far the copy went, and a
//! row already there is left as it is; the logs are appended from the size the target has.
//! A re-run of an interrupted copy goes on from there. A target that is neither empty nor an
//! unfinished copy of the same source (its place and counters) is refused, saying why, and a
//! server refuses a database whose copy is not finished.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::ports::{Cell, CopySource, CopyTarget, LOGS, LogError, LogStore, LogWrite, StoreError, TABLES};

/// Rows per batch (one transaction on the target).
const ROWS_PER_BATCH: usize = 500;
/// Log content per write (one transaction) on the target, at most: a large log is copied in
/// pieces of this size, small ones many to a write.
const LOG_BYTES_PER_WRITE: usize = 4 << 20;
/// Logs per write on the target, at most (a commit per log would cost a disk flush each).
const LOGS_PER_WRITE: usize = 500;

/// What a copy did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Per table: rows copied by this run, and rows the source holds.
    pub tables: Vec<(&'static str, u64, u64)>,
    /// Logs with content copied by this run, and their bytes.
    pub logs: u64,
    pub log_bytes: u64,
    /// Logs found whole in the target (copied by an earlier run).
    pub logs_known: u64,
    /// A copy stopped by `max_batches` before its end.
    pub stopped: bool,
    pub took: Duration,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.stopped { "copied so far (run migrate again to go on)" } else { "migrated" };
        writeln!(f, "{verb} in {:.1} s:", self.took.as_secs_f64())?;
        for (table, copied, total) in &self.tables {
            let mut line = format!("  {table:<17} {copied} rows copied");
            if copied != total {
                let _ = write!(line, " (the source holds {total})");
            }
            writeln!(f, "{line}")?;
        }
        let mib = self.log_bytes as f64 / f64::from(1 << 20);
        write!(f, "  {:<17} {} copied ({mib:.1} MiB)", "logs", self.logs)?;
        if self.logs_known > 0 {
            write!(f, ", {} copied before", self.logs_known)?;
        }
        writeln!(f)
    }
}

/// Why a copy stopped. What was copied before stays; a re-run goes on from there.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0} (what was copied before is kept: run migrate again to go on)")]
    Logs(#[from] LogError),
}

/// The two ends of a copy, and how to run it.
pub struct Copy<'a> {
    pub source: &'a dyn CopySource,
    pub source_logs: &'a dyn LogStore,
    pub target: &'a dyn CopyTarget,
    pub target_logs: &'a dyn LogStore,
    /// Words that identify the source: a copy resumes only a copy of the same.
    pub identity: String,
    /// The logs' ids are below this (the source's counter).
    pub next_log_id: u64,
    /// Stop after this many batches (to copy in steps; tests interrupt a copy with it).
    pub max_batches: Option<u64>,
    pub progress: bool,
}

impl Copy<'_> {
    /// Copies what the target does not have yet.
    pub async fn run(&self) -> Result<Summary, MigrateError> {
        let began = Instant::now();
        let progress = self.target.begin(&self.identity).await?;
        let mut summary = Summary::default();
        let mut totals = Vec::new();
        for table in &TABLES {
            totals.push(self.source.count(table).await?);
        }
        let bar = self.bar(totals.iter().sum(), "rows");
        let mut batches = 0u64;
        for (table, total) in TABLES.iter().zip(totals) {
            let mut copied = 0;
            let (mut after, mut done) = match progress.get(table.name) {
                Some((last, done)) => (Some(last.clone()), *done),
                None => (None, false),
            };
            bar.set_message(table.name);
            while !done {
                if self.max_batches.is_some_and(|max| batches >= max) {
                    summary.tables.push((table.name, copied, total));
                    summary.stopped = true;
                    summary.took = began.elapsed();
                    return Ok(summary);
                }
                let rows = self.source.rows(table, after.as_ref(), ROWS_PER_BATCH).await?;
                let n = rows.rows.len();
                let end = n < ROWS_PER_BATCH;
                let last = rows.last.or(after.clone()).unwrap_or(Cell::Int(None));
                self.target.write(table, rows.rows, &last, end).await?;
                batches += 1;
                copied += n as u64;
                bar.inc(n as u64);
                after = Some(last);
                done = end;
            }
            summary.tables.push((table.name, copied, total));
        }
        bar.finish_and_clear();
        let first = match progress.get(LOGS) {
            Some((Cell::Int(Some(last)), _)) => u64::try_from(*last).unwrap_or(0).max(1),
            _ => 1,
        };
        let bar = self.bar(self.next_log_id.saturating_sub(first), "logs");
        let mut pending = Pending::default();
        for log in first..self.next_log_id {
            self.copy_log(log, &mut pending, &mut summary).await?;
            bar.inc(1);
            if pending.writes.len() >= LOGS_PER_WRITE {
                self.flush(&mut pending).await?;
                self.target.mark(LOGS, &Cell::Int(i64::try_from(log).ok()), false).await?;
            }
        }
        self.flush(&mut pending).await?;
        self.target.mark(LOGS, &Cell::Int(i64::try_from(self.next_log_id).ok()), true).await?;
        bar.finish_and_clear();
        self.target.finish().await?;
        summary.took = began.elapsed();
        Ok(summary)
    }

    fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = if self.progress { ProgressBar::new(len) } else { ProgressBar::hidden() };
        let template = format!("{{bar:40}} {{pos}}/{{len}} {what} {{msg}} ({{eta}} left)");
        bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar
    }

    /// Writes what `pending` holds, in one transaction.
    async fn flush(&self, pending: &mut Pending) -> Result<(), MigrateError> {
        if !pending.writes.is_empty() {
            self.target_logs.write(std::mem::take(&mut pending.writes)).await?;
        }
        pending.bytes = 0;
        Ok(())
    }

    /// Adds to `pending` what the target's log lacks of the source's (all of it, unless an
    /// earlier run copied a part), writing it out whenever it holds [`LOG_BYTES_PER_WRITE`]:
    /// each write is one transaction, so a log is never copied twice.
    async fn copy_log(&self, log: u64, pending: &mut Pending, summary: &mut Summary) -> Result<(), MigrateError> {
        let have = self.target_logs.size(log).await?.total;
        let total = self.source_logs.size(log).await?.total;
        if have >= total {
            if total > 0 {
                summary.logs_known += 1;
            }
            return Ok(());
        }
        let mut pieces = self.source_logs.stream(log, have, false);
        let mut chunks = Vec::new();
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            pending.bytes += piece.data.len();
            summary.log_bytes += piece.data.len() as u64;
            chunks.push((piece.channel, piece.data));
            if pending.bytes >= LOG_BYTES_PER_WRITE {
                pending.writes.push(LogWrite { log, chunks: std::mem::take(&mut chunks), finish: false });
                self.flush(pending).await?;
            }
        }
        if !chunks.is_empty() {
            pending.writes.push(LogWrite { log, chunks, finish: false });
        }
        summary.logs += 1;
        Ok(())
    }
}

/// Log content read and not written yet: at most one write per log.
#[derive(Default)]
struct Pending {
    writes: Vec<LogWrite>,
    bytes: usize,
}

/// Words that identify the SQLite data directory `dir` as it is now: its place and counters
/// (a server that ran on it since an interrupted copy changed them, and a re-run starts over
/// into an empty database instead of mixing two states).
pub fn identity(dir: &Path, last_seq: u64, next_log_id: u64) -> String {
    let place = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    format!("{} (last event {last_seq}, next log {next_log_id})", place.display())
}
