//! `/events`: the status events as Server-Sent Events, for pages that update themselves.
//!
//! A client names where it is with `Last-Event-ID` (browsers send it on reconnecting) or
//! `?after=N` (the number a page was rendered at); it then receives exactly the events after
//! that, from the journal if need be, and live ones. At most one message goes out per
//! [`THROTTLE`], and it carries everything that came meanwhile (its `id` the last event's
//! number), so a busy master does not keep a browser busy and a stream never falls behind:
//! its throughput is what the feed gives, not a number of events per message. A message of
//! more than [`LISTED`] events (a client far behind, or a master very busy) is a `summary`
//! instead: the numbers it covers, how many, and the builders they touched — a page refreshes
//! once either way. Log chunks are left out: they change no page but the log's own.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{FutureExt, Stream, StreamExt, future};

use super::access::StreamGuard;
use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::web::args::Args;
use crate::domain::web::live::summarise;

/// The shortest time between two messages to one client.
const THROTTLE: Duration = Duration::from_millis(250);
/// The most events a message lists one by one; more are summarised.
const LISTED: usize = 256;
/// The most events one message covers (a bound on what is held for one client).
const MOST: usize = 50_000;
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
    let events = ctx
        .feed
        .follow(after)
        .filter_map(|e| future::ready(e.ok().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. }))));
    let messages = coalesced(Box::pin(events)).map(|batch| Ok::<_, Infallible>(message(&batch)));
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

/// The events in batches: a batch starts with the first event after the last one went out,
/// and takes every event that comes until [`THROTTLE`] after the last one (at once, when that
/// has passed: then with what is already waiting).
fn coalesced(
    events: std::pin::Pin<Box<dyn Stream<Item = SequencedEvent> + Send>>,
) -> impl Stream<Item = Vec<SequencedEvent>> + Send {
    futures_util::stream::unfold((events, None::<tokio::time::Instant>), |(mut events, last_sent)| async move {
        let first = events.next().await?;
        let mut batch = vec![first];
        let due = last_sent.map_or_else(tokio::time::Instant::now, |sent| sent + THROTTLE);
        let deadline = tokio::time::sleep_until(due);
        tokio::pin!(deadline);
        while batch.len() < MOST {
            tokio::select! {
                biased;
                () = &mut deadline => break,
                next = events.next() => match next {
                    Some(event) => batch.push(event),
                    None => break,
                },
            }
        }
        while batch.len() < MOST
            && let Some(Some(event)) = events.next().now_or_never()
        {
            batch.push(event);
        }
        Some((batch, (events, Some(tokio::time::Instant::now()))))
    })
}

/// One message for `batch`: its events listed, or summarised when there are many.
fn message(batch: &[SequencedEvent]) -> Event {
    let last = batch.last().map_or(0, |e| e.seq);
    let event = Event::default().id(last.to_string());
    // Summaries are plain strings and numbers: encoding them cannot fail.
    if batch.len() <= LISTED {
        let summaries: Vec<_> = batch.iter().map(summarise).collect();
        return event.event("status").data(serde_json::to_string(&summaries).unwrap_or_default());
    }
    let builders: std::collections::BTreeSet<&str> = batch.iter().filter_map(|e| summarise(e).builder).collect();
    let first = batch.first().map_or(0, |e| e.seq);
    let summary = serde_json::json!({ "from": first, "to": last, "count": batch.len(), "builders": builders });
    event.event("summary").data(summary.to_string())
}
