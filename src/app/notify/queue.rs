//! What a notifier writes to: the outbox, under its target's id, with the worker woken when a
//! message is new. Every kind queues through this, so ids, keys, unbuildable messages and
//! notes are spelled the same way for all.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{OutboxMessage, Record, TargetId, Trimmed};
use crate::ports::{Clock, Outbox, OutboxError};

/// A target's place in the outbox.
#[derive(Clone)]
pub struct Queue {
    target: TargetId,
    /// `target` as stored.
    key: String,
    outbox: Arc<dyn Outbox>,
    clock: Arc<dyn Clock>,
    /// The target's worker waits on this.
    wake: Arc<Notify>,
}

impl Queue {
    pub fn new(target: TargetId, outbox: Arc<dyn Outbox>, clock: Arc<dyn Clock>, wake: Arc<Notify>) -> Self {
        Self { key: target.to_string(), target, outbox, clock, wake }
    }

    pub fn target(&self) -> &TargetId {
        &self.target
    }

    /// Queues a message under `id` (stable for what it is about: queuing it again does
    /// nothing); true when it is new.
    pub async fn push(&self, id: &str, payload: String, summary: String) -> Result<bool, OutboxError> {
        self.store(OutboxMessage::new(&self.key, id, payload, summary, self.clock.now())).await
    }

    /// Queues a message as the newest state of `key`: a latest-wins target never sends an
    /// older message of the key after it.
    pub async fn push_latest(
        &self,
        key: &str,
        id: &str,
        payload: String,
        summary: String,
    ) -> Result<bool, OutboxError> {
        self.store(OutboxMessage::new(&self.key, id, payload, summary, self.clock.now()).with_key(key)).await
    }

    /// Records a message that could not be built, with the reason, for the delivery log.
    pub async fn push_unbuildable(&self, id: &str, summary: String, reason: String) -> Result<bool, OutboxError> {
        tracing::warn!("{}: no message about {summary}: {reason}", self.target);
        self.store(OutboxMessage::unbuildable(&self.key, id, summary, reason, self.clock.now())).await
    }

    async fn store(&self, message: OutboxMessage) -> Result<bool, OutboxError> {
        let new = self.outbox.enqueue(&message).await?;
        if new {
            self.wake.notify_one();
        }
        Ok(new)
    }

    /// A message of this target, due at `due` (not before: a message may wait to go with
    /// those queued after it), for [`Queue::record`].
    pub fn message(&self, id: &str, payload: String, summary: String, due: Timestamp) -> OutboxMessage {
        let mut message = OutboxMessage::new(&self.key, id, payload, summary, self.clock.now());
        message.next_attempt = due;
        message
    }

    /// Writes messages, notes and the cursor at once (see `Outbox::record`); how many
    /// messages were new.
    pub async fn record(&self, record: &Record) -> Result<usize, OutboxError> {
        let stored = self.outbox.record(&self.key, record).await?;
        if stored > 0 {
            self.wake.notify_one();
        }
        Ok(stored)
    }

    /// Drops the oldest waiting messages beyond `keep` open ones (see `Outbox::trim_open`).
    pub async fn trim(&self, keep: u64, reason: &str) -> Result<Trimmed, OutboxError> {
        self.outbox.trim_open(&self.key, keep, reason, self.clock.now()).await
    }

    /// The last event the target's notifier is done with, as saved (see `Outbox::cursor`).
    pub async fn cursor(&self) -> Result<Option<u64>, OutboxError> {
        self.outbox.cursor(&self.key).await
    }

    /// The target's note under `key` (what it keeps between events).
    pub async fn note(&self, key: &str) -> Result<Option<String>, OutboxError> {
        self.outbox.note(&self.key, key).await
    }

    /// Writes (or, with `None`, removes) the target's note under `key`.
    pub async fn set_note(&self, key: &str, value: Option<&str>) -> Result<(), OutboxError> {
        self.outbox.set_note(&self.key, key, value).await
    }
}
