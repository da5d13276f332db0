//! The delivery worker, one per target: claims due messages from the outbox, hands each to
//! the target's transport (several at once, up to the transport's concurrency), and records
//! the outcome with the domain's retry rule. Generic: every notifier's transport plugs in
//! through [`Deliver`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::Notify;

use crate::domain::notify::outbox::{AfterFailure, AttemptError, OutboxMessage, RetryPolicy};
use crate::ports::{Clock, Outbox};

/// Sends one payload of a target.
#[async_trait]
pub trait Deliver: Send + Sync {
    async fn deliver(&self, payload: &str) -> Result<(), AttemptError>;
}

/// How a worker runs.
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
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 4,
            lease: Duration::from_secs(300),
            idle: Duration::from_secs(5),
        }
    }
}

pub struct Worker {
    pub target: String,
    pub outbox: Arc<dyn Outbox>,
    pub deliver: Arc<dyn Deliver>,
    pub clock: Arc<dyn Clock>,
    pub options: WorkerOptions,
    /// Notified when a message is queued.
    pub wake: Arc<Notify>,
}

fn later(now: crate::domain::model::Timestamp, by: Duration) -> crate::domain::model::Timestamp {
    now.checked_add_signed(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero())).unwrap_or(now)
}

impl Worker {
    /// Delivers until the task is dropped.
    pub async fn run(self) {
        loop {
            let now = self.clock.now();
            // Two rounds of sends at most: every message of a batch is attempted before its lease
            // (set above two send timeouts) runs out, so no other worker can take it meanwhile.
            let batch = self.options.concurrency.max(1) * 2;
            let claimed = match self.outbox.claim_due(&self.target, now, later(now, self.options.lease), batch).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{}: outbox unreadable: {e}", self.target);
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                self.sleep().await;
                continue;
            }
            futures_util::stream::iter(claimed)
                .for_each_concurrent(self.options.concurrency.max(1), |m| self.attempt(m))
                .await;
        }
    }

    /// Until the next message is due, a message is queued, or the idle time passes.
    async fn sleep(&self) {
        let now = self.clock.now();
        let mut wait = self.options.idle;
        if let Ok(Some(due)) = self.outbox.next_due(&self.target).await {
            wait = wait.min((due - now).to_std().unwrap_or(Duration::ZERO));
        }
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
        }
    }

    async fn attempt(&self, message: OutboxMessage) {
        let outcome = self.deliver.deliver(&message.payload).await;
        let now = self.clock.now();
        let recorded = match outcome {
            Ok(()) => self.outbox.mark_sent(&self.target, &message.id, now).await,
            Err(error) => {
                let attempts = message.attempts.saturating_add(1);
                let text = match &error {
                    AttemptError::Temporary(e) => e.clone(),
                    AttemptError::Permanent(e) => format!("{e} (not retried)"),
                };
                let retry_at = match self.options.retry.after_failure(attempts, &error, &message.id, now) {
                    AfterFailure::RetryAt(t) => Some(t),
                    AfterFailure::GiveUp => None,
                };
                tracing::warn!("{}: message {} not delivered (attempt {attempts}): {text}", self.target, message.id);
                self.outbox.mark_failed(&self.target, &message.id, &text, retry_at, now).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the message is tried again: at least once, never lost.
            tracing::error!("{}: outcome of {} not recorded: {e}", self.target, message.id);
        }
    }
}
