//! The in-process event bus: a broadcast channel for live subscribers and a ring of recent
//! events, so a subscriber can start from a sequence number (a reconnecting page, a notifier
//! restarting) without a gap. Older events come from the store's journal.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures_util::{StreamExt, stream};
use tokio::sync::broadcast;

use crate::domain::event::SequencedEvent;
use crate::ports::{BusError, EventBus, EventStream};

#[derive(Debug)]
pub struct MemoryBus {
    ring: Mutex<VecDeque<SequencedEvent>>,
    capacity: usize,
    live: broadcast::Sender<SequencedEvent>,
}

impl MemoryBus {
    /// Holds the newest `capacity` events for late subscribers.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { ring: Mutex::new(VecDeque::with_capacity(capacity)), capacity, live: broadcast::channel(capacity).0 }
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new(16 * 1024)
    }
}

impl EventBus for MemoryBus {
    fn publish(&self, event: SequencedEvent) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(event.clone());
        // No receivers is not an error: nobody listens yet.
        let _ = self.live.send(event);
    }

    fn subscribe(&self, after: u64) -> EventStream {
        // Subscribe under the ring's lock so no event falls between the replay and the live feed.
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let receiver = self.live.subscribe();
        let oldest = ring.front().map(|e| e.seq);
        let mut replay: Vec<Result<SequencedEvent, BusError>> = Vec::new();
        if let Some(oldest) = oldest
            && after + 1 < oldest
            && after > 0
        {
            replay.push(Err(BusError::Lagged { missed_from: after + 1 }));
        }
        replay.extend(ring.iter().filter(|e| e.seq > after).cloned().map(Ok));
        drop(ring);
        let last_replayed = replay.iter().rev().find_map(|e| e.as_ref().ok().map(|e| e.seq)).unwrap_or(after);
        let live = stream::unfold((receiver, last_replayed), |(mut rx, last)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.seq <= last => continue,
                    Ok(e) => {
                        let seq = e.seq;
                        return Some((Ok(e), (rx, seq)));
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
        let bus = MemoryBus::new(10);
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
        let bus = MemoryBus::new(2);
        for seq in 1..=5 {
            bus.publish(event(seq));
        }
        let mut sub = bus.subscribe(1);
        assert_eq!(sub.next().await.unwrap(), Err(BusError::Lagged { missed_from: 2 }));
        assert_eq!(sub.next().await.unwrap().unwrap().seq, 4);
    }
}
