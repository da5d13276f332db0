//! The web server: axum on hyper. It parses the request (route and query arguments, pure
//! domain functions), reads status through the [`StatusReader`] and [`LogStore`] ports, and
//! answers with pages the domain renders. Logs stream; nothing is read whole.
//!
//! Tests start it on a free loopback port and talk to it with an HTTP client and Chromium.

mod badges;
mod body;
mod cctray;
mod error;
mod feeds;
mod files;
pub mod hooks;
pub mod ingest;
mod json;
mod live;
mod logs;
mod notifications;
mod pages;
mod people;
mod read;
mod view_cache;
mod views;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;

use crate::domain::web::layout::Site;
use crate::domain::web::route::Route;
use crate::ports::{Clock, EventFeed, LogStore, StatusReader};
use view_cache::ViewKey;

pub use badges::ImageCache;
pub use error::WebError;
pub use notifications::{NotificationsContext, notifications_router};

/// Everything the web server reads from.
pub struct WebContext {
    pub reader: Arc<dyn StatusReader>,
    /// The status events, for live pages.
    pub feed: Arc<dyn EventFeed>,
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
}

/// The router of the whole site.
pub fn router(context: WebContext) -> Router {
    Router::new().route("/", get(dispatch)).route("/{*path}", get(dispatch)).with_state(Arc::new(context))
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY a response sent in two writes (a file's headers, then its body)
    // waits for the client's delayed ACK of the first: 40 ms a request.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on a connection: {e}");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn dispatch(State(ctx): State<Arc<WebContext>>, request: Request) -> Response {
    // Only the URI and method are kept across awaits: a request body is not `Sync`.
    let (uri, method) = (request.uri().clone(), request.method().clone());
    let path = uri.path().to_owned();
    let answer = match Route::parse(&path) {
        Route::Static(file) => files::serve(&ctx, &file, request).await,
        Route::Log(b, n, s, l) => logs::html(&ctx, &method, &uri, &b, &n, &s, &l).await,
        Route::LogText(b, n, s, l) => logs::text(&ctx, &method, &b, &n, &s, &l).await,
        Route::Events => live::events(&ctx, request.headers(), &uri),
        Route::Json(segments) => {
            // The event number is read before the data, so a cached answer is never older
            // than its key says.
            let key = ViewKey { uri: uri.to_string(), seq: ctx.feed.last_seq(), second: ctx.clock.now().timestamp() };
            // Only GET and HEAD reach here (the router answers 405 to the rest).
            match ctx.views.get(&key) {
                Some(cached) => Ok(cached),
                None => Ok(ctx.views.keep(key, json::answer(&ctx, &uri, &segments).await).await),
            }
        }
        Route::Rss => feeds::feed(&ctx, &uri, feeds::Format::Rss).await,
        Route::Atom => feeds::feed(&ctx, &uri, feeds::Format::Atom).await,
        Route::Png => Ok(badges::png(&ctx, &uri).await),
        Route::Badge(file) => badges::flat(&ctx, &uri, &file, request.headers()).await,
        Route::CcTray => cctray::cc(&ctx, &uri).await,
        Route::BuildStatus => people::buildstatus(&ctx, &uri).await,
        Route::Users => people::users(&ctx, &uri, None).await,
        Route::User(uid) => people::users(&ctx, &uri, Some(&uid)).await,
        route => pages::page(&ctx, &uri, route).await,
    };
    answer.unwrap_or_else(|e| e.into_response(&ctx, &path))
}
