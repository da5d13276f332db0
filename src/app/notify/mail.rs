//! The mail notifier: on each finished build it reads what the domain needs (the build, the
//! previous finished builds, logs, users), lets the domain decide and compose, and queues the
//! result in the outbox, where the delivery worker takes it. A mail that cannot be composed
//! is queued as failed, with the reason, for the delivery log.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::follow::Handler;
use super::worker::Deliver;
use crate::domain::event::{Channel, SequencedEvent, StatusEvent};
use crate::domain::model::{Build, User};
use crate::domain::notify::mail::{self, BuildMail, LogText, Lookup, MailMessage, MailRules};
use crate::domain::notify::outbox::{AttemptError, OutboxMessage};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::ports::{BuildQuery, Clock, LogStore, MailError, MailTransport, Outbox, StatusReader};

/// Finished builds looked at for the previous build and a failure streak.
const HISTORY: usize = 50;

pub struct MailNotifier {
    pub rules: MailRules,
    pub reader: Arc<dyn StatusReader>,
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
    async fn logs_of(&self, build: &Build) -> Result<Vec<LogText>, String> {
        let mut out = Vec::new();
        for step in &build.steps {
            for log in step.logs.iter().filter(|l| self.rules.add_logs.wants(&step.name, &l.name)) {
                let size = self.logs.size(log.id).await.map_err(|e| e.to_string())?;
                let from = size.total.saturating_sub(self.rules.max_log_bytes);
                let pieces = self.logs.read(log.id, from, size.total - from).await.map_err(|e| e.to_string())?;
                let bytes: Vec<u8> = pieces
                    .iter()
                    .filter(|p| p.channel != Channel::Header)
                    .flat_map(|p| p.data.iter().copied())
                    .collect();
                out.push(LogText {
                    step: step.name.clone(),
                    name: log.name.clone(),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                    cut: from,
                });
            }
        }
        Ok(out)
    }

    async fn build_finished(&self, builder: &str, number: u32) -> Result<bool, String> {
        let err = |e: crate::ports::StoreError| e.to_string();
        let Some(info) = self.reader.builders().await.map_err(err)?.into_iter().find(|b| b.name == builder) else {
            return Ok(false);
        };
        if !self.rules.watches(&info) {
            return Ok(false);
        }
        let Some(build) = self.reader.build(builder, number).await.map_err(err)? else { return Ok(false) };
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
            Some(BuildResult::Failure) => {
                failing_since = Some(first_failure(&history).unwrap_or(number));
            }
            Some(_) => broken_since = first_failure(&history),
            None => {}
        }
        let users: Vec<User> = match self.rules.lookup {
            Lookup::Users => self.reader.users().await.map_err(err)?,
            _ => Vec::new(),
        };
        let logs = self.logs_of(&build).await?;
        let now = self.clock.now();
        let input = BuildMail {
            builder: &info,
            build: &build,
            prev: prev.as_ref(),
            broken_since,
            failing_since,
            logs: &logs,
            users: &users,
            site: &self.site,
            now,
        };
        if !mail::wants(&self.rules, &input) {
            return Ok(false);
        }
        let id = mail::message_id(&self.rules.name, builder, number, &self.rules.fromaddr);
        let queued = match mail::compose(&self.rules, &input) {
            Ok(message) => {
                let payload = serde_json::to_string(&message).map_err(|e| e.to_string())?;
                OutboxMessage::new(&self.rules.name, &id, payload, message.summary(), now)
            }
            Err(reason) => {
                tracing::warn!("{}: no mail about {builder} #{number}: {reason}", self.rules.name);
                OutboxMessage::unbuildable(&self.rules.name, &id, format!("{builder} #{number}"), reason, now)
            }
        };
        if self.outbox.enqueue(&queued).await.map_err(|e| e.to_string())? {
            self.wake.notify_one();
        }
        Ok(true)
    }
}

#[async_trait]
impl Handler for MailNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, String> {
        match &event.event {
            StatusEvent::BuildFinished { builder, number, .. } => self.build_finished(builder, *number).await,
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
