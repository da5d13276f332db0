//! One `/events` stream: the events after the client's number, once each and in order. While
//! it is up to date it forwards the fan-out's shared messages (the part of one it lacks, when
//! it starts part way through); when it is behind — a number older than the messages kept,
//! or messages it was too slow to take — it reads what it lacks from the feed (the bus or the
//! journal), in messages of at most [`MOST`] events, summarised when more than a page needs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::fanout::{MOST, Subscription};
use super::message::{Listing, catching_up};
use crate::domain::event::StatusEvent;
use crate::ports::{EventFeed, EventStream};

/// A comment sent when nothing else was for this long, so that proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Client {
    feed: Arc<dyn EventFeed>,
    /// The newest event number the client has.
    seen: u64,
    subscription: Subscription,
    /// Catching up: the feed from `seen`, read up to the number, then the message that
    /// comes next (if it came already).
    behind: Option<(EventStream, u64, Option<Arc<Listing>>)>,
}

/// The messages for a client that has the events up to `seen`.
pub fn messages(feed: Arc<dyn EventFeed>, seen: u64, subscription: Subscription) -> impl Stream<Item = Bytes> + Send {
    let mut client = Client { feed, seen, subscription, behind: None };
    if seen < client.subscription.from {
        let from = client.subscription.from;
        client.catch_up(from, None);
    }
    futures_util::stream::unfold(client, |mut client| async move {
        let bytes = client.next().await?;
        Some((bytes, client))
    })
}

impl Client {
    fn catch_up(&mut self, to: u64, then: Option<Arc<Listing>>) {
        self.behind = Some((self.feed.follow(self.seen), to, then));
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some((events, to, _)) = &mut self.behind {
                let (to, mut batch) = (*to, Vec::new());
                while self.seen < to && batch.len() < MOST {
                    let Some(Ok(event)) = events.next().await else { return None };
                    // Past `to` (what lay between was log chunks): the shared messages go on.
                    self.seen = event.seq.min(to);
                    if event.seq <= to && !matches!(event.event, StatusEvent::LogChunk { .. }) {
                        batch.push(event);
                    }
                }
                if self.seen >= to
                    && let Some((_, _, Some(then))) = self.behind.take()
                {
                    self.subscription.kept.push_front(then);
                }
                if !batch.is_empty() {
                    return Some(catching_up(&batch));
                }
                continue;
            }
            let message = match self.subscription.kept.pop_front() {
                Some(message) => message,
                None => match tokio::time::timeout(KEEP_ALIVE, self.subscription.coming.recv()).await {
                    Err(_) => return Some(Bytes::from_static(b":\n\n")),
                    Ok(Ok(message)) => message,
                    // The next message says from where to catch up.
                    Ok(Err(RecvError::Lagged(_))) => continue,
                    Ok(Err(RecvError::Closed)) => return None,
                },
            };
            if message.last <= self.seen {
                continue;
            }
            if message.after > self.seen {
                let to = message.after;
                self.catch_up(to, Some(message));
                continue;
            }
            let bytes = message.after(self.seen);
            self.seen = message.last;
            if let Some(bytes) = bytes {
                return Some(bytes);
            }
        }
    }
}
