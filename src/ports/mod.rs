//! Ports: the traits the core needs from the world, and the one it offers a master.
//!
//! Architecture invariant: ports import only `domain`. Each trait has its own error type, and
//! an in-memory implementation in `adapters::memory` beside its real adapters.
//!
//! Port errors keep what caused them: an adapter's own error (sqlx's, the file system's) is
//! the [`Cause`] of a port error, reachable through `source()`.

mod auth;
mod bus;
mod changes;
mod clock;
mod copy;
mod fault;
mod health;
mod ingest;
mod logs;
mod mail;
mod master;
mod metrics;
mod outbox;
mod review;
mod sink;
mod store;

/// The underlying error a port error carries: an adapter's own error, or a message. Shared
/// (`Arc`), so that port errors can be cloned for every caller waiting on one failure.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// Any error, or a message, as a [`Cause`].
pub fn cause(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Cause {
    std::sync::Arc::from(e.into())
}

pub use auth::{AuthError, Authenticator};
/// An error followed by each of its causes, `: `-separated (an adapter's error in words for
/// a delivery log, where `Display` alone often says only "error sending request").
pub fn in_words(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

pub use bus::{BusError, EventBus, EventFeed, EventStream};
pub use changes::{ChangeError, ChangeSink, PollTrigger};
pub use clock::Clock;
pub use copy::{Cell, CopySource, CopyTarget, Kind, LOGS, Progress, Rows, TABLES, Table};
pub use fault::{Fault, fault};
pub use health::Readiness;
pub use ingest::{IngestSink, Receipt};
pub use logs::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};
pub use mail::{MailError, MailTransport};
pub use master::{ControlError, ForceRequest, ForceScheduler, Forced, MasterControl, MasterSlot};
pub use metrics::MetricsSource;
pub use outbox::{Outbox, OutboxError, TargetCounts};
pub use review::{CommitStatusApi, ReviewApi, ReviewError};
pub use sink::{SinkError, StatusSink};
pub use store::{
    BuildOrder, BuildQuery, ChangeQuery, Commit, SCANNED_BUILDERS, StatusReader, StatusStore, StoreError, StoreMeta,
    owned,
};
