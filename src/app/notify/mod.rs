//! The notifier framework: every status target (mail now; IRC, HTTP push, GitHub, Gerrit next,
//! and an embedder's own) is a [`Target`] that, when the server starts, yields a
//! [`Notifier`] (decides on each status event and queues messages) and a [`Deliver`] (sends
//! them). The framework runs the rest, the same for every kind:
//!
//! - [`follow`]: feeds a notifier the journal's events from its saved cursor (or, for a
//!   target never run, from now), through the `EventFeed` port, with start and stop hooks
//!   and a start policy;
//! - [`queue`]: what a notifier writes to, the outbox under the target's id (`kind/name`);
//! - [`worker`]: claims what the target's delivery discipline allows (concurrent, ordered
//!   one-in-flight, or latest-wins per key), delivers in batches, retries with backoff (or
//!   when the peer said), and prunes the delivery log;
//! - [`history`] and [`buildsets`]: what several kinds read about builds (the previous
//!   finished build, the builds of a buildset).
//!
//! A new kind is one module in `domain::notify` (its decisions), one folder in `adapters`
//! (its transport), one file in `app::config` (its block), and an implementation of
//! [`Target`] beside [`mail`].

pub mod buildsets;
pub mod follow;
pub mod history;
pub mod mail;
pub mod queue;
pub mod worker;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::domain::event::SequencedEvent;
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, Retention, RetryPolicy, TargetId};
use crate::domain::notify::start::StartPolicy;
use crate::domain::web::layout::Site;
use crate::ports::{Clock, EventFeed, LogStore, Outbox, OutboxError, StatusReader, StoreError};

pub use mail::{MailTarget, MailTransportChoice};
pub use queue::Queue;
pub use worker::WorkerOptions;

/// Why a notifier could not act on an event; the follower tries the event again later.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

/// A target's reaction to the status events, in journal order.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Once, before the first event (a push target's "start" packet, a replay of the
    /// builders). `from` is the last event already acted on.
    async fn started(&self, _from: u64) -> Result<(), NotifyError> {
        Ok(())
    }

    /// Acts on one event; `Ok(true)` when it queued or noted something (the cursor is saved
    /// then). Every journaled event comes once, in order; log chunks only while the target
    /// keeps up live (they are not journaled), so a notifier must not depend on them. Acting
    /// twice on an event after a crash must be harmless: queue under stable ids.
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError>;

    /// The server stops (a push target's "shutdown" packet). What it queues is delivered
    /// now if the peer answers quickly, else after the next start.
    async fn stopping(&self) -> Result<(), NotifyError> {
        Ok(())
    }
}

/// Sends a target's messages. `batch` holds one message, or, for an ordered target, up to its
/// batch size, in order; the outcome is the whole batch's.
#[async_trait]
pub trait Deliver: Send + Sync {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError>;
}

/// How a target's messages go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub discipline: Discipline,
    /// Messages handed to the transport in one call (ordered targets; 1 otherwise).
    pub batch: usize,
    /// Calls in flight at once (concurrent and latest-per-key targets).
    pub concurrency: usize,
    pub start: StartPolicy,
    pub retry: RetryPolicy,
    pub retention: Retention,
    /// How long a claimed message is reserved before another attempt may take it: longer
    /// than any call can last.
    pub lease: Duration,
}

impl Policy {
    /// Concurrent delivery with the server's defaults.
    pub fn defaults(options: &WorkerOptions) -> Self {
        Self {
            discipline: Discipline::Concurrent,
            batch: 1,
            concurrency: options.concurrency,
            start: StartPolicy::Resume,
            retry: options.retry,
            retention: options.retention,
            lease: options.lease,
        }
    }
}

/// What a target's configuration changes of the server's defaults (the `retryDelay`,
/// `maxAttempts`, `keepDays`, … keys every target block shares).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub retry: Option<RetryPolicy>,
    pub retention: Option<Retention>,
}

impl Overrides {
    pub fn apply(&self, policy: Policy) -> Policy {
        Policy {
            retry: self.retry.unwrap_or(policy.retry),
            retention: self.retention.unwrap_or(policy.retention),
            ..policy
        }
    }
}

/// What every notifier reads from.
#[derive(Clone)]
pub struct Context {
    pub reader: Arc<dyn StatusReader>,
    /// The journal and the live events.
    pub feed: Arc<dyn EventFeed>,
    pub logs: Arc<dyn LogStore>,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
}

/// A target's running parts, made when the server starts.
pub struct Parts {
    pub notifier: Arc<dyn Notifier>,
    pub deliver: Arc<dyn Deliver>,
}

/// A configured notification target of some kind: a `[[mail]]` block, an embedder's own.
pub trait Target: Send + Sync + Debug {
    /// `kind/name`: the key of its messages, cursor and notes, and how `/notifications`
    /// shows it.
    fn id(&self) -> TargetId;

    /// How its messages go out, given the server's defaults.
    fn policy(&self, defaults: &WorkerOptions) -> Policy;

    /// Makes its running parts; an error (unusable transport settings) keeps this target
    /// from starting, and the server with it.
    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String>;
}

/// The notifiers a server runs.
#[derive(Clone, Debug, Default)]
pub struct Notifiers {
    pub targets: Vec<Arc<dyn Target>>,
    /// Defaults for every target, and the workers' idle time.
    pub worker: WorkerOptions,
}

impl Notifiers {
    pub fn new(targets: Vec<Arc<dyn Target>>) -> Self {
        Self { targets, worker: WorkerOptions::default() }
    }

    /// Each target's id and discipline, for `/notifications`.
    pub fn describe(&self) -> Vec<(TargetId, Discipline)> {
        self.targets.iter().map(|t| (t.id(), t.policy(&self.worker).discipline)).collect()
    }
}

/// The notifiers' tasks; dropping this stops them at once, [`Running::stop`] lets each
/// notifier say goodbye first.
pub struct Running {
    targets: Vec<RunningTarget>,
    outbox: Arc<dyn Outbox>,
    clock: Arc<dyn Clock>,
}

struct RunningTarget {
    id: TargetId,
    notifier: Arc<dyn Notifier>,
    follower: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.targets {
            t.follower.abort();
            t.worker.abort();
        }
    }
}

/// How long a stopping server gives its targets' workers to deliver what the notifiers queued
/// as they stopped.
const GOODBYE: Duration = Duration::from_secs(2);

impl Running {
    /// Stops following events, lets each notifier queue its goodbye, and gives the workers up
    /// to [`GOODBYE`] to deliver what is due; what is left is delivered after the next start.
    pub async fn stop(mut self) {
        for t in &self.targets {
            t.follower.abort();
        }
        for t in &self.targets {
            if let Err(e) = t.notifier.stopping().await {
                tracing::warn!("{}: its stop could not be queued: {e}", t.id);
            }
        }
        let give_up = tokio::time::Instant::now() + GOODBYE;
        while tokio::time::Instant::now() < give_up && self.anything_due().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for t in std::mem::take(&mut self.targets) {
            t.worker.abort();
        }
    }

    /// Whether a target has a message in flight or due now (not one waiting for a retry).
    async fn anything_due(&self) -> bool {
        let now = self.clock.now();
        let ids: Vec<String> = self.targets.iter().map(|t| t.id.to_string()).collect();
        if let Ok(counts) = self.outbox.counts().await
            && counts.iter().any(|c| c.sending > 0 && ids.contains(&c.target))
        {
            return true;
        }
        for t in &self.targets {
            if let Ok(Some(due)) = self.outbox.next_due(&t.id.to_string()).await
                && due <= now
            {
                return true;
            }
        }
        false
    }
}

/// Starts every target: its follower from its start point, and its delivery worker. A target
/// that cannot start stops the start, naming it.
pub async fn start(notifiers: &Notifiers, context: Context, outbox: Arc<dyn Outbox>) -> Result<Running, String> {
    let mut running = Running { targets: Vec::new(), outbox: outbox.clone(), clock: context.clock.clone() };
    for target in &notifiers.targets {
        let id = target.id();
        let policy = target.policy(&notifiers.worker);
        let wake = Arc::new(Notify::new());
        let queue = Queue::new(id.clone(), outbox.clone(), context.clock.clone(), wake.clone());
        let parts = target.start(&context, queue).map_err(|e| format!("notification target {id}: {e}"))?;
        let follower = follow::Follower {
            target: id.clone(),
            feed: context.feed.clone(),
            outbox: outbox.clone(),
            notifier: parts.notifier.clone(),
            start: policy.start,
            clock: context.clock.clone(),
        };
        let from = follower.start_point().await.map_err(|e| format!("notification target {id}: {e}"))?;
        let worker = worker::Worker {
            target: id.clone(),
            outbox: outbox.clone(),
            deliver: parts.deliver,
            clock: context.clock.clone(),
            policy,
            idle: notifiers.worker.idle,
            wake,
        };
        running.targets.push(RunningTarget {
            id,
            notifier: parts.notifier,
            follower: tokio::spawn(follower.run(from)),
            worker: tokio::spawn(worker.run()),
        });
    }
    Ok(running)
}
