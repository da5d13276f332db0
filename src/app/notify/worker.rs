//! The delivery worker, one per target: claims what the target's discipline lets go (see
//! `Outbox::claim`), hands it to the target's [`Deliver`], and records the outcome with the
//! domain's retry rule; now and then it prunes the target's delivery log. Generic: every
//! kind's transport plugs in through [`Deliver`].
//!
//! [`Worker::round`] is one pass, so tests drive a worker step by step with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;

use super::{Deliver, InOrder, Policy};
use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{
    AfterFailure, AttemptError, Discipline, OutboxMessage, Retention, RetryPolicy, TargetId,
};
use crate::ports::{Clock, Outbox, OutboxError};

/// The server's defaults for its targets, and how workers wait.
#[derive(Clone, Copy, Debug)]
pub struct WorkerOptions {
    pub retry: RetryPolicy,
    /// Messages in flight at once.
    pub concurrency: usize,
    /// How long a claimed message is reserved before another attempt may take it (longer
    /// than any send can last).
    pub lease: Duration,
    /// The longest sleep between looks at the outbox when nothing wakes the worker.
    pub idle: Duration,
    pub retention: Retention,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 4,
            lease: Duration::from_secs(300),
            idle: Duration::from_secs(5),
            retention: Retention::default(),
        }
    }
}

/// How often a worker prunes its target's delivery log.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub struct Worker {
    pub target: TargetId,
    pub outbox: Arc<dyn Outbox>,
    pub deliver: Arc<dyn Deliver>,
    pub clock: Arc<dyn Clock>,
    pub policy: Policy,
    /// The longest sleep when nothing is due and nothing wakes it.
    pub idle: Duration,
    /// Notified when a message is queued.
    pub wake: Arc<Notify>,
}

fn later(now: Timestamp, by: Duration) -> Timestamp {
    now.checked_add_signed(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero())).unwrap_or(now)
}

impl Worker {
    fn key(&self) -> String {
        self.target.to_string()
    }

    /// Delivers until the task is dropped.
    pub async fn run(self) {
        let mut prune_at = self.clock.now();
        let mut probing = false;
        loop {
            if self.clock.now() >= prune_at {
                self.prune().await;
                prune_at = later(self.clock.now(), PRUNE_EVERY);
            }
            match self.round_probing(probing).await {
                Round::Idle => self.sleep().await,
                Round::Delivered => probing = false,
                Round::Failed => probing = true,
            }
        }
    }

    /// One pass: claims what may go now and delivers it.
    pub async fn round(&self) -> Round {
        self.round_probing(false).await
    }

    /// One pass. An ordered target whose last batch failed sends one message at a time until
    /// one gets through (a probe, as 0.8's StatusPush did), so a peer that refuses large
    /// batches is not sent the same large batch again and again.
    async fn round_probing(&self, probing: bool) -> Round {
        let now = self.clock.now();
        let policy = &self.policy;
        let limit = match policy.discipline {
            Discipline::Ordered if probing => 1,
            Discipline::Ordered => policy.batch.max(1),
            // Two rounds of sends at most: every message claimed is attempted before its lease
            // (longer than two sends) runs out, so no other worker can take it meanwhile.
            Discipline::Concurrent | Discipline::LatestPerKey => policy.concurrency.max(1) * 2,
        };
        let claimed =
            match self.outbox.claim(&self.key(), policy.discipline, now, later(now, policy.lease), limit).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{}: outbox unreadable: {e}", self.target);
                    return Round::Idle;
                }
            };
        if claimed.is_empty() {
            return Round::Idle;
        }
        let delivered = match policy.discipline {
            Discipline::Ordered => self.attempt_in_order(&claimed).await,
            Discipline::Concurrent | Discipline::LatestPerKey => {
                // Each message on its own, up to `concurrency` at once.
                let (mut all, mut sending) = (true, FuturesUnordered::new());
                for one in claimed.chunks(1) {
                    if sending.len() >= policy.concurrency.max(1) {
                        all &= sending.next().await.unwrap_or(true);
                    }
                    sending.push(self.attempt(one));
                }
                while let Some(ok) = sending.next().await {
                    all &= ok;
                }
                all
            }
        };
        if delivered { Round::Delivered } else { Round::Failed }
    }

    /// Until the next message is due, a message is queued, or the idle time passes.
    async fn sleep(&self) {
        let now = self.clock.now();
        let mut wait = self.idle;
        // An ordered target waits for its head: messages queued behind a message being
        // retried are due, yet cannot go before it.
        let due = match self.policy.discipline {
            Discipline::Ordered => self.outbox.head(&self.key()).await.map(|m| m.map(|m| m.next_attempt)),
            Discipline::Concurrent | Discipline::LatestPerKey => self.outbox.next_due(&self.key()).await,
        };
        if let Ok(Some(due)) = due {
            wait = wait.min((due - now).to_std().unwrap_or(Duration::ZERO));
        }
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
        }
    }

    /// Delivers `batch` and records the outcome; whether it was delivered.
    async fn attempt(&self, batch: &[OutboxMessage]) -> bool {
        let outcome = self.deliver.deliver(batch).await;
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                self.sent(batch, now).await;
                true
            }
            Err(error) => {
                self.failed(batch, &error, now).await;
                false
            }
        }
    }

    /// Delivers an ordered batch, of which the transport may send only a part: what got
    /// through is sent, what failed is retried (or given up) by the retry rule, and the rest,
    /// not attempted, waits for the next batch (behind the failed messages, if any).
    async fn attempt_in_order(&self, batch: &[OutboxMessage]) -> bool {
        let InOrder { delivered, failed } = self.deliver.deliver_in_order(batch).await;
        let now = self.clock.now();
        let (sent, rest) = batch.split_at(delivered.min(batch.len()));
        if !sent.is_empty() {
            self.sent(sent, now).await;
        }
        let (due, rest, ok) = match failed {
            Some((n, error)) if !rest.is_empty() => {
                let (failed, rest) = rest.split_at(n.clamp(1, rest.len()));
                (self.failed(failed, &error, now).await.unwrap_or(now), rest, false)
            }
            _ => (now, rest, true),
        };
        if !rest.is_empty() {
            let recorded = self.outbox.release(&self.key(), &ids(rest), due).await;
            self.recorded(rest, recorded);
        }
        ok
    }

    async fn sent(&self, batch: &[OutboxMessage], now: Timestamp) {
        let recorded = self.outbox.mark_sent(&self.key(), &ids(batch), now).await;
        self.recorded(batch, recorded);
    }

    /// Records a failed attempt of `batch` by the domain's retry rule; when it is retried.
    async fn failed(&self, batch: &[OutboxMessage], error: &AttemptError, now: Timestamp) -> Option<Timestamp> {
        let ids = ids(batch);
        // The batch's most tried message decides: it gives up no later than alone.
        let tried = batch.iter().max_by_key(|m| m.attempts).unwrap_or(&batch[0]);
        let attempts = tried.attempts.saturating_add(1);
        let text = error.describe();
        let retry_at = match self.policy.retry.after_failure(attempts, error, &tried.id, now) {
            AfterFailure::RetryAt(t) => Some(t),
            AfterFailure::GiveUp => None,
            // A rate limit: the whole target waits for the reset, the attempt not counted.
            AfterFailure::Defer(until) => {
                tracing::warn!("{}: {} held back until {until}: {text}", self.target, describe(&ids));
                let recorded = self.outbox.mark_deferred(&self.key(), &ids, &text, until).await;
                self.recorded(batch, recorded);
                return Some(until);
            }
        };
        tracing::warn!("{}: {} not delivered (attempt {attempts}): {text}", self.target, describe(&ids));
        let recorded = self.outbox.mark_failed(&self.key(), &ids, &text, retry_at, now).await;
        self.recorded(batch, recorded);
        retry_at
    }

    fn recorded(&self, batch: &[OutboxMessage], recorded: Result<(), OutboxError>) {
        if let Err(e) = recorded {
            // The lease runs out and the messages are tried again: at least once, never lost.
            tracing::error!("{}: outcome of {} not recorded: {e}", self.target, describe(&ids(batch)));
        }
    }

    async fn prune(&self) {
        match self.outbox.prune(&self.key(), self.policy.retention, self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("{}: {n} delivered messages pruned from the log", self.target),
            Err(e) => tracing::warn!("{}: the delivery log could not be pruned: {e}", self.target),
        }
    }
}

/// What a round came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Nothing could go.
    Idle,
    /// Everything claimed was delivered.
    Delivered,
    /// Something claimed was not delivered.
    Failed,
}

fn ids(batch: &[OutboxMessage]) -> Vec<String> {
    batch.iter().map(|m| m.id.clone()).collect()
}

fn describe(ids: &[String]) -> String {
    match ids {
        [one] => format!("message {one}"),
        [first, ..] => format!("{} messages from {first}", ids.len()),
        [] => "nothing".to_owned(),
    }
}
