//! The mail target (`[[mail]]`, kind `mail`): on each finished build (or, with
//! `buildSetSummary`, each finished buildset) it reads what the domain needs (the builds, the
//! previous finished builds, logs, users), lets the domain decide and compose, and queues the
//! result; the worker sends it concurrently through SMTP, sendmail or the embedder's own
//! transport. A mail that cannot be composed is queued as failed, with the reason, for the
//! delivery log; a log that cannot be read is named in the mail instead of attached. Only
//! errors of the outbox or the store fail an event (the follower retries it): nothing about
//! one build may stall the target.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::history::{Past, past};
use super::{
    Context, Deliver, Notifier, NotifyError, Overrides, Parts, Policy, Queue, Target, WorkerOptions, buildsets,
};
use crate::adapters::mail::{SendmailTransport, SmtpSettings, SmtpTransport};
use crate::domain::event::{Channel, SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Builder, Change, Timestamp, User, Worker};
use crate::domain::notify::mail::{self, BuildMail, LogText, Lookup, MailMessage, MailRules};
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, TargetId};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::ports::{Clock, EventFeed, LogError, LogStore, MailError, MailTransport, StatusReader};

/// How a mail target sends.
#[derive(Clone)]
pub enum MailTransportChoice {
    Smtp(SmtpSettings),
    /// The local `sendmail` program at this path.
    Sendmail(PathBuf),
    /// The embedder's own (tests use `adapters::memory::MemoryMail`).
    Custom(Arc<dyn MailTransport>),
}

impl std::fmt::Debug for MailTransportChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransportChoice::Smtp(settings) => f.debug_tuple("Smtp").field(settings).finish(),
            MailTransportChoice::Sendmail(path) => f.debug_tuple("Sendmail").field(path).finish(),
            MailTransportChoice::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// One `MailNotifier` (a `[[mail]]` block of the config): its rules and its transport.
#[derive(Clone, Debug)]
pub struct MailTarget {
    pub rules: MailRules,
    pub transport: MailTransportChoice,
    /// Its own retries and log retention, instead of the server's.
    pub delivery: Overrides,
}

impl Target for MailTarget {
    fn id(&self) -> TargetId {
        // The name was checked when the rules were; a bad one shows as itself.
        TargetId::new("mail", &self.rules.name).unwrap_or_else(|_| TargetId::new("mail", "?").expect("a valid id"))
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        let mut policy =
            self.delivery.apply(Policy { discipline: Discipline::Concurrent, ..Policy::defaults(defaults) });
        if let MailTransportChoice::Smtp(settings) = &self.transport {
            // A send cannot outlast the timeout, so a lease a little longer is enough, and a
            // crash mid-send delays that message by no more than this.
            policy.lease = policy.lease.min(settings.timeout * 2 + Duration::from_secs(5));
            // As many sends at once as the pool has connections.
            policy.concurrency = usize::try_from(settings.pool_size.max(1)).unwrap_or(1);
        }
        policy
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let transport: Arc<dyn MailTransport> = match &self.transport {
            MailTransportChoice::Smtp(settings) => Arc::new(SmtpTransport::new(settings).map_err(|e| e.to_string())?),
            MailTransportChoice::Sendmail(path) => Arc::new(SendmailTransport::new(path.clone())),
            MailTransportChoice::Custom(t) => t.clone(),
        };
        let notifier = MailNotifier {
            rules: self.rules.clone(),
            reader: context.reader.clone(),
            feed: context.feed.clone(),
            logs: context.logs.clone(),
            clock: context.clock.clone(),
            site: context.site.clone(),
            queue,
        };
        Ok(Parts { notifier: Arc::new(notifier), deliver: Arc::new(MailDelivery(transport)) })
    }
}

pub struct MailNotifier {
    rules: MailRules,
    reader: Arc<dyn StatusReader>,
    /// The journal, for the builds of a buildset.
    feed: Arc<dyn EventFeed>,
    logs: Arc<dyn LogStore>,
    clock: Arc<dyn Clock>,
    site: Site,
    queue: Queue,
}

/// What [`MailNotifier::gather`] read about one build.
struct Gathered {
    info: Builder,
    build: Build,
    past: Past,
    logs: Vec<LogText>,
    changes: Vec<Change>,
    users: Vec<User>,
    worker: Option<Worker>,
}

impl MailNotifier {
    /// The logs the mail attaches, and every log for a formatter of the user's own. One that
    /// cannot be read (a damaged file or pack, or its storage failing) is replaced by a line
    /// saying so: retrying the event would not mend it, and the target must go on.
    async fn logs_of(&self, build: &Build) -> Vec<LogText> {
        let every = self.rules.formatter_reads_everything();
        let mut out = Vec::new();
        for step in &build.steps {
            for log in step.logs.iter().filter(|l| every || self.rules.add_logs.wants(&step.name, &l.name)) {
                let (text, cut) = self.log_tail(log.id).await.unwrap_or_else(|e| {
                    let what = format!("{} #{} {}.{}", build.builder, build.number, step.name, log.name);
                    tracing::warn!("{}: mail about {what} goes without its log: {e}", self.rules.name);
                    (format!("[this log could not be read: {e}]\n"), 0)
                });
                out.push(LogText { step: step.name.clone(), name: log.name.clone(), text, cut });
            }
        }
        out
    }

    /// The last `max_log_bytes` of log `id` without its header lines, and the bytes left out.
    async fn log_tail(&self, id: u64) -> Result<(String, u64), LogError> {
        let size = self.logs.size(id).await?;
        let from = size.total.saturating_sub(self.rules.max_log_bytes);
        let pieces = self.logs.read(id, from, size.total - from).await?;
        let bytes: Vec<u8> =
            pieces.iter().filter(|p| p.channel != Channel::Header).flat_map(|p| p.data.iter().copied()).collect();
        Ok((String::from_utf8_lossy(&bytes).into_owned(), from))
    }

    /// What the domain needs about build `number` of `builder` to decide whether it mails,
    /// when this target watches the builder and the build exists; its logs and the users are
    /// read by [`complete`](Self::complete), once the build is known to mail.
    async fn gather(&self, builder: &str, number: u32) -> Result<Option<Gathered>, NotifyError> {
        let Some(info) = self.reader.builders().await?.into_iter().find(|b| b.name == builder) else {
            return Ok(None);
        };
        if !self.rules.watches(&info) {
            return Ok(None);
        }
        let Some(build) = self.reader.build(builder, number).await? else { return Ok(None) };
        let past = past(self.reader.as_ref(), &build, self.rules.previous_build.as_ref()).await?;
        let worker = self.worker_of(&build).await?;
        Ok(Some(Gathered { info, build, past, logs: Vec::new(), changes: Vec::new(), users: Vec::new(), worker }))
    }

    /// The worker that ran `build`, read only when `extraHeaders` may name it.
    async fn worker_of(&self, build: &Build) -> Result<Option<Worker>, NotifyError> {
        if self.rules.extra_headers.is_empty() || build.worker.is_empty() {
            return Ok(None);
        }
        Ok(self.reader.workers().await?.into_iter().find(|w| w.name == build.worker))
    }

    /// Reads what composing a mail about `g` needs besides the decision: its logs, and the
    /// `users` (read once per mail, see [`Self::users`]).
    async fn complete(&self, g: &mut Gathered, users: &[User]) -> Result<(), NotifyError> {
        g.users = users.to_vec();
        g.logs = self.logs_of(&g.build).await;
        if self.rules.formatter_reads_everything() {
            for number in g.build.sourcestamps.iter().flat_map(|s| s.changes.iter()) {
                g.changes.extend(self.reader.change(*number).await?);
            }
        }
        Ok(())
    }

    /// The user database, when the lookup needs it.
    async fn users(&self) -> Result<Vec<User>, NotifyError> {
        match self.rules.lookup {
            Lookup::Users => Ok(self.reader.users().await?),
            _ => Ok(Vec::new()),
        }
    }

    fn mail<'a>(&'a self, g: &'a Gathered, now: Timestamp) -> BuildMail<'a> {
        BuildMail {
            builder: &g.info,
            build: &g.build,
            prev: g.past.previous.as_ref(),
            broken_since: g.past.streak.broken_since,
            failing_since: g.past.streak.failing_since,
            logs: &g.logs,
            changes: &g.changes,
            users: &g.users,
            worker: g.worker.as_ref(),
            site: &self.site,
            now,
        }
    }

    /// Queues `composed` (or its failure, for the log) under `id`.
    async fn queue(&self, id: &str, what: String, composed: Result<MailMessage, String>) -> Result<bool, NotifyError> {
        match composed {
            Ok(message) => {
                let payload = serde_json::to_string(&message).map_err(|e| NotifyError::Other(e.to_string()))?;
                self.queue.push(id, payload, message.summary()).await?;
            }
            Err(reason) => {
                self.queue.push_unbuildable(id, what, reason).await?;
            }
        }
        Ok(true)
    }

    async fn build_finished(&self, builder: &str, number: u32) -> Result<bool, NotifyError> {
        let Some(mut gathered) = self.gather(builder, number).await? else { return Ok(false) };
        let now = self.clock.now();
        if !mail::wants(&self.rules, &self.mail(&gathered, now)) {
            return Ok(false);
        }
        self.complete(&mut gathered, &self.users().await?).await?;
        let input = self.mail(&gathered, now);
        let id = mail::message_id(&self.rules.name, builder, number, &self.rules.fromaddr);
        self.queue(&id, format!("{builder} #{number}"), mail::compose(&self.rules, &input)).await
    }

    async fn buildset_finished(&self, id: u64, result: BuildResult, seq: u64) -> Result<bool, NotifyError> {
        let Some(keys) = buildsets::finished(&self.queue, self.feed.as_ref(), id, seq).await? else {
            return Ok(false);
        };
        let mut gathered = Vec::new();
        // A build whose builder is gone is left out, not the whole mail (spec-notify-8 M14).
        let now = self.clock.now();
        let mut users: Option<Vec<User>> = None;
        for key in keys {
            let Some(mut g) = self.gather(&key.builder, key.number).await? else { continue };
            if mail::wants(&self.rules, &self.mail(&g, now)) {
                if users.is_none() {
                    users = Some(self.users().await?);
                }
                self.complete(&mut g, users.as_deref().unwrap_or_default()).await?;
                gathered.push(g);
            }
        }
        let mails: Vec<BuildMail> = gathered.iter().map(|g| self.mail(g, now)).collect();
        if mails.is_empty() {
            // The note is gone: the event was acted on.
            return Ok(true);
        }
        let message_id = mail::buildset_message_id(&self.rules.name, id, &self.rules.fromaddr);
        let composed = mail::compose_summary(&self.rules, id, result, &mails);
        self.queue(&message_id, format!("buildset {id}"), composed).await
    }
}

#[async_trait]
impl Notifier for MailNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        let summary = self.rules.build_set_summary;
        match &event.event {
            StatusEvent::BuildFinished { builder, number, .. } if !summary => {
                self.build_finished(builder, *number).await
            }
            StatusEvent::BuildsetSubmitted { buildset } if summary => {
                buildsets::submitted(&self.queue, buildset.id, event.seq).await?;
                Ok(true)
            }
            StatusEvent::BuildsetFinished { id, result, .. } if summary => {
                self.buildset_finished(*id, *result, event.seq).await
            }
            _ => Ok(false),
        }
    }
}

/// Delivers the outbox's mail payloads through a transport, one mail a call.
pub struct MailDelivery(pub Arc<dyn MailTransport>);

#[async_trait]
impl Deliver for MailDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        for queued in batch {
            let message: MailMessage = serde_json::from_str(&queued.payload)
                .map_err(|e| AttemptError::Permanent(format!("queued mail unreadable: {e}")))?;
            self.0.send(&message).await.map_err(|e| match e {
                MailError::Temporary(e) => AttemptError::temporary(e),
                MailError::Permanent(e) => AttemptError::Permanent(e),
            })?;
        }
        Ok(())
    }
}
