//! Feeding a notifier the status events in order, from where it last stopped, through the
//! `EventFeed` port (the journal for what it missed, then live events). Its cursor is kept in
//! the outbox's store after every event it acted on (and after a second of quiet), so a
//! restart resumes there; acting twice on an event is harmless because a message is queued
//! once per id. A target never run starts at the newest event: a new notifier does not act on
//! the past. Its start policy may pass over events that are too old to act on.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

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

    /// Runs the notifier's start hook, then follows the events until the task is dropped.
    pub async fn run(self, from: u64) {
        while let Err(e) = self.notifier.started(from).await {
            tracing::error!("{}: could not start, trying again: {e}", self.target);
            tokio::time::sleep(RETRY).await;
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
    /// done with (acted on or passed over), saved or about to be.
    async fn follow(&self, after: &mut u64) -> Result<(), NotifyError> {
        let mut events = self.feed.follow(*after);
        let mut unsaved = false;
        loop {
            match tokio::time::timeout(IDLE_SAVE, events.next()).await {
                Err(_) if unsaved => unsaved = self.save(*after).await?,
                Err(_) => {}
                Ok(None) => {
                    if unsaved {
                        self.save(*after).await?;
                    }
                    return Ok(());
                }
                Ok(Some(Err(e))) => return Err(NotifyError::Other(e.to_string())),
                Ok(Some(Ok(event))) if event.seq <= *after => {}
                Ok(Some(Ok(event))) => {
                    let acted = self.one(&event).await?;
                    *after = event.seq;
                    unsaved = if acted { self.save(*after).await? } else { true };
                }
            }
        }
    }

    /// Acts on `event` unless the start policy passes over it.
    async fn one(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        if self.start.skips(&event.event, self.clock.now()) {
            return Ok(false);
        }
        self.notifier.handle(event).await
    }

    /// Saves the cursor; false (nothing left unsaved).
    async fn save(&self, after: u64) -> Result<bool, NotifyError> {
        self.outbox.set_cursor(&self.key(), after).await?;
        Ok(false)
    }
}
