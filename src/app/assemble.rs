//! The parts of a server that its configuration decides and a reload replaces: the web router
//! (the pages with their site settings, the change hooks, the ingest API) and the Git pollers.
//! The hub, the stores and the live streams are the server's own and outlive every reload;
//! the notifiers are reconciled target by target (`notify::Running::reconcile`).

use std::sync::Arc;

use tokio::sync::watch;

use super::config::ingest::DEFAULT_MAX_BODY;
use super::pollers::Pollers;
use super::{HookConfig, Hub, IngestConfig, Setup, Storage, notify};
use crate::adapters::git_poller::GitPollerSettings;
use crate::adapters::http::access::{Access, HttpMetrics, record};
use crate::adapters::http::access_log::AccessLog;
use crate::adapters::http::hooks::HookContext;
use crate::adapters::http::ingest::IngestContext;
use crate::adapters::http::limits::{OpenCounter, RateGate, rate_limited};
use crate::adapters::http::{self, AuthSettings, Login, WebAuth, WebContext};
use crate::adapters::memory::MemoryPollers;
use crate::adapters::passwords::UsersAuth;
use crate::domain::auth::SessionKey;
use crate::ports::{Clock, LogStore, MasterSlot, MetricsSource, Outbox, PollTrigger, Readiness};

/// What every assembly of a server shares.
pub(super) struct Shared {
    pub hub: Arc<Hub>,
    pub logs: Arc<dyn LogStore>,
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    /// Becomes true when the server stops: live streams end.
    pub stopping: watch::Receiver<bool>,
    /// The web server's figures, counted across reloads.
    pub metrics: Arc<HttpMetrics>,
    /// What else `/metrics` reports on: the hub, the outbox, the store.
    pub metric_sources: Vec<Arc<dyn MetricsSource>>,
    /// What `/health/ready` asks: whether the store answers.
    pub readiness: Arc<dyn Readiness>,
    /// The master the actions command (set by the setup, or later by the embedding master).
    pub master: MasterSlot,
    /// The `[authz]` rules notifiers that take commands obey, replaced by a reload.
    pub permissions: notify::Permissions,
    /// What signs the session cookies and CSRF tokens: one per process, so a reload keeps
    /// everyone logged in.
    pub session_key: SessionKey,
    /// The live streams open, per address.
    pub streams: Arc<OpenCounter>,
    /// The live streams' shared messages.
    pub live: Arc<http::LiveFanout>,
}

/// The web router and the pollers of one configuration.
pub(super) struct Web {
    pub router: axum::Router,
    /// The Git pollers run while this lives.
    pub pollers: Arc<dyn PollTrigger>,
}

/// The router and pollers `setup` asks for; every request through the router is counted and,
/// with `http_log`, logged (an error: the log cannot be opened).
pub(super) fn assemble(setup: &Setup, shared: &Shared) -> std::io::Result<Web> {
    let log = setup.http_log.clone().map(AccessLog::start).transpose()?;
    let access = Access { metrics: shared.metrics.clone(), clock: shared.clock.clone(), log };
    let pollers = pollers(setup, shared);
    let limits = &setup.limits;
    let hooks =
        RateGate::new(limits, limits.hook_requests_per_minute, "change hook requests", "hook_requests_per_minute");
    let ingest =
        RateGate::new(limits, limits.ingest_requests_per_minute, "ingest requests", "ingest_requests_per_minute");
    let router = http::router(web_context(setup, shared))
        .merge(
            http::hooks::router(hook_context(setup.hooks.clone(), shared, pollers.clone()))
                .layer(axum::middleware::from_fn_with_state(Arc::new(hooks), rate_limited)),
        )
        .merge(
            http::ingest::router(ingest_context(setup.ingest.clone(), shared))
                .layer(axum::middleware::from_fn_with_state(Arc::new(ingest), rate_limited)),
        )
        .layer(axum::middleware::from_fn_with_state(access, record));
    Ok(Web { router, pollers })
}

/// The setup's `[auth]`, with the users table read from the hub's users.
fn auth_settings(setup: &Setup, shared: &Shared) -> AuthSettings {
    let mut auth = setup.auth.clone();
    if matches!(auth.login, Login::UsersTable) {
        auth.login = Login::Password(Arc::new(UsersAuth::new(shared.hub.clone())));
    }
    auth
}

fn web_context(setup: &Setup, shared: &Shared) -> WebContext {
    let notifications = http::NotificationsContext {
        outbox: shared.outbox.clone(),
        clock: shared.clock.clone(),
        site: setup.site.clone(),
        targets: setup.notifiers.describe(),
    };
    let change_sources = (setup.change_sources.iter().cloned())
        .chain(setup.git_pollers.iter().map(GitPollerSettings::describe))
        .chain(hook_sources(setup.hooks.as_ref()))
        .collect();
    WebContext {
        reader: shared.hub.clone(),
        feed: shared.hub.clone(),
        live: shared.live.clone(),
        stopping: shared.stopping.clone(),
        logs: shared.logs.clone(),
        clock: shared.clock.clone(),
        site: setup.site.clone(),
        public_html: setup.public_html.clone(),
        change_sources,
        images: Default::default(),
        views: Default::default(),
        notifications: Arc::new(notifications),
        metrics: shared.metrics.clone(),
        metric_sources: shared.metric_sources.clone(),
        readiness: shared.readiness.clone(),
        templates: setup.templates.clone(),
        auth: Arc::new(WebAuth::new(auth_settings(setup, shared), shared.session_key.clone())),
        master: shared.master.clone(),
        limits: setup.limits.clone(),
        streams: shared.streams.clone(),
    }
}

/// How `/changes` describes the enabled hooks.
fn hook_sources(hooks: Option<&HookConfig>) -> Vec<String> {
    hooks
        .filter(|h| !h.settings.dialects.is_empty())
        .map(|h| {
            let names: Vec<&str> = h.settings.dialects.keys().map(String::as_str).collect();
            vec![format!("Change hook (/change_hook): {}", names.join(", "))]
        })
        .unwrap_or_default()
}

/// The Git pollers, their working copies in the data directory (or, with nothing kept, in the
/// system's temporary directory).
fn pollers(setup: &Setup, shared: &Shared) -> Arc<dyn PollTrigger> {
    if setup.git_pollers.is_empty() {
        return Arc::new(MemoryPollers::default());
    }
    let workdirs = match &setup.storage {
        Storage::Directory(dir) => dir.join("gitpoller"),
        Storage::Memory => std::env::temp_dir().join(format!("buildstatus-gitpoller-{}", std::process::id())),
    };
    Arc::new(Pollers::start(setup.git_pollers.clone(), &workdirs, shared.hub.clone()))
}

/// Without `[change_hook]` no dialect is enabled: every hook answers 404 (whatever the method).
fn hook_context(hooks: Option<HookConfig>, shared: &Shared, pollers: Arc<dyn PollTrigger>) -> HookContext {
    let (settings, credentials) = hooks.map(|h| (h.settings, h.credentials)).unwrap_or_default();
    HookContext { settings, credentials, sink: shared.hub.clone(), pollers, clock: shared.clock.clone() }
}

/// Without `[ingest]` there is no token: the API answers 404.
fn ingest_context(ingest: Option<IngestConfig>, shared: &Shared) -> IngestContext {
    let ingest = ingest.unwrap_or(IngestConfig {
        tokens: crate::domain::ingest::Tokens::new(Vec::new()),
        create_builders: false,
        max_body: DEFAULT_MAX_BODY,
    });
    IngestContext {
        tokens: ingest.tokens,
        create_builders: ingest.create_builders,
        max_body: ingest.max_body,
        sink: shared.hub.clone(),
        reader: shared.hub.clone(),
    }
}

/// The notifiers' context, from what the server shares.
pub(super) fn notify_context(setup: &Setup, shared: &Shared) -> notify::Context {
    notify::Context {
        reader: shared.hub.clone(),
        feed: shared.hub.clone(),
        logs: shared.logs.clone(),
        clock: shared.clock.clone(),
        site: setup.site.clone(),
        master: shared.master.clone(),
        permissions: shared.permissions.clone(),
    }
}
