//! The mail notifier: on each finished build (or, with `buildSetSummary`, each finished
//! buildset) it reads what the domain needs (the builds, the previous finished builds, logs,
//! users), lets the domain decide and compose, and queues the result in the outbox, where
//! the delivery worker takes it. A mail that cannot be composed
//! is queued as failed, with the reason, for the delivery log; a log that cannot be read is
//! named in the mail instead of attached. Only errors of the outbox or the store fail an
//! event (the follower retries it): nothing about one build may stall the target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::follow::Handler;
use super::worker::Deliver;
use crate::domain::event::{Channel, SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Builder, Timestamp, User};
use crate::domain::notify::mail::{self, BuildMail, LogText, Lookup, MailMessage, MailRules};
use crate::domain::notify::outbox::{AttemptError, OutboxMessage};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::ports::{
    BuildQuery, Clock, LogError, LogStore, MailError, MailTransport, Outbox, StatusReader, StatusStore,
};

/// Finished builds looked at for the previous build and a failure streak.
const HISTORY: usize = 50;
/// Journal events read at once when collecting a buildset's builds.
const JOURNAL_PAGE: usize = 500;

pub struct MailNotifier {
    pub rules: MailRules,
    pub reader: Arc<dyn StatusReader>,
    /// The event journal, for the builds of a buildset.
    pub store: Arc<dyn StatusStore>,
    pub logs: Arc<dyn LogStore>,
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
    pub wake: Arc<Notify>,
}

/// The first build of the run of failures that `builds` (newest first) starts with.
fn first_failure(builds: &[Build]) -> Option<u32> {
    builds.iter().take_while(|b| b.result == Some(BuildResult::Failure)).last().map(|b| b.number)
}

impl MailNotifier {
    /// The logs the mail attaches. One that cannot be read (a damaged file or pack, or its
    /// storage failing) is replaced by a line saying so: retrying the event would not mend
    /// it, and the target must go on to its next mails.
    async fn logs_of(&self, build: &Build) -> Vec<LogText> {
        let mut out = Vec::new();
        for step in &build.steps {
            for log in step.logs.iter().filter(|l| self.rules.add_logs.wants(&step.name, &l.name)) {
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
    async fn gather(&self, builder: &str, number: u32) -> Result<Option<Gathered>, String> {
        let err = |e: crate::ports::StoreError| e.to_string();
        let Some(info) = self.reader.builders().await.map_err(err)?.into_iter().find(|b| b.name == builder) else {
            return Ok(None);
        };
        if !self.rules.watches(&info) {
            return Ok(None);
        }
        let Some(build) = self.reader.build(builder, number).await.map_err(err)? else { return Ok(None) };
        let query = BuildQuery {
            finished: Some(true),
            before_number: Some(number),
            ..BuildQuery::of_builder(builder, HISTORY)
        };
        let history = self.reader.builds(&query).await.map_err(err)?;
        let prev = match &self.rules.previous_build {
            Some(getter) => getter(&build, &history),
            None => history.first().cloned(),
        };
        let (mut broken_since, mut failing_since) = (None, None);
        match build.result {
            Some(BuildResult::Failure) => failing_since = Some(first_failure(&history).unwrap_or(number)),
            Some(_) => broken_since = first_failure(&history),
            None => {}
        }
        let (logs, users) = (Vec::new(), Vec::new());
        Ok(Some(Gathered { info, build, prev, broken_since, failing_since, logs, users }))
    }

    /// Reads what composing a mail about `g` needs besides the decision: its logs, and the
    /// `users` (read once per mail, see [`Self::users`]).
    async fn complete(&self, g: &mut Gathered, users: &[User]) {
        g.users = users.to_vec();
        g.logs = self.logs_of(&g.build).await;
    }

    /// The user database, when the lookup needs it.
    async fn users(&self) -> Result<Vec<User>, String> {
        match self.rules.lookup {
            Lookup::Users => self.reader.users().await.map_err(|e| e.to_string()),
            _ => Ok(Vec::new()),
        }
    }

    fn mail<'a>(&'a self, g: &'a Gathered, now: Timestamp) -> BuildMail<'a> {
        BuildMail {
            builder: &g.info,
            build: &g.build,
            prev: g.prev.as_ref(),
            broken_since: g.broken_since,
            failing_since: g.failing_since,
            logs: &g.logs,
            users: &g.users,
            site: &self.site,
            now,
        }
    }

    /// Queues `composed` (or its failure, for the log) under `id`.
    async fn queue(&self, id: &str, what: String, composed: Result<MailMessage, String>) -> Result<bool, String> {
        let now = self.clock.now();
        let queued = match composed {
            Ok(message) => {
                let payload = serde_json::to_string(&message).map_err(|e| e.to_string())?;
                OutboxMessage::new(&self.rules.name, id, payload, message.summary(), now)
            }
            Err(reason) => {
                tracing::warn!("{}: no mail about {what}: {reason}", self.rules.name);
                OutboxMessage::unbuildable(&self.rules.name, id, what, reason, now)
            }
        };
        if self.outbox.enqueue(&queued).await.map_err(|e| e.to_string())? {
            self.wake.notify_one();
        }
        Ok(true)
    }

    async fn build_finished(&self, builder: &str, number: u32) -> Result<bool, String> {
        let Some(mut gathered) = self.gather(builder, number).await? else { return Ok(false) };
        let now = self.clock.now();
        if !mail::wants(&self.rules, &self.mail(&gathered, now)) {
            return Ok(false);
        }
        self.complete(&mut gathered, &self.users().await?).await;
        let input = self.mail(&gathered, now);
        let id = mail::message_id(&self.rules.name, builder, number, &self.rules.fromaddr);
        self.queue(&id, format!("{builder} #{number}"), mail::compose(&self.rules, &input)).await
    }

    fn note_key(id: u64) -> String {
        format!("buildset:{id}")
    }

    /// The builds of buildset `id`, from the journal between its submission (noted then) and
    /// `until`: for each of its requests, the last build that claimed it (spec-notify-8 M13).
    async fn buildset_builds(&self, id: u64, until: u64) -> Result<Option<BTreeSet<(String, u32)>>, String> {
        let note = self.outbox.note(&self.rules.name, &Self::note_key(id)).await.map_err(|e| e.to_string())?;
        let Some(from) = note.and_then(|n| n.parse::<u64>().ok()) else { return Ok(None) };
        let (mut requests, mut builds) = (BTreeSet::new(), BTreeMap::new());
        let mut after = from.saturating_sub(1);
        'journal: loop {
            let page = self.store.events_after(after, JOURNAL_PAGE).await.map_err(|e| e.to_string())?;
            if page.is_empty() {
                break;
            }
            for e in page {
                if e.seq >= until {
                    break 'journal;
                }
                match e.event {
                    StatusEvent::BuildRequestSubmitted { request } if request.buildset_id == Some(id) => {
                        requests.insert(request.id);
                    }
                    StatusEvent::BuildStarted { build, requests: claimed } => {
                        for r in claimed.into_iter().filter(|r| requests.contains(r)) {
                            builds.insert(r, (build.builder.clone(), build.number));
                        }
                    }
                    _ => {}
                }
                after = e.seq;
            }
        }
        Ok(Some(builds.into_values().collect()))
    }

    async fn buildset_finished(&self, id: u64, result: BuildResult, seq: u64) -> Result<bool, String> {
        let Some(keys) = self.buildset_builds(id, seq).await? else { return Ok(false) };
        let mut gathered = Vec::new();
        // A build whose builder is gone is left out, not the whole mail (spec-notify-8 M14).
        let now = self.clock.now();
        let mut users: Option<Vec<User>> = None;
        for (builder, number) in keys {
            let Some(mut g) = self.gather(&builder, number).await? else { continue };
            if mail::wants(&self.rules, &self.mail(&g, now)) {
                if users.is_none() {
                    users = Some(self.users().await?);
                }
                self.complete(&mut g, users.as_deref().unwrap_or_default()).await;
                gathered.push(g);
            }
        }
        let mails: Vec<BuildMail> = gathered.iter().map(|g| self.mail(g, now)).collect();
        let acted = if mails.is_empty() {
            false
        } else {
            let message_id = mail::buildset_message_id(&self.rules.name, id, &self.rules.fromaddr);
            let composed = mail::compose_summary(&self.rules, id, result, &mails);
            self.queue(&message_id, format!("buildset {id}"), composed).await?
        };
        self.outbox.set_note(&self.rules.name, &Self::note_key(id), None).await.map_err(|e| e.to_string())?;
        Ok(acted)
    }
}

/// What [`MailNotifier::gather`] read about one build.
struct Gathered {
    info: Builder,
    build: Build,
    prev: Option<Build>,
    broken_since: Option<u32>,
    failing_since: Option<u32>,
    logs: Vec<LogText>,
    users: Vec<User>,
}

#[async_trait]
impl Handler for MailNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, String> {
        let summary = self.rules.build_set_summary;
        match &event.event {
            StatusEvent::BuildFinished { builder, number, .. } if !summary => {
                self.build_finished(builder, *number).await
            }
            StatusEvent::BuildsetSubmitted { buildset } if summary => {
                let (key, seq) = (Self::note_key(buildset.id), event.seq.to_string());
                self.outbox.set_note(&self.rules.name, &key, Some(&seq)).await.map_err(|e| e.to_string())?;
                Ok(true)
            }
            StatusEvent::BuildsetFinished { id, result, .. } if summary => {
                self.buildset_finished(*id, *result, event.seq).await
            }
            _ => Ok(false),
        }
    }
}

/// Delivers the outbox's mail payloads through a transport.
pub struct MailDelivery(pub Arc<dyn MailTransport>);

#[async_trait]
impl Deliver for MailDelivery {
    async fn deliver(&self, payload: &str) -> Result<(), AttemptError> {
        let message: MailMessage = serde_json::from_str(payload)
            .map_err(|e| AttemptError::Permanent(format!("queued mail unreadable: {e}")))?;
        self.0.send(&message).await.map_err(|e| match e {
            MailError::Temporary(e) => AttemptError::Temporary(e),
            MailError::Permanent(e) => AttemptError::Permanent(e),
        })
    }
}
