//! One follower of the status events for all `/events` streams. It coalesces what comes into
//! one message per [`THROTTLE`], serialises it once, and hands the same bytes to every stream
//! that is up to date: with hundreds of streams on a busy master, each event is summarised
//! and encoded once, not once per stream, and a stream costs a few messages a second rather
//! than a wake-up per event. A stream behind (new with an older number, or too slow to take
//! the messages as they came) catches up from the feed on its own (`stream.rs`), then goes
//! on with the shared messages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::{FutureExt, Stream, StreamExt, future};
use tokio::sync::broadcast;

use super::message::Listing;
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::ports::EventFeed;

/// The shortest time between two messages.
pub const THROTTLE: Duration = Duration::from_millis(250);
/// The most events one message lists (a bound on what is held at once).
pub const MOST: usize = 50_000;
/// Messages kept for streams that start a moment behind (a page rendered just before).
const KEPT: usize = 16;
/// Messages a stream may have waiting before it must catch up from the feed instead.
const WAITING: usize = 64;

/// The shared messages, started with the first stream.
pub struct Fanout {
    feed: Arc<dyn EventFeed>,
    started: OnceLock<()>,
    recent: Mutex<Recent>,
    sender: broadcast::Sender<Arc<Listing>>,
}

#[derive(Default)]
struct Recent {
    /// The newest messages, oldest first.
    kept: VecDeque<Arc<Listing>>,
    /// The newest event number the messages so far cover.
    covered: u64,
}

/// What a new stream starts with: the messages from `from` on, those already sent (`kept`)
/// and those to come (`coming`).
pub struct Subscription {
    pub from: u64,
    pub kept: VecDeque<Arc<Listing>>,
    pub coming: broadcast::Receiver<Arc<Listing>>,
}

impl Fanout {
    pub fn new(feed: Arc<dyn EventFeed>) -> Arc<Self> {
        Arc::new(Self {
            feed,
            started: OnceLock::new(),
            recent: Mutex::default(),
            sender: broadcast::channel(WAITING).0,
        })
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages from now on (and the few kept), the follower started if need be.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        self.started.get_or_init(|| {
            let start = self.feed.last_seq();
            self.recent().covered = start;
            tokio::spawn(follow(Arc::downgrade(self), self.feed.clone(), start));
        });
        let recent = self.recent();
        let coming = self.sender.subscribe();
        let from = recent.kept.front().map_or(recent.covered, |m| m.after);
        Subscription { from, kept: recent.kept.clone(), coming }
    }

    fn publish(&self, message: Listing) {
        let message = Arc::new(message);
        let mut recent = self.recent();
        recent.covered = message.last;
        recent.kept.push_back(message.clone());
        if recent.kept.len() > KEPT {
            recent.kept.pop_front();
        }
        // Sent under the lock, so that a new stream's kept messages and coming ones meet.
        let _ = self.sender.send(message);
    }
}

/// Follows the feed from `start` for as long as the fan-out lives: the feed's stream ends if
/// the journal cannot be read, and is then followed again from the last message.
async fn follow(fanout: Weak<Fanout>, feed: Arc<dyn EventFeed>, start: u64) {
    let mut covered = start;
    loop {
        let events = feed
            .follow(covered)
            .filter_map(|e| future::ready(e.ok().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. }))));
        let mut batches = std::pin::pin!(coalesced(Box::pin(events)));
        while let Some(batch) = batches.next().await {
            let Some(fanout) = fanout.upgrade() else { return };
            let message = Listing::new(covered, &batch);
            covered = message.last;
            fanout.publish(message);
        }
        if fanout.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The events in batches: a batch starts with the first event after the last one went out,
/// and takes every event that comes until [`THROTTLE`] after the last one (at once, when that
/// has passed: then with what is already waiting).
fn coalesced(
    events: std::pin::Pin<Box<dyn Stream<Item = SequencedEvent> + Send>>,
) -> impl Stream<Item = Vec<SequencedEvent>> + Send {
    futures_util::stream::unfold((events, None::<tokio::time::Instant>), |(mut events, last_sent)| async move {
        let first = events.next().await?;
        let mut batch = vec![first];
        let due = last_sent.map_or_else(tokio::time::Instant::now, |sent| sent + THROTTLE);
        let deadline = tokio::time::sleep_until(due);
        tokio::pin!(deadline);
        while batch.len() < MOST {
            tokio::select! {
                biased;
                () = &mut deadline => break,
                next = events.next() => match next {
                    Some(event) => batch.push(event),
                    None => break,
                },
            }
        }
        while batch.len() < MOST
            && let Some(Some(event)) = events.next().now_or_never()
        {
            batch.push(event);
        }
        Some((batch, (events, Some(tokio::time::Instant::now()))))
    })
}
