//! How an HTML page is answered, whichever page it is: its query arguments, the frame the
//! domain draws around it (path to the root, time, reload, alert, live updates), the headers,
//! and for the views the view cache. A page's handler says which [`Frame`] it wants and hands
//! over its renderer; nothing else about serving a page is written twice.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use maud::{Markup, PreEscaped};
use minijinja::value::Value;

use super::call::Call;
use super::view_cache::ViewKey;
use super::{WebContext, WebError};
use crate::domain::web::args::Args;
use crate::domain::web::layout::{Layout, Page, frame};
use crate::domain::web::text::path_to_root;

/// How a page is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    live: bool,
    no_cache: bool,
    kept: bool,
    apart: bool,
    default_reload: Option<u32>,
}

impl Frame {
    /// Not updated live, and browsers may keep it.
    pub const PLAIN: Self = Self { live: false, no_cache: false, kept: false, apart: false, default_reload: None };
    /// The waterfall, grids and console: live, never kept by browsers, and kept in the view
    /// cache (they are pure functions of the status, the URL and the second); drawn apart from
    /// the async workers, since a cold one takes milliseconds of CPU.
    pub const VIEW: Self = Self::PLAIN.live().no_cache().kept().apart();

    /// The page updates itself from the live event stream, from the event it was rendered at.
    pub const fn live(self) -> Self {
        Self { live: true, ..self }
    }

    /// Browsers must ask again each time (`Cache-Control: no-cache`).
    pub const fn no_cache(self) -> Self {
        Self { no_cache: true, ..self }
    }

    const fn kept(self) -> Self {
        Self { kept: true, ..self }
    }

    const fn apart(self) -> Self {
        Self { apart: true, ..self }
    }

    /// Reload every `seconds` unless `reload=` says otherwise (`reload=0` turns it off).
    pub const fn reload_by_default(self, seconds: u32) -> Self {
        Self { default_reload: Some(seconds), ..self }
    }
}

/// Answers `call` with the page `render` draws in `frame`.
///
/// The newest event's number is read before the page's data, so a live page repeats an event
/// rather than misses one, and a kept view is never older than its key says. The page's time
/// is the request's second: a view kept for this second is exactly this view.
pub async fn page(
    ctx: &WebContext,
    call: &Call,
    frame: Frame,
    render: impl AsyncFnOnce(&WebContext, &Page<'_>, &Args) -> Result<Markup, WebError>,
) -> Result<Response, WebError> {
    let args = call.args();
    let reload = match (frame.default_reload, args.first("reload")) {
        (Some(seconds), None) => Some(seconds),
        (_, given) => given.and_then(|r| r.parse().ok()).filter(|r| *r > 0),
    };
    let seq = ctx.feed.last_seq();
    let now = ctx.clock.now();
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let visit = call.visit();
    let viewer = match (&visit.session, &visit.viewer.identity) {
        (Some(session), _) => format!("session:{session}"),
        (None, Some(who)) => format!("user:{}", who.user),
        (None, None) => String::new(),
    };
    let key = frame.kept.then(|| ViewKey::new(call.uri(), seq, now.timestamp()).for_viewer(viewer));
    if let Some(kept) = key.as_ref().and_then(|k| ctx.kept_view(k)) {
        return Ok(kept);
    }
    let layout = ctx.templates.layout();
    let page = Page {
        site: &ctx.site,
        root: path_to_root(call.path()),
        now,
        reload,
        alert: args.first("alert_msg").map(str::to_owned),
        live: frame.live.then_some(seq),
        viewer: Some(call.viewer()),
        layout: layout.as_ref().map(|l| l as &dyn Layout),
    };
    let markup = match frame.apart {
        true => apart(render(ctx, &page, &args)).await?,
        false => render(ctx, &page, &args).await?,
    };
    if let Some(why) = layout.as_ref().and_then(|l| l.failure()) {
        return Err(WebError::Template(why.to_owned()));
    }
    let response = response(markup, frame.no_cache);
    match key {
        Some(key) => Ok(ctx.views.keep(key, response).await),
        None => Ok(response),
    }
}

/// Runs `work` (a view's reads and drawing, milliseconds of CPU when cold) on this thread
/// while the runtime hands the thread's other tasks to another worker: on a busy master the
/// live streams and the ingest API are then served meanwhile, not queued behind pages. (Only
/// a multi-threaded runtime can do that; on another, `work` is simply awaited.)
async fn apart<F: Future>(work: F) -> F::Output {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let handle = Handle::current();
    match handle.runtime_flavor() {
        RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| handle.block_on(work)),
        _ => work.await,
    }
}

/// The page the site's template `name` draws from `data` (called only when there is one), or
/// else the built-in page.
pub fn drawn(
    ctx: &WebContext,
    page: &Page,
    name: &str,
    data: impl FnOnce() -> Value,
    built_in: impl FnOnce() -> Markup,
) -> Result<Markup, WebError> {
    if !ctx.templates.has(name) {
        return Ok(built_in());
    }
    let (title, content) = ctx.templates.render_page(name, page, data()).map_err(WebError::Template)?;
    Ok(frame(page, title.as_deref().unwrap_or(&page.site.title), PreEscaped(content)))
}

/// `value` as a template sees it.
pub fn ser<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// An HTML answer; `no_cache` tells browsers to ask again each time.
pub fn response(markup: Markup, no_cache: bool) -> Response {
    let body = Bytes::from(markup.into_string());
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    if no_cache {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}
