//! What a master calls to report: the write path's entry.

use async_trait::async_trait;

use crate::domain::event::StatusEvent;
use crate::domain::state::ApplyError;

use super::{Cause, LogError, cause};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The event contradicts what is known (unknown builder, build already finished, …).
    #[error("event rejected: {0}")]
    Rejected(#[source] ApplyError),
    /// It could not be stored; nothing was published.
    #[error("event not stored: {0}")]
    Storage(#[source] Cause),
    /// The events were stored and published (the last numbered `seq`; for history, the newest
    /// number when it was stored), but log content could not be written: those logs miss what
    /// the events carried.
    #[error("events stored up to {seq}, but log content was lost: {error}")]
    LogContent {
        seq: u64,
        #[source]
        error: LogError,
    },
}

impl SinkError {
    pub fn storage(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(cause(e))
    }
}

/// Receives status events from a master, in the order they happened.
#[async_trait]
pub trait StatusSink: Send + Sync {
    /// Records one event; returns the sequence number it was given.
    async fn record(&self, event: StatusEvent) -> Result<u64, SinkError>;

    /// Records events all or nothing, in one store transaction; returns the last sequence
    /// number (or the current one when `events` is empty).
    async fn record_all(&self, events: Vec<StatusEvent>) -> Result<u64, SinkError>;

    /// Records events of the past (an imported history): applied and stored all or nothing,
    /// like [`record_all`](Self::record_all), by the same rules, but neither journaled nor
    /// published. Followers (live pages, notifiers) are told what happens, not what happened
    /// long ago: importing a year of builds sends no mail.
    async fn record_history(&self, events: Vec<StatusEvent>) -> Result<(), SinkError>;
}
