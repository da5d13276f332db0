//! Fan-out of numbered events to live subscribers (pages, notifiers).

use std::pin::Pin;

use futures_util::Stream;

use crate::domain::event::SequencedEvent;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The subscriber fell so far behind (or asked for so old a start) that events in between
    /// are no longer held; it must catch up from the store from `missed_from` on.
    #[error("events from {missed_from} on are no longer held")]
    Lagged { missed_from: u64 },
}

pub type EventStream = Pin<Box<dyn Stream<Item = Result<SequencedEvent, BusError>> + Send>>;

pub trait EventBus: Send + Sync {
    /// Delivers an event to every subscriber. Sequence numbers must increase.
    fn publish(&self, event: SequencedEvent);

    /// Events with `seq > after` (all held ones when `after` is 0), then live ones.
    fn subscribe(&self, after: u64) -> EventStream;
}

/// Numbered events for whoever follows the status (live pages, notifiers): those after a
/// sequence number, read from the journal when the bus no longer holds them, then live ones.
/// Log chunks are journaled nowhere, so a follower that fell behind gets them only live.
pub trait EventFeed: Send + Sync {
    /// Events with `seq > after`, oldest first, then live ones. The stream ends if the
    /// journal cannot be read; the follower resubscribes from its last number.
    fn follow(&self, after: u64) -> EventStream;

    /// The newest event's sequence number.
    fn last_seq(&self) -> u64;
}
