//! The in-process event bus: a broadcast channel for live subscribers and a ring of recent
//! events, so a subscriber can start from a sequence number (a reconnecting page, a notifier
//! restarting) without a gap. Older events come from the store's journal.
//!
//! The ring is bounded by count and by bytes (log chunks carry text), so a huge log never
//! stays in memory; ring and channel share each event's one allocation.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, stream};
use tokio::sync::broadcast;

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::ports::{BusError, EventBus, EventStream};

#[derive(Debug)]
pub struct MemoryBus {
    ring: Mutex<Ring>,
    capacity: usize,
    budget: usize,
    live: broadcast::Sender<Arc<SequencedEvent>>,
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<SequencedEvent>>,
    bytes: usize,
}

/// Roughly what an event holds in memory.
fn weight(event: &SequencedEvent) -> usize {
    match &event.event {
        StatusEvent::LogChunk { text, .. } => 128 + text.len(),
        _ => 512,
    }
}

impl MemoryBus {
    /// Holds at most the newest `capacity` events, and at most `budget` bytes of them, for
    /// late subscribers; a live subscriber may fall `capacity` events behind.
    pub fn new(capacity: usize, budget: usize) -> Self {
        let capacity = capacity.max(1);
        Self { ring: Mutex::new(Ring::default()), capacity, budget, live: broadcast::channel(capacity).0 }
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new(16 * 1024, 16 << 20)
    }
}

impl EventBus for MemoryBus {
    fn publish(&self, event: SequencedEvent) {
        let event = Arc::new(event);
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.bytes += weight(&event);
        ring.events.push_back(event.clone());
        while ring.events.len() > self.capacity || (ring.bytes > self.budget && ring.events.len() > 1) {
            if let Some(old) = ring.events.pop_front() {
                ring.bytes -= weight(&old);
            }
        }
        // No receivers is not an error: nobody listens yet.
        let _ = self.live.send(event);
    }

    fn subscribe(&self, after: u64) -> EventStream {
        // Subscribe under the ring's lock so no event falls between the replay and the live feed.
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let receiver = self.live.subscribe();
        let oldest = ring.events.front().map(|e| e.seq);
        let mut replay: Vec<Result<SequencedEvent, BusError>> = Vec::new();
        if let Some(oldest) = oldest
            && after + 1 < oldest
            && after > 0
        {
            replay.push(Err(BusError::Lagged { missed_from: after + 1 }));
        }
        replay.extend(ring.events.iter().filter(|e| e.seq > after).map(|e| Ok((**e).clone())));
        drop(ring);
        let last_replayed = replay.iter().rev().find_map(|e| e.as_ref().ok().map(|e| e.seq)).unwrap_or(after);
        let live = stream::unfold((receiver, last_replayed), |(mut rx, last)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.seq <= last => continue,
                    Ok(e) => {
                        let seq = e.seq;
                        return Some((Ok((*e).clone()), (rx, seq)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Err(BusError::Lagged { missed_from: last + 1 }), (rx, last)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Box::pin(stream::iter(replay).chain(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::StatusEvent;

    fn event(seq: u64) -> SequencedEvent {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        SequencedEvent { seq, event: StatusEvent::Reconfigured { at } }
    }

    #[tokio::test]
    async fn a_subscriber_gets_held_events_after_its_number_then_live_ones() {
        let bus = MemoryBus::new(10, 1 << 20);
        for seq in 1..=3 {
            bus.publish(event(seq));
        }
        let mut sub = bus.subscribe(1);
        bus.publish(event(4));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(sub.next().await.unwrap().unwrap().seq);
        }
        assert_eq!(got, [2, 3, 4]);
    }

    #[tokio::test]
    async fn asking_for_events_no_longer_held_says_so() {
        let bus = MemoryBus::new(2, 1 << 20);
        for seq in 1..=5 {
            bus.publish(event(seq));
        }
        let mut sub = bus.subscribe(1);
        assert_eq!(sub.next().await.unwrap(), Err(BusError::Lagged { missed_from: 2 }));
        assert_eq!(sub.next().await.unwrap().unwrap().seq, 4);
    }

    #[tokio::test]
    async fn the_ring_holds_no_more_bytes_than_its_budget() {
        let bus = MemoryBus::new(1000, 10_000);
        for seq in 1..=20 {
            let text = "x".repeat(1000);
            let chunk = StatusEvent::LogChunk {
                builder: "b".into(),
                number: 0,
                step: 0,
                log: "l".into(),
                channel: crate::domain::event::Channel::Stdout,
                text,
            };
            bus.publish(SequencedEvent { seq, event: chunk });
        }
        let mut sub = bus.subscribe(0);
        let mut held = Vec::new();
        while let Ok(Some(Ok(e))) = tokio::time::timeout(std::time::Duration::from_millis(50), sub.next()).await {
            held.push(e.seq);
        }
        assert_eq!(held, (13..=20).collect::<Vec<_>>(), "eight chunks of 1,128 bytes fit in 10,000");
    }
}
