//! The web server: axum on hyper. Every request goes through one route table (`routes.rs`),
//! where each page and resource is declared once; the path is read by pure domain functions,
//! the handler reads status through the [`StatusReader`] and [`LogStore`] ports, and answers
//! with pages the domain renders. Logs stream; nothing is read whole.
//!
//! Tests start it on a free loopback port and talk to it with an HTTP client and Chromium.

pub mod access;
pub mod access_log;
mod actions;
pub mod auth;
mod badges;
mod body;
mod call;
mod cctray;
mod error;
mod feeds;
mod files;
mod health;
pub mod hooks;
mod html;
pub mod ingest;
mod json;
pub mod limits;
pub mod listen;
mod live;
mod logs;
mod metrics;
mod notifications;
mod pages;
mod people;
mod read;
// `pub(crate)` for `crate::fuzzing`, which hands the route lookup to the fuzz targets.
pub(crate) mod routes;
mod security;
pub mod serve;
pub use security::CONTENT_SECURITY_POLICY;
pub mod templates;
mod view_cache;
mod views;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;

use crate::domain::web::layout::Site;
use crate::ports::{Clock, EventFeed, LogStore, MasterSlot, MetricsSource, Readiness, StatusReader};

pub use auth::{AuthSettings, FrontEnd, Login, LoginLimits, WebAuth};
pub use badges::ImageCache;
pub use error::WebError;
pub use listen::Peer;
pub use live::Fanout as LiveFanout;
pub use notifications::NotificationsContext;

/// Everything the web server reads from.
pub struct WebContext {
    pub reader: Arc<dyn StatusReader>,
    /// The status events, for live pages.
    pub feed: Arc<dyn EventFeed>,
    /// The live pages' messages, made once for all their streams.
    pub live: Arc<LiveFanout>,
    /// Changes to `true` when the server shuts down: live streams end so that it can.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub logs: Arc<dyn LogStore>,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
    /// Static files served next to the pages; `None` serves only the built-in ones.
    pub public_html: Option<PathBuf>,
    /// Descriptions of the change sources, for `/changes`.
    pub change_sources: Vec<String>,
    /// Status images already rendered.
    pub images: ImageCache,
    /// Views already rendered for the current status.
    pub views: view_cache::ViewCache,
    /// What `/notifications` reads.
    pub notifications: Arc<NotificationsContext>,
    /// The web server's own figures (requests, latency, live streams, the view cache).
    pub metrics: Arc<access::HttpMetrics>,
    /// The other parts of the server `/metrics` reports on.
    pub metric_sources: Vec<Arc<dyn MetricsSource>>,
    /// What `/health/ready` asks.
    pub readiness: Arc<dyn Readiness>,
    /// The site's own page templates and layout.
    pub templates: Arc<templates::PageTemplates>,
    /// Who may do what, the sessions and the logins.
    pub auth: Arc<WebAuth>,
    /// The master the actions command.
    pub master: MasterSlot,
    /// What one client may take (its live streams, here).
    pub limits: limits::Limits,
    /// The live streams open, per address: counted across reloads.
    pub streams: Arc<limits::OpenCounter>,
}

impl WebContext {
    /// The view or JSON answer kept for `key`, the hit or miss counted for `/metrics`.
    pub(crate) fn kept_view(&self, key: &view_cache::ViewKey) -> Option<axum::response::Response> {
        use std::sync::atomic::Ordering;
        let kept = self.views.get(key);
        let counter = if kept.is_some() { &self.metrics.view_cache_hits } else { &self.metrics.view_cache_misses };
        counter.fetch_add(1, Ordering::Relaxed);
        kept
    }
}

/// The router of the whole site: every path goes to the route table (`routes.rs`), which
/// checks the method itself, so that a route may take POST or any method.
/// Every answer gets the browser security headers of `security.rs`.
pub fn router(context: WebContext) -> Router {
    let context = Arc::new(context);
    Router::new()
        .route("/", any(routes::dispatch))
        .route("/{*path}", any(routes::dispatch))
        .with_state(context)
        .layer(axum::middleware::from_fn(security::headers))
}
