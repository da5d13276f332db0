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
//!   finished build, the builds of a buildset), and `changes`: the builds of one change, for
//!   a merge-safety verdict.
//!
//! Kinds: [`mail`] and [`irc`] (a bot with a connection of its own, its state on
//! `/notifications` as its status note).
//!
//! A new kind is one module in `domain::notify` (its decisions), one folder in `adapters`
//! (its transport), one file in `app::config` (its block), and an implementation of
//! [`Target`] beside [`mail`], [`push`], [`github`] and [`gerrit`].

pub mod background;
pub mod buildsets;
mod changes;
pub mod follow;
pub mod gerrit;
pub mod github;
pub mod history;
pub mod irc;
pub mod mail;
mod permissions;
pub mod push;
pub mod queue;
mod running;
pub mod worker;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::event::SequencedEvent;
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, Retention, RetryPolicy, TargetId};
use crate::domain::notify::start::StartPolicy;
use crate::domain::web::layout::Site;
use crate::ports::{Clock, EventFeed, LogStore, MasterSlot, OutboxError, ReviewError, StatusReader, StoreError};

pub use gerrit::{GerritTarget, GerritTransportChoice};
pub use github::{GitHubApiChoice, GitHubTarget};
pub use irc::{BotRules, IrcTarget};
pub use mail::{MailTarget, MailTransportChoice};
pub use permissions::Permissions;
pub use push::{HttpPushTarget, StatusPush};
pub use queue::Queue;
pub use running::{Running, start};
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

/// A peer's refusal of a verdict (a commit status, a review) as the outbox records it.
pub fn attempt_error(e: ReviewError) -> AttemptError {
    match e {
        ReviewError::Temporary(error) => AttemptError::temporary(error),
        ReviewError::RateLimited { error, until } => AttemptError::RateLimited { error, until },
        ReviewError::Permanent(error) => AttemptError::Permanent(error),
    }
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

    /// Acts on events that came together, in order; `Ok(true)` when it acted on any. A
    /// notifier that gains from writing many messages at once (a push target, whose packets
    /// are one stream) takes them here; by default each goes to [`Notifier::handle`]. On an
    /// error the follower gives the whole batch again.
    async fn handle_batch(&self, events: &[SequencedEvent]) -> Result<bool, NotifyError> {
        let mut acted = false;
        for event in events {
            acted |= self.handle(event).await?;
        }
        Ok(acted)
    }

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

    /// An ordered target's batch, of which a transport may send only the first messages
    /// (what fits one request): how far it got ([`InOrder`]). By default the batch is one
    /// request ([`Deliver::deliver`]): all or nothing.
    async fn deliver_in_order(&self, batch: &[OutboxMessage]) -> InOrder {
        match self.deliver(batch).await {
            Ok(()) => InOrder { delivered: batch.len(), failed: None },
            Err(error) => InOrder { delivered: 0, failed: Some((batch.len(), error)) },
        }
    }
}

/// How far an ordered batch got: its first `delivered` messages got through; the `n` after
/// them failed with the error, when `failed` is `Some((n, error))`; the rest were not
/// attempted, and go with the next batch (after the failed ones, when some failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InOrder {
    pub delivered: usize,
    pub failed: Option<(usize, AttemptError)>,
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
    /// The master the server commands (`NoMaster` when it has none).
    pub master: MasterSlot,
    /// Who may command it, by the server's `[authz]`.
    pub permissions: Permissions,
}

/// A target's running parts, made when the server starts.
pub struct Parts {
    pub notifier: Arc<dyn Notifier>,
    pub deliver: Arc<dyn Deliver>,
}

/// A configured notification target of some kind: a `[[mail]]` block, an embedder's own. Its
/// `Debug` describes its configuration, and only that (no secret, no runtime state): a reload
/// restarts a target when it changes.
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
