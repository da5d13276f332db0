//! Wiring: builds the adapters, connects them through the hub, and runs the web server.
//!
//! [`StatusServer`] is the library's embedding API: a master starts one, reports through
//! [`StatusServer::sink`], and serves [`StatusServer::router`] (or calls [`StatusServer::serve`]).

mod assemble;
pub mod buildbot_sync;
pub mod catch_up;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod demo;
mod hub;
pub mod import;
pub mod init;
pub mod migrate;
pub mod notify;
pub mod pb;
mod pollers;
pub mod send;
mod telemetry;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::adapters::clock::SystemClock;
use crate::adapters::git_poller::GitPollerSettings;
use crate::adapters::http::limits::Limits;
use crate::adapters::http::{self, AuthSettings};
use crate::adapters::logs::DiskLogStore;
use crate::adapters::memory::{MemoryBus, MemoryLogStore, MemoryOutbox, MemoryStore, NoMaster};
use crate::adapters::postgres::{self, PgStore};
use crate::adapters::sqlite::SqliteStore;
use crate::domain::web::layout::Site;
use crate::ports::{
    ChangeSink, Clock, EventBus, LogError, LogStore, MasterControl, MasterSlot, MetricsSource, Outbox, PollTrigger,
    StatusReader, StatusSink, StatusStore, StoreError,
};

use assemble::Web;
pub use config::{Config, HookConfig, IngestConfig};
pub use hub::Hub;

/// Where status history is kept, unless [`Setup::store_url`] names a PostgreSQL database:
/// then only this instance's local state (the Git pollers' working copies, `http.log`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives the process: for tests, examples and masters with their own history.
    #[default]
    Memory,
    /// `DIR/buildstatus.sqlite` and `DIR/logs/` (with a PostgreSQL store: local state only).
    Directory(PathBuf),
}

/// The status database's file in a data directory.
const DATABASE: &str = "buildstatus.sqlite";

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
    /// `http.log`, the request log: kept when set.
    pub http_log: Option<http::access_log::AccessLogSettings>,
    /// The site's own page templates (`templates/` and `jinja_loaders`), compiled.
    pub templates: Arc<http::templates::PageTemplates>,
    /// Who may do what on the web status, and how they log in (`[authz]`, `[auth]`).
    pub auth: AuthSettings,
    /// The master the web status's actions command: none refuses them (a master that needs
    /// the server's sink first sets it later, with [`StatusServer::set_master`]).
    pub master: Option<Arc<dyn MasterControl>>,
    /// A Buildbot 4 master this server follows (`[buildbot]`): commanded through its REST API
    /// (unless `master` names another), its builders and workers read every `poll`.
    pub buildbot: Option<buildbot_sync::FollowedBuildbot>,
    /// The Perspective Broker status listener (`[pb]`): started by `serve` when set.
    pub pb: Option<config::pb::PbConfig>,
    /// What one client may take of the web server (`[limits]`).
    pub limits: Limits,
    /// `[store] url`: the history (status, journal, logs, outbox, ingest receipts) in this
    /// PostgreSQL database instead of the data directory's SQLite and log files. `storage`
    /// then says where only this instance's local state goes (the Git pollers' working
    /// copies, `http.log`).
    pub store_url: Option<String>,
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
            http_log: None,
            templates: Arc::default(),
            auth: AuthSettings::default(),
            master: None,
            buildbot: None,
            pb: None,
            limits: Limits::default(),
            store_url: None,
        }
    }
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("site", &self.site)
            .field("storage", &self.storage)
            .field("store_url", &self.store_url.as_deref().map(crate::adapters::postgres::redacted))
            .field("window", &self.window)
            .field("public_html", &self.public_html)
            .field("hooks", &self.hooks)
            .field("git_pollers", &self.git_pollers)
            .field("notifiers", &self.notifiers)
            .field("ingest", &self.ingest)
            .field("http_log", &self.http_log)
            .field("templates", &self.templates)
            .field("auth", &self.auth)
            .field("master", &self.master.as_ref().map(|_| ".."))
            .field("buildbot", &self.buildbot)
            .finish_non_exhaustive()
    }
}

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Creates `public_html` when it is named and missing.
fn public_html(setup: &Setup) -> std::io::Result<()> {
    match &setup.public_html {
        Some(dir) if !dir.exists() => {
            tracing::warn!("public_html {} does not exist; creating it empty", dir.display());
            std::fs::create_dir_all(dir)
        }
        _ => Ok(()),
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
    /// What every assembly of the server shares.
    shared: assemble::Shared,
    /// The router and pollers of the configuration in force; a reload replaces them.
    web: Arc<RwLock<Web>>,
    /// The configuration in force, to tell what a reload changes.
    setup: tokio::sync::Mutex<Setup>,
    clock: Arc<dyn Clock>,
    /// Ends the live event streams, which would otherwise hold a graceful shutdown forever.
    stop_live: tokio::sync::watch::Sender<bool>,
    outbox: Arc<dyn Outbox>,
    /// Dropping the server stops its notifiers; [`StatusServer::stop_notifiers`] lets them say
    /// goodbye first.
    notifiers: tokio::sync::Mutex<Option<notify::Running>>,
    /// Reads a followed Buildbot master's builders and workers while the server lives.
    _buildbot_sync: Option<AbortOnDrop>,
    /// The data directory is this server's while it lives.
    _data_dir: Option<data_dir::DataDirLock>,
}

/// What a reload could not apply: settings that only a restart changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Each setting left as it was, in words.
    pub kept: Vec<String>,
}

impl StatusServer {
    pub async fn start(setup: Setup) -> Result<Self, StartError> {
        Self::start_with_clock(setup, Arc::new(SystemClock)).await
    }

    /// Like [`StatusServer::start`], with pages that read `clock` (tests use a fixed one).
    pub async fn start_with_clock(setup: Setup, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let mut data_dir = None;
        if let Storage::Directory(dir) = &setup.storage {
            std::fs::create_dir_all(dir).map_err(StartError::Io)?;
            data_dir = Some(data_dir::DataDirLock::acquire(dir).await.map_err(StartError::DataDir)?);
        }
        let (store, logs, outbox): (Arc<dyn StatusStore>, Arc<dyn LogStore>, Arc<dyn Outbox>) =
            match (&setup.store_url, &setup.storage) {
                (Some(url), _) => {
                    let store = PgStore::open(url).await.map_err(StartError::Store)?;
                    let (logs, outbox) = (store.logs(), store.outbox());
                    (Arc::new(store), logs, Arc::new(outbox))
                }
                (None, Storage::Memory) => {
                    (Arc::new(MemoryStore::new()), Arc::new(MemoryLogStore::new()), Arc::new(MemoryOutbox::new()))
                }
                (None, Storage::Directory(dir)) => {
                    let path = dir.join(DATABASE);
                    let store = SqliteStore::open_with_outbox_threads(&path, notify::background::lower_priority)
                        .await
                        .map_err(StartError::Store)?;
                    let logs = DiskLogStore::open(dir.join("logs")).await.map_err(StartError::Logs)?;
                    let outbox = store.outbox();
                    (Arc::new(store), Arc::new(logs), Arc::new(outbox))
                }
            };
        public_html(&setup).map_err(StartError::Io)?;
        let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::default());
        let hub = Hub::open(store.clone(), logs.clone(), bus, setup.window).await.map_err(|e| {
            StartError::Store(match (&setup.store_url, &setup.storage) {
                (Some(url), _) => PgStore::named(url, e),
                (None, Storage::Directory(dir)) => SqliteStore::named(&dir.join(DATABASE), e),
                (None, Storage::Memory) => e,
            })
        })?;
        let (stop_live, stopping) = tokio::sync::watch::channel(false);
        let metric_sources: Vec<Arc<dyn MetricsSource>> = vec![
            hub.clone(),
            Arc::new(telemetry::OutboxMetrics(outbox.clone())),
            Arc::new(telemetry::StoreMetrics(store.clone())),
        ];
        let shared = assemble::Shared {
            hub: hub.clone(),
            logs,
            outbox: outbox.clone(),
            clock: clock.clone(),
            stopping,
            metrics: Arc::default(),
            metric_sources,
            readiness: Arc::new(telemetry::StoreReadiness(store.clone())),
            master: MasterSlot::new(Arc::new(NoMaster)),
            permissions: notify::Permissions::default(),
            session_key: http::auth::random_key(),
            streams: Arc::default(),
            live: http::LiveFanout::new(hub.clone()),
        };
        shared.permissions.set(&setup.auth);
        let followed = setup.buildbot.as_ref().map(|b| b.control.clone() as Arc<dyn MasterControl>);
        if let Some(master) = setup.master.clone().or(followed) {
            shared.master.set(master);
        }
        let buildbot_sync = (setup.buildbot.clone())
            .filter(|b| !b.poll.is_zero())
            .map(|b| AbortOnDrop(buildbot_sync::spawn(b, hub.clone(), hub.clone(), hub.clone(), clock.clone())));
        let notifiers = notify::start(&setup.notifiers, assemble::notify_context(&setup, &shared), outbox.clone())
            .await
            .map_err(StartError::Notify)?;
        let web = Arc::new(RwLock::new(assemble::assemble(&setup, &shared).map_err(StartError::Io)?));
        Ok(Self {
            hub,
            shared,
            web,
            setup: tokio::sync::Mutex::new(setup),
            clock,
            stop_live,
            outbox,
            notifiers: tokio::sync::Mutex::new(Some(notifiers)),
            _buildbot_sync: buildbot_sync,
            _data_dir: data_dir,
        })
    }

    /// From now on the web status's actions command `master` (a master that embeds the server
    /// makes its control object from [`StatusServer::sink`], then sets it here).
    pub fn set_master(&self, master: Arc<dyn MasterControl>) {
        self.shared.master.set(master);
    }

    /// The master the actions command now.
    pub fn master(&self) -> Arc<dyn MasterControl> {
        self.shared.master.get()
    }

    /// Applies a new configuration without a restart: the pages (site settings), hooks,
    /// ingest API and Git pollers take it for every request from now on (requests under way
    /// and live streams go on as they were); notification targets whose configuration changed
    /// are restarted, the others go on. Storage and the memory window need a restart: they
    /// are kept, and said so. An error (a target that cannot start) changes nothing.
    pub async fn reload(&self, setup: Setup) -> Result<Reloaded, String> {
        let mut current = self.setup.lock().await;
        let mut reloaded = Reloaded::default();
        let mut setup = setup;
        if setup.storage != current.storage {
            reloaded.kept.push(format!("data_dir stays {:?} until a restart", current.storage));
            setup.storage = current.storage.clone();
        }
        if setup.store_url != current.store_url {
            let url = current.store_url.as_deref().map_or_else(|| "none".to_owned(), postgres::redacted);
            reloaded.kept.push(format!("[store] url stays {url} until a restart"));
            setup.store_url = current.store_url.clone();
        }
        if setup.window != current.window {
            reloaded.kept.push(format!("window stays {} until a restart", current.window));
            setup.window = current.window;
        }
        if setup.limits.keep_connection_limits(&current.limits) {
            reloaded.kept.push(format!("[limits] {} stay as they were until a restart", Limits::OF_CONNECTIONS));
        }
        public_html(&setup).map_err(|e| e.to_string())?;
        if let Some(running) = self.notifiers.lock().await.as_mut() {
            running.reconcile(&setup.notifiers, assemble::notify_context(&setup, &self.shared)).await?;
        }
        let web = assemble::assemble(&setup, &self.shared).map_err(|e| format!("http_log: {e}"))?;
        *self.web.write().unwrap_or_else(|e| e.into_inner()) = web;
        self.shared.permissions.set(&setup.auth);
        *current = setup;
        Ok(reloaded)
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
        self.web.read().unwrap_or_else(|e| e.into_inner()).pollers.clone()
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

    /// The web pages, to mount in the master's own server or to serve. Each request goes to
    /// the router of the configuration in force (a reload replaces it).
    pub fn router(&self) -> axum::Router {
        let web = self.web.clone();
        let current = tower::service_fn(move |request: axum::extract::Request| {
            let router = web.read().unwrap_or_else(|e| e.into_inner()).router.clone();
            tower::ServiceExt::oneshot(router, request)
        });
        axum::Router::new().fallback_service(current)
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
        let limits = self.setup.lock().await.limits.clone();
        http::serve::serve_all(listeners, self.router(), limits, shutdown).await
    }

    /// Serves the pages on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_on(vec![http::listen::Bound::Tcp(listener)], shutdown).await
    }
}
