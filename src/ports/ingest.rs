//! What the event ingest API records through: a sink that remembers the ids senders give
//! their events, so that a repeated event is acknowledged and not applied twice.

use async_trait::async_trait;

use crate::domain::event::StatusEvent;

use super::sink::SinkError;

/// What became of a posted batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Events applied now.
    pub applied: usize,
    /// Events whose id was applied before: acknowledged, not applied again.
    pub repeated: usize,
    /// The sequence number of the newest event.
    pub seq: u64,
}

/// Records events once per sender's id.
#[async_trait]
pub trait IngestSink: Send + Sync {
    /// Records the events whose id (if they have one) was never applied, all or nothing, in
    /// one store transaction that also keeps their ids. Events without an id (such as a
    /// builder the receiver adds) are always applied.
    async fn record_once(&self, events: Vec<(Option<String>, StatusEvent)>) -> Result<Receipt, SinkError>;
}
