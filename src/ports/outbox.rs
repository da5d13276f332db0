//! The outbox: durable queue and delivery log of every notifier. A decided message is
//! written here before any attempt; workers claim what their target's delivery discipline
//! lets them send, and record each outcome; done messages are pruned by age and count.
//! It also keeps each notifier's cursor (the last status event it processed), so a notifier
//! resumes where it stopped after a restart, and small notes a notifier keeps between events
//! (such as where a buildset it will summarise began).

use async_trait::async_trait;

use crate::domain::model::Timestamp;
pub use crate::domain::notify::outbox::TargetCounts;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};

use super::{Cause, cause};

#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboxError {
    /// The storage could not be read or written.
    #[error("outbox storage: {0}")]
    Storage(#[source] Cause),
    /// A stored message could not be decoded.
    #[error("outbox record unreadable: {0}")]
    Corrupt(String),
}

impl OutboxError {
    pub fn storage(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(cause(e))
    }
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Stores `message` unless one with its (target, id) exists; true when it was stored.
    async fn enqueue(&self, message: &OutboxMessage) -> Result<bool, OutboxError>;

    /// Writes what a notifier of `target` decided at once, in one transaction: its messages
    /// (each stored unless its id is, in the order given), its notes and its cursor. Returns
    /// how many messages were new.
    async fn record(&self, target: &str, record: &Record) -> Result<usize, OutboxError>;

    /// Makes room in `target`'s queue: when more than `keep` of its messages are open, its
    /// oldest waiting ones (not those in flight) become [`DeliveryState::Dropped`], with
    /// `reason` as their error, until `keep` are left (or only those in flight are over).
    async fn trim_open(&self, target: &str, keep: u64, reason: &str, at: Timestamp) -> Result<Trimmed, OutboxError>;

    /// `target`'s oldest open message: an ordered target's next to go, whose last error says
    /// why the target is stuck.
    async fn head(&self, target: &str) -> Result<Option<OutboxMessage>, OutboxError>;

    /// Puts claimed messages `ids` of `target` back, waiting and due at `at`, with no attempt
    /// counted: a transport sent only the first messages of an ordered batch, and the rest
    /// go with the next one.
    async fn release(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError>;

    /// Makes `target`'s messages in flight due at `at`, leases and all, and returns how many.
    /// Only for when no worker can be sending them: at start, before the target's worker
    /// runs (one process per data directory), a message a killed process was sending goes
    /// again at once instead of when its lease ends.
    async fn release_leases(&self, target: &str, at: Timestamp) -> Result<u64, OutboxError>;

    /// Claims what `target` may send at `now` under `discipline`, at most `limit` messages,
    /// returned in the order they were queued. Each is leased until `lease_until` (state
    /// sending, its next attempt moved there), so a worker that dies while sending leaves it to
    /// be tried again then, and two workers never take the same one.
    ///
    /// - [`Discipline::Concurrent`]: the due messages that have waited longest.
    /// - [`Discipline::Ordered`]: the oldest open message and those queued after it, only when
    ///   that oldest one is due (so nothing overtakes a message being retried or in flight).
    /// - [`Discipline::LatestPerKey`]: first, every open message with a newer message of the
    ///   same key is superseded (unless it is in flight: its lease still runs); then the due
    ///   messages whose key has no message in flight.
    async fn claim(
        &self,
        target: &str,
        discipline: Discipline,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError>;

    /// Records that the peer accepted messages `ids` of `target`.
    ///
    /// This and the other outcomes (`mark_failed`, `mark_deferred`, `release`) change all the
    /// messages they name, each once, or, when one of them is not stored, none (an error): a
    /// batch's outcome is recorded whole, as a few statements whatever its size.
    async fn mark_sent(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError>;

    /// Records a failed attempt of messages `ids`: retried at `retry_at`, or given up when it
    /// is `None`.
    async fn mark_failed(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<(), OutboxError>;

    /// Records that the peer turned `target` away until `until` (a rate limit): messages
    /// `ids` are due again then, with `error` as their last error and their attempts
    /// unchanged (the messages were not at fault), and no other waiting message of the target
    /// is due before then either (in-flight ones finish as they will).
    async fn mark_deferred(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        until: Timestamp,
    ) -> Result<(), OutboxError>;

    /// When `target`'s next open message is due (or its lease ends), if any.
    async fn next_due(&self, target: &str) -> Result<Option<Timestamp>, OutboxError>;

    /// Deletes `target`'s done messages (sent, given up, superseded) that `keep` no longer
    /// keeps; returns how many. Open messages are never deleted.
    async fn prune(&self, target: &str, keep: Retention, now: Timestamp) -> Result<u64, OutboxError>;

    async fn message(&self, target: &str, id: &str) -> Result<Option<OutboxMessage>, OutboxError>;

    /// The delivery log: `target`'s messages (optionally of one state), newest first.
    async fn log(
        &self,
        target: &str,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError>;

    /// Per-target counts, in target name order.
    async fn counts(&self) -> Result<Vec<TargetCounts>, OutboxError>;

    /// The last status event `target` finished processing; `None` when it was never set (the
    /// target never ran), which is not the same as 0 (it ran when the journal was empty).
    async fn cursor(&self, target: &str) -> Result<Option<u64>, OutboxError>;

    /// Moves `target`'s cursor forward (never back).
    async fn set_cursor(&self, target: &str, seq: u64) -> Result<(), OutboxError>;

    /// `target`'s note under `key`, if any.
    async fn note(&self, target: &str, key: &str) -> Result<Option<String>, OutboxError>;

    /// Writes (or, with `None`, removes) `target`'s note under `key`.
    async fn set_note(&self, target: &str, key: &str, value: Option<&str>) -> Result<(), OutboxError>;
}
