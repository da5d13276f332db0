//! Wiring: builds the adapters, connects them through the hub, and runs the web server.
//!
//! [`StatusServer`] is the library's embedding API: a master starts one, reports through
//! [`StatusServer::sink`], and serves [`StatusServer::router`] (or calls [`StatusServer::serve`]).

pub mod buildbot_sync;
pub mod catch_up;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod demo;
mod hub;
pub mod import;
pub mod notify;
mod pollers;
pub mod send;

use std::path::PathBuf;
use std::sync::Arc;

use crate::adapters::clock::SystemClock;
use crate::adapters::git_poller::GitPollerSettings;
use crate::adapters::http::auth::random_key;
use crate::adapters::http::hooks::HookContext;
use crate::adapters::http::ingest::IngestContext;
use crate::adapters::http::{self, AuthSettings, Login, WebAuth, WebContext};
use crate::adapters::logs::DiskLogStore;
use crate::adapters::memory::{MemoryBus, MemoryLogStore, MemoryOutbox, MemoryPollers, MemoryStore, NoMaster};
use crate::adapters::passwords::UsersAuth;
use crate::adapters::sqlite::SqliteStore;
use crate::domain::web::layout::Site;
use crate::ports::{
    ChangeSink, Clock, EventBus, LogError, LogStore, MasterControl, MasterSlot, Outbox, PollTrigger, StatusReader,
    StatusSink, StatusStore, StoreError,
};

pub use config::{Config, HookConfig, IngestConfig};
pub use hub::Hub;
use pollers::Pollers;

/// Where status history is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives the process: for tests, examples and masters with their own history.
    #[default]
    Memory,
    /// `DIR/buildstatus.sqlite` and `DIR/logs/`.
    Directory(PathBuf),
}

/// What a [`StatusServer`] is started with.
#[derive(Clone)]
pub struct Setup {
    pub site: Site,
    pub storage: Storage,
    /// Finished builds per builder kept in memory for the pages.
    pub window: usize,
    pub public_html: Option<PathBuf>,
    /// Descriptions of the master's own change sources, for `/changes` (the hooks and the
    /// Git pollers below describe themselves).
    pub change_sources: Vec<String>,
    /// `/change_hook`: enabled when set.
    pub hooks: Option<HookConfig>,
    /// Repositories polled for new commits (their working copies live in the data directory,
    /// or in the system's temporary directory with `Storage::Memory`).
    pub git_pollers: Vec<GitPollerSettings>,
    /// Mail (and later other) notification targets.
    pub notifiers: notify::Notifiers,
    /// `/api/v1/events`: enabled when set.
    pub ingest: Option<IngestConfig>,
    /// Who may do what on the web status, and how they log in (`[authz]`, `[auth]`).
    pub auth: AuthSettings,
    /// The master the web status's actions command: none refuses them (a master that needs
    /// the server's sink first sets it later, with [`StatusServer::set_master`]).
    pub master: Option<Arc<dyn MasterControl>>,
    /// A Buildbot 4 master this server follows (`[buildbot]`): commanded through its REST API
    /// (unless `master` names another), its builders and workers read every `poll`.
    pub buildbot: Option<buildbot_sync::FollowedBuildbot>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            site: Site::default(),
            storage: Storage::Memory,
            window: 100,
            public_html: None,
            change_sources: Vec::new(),
            hooks: None,
            git_pollers: Vec::new(),
            notifiers: notify::Notifiers::default(),
            ingest: None,
            auth: AuthSettings::default(),
            master: None,
            buildbot: None,
        }
    }
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("site", &self.site)
            .field("storage", &self.storage)
            .field("window", &self.window)
            .field("public_html", &self.public_html)
            .field("hooks", &self.hooks)
            .field("git_pollers", &self.git_pollers)
            .field("notifiers", &self.notifiers)
            .field("ingest", &self.ingest)
            .field("auth", &self.auth)
            .field("master", &self.master.as_ref().map(|_| ".."))
            .field("buildbot", &self.buildbot)
            .finish_non_exhaustive()
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

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("status store: {0}")]
    Store(#[source] StoreError),
    #[error("log store: {0}")]
    Logs(#[source] LogError),
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// A notification target could not start.
    #[error("{0}")]
    Notify(String),
    /// The data directory is in use, or cannot be locked.
    #[error("{0}")]
    DataDir(#[source] data_dir::LockError),
}

/// A running status service: the hub that records, and the pages that show.
pub struct StatusServer {
    hub: Arc<Hub>,
    router: axum::Router,
    clock: Arc<dyn Clock>,
    /// Ends the live event streams, which would otherwise hold a graceful shutdown forever.
    stop_live: tokio::sync::watch::Sender<bool>,
    /// The Git pollers run while the server (or its router) lives.
    pollers: Arc<dyn PollTrigger>,
    outbox: Arc<dyn Outbox>,
    /// Dropping the server stops its notifiers; [`StatusServer::stop_notifiers`] lets them say
    /// goodbye first.
    notifiers: tokio::sync::Mutex<Option<notify::Running>>,
    /// The master the actions command.
    master: MasterSlot,
    /// Reads a followed Buildbot master's builders and workers while the server lives.
    _buildbot_sync: Option<AbortOnDrop>,
    /// The data directory is this server's while it lives.
    _data_dir: Option<data_dir::DataDirLock>,
}

impl StatusServer {
    pub async fn start(setup: Setup) -> Result<Self, StartError> {
        Self::start_with_clock(setup, Arc::new(SystemClock)).await
    }

    /// Like [`StatusServer::start`], with pages that read `clock` (tests use a fixed one).
    pub async fn start_with_clock(setup: Setup, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let mut data_dir = None;
        let (store, logs, outbox): (Arc<dyn StatusStore>, Arc<dyn LogStore>, Arc<dyn Outbox>) = match &setup.storage {
            Storage::Memory => {
                (Arc::new(MemoryStore::new()), Arc::new(MemoryLogStore::new()), Arc::new(MemoryOutbox::new()))
            }
            Storage::Directory(dir) => {
                std::fs::create_dir_all(dir).map_err(StartError::Io)?;
                data_dir = Some(data_dir::DataDirLock::acquire(dir).map_err(StartError::DataDir)?);
                let store = SqliteStore::open(&dir.join("buildstatus.sqlite")).await.map_err(StartError::Store)?;
                let logs = DiskLogStore::open(dir.join("logs")).await.map_err(StartError::Logs)?;
                let outbox = store.outbox();
                (Arc::new(store), Arc::new(logs), Arc::new(outbox))
            }
        };
        if let Some(dir) = &setup.public_html
            && !dir.exists()
        {
            tracing::warn!("public_html {} does not exist; creating it empty", dir.display());
            std::fs::create_dir_all(dir).map_err(StartError::Io)?;
        }
        let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::default());
        let hub = Hub::open(store.clone(), logs.clone(), bus, setup.window).await.map_err(StartError::Store)?;
        let notify_context = notify::Context {
            reader: hub.clone(),
            feed: hub.clone(),
            logs: logs.clone(),
            clock: clock.clone(),
            site: setup.site.clone(),
        };
        let notifiers =
            notify::start(&setup.notifiers, notify_context, outbox.clone()).await.map_err(StartError::Notify)?;
        let notifications = http::NotificationsContext {
            outbox: outbox.clone(),
            clock: clock.clone(),
            site: setup.site.clone(),
            targets: setup.notifiers.describe(),
        };
        let (stop_live, stopping) = tokio::sync::watch::channel(false);
        let change_sources = (setup.change_sources.iter().cloned())
            .chain(setup.git_pollers.iter().map(GitPollerSettings::describe))
            .chain(hook_sources(setup.hooks.as_ref()))
            .collect();
        let mut auth = setup.auth;
        if matches!(auth.login, Login::UsersTable) {
            auth.login = Login::Password(Arc::new(UsersAuth::new(hub.clone())));
        }
        let followed = setup.buildbot.as_ref().map(|b| b.control.clone() as Arc<dyn MasterControl>);
        let master = MasterSlot::new(setup.master.or(followed).unwrap_or_else(|| Arc::new(NoMaster)));
        let buildbot_sync = (setup.buildbot.clone())
            .filter(|b| !b.poll.is_zero())
            .map(|b| AbortOnDrop(buildbot_sync::spawn(b, hub.clone(), hub.clone(), hub.clone(), clock.clone())));
        let context = WebContext {
            reader: hub.clone(),
            feed: hub.clone(),
            stopping,
            logs,
            clock: clock.clone(),
            site: setup.site,
            public_html: setup.public_html,
            change_sources,
            images: Default::default(),
            views: Default::default(),
            notifications: Arc::new(notifications),
            auth: Arc::new(WebAuth::new(auth, random_key())),
            master: master.clone(),
        };
        let pollers: Arc<dyn PollTrigger> = if setup.git_pollers.is_empty() {
            Arc::new(MemoryPollers::default())
        } else {
            let workdirs = match &setup.storage {
                Storage::Directory(dir) => dir.join("gitpoller"),
                Storage::Memory => std::env::temp_dir().join(format!("buildstatus-gitpoller-{}", std::process::id())),
            };
            Arc::new(Pollers::start(setup.git_pollers, &workdirs, hub.clone()))
        };
        // Without [change_hook] no dialect is enabled: every hook answers 404 (whatever the method).
        let (settings, credentials) = setup.hooks.map(|h| (h.settings, h.credentials)).unwrap_or_default();
        let router = http::router(context).merge(http::hooks::router(HookContext {
            settings,
            credentials,
            sink: hub.clone(),
            pollers: pollers.clone(),
            clock: clock.clone(),
        }));
        // Without [ingest] there is no token: the API answers 404.
        let ingest = setup.ingest.unwrap_or(IngestConfig {
            tokens: crate::domain::ingest::Tokens::new(Vec::new()),
            create_builders: false,
            max_body: config::ingest::DEFAULT_MAX_BODY,
        });
        let router = router.merge(http::ingest::router(IngestContext {
            tokens: ingest.tokens,
            create_builders: ingest.create_builders,
            max_body: ingest.max_body,
            sink: hub.clone(),
            reader: hub.clone(),
        }));
        let notifiers = tokio::sync::Mutex::new(Some(notifiers));
        Ok(Self {
            hub,
            router,
            clock,
            stop_live,
            pollers,
            outbox,
            notifiers,
            master,
            _buildbot_sync: buildbot_sync,
            _data_dir: data_dir,
        })
    }

    /// From now on the web status's actions command `master` (a master that embeds the server
    /// makes its control object from [`StatusServer::sink`], then sets it here).
    pub fn set_master(&self, master: Arc<dyn MasterControl>) {
        self.master.set(master);
    }

    /// The master the actions command now.
    pub fn master(&self) -> Arc<dyn MasterControl> {
        self.master.get()
    }

    /// Where the master reports its events.
    pub fn sink(&self) -> Arc<dyn StatusSink> {
        self.hub.clone()
    }

    /// Where new changes go (the hooks use it too): numbered after the newest change, stored
    /// all or nothing, and published on the event bus as `ChangeAdded`.
    pub fn change_sink(&self) -> Arc<dyn ChangeSink> {
        self.hub.clone()
    }

    /// The polling change sources, to poll them now (what the `poller` hook does).
    pub fn pollers(&self) -> Arc<dyn PollTrigger> {
        self.pollers.clone()
    }

    /// Read access to the status, as the pages see it.
    pub fn reader(&self) -> Arc<dyn StatusReader> {
        self.hub.clone()
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The notifiers' outbox and delivery log.
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        self.outbox.clone()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The web pages, to mount in the master's own server or to serve.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Ends every live `/events` stream and every followed log page (and refuses none later:
    /// new ones end at once). A
    /// master serving [`StatusServer::router`] itself calls this before a graceful shutdown,
    /// which would otherwise wait for those endless responses.
    pub fn end_live_streams(&self) {
        let _ = self.stop_live.send(true);
    }

    /// Stops the notifiers: each stops following events and queues its goodbye (a push
    /// target's "shutdown" packet), which is delivered if its peer answers within a moment,
    /// else after the next start. A master calls this when it shuts down; dropping the server
    /// stops them without goodbyes.
    pub async fn stop_notifiers(&self) {
        if let Some(running) = self.notifiers.lock().await.take() {
            running.stop().await;
        }
    }

    /// Serves the pages on every listener of `listeners` (TCP, TLS, UNIX sockets) until
    /// `shutdown` completes.
    pub async fn serve_on(
        &self,
        listeners: Vec<http::listen::Bound>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop_live = self.stop_live.clone();
        let shutdown = async move {
            shutdown.await;
            let _ = stop_live.send(true);
        };
        http::listen::serve_all(listeners, self.router(), shutdown).await
    }

    /// Serves the pages on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop_live = self.stop_live.clone();
        let shutdown = async move {
            shutdown.await;
            // As `end_live_streams`, from a task that cannot borrow the server.
            let _ = stop_live.send(true);
        };
        http::serve(listener, self.router(), shutdown).await
    }
}
