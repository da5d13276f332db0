//! Status images: `/png` (Buildbot 0.8's) and `/badges/BUILDER.svg|png` (flat, for READMEs).
//! Rendered images are kept in memory by what they show, so a repeated request costs a
//! lookup of the builder's newest build (answered from the hub's memory) and a copy.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::machine::badge::{self, PngSize, Status, Style};
use crate::domain::web::args::{Args, BranchFilter};
use crate::domain::web::route::BuildNumber;
use crate::ports::BuildQuery;

/// Rendered images beyond this many are dropped all at once (a flood of odd labels cannot
/// grow memory without bound).
const MAX_CACHED: usize = 4096;

/// The longest `label=` drawn, in characters: a badge is a few words wide, and the image's
/// size (and the work to draw it) grows with the label.
const MAX_LABEL: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ImageKey {
    Png(Status, PngSize),
    /// What a flat badge shows (not which builder: many show the same image).
    Flat {
        label: String,
        style: Style,
        svg: bool,
        status: Status,
    },
}

/// A rendered image and its entity tag.
#[derive(Clone)]
struct Image {
    bytes: Bytes,
    etag: HeaderValue,
}

/// Images already rendered, by what they show.
#[derive(Default)]
pub struct ImageCache(Mutex<HashMap<ImageKey, Image>>);

impl ImageCache {
    fn get_or_render(&self, key: ImageKey, render: impl FnOnce() -> Vec<u8>) -> Image {
        if let Some(hit) = self.lock().get(&key) {
            return hit.clone();
        }
        let bytes = Bytes::from(render());
        // FNV-1a of the bytes: the image is fully named by what it shows, so is its tag.
        let hash =
            bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
        let etag = HeaderValue::from_str(&format!("\"{hash:016x}\"")).unwrap_or(HeaderValue::from_static("\"0\""));
        let image = Image { bytes, etag };
        let mut map = self.lock();
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(key, image.clone());
        image
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ImageKey, Image>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `/png?builder=&number=|revision=&size=` (any path below `/png` names the same image).
/// Every answer is an image, errors too (their status says what went wrong).
pub async fn png(ctx: &WebContext, call: Call) -> Answer {
    let args = call.args();
    let size = PngSize::parse(args.first("size"));
    let (status, code) = match png_status(ctx, &args).await {
        Ok(status) => (status, StatusCode::OK),
        Err(WebError::BadRequest(why)) => {
            tracing::debug!("/png: {why}");
            (Status::Unknown, StatusCode::BAD_REQUEST)
        }
        Err(WebError::NotFound(_)) => (Status::Unknown, StatusCode::NOT_FOUND),
        Err(WebError::Forbidden(_)) => (Status::Unknown, StatusCode::FORBIDDEN),
        Err(WebError::Refused(refusal)) => return Ok(refusal.answer()),
        Err(WebError::Internal(why) | WebError::Template(why)) => {
            tracing::error!("/png: {why}");
            (Status::Unknown, StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(WebError::Unavailable(_, why)) => {
            tracing::error!("/png: {why}");
            (Status::Unknown, StatusCode::SERVICE_UNAVAILABLE)
        }
    };
    let image = ctx.images.get_or_render(ImageKey::Png(status, size), || badge::png(status, size));
    let disposition = format!("inline; filename=\"{}\"", badge::png_file_name(status, size));
    let mut response = (code, [(header::CONTENT_TYPE, "image/png")], image.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The build `/png` shows: by `revision=` (which wins), else `number=` (default -1, the newest
/// even if running).
async fn png_status(ctx: &WebContext, args: &Args) -> Result<Status, WebError> {
    let number = match args.first("number") {
        None | Some("") => BuildNumber::FromEnd(1),
        Some(text) => match BuildNumber::parse(text.trim()) {
            BuildNumber::Invalid(t) => {
                return Err(WebError::BadRequest(format!("argument 'number': '{t}' is not a build number")));
            }
            n => n,
        },
    };
    let name =
        args.first("builder").filter(|b| !b.is_empty()).ok_or_else(|| WebError::NotFound("no builder".into()))?;
    super::read::require_builder(ctx, name).await?;
    // The documentation: "If both number and revision are specified revision will be
    // ignored" (0.8's code did the opposite; the page wins).
    let number_given = args.first("number").is_some_and(|n| !n.is_empty());
    let build = match args.first("revision").filter(|r| !r.is_empty() && !number_given) {
        Some(rev) => {
            let query = BuildQuery { revision: Some(rev.to_owned()), ..BuildQuery::of_builder(name, 1) };
            ctx.reader.builds(&query).await?.into_iter().next().map(std::sync::Arc::unwrap_or_clone)
        }
        None => {
            let newest = ctx.reader.newest_build_number(name).await?;
            match number.resolve(newest) {
                Some(n) => ctx.reader.build(name, n).await?,
                None => None,
            }
        }
    };
    let build = build.ok_or_else(|| WebError::NotFound(format!("No such build of '{name}'")))?;
    Ok(build.result.map_or(Status::Running, Status::Finished))
}

/// `/badges/BUILDER.svg` and `.png`.
pub async fn flat(ctx: &WebContext, call: Call) -> Answer {
    let (file, request) = (call.param("file")?, call.headers());
    let (builder, svg) = match (file.strip_suffix(".svg"), file.strip_suffix(".png")) {
        (Some(b), _) => (b, true),
        (_, Some(b)) => (b, false),
        _ => return Err(WebError::NotFound(format!("No badge '{file}': ask for BUILDER.svg or BUILDER.png"))),
    };
    let args = call.args();
    let label = args.first("label").filter(|l| !l.is_empty()).unwrap_or("build").to_owned();
    if label.chars().count() > MAX_LABEL {
        return Err(WebError::BadRequest(format!("argument 'label': longer than {MAX_LABEL} characters")));
    }
    let branch = args.first("branch").filter(|b| !b.is_empty()).map(str::to_owned);
    let (style, mut code, mut status) = match Style::parse(args.first("style")) {
        Ok(style) => (style, StatusCode::OK, Status::Unknown),
        Err(why) => {
            tracing::debug!("badge: {why}");
            (Style::Flat, StatusCode::BAD_REQUEST, Status::Unknown)
        }
    };
    if code == StatusCode::OK {
        if ctx.reader.builders().await?.iter().any(|b| b.name == builder) {
            let query = BuildQuery {
                branches: BranchFilter(branch.iter().cloned().collect()),
                finished: Some(true),
                ..BuildQuery::of_builder(builder, 1)
            };
            if let Some(b) = ctx.reader.builds(&query).await?.into_iter().next() {
                status = b.result.map_or(Status::Running, Status::Finished);
            }
        } else {
            code = StatusCode::NOT_FOUND;
        }
    }
    let key = ImageKey::Flat { label: label.clone(), style, svg, status };
    let (message, colour) = status.flat();
    let image = ctx.images.get_or_render(key, || {
        if svg {
            badge::svg(&label, message, colour, style).into_bytes()
        } else {
            badge::flat_png(&label, message, colour)
        }
    });
    if code == StatusCode::OK && request.get(header::IF_NONE_MATCH) == Some(&image.etag) {
        return Ok(with_cache_headers((StatusCode::NOT_MODIFIED, ()).into_response(), image.etag));
    }
    let content_type = if svg { "image/svg+xml; charset=utf-8" } else { "image/png" };
    let mut response =
        with_cache_headers((code, [(header::CONTENT_TYPE, content_type)], image.bytes).into_response(), image.etag);
    // Opened on its own, an SVG is a document: it may draw, never run anything.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// Badges change when builds finish: caches (CDNs, GitHub's image proxy) must revalidate
/// every time, which the entity tag makes cheap.
fn with_cache_headers(mut response: Response, etag: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, max-age=0, must-revalidate"));
    headers.insert(header::ETAG, etag);
    response
}
