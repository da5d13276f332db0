//! Log views, streamed: the HTML page sends its header at once, then each piece of the log as
//! it is read (and, for a running step, as it is written), then its footer. The text view
//! sends stdout and stderr only. Memory stays bounded by the log store's piece size.

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};

use super::access::StreamGuard;
use super::call::{Answer, Call};
use super::read::{find_build, no_step};
use super::{WebContext, WebError};
use crate::domain::event::Channel;
use crate::domain::model::{LogKind, LogRef};
use crate::domain::web::log_html;
use crate::domain::web::route::BuildNumber;
use crate::domain::web::text::path_to_root;
use crate::ports::{LogError, LogPiece};

/// The log a URL names: `/builders/{builder}/builds/{number}/steps/{step}/logs/{log}[/text]`.
struct LogAddress<'c> {
    builder: &'c str,
    number: BuildNumber,
    step: &'c str,
    log: &'c str,
}

impl<'c> LogAddress<'c> {
    fn of(call: &'c Call) -> Result<Self, WebError> {
        Ok(Self {
            builder: call.param("builder")?,
            number: call.build_number("number")?,
            step: call.param("step")?,
            log: call.param("log")?,
        })
    }
}

async fn find_log(ctx: &WebContext, address: &LogAddress<'_>) -> Result<(u32, LogRef), WebError> {
    let LogAddress { builder: b, number: n, step: s, log: l } = address;
    let build = find_build(ctx, b, n).await?;
    let step = build.step(s).ok_or_else(|| no_step(&build, s))?;
    let log = step.log(l).cloned();
    let log = log.ok_or_else(|| {
        WebError::NotFound(format!("No log '{l}' in step '{s}' of build #{} of builder '{b}'", build.number))
    })?;
    Ok((build.number, log))
}

fn cache_control(log: &LogRef) -> HeaderValue {
    HeaderValue::from_static(if log.finished { "max-age=604800" } else { "no-cache" })
}

/// Headers of a log view; `text_only` gives the exact length of the text view, else the
/// length of all content (the HTML view's markup is not counted, as in Buildbot).
async fn head(
    ctx: &WebContext,
    log: &LogRef,
    content_type: &'static str,
    text_only: bool,
) -> Result<Response, WebError> {
    let size = ctx.logs.size(log.id).await?;
    let size = if text_only { size.text() } else { size.total };
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CACHE_CONTROL, cache_control(log));
    Ok(response)
}

/// The log's content, following it while it is open, until the server stops (a page left
/// open on a running step must not hold a graceful shutdown). A client at its limit of live
/// streams gets the log as it stands, not followed.
fn pieces(ctx: &WebContext, call: &Call, log: &LogRef) -> impl Stream<Item = Result<LogPiece, LogError>> + use<> {
    let mut stopping = ctx.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    // A followed log counts as an open stream for as long as its response body lives.
    let address = ctx.limits.applies_to(call.visit().peer.address);
    let open = (!log.finished)
        .then(|| ctx.streams.open(address, usize::MAX, ctx.limits.max_streams_per_address, "live streams").ok())
        .flatten()
        .map(|mine| (StreamGuard::open(&ctx.metrics), mine));
    let follow = open.is_some();
    ctx.logs.stream(log.id, 0, follow).take_until(stopped).map(move |piece| {
        let _counted = &open;
        piece
    })
}

fn streamed(log: &LogRef, content_type: &'static str, body: Body) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, cache_control(log));
    response
}

fn io_error(e: LogError) -> std::io::Error {
    tracing::error!("log stream failed: {e}");
    std::io::Error::other(e.to_string())
}

/// The log as an HTML page (a log the step wrote as HTML is sent as it is).
pub async fn html(ctx: &WebContext, call: Call) -> Answer {
    let address = LogAddress::of(&call)?;
    let (number, log) = find_log(ctx, &address).await?;
    let html_log = log.kind == LogKind::Html;
    let content_type = if html_log { "text/html" } else { "text/html; charset=utf-8" };
    if *call.method() == Method::HEAD {
        return head(ctx, &log, content_type, false).await;
    }
    let pieces = pieces(ctx, &call, &log);
    if html_log {
        let body = pieces.map(|p| p.map(|p| p.data).map_err(io_error));
        return Ok(streamed(&log, content_type, Body::from_stream(body)));
    }
    let LogAddress { builder, step, log: name, .. } = address;
    let header = log_html::header(&path_to_root(call.path()), builder, number, step, name);
    let mut decoder = Utf8Carry::default();
    let chunks = pieces.map(move |piece| {
        let piece = piece.map_err(io_error)?;
        let text = decoder.decode(&piece);
        Ok::<_, std::io::Error>(Bytes::from(log_html::chunk(piece.channel, &text).into_string()))
    });
    let body = stream::once(async move { Ok(Bytes::from(header)) })
        .chain(chunks)
        .chain(stream::once(async { Ok(Bytes::from_static(log_html::FOOTER.as_bytes())) }));
    Ok(streamed(&log, content_type, Body::from_stream(body)))
}

/// The log's stdout and stderr as plain text.
pub async fn text(ctx: &WebContext, call: Call) -> Answer {
    let address = LogAddress::of(&call)?;
    let (_, log) = find_log(ctx, &address).await?;
    if log.kind == LogKind::Html {
        return Err(WebError::NotFound(format!("Log '{}' is HTML and has no text view", address.log)));
    }
    let content_type = "text/plain; charset=utf-8";
    if *call.method() == Method::HEAD {
        return head(ctx, &log, content_type, true).await;
    }
    let body = pieces(ctx, &call, &log)
        .filter(|p| std::future::ready(!matches!(p, Ok(LogPiece { channel: Channel::Header, .. }))))
        .map(|p| p.map(|p| p.data).map_err(io_error));
    Ok(streamed(&log, content_type, Body::from_stream(body)))
}

/// Decodes pieces as UTF-8, holding back a character cut at a piece's end until the next piece.
#[derive(Default)]
struct Utf8Carry {
    held: Vec<u8>,
}

impl Utf8Carry {
    fn decode(&mut self, piece: &LogPiece) -> String {
        let mut bytes = std::mem::take(&mut self.held);
        bytes.extend_from_slice(&piece.data);
        let cut = match std::str::from_utf8(&bytes) {
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            _ => bytes.len(),
        };
        self.held = bytes.split_off(cut);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
