//! Feeding a notifier the status events in order, from where it last stopped: first from the
//! store's journal (events recorded while it was not running), then live from the hub, back
//! to the journal whenever it falls behind the hub's buffer. Its cursor is kept in the
//! outbox's store after every event it acted on, so a restart resumes there; acting twice on
//! an event is harmless because a message is queued once per id.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use crate::app::Hub;
use crate::domain::event::SequencedEvent;
use crate::ports::{Outbox, StatusStore};

/// A notifier's reaction to one event. `Ok(true)`: it acted (the cursor is saved now).
/// A handler sees every journaled event, in order; log chunks only while it keeps up live
/// (they are not journaled), so a handler must not depend on them.
#[async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, String>;
}

pub struct Follower {
    pub target: String,
    pub hub: Arc<Hub>,
    pub store: Arc<dyn StatusStore>,
    pub outbox: Arc<dyn Outbox>,
    pub handler: Arc<dyn Handler>,
}

const PAGE: usize = 500;
const RETRY: Duration = Duration::from_secs(1);
const IDLE_SAVE: Duration = Duration::from_secs(1);

impl Follower {
    /// Where to start: the saved cursor (0 too: the target ran when the journal was empty, and
    /// what was journaled since is its to act on), or, for a target never run, the newest
    /// event (a new notifier does not mail about the past).
    pub async fn start_point(&self) -> Result<u64, String> {
        if let Some(cursor) = self.outbox.cursor(&self.target).await.map_err(|e| e.to_string())? {
            return Ok(cursor);
        }
        let now = self.hub.last_seq();
        self.outbox.set_cursor(&self.target, now).await.map_err(|e| e.to_string())?;
        Ok(now)
    }

    pub async fn run(self, mut after: u64) {
        loop {
            match self.follow(&mut after).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!("{}: stopped at event {after}, trying again: {e}", self.target);
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    async fn one(&self, event: &SequencedEvent, after: &mut u64, unsaved: &mut bool) -> Result<(), String> {
        let acted = self.handler.handle(event).await?;
        *after = event.seq;
        *unsaved = true;
        if acted {
            self.save(*after, unsaved).await?;
        }
        Ok(())
    }

    async fn save(&self, after: u64, unsaved: &mut bool) -> Result<(), String> {
        self.outbox.set_cursor(&self.target, after).await.map_err(|e| e.to_string())?;
        *unsaved = false;
        Ok(())
    }

    /// Returns only when the hub's stream ends.
    async fn follow(&self, after: &mut u64) -> Result<(), String> {
        let mut unsaved = false;
        loop {
            // Everything numbered up to `committed` is in the store: read it first.
            let committed = self.hub.last_seq();
            // Catch up from the journal.
            loop {
                let page = self.store.events_after(*after, PAGE).await.map_err(|e| e.to_string())?;
                if page.is_empty() {
                    break;
                }
                for event in &page {
                    self.one(event, after, &mut unsaved).await?;
                }
            }
            // The journal held every event up to `committed` but log chunks, which are gone
            // from the hub's buffer when it lagged: step over them, or it would lag again.
            if committed > *after {
                *after = committed;
                unsaved = true;
            }
            if unsaved {
                self.save(*after, &mut unsaved).await?;
            }
            // Then live, until the stream says we fell behind.
            let mut live = self.hub.subscribe(*after);
            loop {
                match tokio::time::timeout(IDLE_SAVE, live.next()).await {
                    Err(_) if unsaved => self.save(*after, &mut unsaved).await?,
                    Err(_) => {}
                    Ok(None) => return Ok(()),
                    Ok(Some(Err(lagged))) => {
                        tracing::info!("{}: {lagged}; reading the journal", self.target);
                        break;
                    }
                    Ok(Some(Ok(event))) if event.seq <= *after => {}
                    Ok(Some(Ok(event))) => self.one(&event, after, &mut unsaved).await?,
                }
            }
        }
    }
}
