//! Feeding a notifier the status events in order, from where it last stopped, through the
//! `EventFeed` port (the journal for what it missed, then live events), those that are there
//! at once in one batch. Its cursor is kept in
//! the outbox's store after every event it acted on (and after a second of quiet), so a
//! restart resumes there; acting twice on an event is harmless because a message is queued
//! once per id. A target never run starts at the newest event: a new notifier does not act on
//! the past. Its start policy may pass over events that are too old to act on.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};

use super::{Notifier, NotifyError};
use crate::domain::event::SequencedEvent;
use crate::domain::notify::outbox::TargetId;
use crate::domain::notify::start::StartPolicy;
use crate::ports::{Clock, EventFeed, Outbox};

pub struct Follower {
    pub target: TargetId,
    pub feed: Arc<dyn EventFeed>,
    pub outbox: Arc<dyn Outbox>,
    pub notifier: Arc<dyn Notifier>,
    pub start: StartPolicy,
    pub clock: Arc<dyn Clock>,
}

/// The wait before an event whose handling failed (or a feed that ended) is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// A cursor moved by events the notifier passed over is saved after this much quiet.
const IDLE_SAVE: Duration = Duration::from_secs(1);
/// The most events handed to a notifier at once.
const BATCH: usize = 512;

impl Follower {
    fn key(&self) -> String {
        self.target.to_string()
    }

    /// Where to start: the saved cursor (0 too: the target ran when the journal was empty, and
    /// what was journaled since is its to act on), or, for a target never run, the newest
    /// event.
    pub async fn start_point(&self) -> Result<u64, NotifyError> {
        if let Some(cursor) = self.outbox.cursor(&self.key()).await? {
            return Ok(cursor);
        }
        let now = self.feed.last_seq();
        self.outbox.set_cursor(&self.key(), now).await?;
        Ok(now)
    }

    /// Runs the notifier's start hook; false (said in the log) when it failed. Run at once
    /// after [`Follower::start_point`], so that what the hook reads (a push target's replay of
    /// the builders) is the state at that event, not a later one whose events follow as well.
    pub async fn start(&self, from: u64) -> bool {
        match self.notifier.started(from).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("{}: could not start, trying again: {e}", self.target);
                false
            }
        }
    }

    /// Runs the notifier's start hook until it succeeds, unless `started` already, then
    /// follows the events until the task is dropped.
    pub async fn run(self, from: u64, started: bool) {
        if !started {
            loop {
                tokio::time::sleep(RETRY).await;
                if self.start(from).await {
                    break;
                }
            }
        }
        let mut after = from;
        loop {
            if let Err(e) = self.follow(&mut after).await {
                tracing::error!("{}: stopped at event {after}, trying again: {e}", self.target);
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Follows from `after` until the feed ends or an event fails; `after` is the last event
    /// done with (acted on or passed over), saved or about to be. Events that are there at
    /// once (a backlog, a burst) go to the notifier together, up to [`BATCH`].
    async fn follow(&self, after: &mut u64) -> Result<(), NotifyError> {
        let mut events = self.feed.follow(*after);
        let mut unsaved = false;
        loop {
            let first = match tokio::time::timeout(IDLE_SAVE, events.next()).await {
                Err(_) if unsaved => {
                    unsaved = self.save(*after).await?;
                    continue;
                }
                Err(_) => continue,
                Ok(None) => {
                    if unsaved {
                        self.save(*after).await?;
                    }
                    return Ok(());
                }
                Ok(Some(Err(e))) => return Err(NotifyError::Other(e.to_string())),
                Ok(Some(Ok(event))) => event,
            };
            let mut batch = vec![first];
            let mut ended = None;
            while batch.len() < BATCH {
                match events.next().now_or_never() {
                    Some(Some(Ok(event))) => batch.push(event),
                    Some(Some(Err(e))) => {
                        ended = Some(NotifyError::Other(e.to_string()));
                        break;
                    }
                    Some(None) | None => break,
                }
            }
            batch.retain(|e| e.seq > *after);
            if let Some(last) = batch.last().map(|e| e.seq) {
                let acted = self.some(&batch).await?;
                *after = last;
                unsaved = if acted { self.save(*after).await? } else { true };
            }
            if let Some(e) = ended {
                return Err(e);
            }
        }
    }

    /// Acts on `events`, but for those the start policy passes over.
    async fn some(&self, events: &[SequencedEvent]) -> Result<bool, NotifyError> {
        let now = self.clock.now();
        if events.iter().any(|e| self.start.skips(&e.event, now)) {
            let kept: Vec<SequencedEvent> =
                events.iter().filter(|e| !self.start.skips(&e.event, now)).cloned().collect();
            if kept.is_empty() {
                return Ok(false);
            }
            return self.notifier.handle_batch(&kept).await;
        }
        self.notifier.handle_batch(events).await
    }

    /// Saves the cursor; false (nothing left unsaved).
    async fn save(&self, after: u64) -> Result<bool, NotifyError> {
        self.outbox.set_cursor(&self.key(), after).await?;
        Ok(false)
    }
}
