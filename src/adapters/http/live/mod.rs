//! `/events`: the status events as Server-Sent Events, for pages that update themselves.
//!
//! A client names where it is with `Last-Event-ID` (browsers send it on reconnecting) or
//! `?after=N` (the number a page was rendered at); it then receives exactly the events after
//! that, from the journal if need be, and live ones. At most one message goes out per
//! [`fanout::THROTTLE`], and it carries everything that came meanwhile (its `id` the last
//! event's number), so a busy master does not keep a browser busy and a stream never falls
//! behind: its throughput is what the feed gives, not a number of events per message. A
//! stream that keeps up gets every event listed; one catching up on more than
//! [`message::LISTED`] events (a client far behind, or one too slow to take the messages as
//! they came) gets a `summary` instead: the numbers it covers, how many, and the builders they
//! touched — a page refreshes once either way. Log chunks are left out: they change no page
//! but the log's own.
//!
//! `fanout.rs` makes each message once for all streams, `stream.rs` is one client's stream,
//! `message.rs` the messages' bytes.

mod fanout;
mod message;
mod stream;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;

pub use fanout::Fanout;

use super::access::StreamGuard;
use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::web::args::Args;

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
    let hello = Bytes::from(format!("retry: {}\n: live\n\n", RETRY.as_millis()));
    let messages = stream::messages(ctx.feed.clone(), after, ctx.live.subscribe());
    // Counted as an open stream for as long as the response body lives.
    let open = (StreamGuard::open(&ctx.metrics), mine);
    let body =
        futures_util::stream::once(std::future::ready(hello)).chain(messages).take_until(stopped).map(move |bytes| {
            let _counted = &open;
            Ok::<_, Infallible>(bytes)
        });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
