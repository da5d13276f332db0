//! `/events`: the status events as Server-Sent Events, for pages that update themselves.
//!
//! A client names where it is with `Last-Event-ID` (browsers send it on reconnecting) or
//! `?after=N` (the number a page was rendered at); it then receives exactly the events after
//! that, from the journal if need be, and live ones. A burst is sent as one message (its `id`
//! the burst's last number), at most one message per [`THROTTLE`], so a busy master does not
//! keep a browser busy. Log chunks are left out: they change no page but the log's own.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{StreamExt, future};

use super::access::StreamGuard;
use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::event::StatusEvent;
use crate::domain::web::args::Args;
use crate::domain::web::live::summarise;

/// The shortest time between two messages to one client.
const THROTTLE: Duration = Duration::from_millis(250);
/// The most events in one message.
const BURST: usize = 512;
/// How soon a browser reconnects after losing the stream.
const RETRY: Duration = Duration::from_millis(1000);

/// Where the client resumes: `Last-Event-ID`, else `after=`, else now.
fn resume_point(ctx: &WebContext, headers: &HeaderMap, uri: &Uri) -> Result<u64, WebError> {
    let bad = |what: &str, value: &str| WebError::BadRequest(format!("{what} '{value}' is not an event number"));
    if let Some(value) = headers.get("last-event-id") {
        let text = value.to_str().unwrap_or_default().trim();
        return text.parse().map_err(|_| bad("Last-Event-ID", text));
    }
    let args = Args::parse(uri.query().unwrap_or(""));
    match args.first("after").filter(|v| !v.is_empty()) {
        Some(v) => v.trim().parse().map_err(|_| bad("argument 'after':", v)),
        None => Ok(ctx.feed.last_seq()),
    }
}

/// `/events`.
pub async fn events(ctx: &WebContext, call: Call) -> Answer {
    let after = resume_point(ctx, call.headers(), call.uri())?;
    let address = ctx.limits.applies_to(call.visit().peer.address);
    let mine = (ctx.streams.open(address, usize::MAX, ctx.limits.max_streams_per_address, "live streams"))
        .map_err(WebError::Refused)?;
    let mut stopping = ctx.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let hello =
        futures_util::stream::once(future::ready(Ok::<_, Infallible>(Event::default().retry(RETRY).comment("live"))));
    let messages = ctx
        .feed
        .follow(after)
        .filter_map(|e| future::ready(e.ok().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. }))))
        .ready_chunks(BURST)
        .then(|burst| async move {
            tokio::time::sleep(THROTTLE).await;
            burst
        })
        .map(|burst| {
            let last = burst.last().map_or(0, |e| e.seq);
            let summaries: Vec<_> = burst.iter().map(summarise).collect();
            let event = Event::default().id(last.to_string()).event("status");
            // Summaries are plain strings and numbers: encoding them cannot fail.
            Ok::<_, Infallible>(event.data(serde_json::to_string(&summaries).unwrap_or_default()))
        });
    // Counted as an open stream for as long as the response body lives.
    let open = (StreamGuard::open(&ctx.metrics), mine);
    let stream = hello.chain(messages).take_until(stopped).map(move |m| {
        let _counted = &open;
        m
    });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache"));
    Ok(response)
}
