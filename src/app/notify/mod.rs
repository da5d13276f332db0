//! The notifiers: each target follows the status events ([`follow`]), decides and queues
//! messages in the shared outbox, and a delivery worker per target sends them ([`worker`]).
//! Mail is the first target ([`mail`]); IRC, HTTP push, Gerrit and GitHub plug into the same
//! follower, outbox and worker.

pub mod follow;
pub mod mail;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::adapters::mail::{SendmailTransport, SmtpSettings, SmtpTransport};
use crate::app::Hub;
use crate::domain::notify::mail::MailRules;
use crate::domain::notify::outbox::RetryPolicy;
use crate::domain::web::layout::Site;
use crate::ports::{Clock, LogStore, MailTransport, Outbox, StatusStore};

pub use worker::WorkerOptions;

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
    /// This target's retry rule, instead of [`Notifiers::worker`]'s.
    pub retry: Option<RetryPolicy>,
}

/// The notifiers a server runs.
#[derive(Clone, Default)]
pub struct Notifiers {
    pub mail: Vec<MailTarget>,
    pub worker: WorkerOptions,
}

impl std::fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.mail.iter().map(|m| m.rules.name.as_str()).collect();
        f.debug_struct("Notifiers").field("mail", &names).field("worker", &self.worker).finish()
    }
}

/// The notifiers' tasks; dropping this stops them.
#[derive(Debug, Default)]
pub struct Running {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every notifier reads from and writes to.
pub struct Context {
    pub hub: Arc<Hub>,
    pub store: Arc<dyn StatusStore>,
    pub logs: Arc<dyn LogStore>,
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
}

/// Starts every configured notifier. A target that cannot start (its transport settings are
/// unusable) is reported; the others run.
pub async fn start(notifiers: &Notifiers, ctx: Context) -> Result<Running, String> {
    let mut running = Running::default();
    for target in &notifiers.mail {
        let mut options = notifiers.worker;
        options.retry = target.retry.unwrap_or(options.retry);
        let transport: Arc<dyn MailTransport> = match &target.transport {
            MailTransportChoice::Smtp(settings) => {
                // A send cannot outlast the timeout, so a lease a little longer is enough, and a
                // crash mid-send delays that message by no more than this.
                options.lease = options.lease.min(settings.timeout * 2 + Duration::from_secs(5));
                // As many sends at once as the pool has connections.
                options.concurrency = usize::try_from(settings.pool_size.max(1)).unwrap_or(1);
                Arc::new(SmtpTransport::new(settings).map_err(|e| format!("mail target '{}': {e}", target.rules.name))?)
            }
            MailTransportChoice::Sendmail(path) => Arc::new(SendmailTransport::new(path.clone())),
            MailTransportChoice::Custom(t) => t.clone(),
        };
        let name = target.rules.name.clone();
        let wake = Arc::new(Notify::new());
        let handler = mail::MailNotifier {
            rules: target.rules.clone(),
            reader: ctx.hub.clone(),
            store: ctx.store.clone(),
            logs: ctx.logs.clone(),
            outbox: ctx.outbox.clone(),
            clock: ctx.clock.clone(),
            site: ctx.site.clone(),
            wake: wake.clone(),
        };
        let follower = follow::Follower {
            target: name.clone(),
            hub: ctx.hub.clone(),
            store: ctx.store.clone(),
            outbox: ctx.outbox.clone(),
            handler: Arc::new(handler),
        };
        let from = follower.start_point().await.map_err(|e| format!("mail target '{name}': {e}"))?;
        running.tasks.push(tokio::spawn(follower.run(from)));
        let worker = worker::Worker {
            target: name,
            outbox: ctx.outbox.clone(),
            deliver: Arc::new(mail::MailDelivery(transport)),
            clock: ctx.clock.clone(),
            options,
            wake,
        };
        running.tasks.push(tokio::spawn(worker.run()));
    }
    Ok(running)
}
