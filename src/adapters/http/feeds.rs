//! `/rss` and `/atom`: picks the builds and the tails of their failed logs, then answers with
//! the documents the domain writes.

use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::event::Channel;
use crate::domain::machine::feeds::{self, Entry, FEED_SIZE, FeedFilter, LOG_LINES};
use crate::domain::model::{Build, Builder};
use crate::domain::web::args::{Args, named_and_tagged};
use crate::ports::{BuildQuery, owned};

/// Bytes read from a log's end for its last lines.
const TAIL_BYTES: u64 = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
}

/// `/rss` (any path below it names the same feed).
pub async fn rss(ctx: &WebContext, call: Call) -> Answer {
    feed(ctx, call.uri(), Format::Rss).await
}

/// `/atom` (any path below it names the same feed).
pub async fn atom(ctx: &WebContext, call: Call) -> Answer {
    feed(ctx, call.uri(), Format::Atom).await
}

async fn feed(ctx: &WebContext, uri: &Uri, format: Format) -> Result<Response, WebError> {
    let name = match format {
        Format::Rss => "rss",
        Format::Atom => "atom",
    };
    if !ctx.site.provides(name) {
        return Err(WebError::NotFound(format!("/{name} is not provided on this server (provide_feeds)")));
    }
    let filter = FeedFilter::parse(&Args::parse(uri.query().unwrap_or("")));
    let mut recent = Vec::new();
    for builder in chosen(ctx, &filter).await? {
        recent.extend(owned(ctx.reader.builds(&BuildQuery::of_builder(&builder.name, FEED_SIZE)).await?));
    }
    let mut entries = Vec::new();
    for build in feeds::select(recent, &filter) {
        let logs = failed_logs(ctx, &build).await;
        entries.push(Entry { build, logs });
    }
    let now = ctx.clock.now();
    let body = match format {
        Format::Rss => feeds::rss(&ctx.site, &entries, now),
        Format::Atom => feeds::atom(&ctx.site, &entries, now),
    };
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=UTF-8")], body).into_response())
}

async fn chosen(ctx: &WebContext, filter: &FeedFilter) -> Result<Vec<Builder>, WebError> {
    Ok(named_and_tagged(ctx.reader.builders().await?, &filter.builders, &filter.tags))
}

async fn failed_logs(ctx: &WebContext, build: &Build) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for step in feeds::failed_steps(&build.steps) {
        for log in &step.logs {
            let lines = tail(ctx, log.id).await.unwrap_or_else(|e| {
                tracing::warn!("feed: log {} of {} #{}: {e}", log.name, build.builder, build.number);
                vec!["** log file not available **".to_owned()]
            });
            out.push((log.name.clone(), lines));
        }
    }
    out
}

/// The last [`LOG_LINES`] lines of a log's stdout and stderr, read from its end.
async fn tail(ctx: &WebContext, log: u64) -> Result<Vec<String>, crate::ports::LogError> {
    let size = ctx.logs.size(log).await?;
    let from = size.total.saturating_sub(TAIL_BYTES);
    let pieces = ctx.logs.read(log, from, size.total - from).await?;
    let mut bytes = Vec::new();
    for piece in pieces.iter().filter(|p| p.channel != Channel::Header) {
        bytes.extend_from_slice(&piece.data);
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0); // cut mid-line
    }
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let skip = lines.len().saturating_sub(LOG_LINES);
    Ok(lines[skip..].iter().map(|l| feeds::plain(l)).collect())
}
