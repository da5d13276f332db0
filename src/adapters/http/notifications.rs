//! `/notifications`: the delivery log of every notification target, read from the outbox;
//! `/notifications/metrics`: the same counts in the Prometheus text format, and the age of
//! each target's oldest message still to go. A target that reports a status of its own
//! (`domain::notify::status`: an IRC bot's connection) has its line on the page and its
//! `buildstatus_target_up` gauge.
//! They read the outbox, which nothing else of the site needs: their context of their own
//! ([`NotificationsContext`]) is one field of the site's.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::notify::outbox::{Discipline, TargetCounts, TargetId};
use crate::domain::notify::status::{STATUS_NOTE, TargetStatus};
use crate::domain::web::args::Args;
use crate::domain::web::layout::{Page, Site};
use crate::domain::web::pages::{TargetLog, notifications_page};
use crate::ports::{Clock, Outbox};

/// Messages shown per target unless `?limit=N` says otherwise.
const SHOWN: usize = 50;

pub struct NotificationsContext {
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
    /// The configured targets (shown even before they queue anything), with how they deliver.
    pub targets: Vec<(TargetId, Discipline)>,
}

/// `/notifications`, as the route table calls it.
pub async fn delivery_log(ctx: &WebContext, call: Call) -> Answer {
    let query = RawQuery(call.uri().query().map(str::to_owned));
    Ok(page(State(ctx.notifications.clone()), call.uri().clone(), query).await)
}

/// `/notifications/metrics`, as the route table calls it.
pub async fn delivery_metrics(ctx: &WebContext, _: Call) -> Answer {
    Ok(metrics(State(ctx.notifications.clone())).await)
}

async fn page(State(ctx): State<Arc<NotificationsContext>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    let args = Args::parse(query.as_deref().unwrap_or(""));
    let page = Page::plain(&ctx.site, uri.path(), ctx.clock.now());
    let limit = match args.count("limit", SHOWN) {
        Ok(n) => n.min(1000),
        Err(e) => return WebError::from(e).respond(&ctx.site, ctx.clock.as_ref(), uri.path()),
    };
    let only = args.first("target");
    let counts = match ctx.outbox.counts().await {
        Ok(c) => c,
        Err(e) => return WebError::failed(&e).respond(&ctx.site, ctx.clock.as_ref(), uri.path()),
    };
    let mut targets = Vec::new();
    for (counts, discipline) in
        shown(&ctx.targets, counts).into_iter().filter(|(c, _)| only.is_none_or(|t| named(t, &c.target)))
    {
        let status = status_of(ctx.outbox.as_ref(), &counts.target).await;
        let read = async {
            let head = if counts.pending + counts.sending > 0 { ctx.outbox.head(&counts.target).await? } else { None };
            Ok::<_, crate::ports::OutboxError>((head, ctx.outbox.log(&counts.target, None, limit).await?))
        };
        match read.await {
            Ok((head, recent)) => targets.push(TargetLog { counts, discipline, head, recent, status }),
            Err(e) => return WebError::failed(&e).respond(&ctx.site, ctx.clock.as_ref(), uri.path()),
        }
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], notifications_page(&page, &targets).into_string())
        .into_response()
}

/// The status line `target` reports of itself (a bot's connection), if it reports one.
async fn status_of(outbox: &dyn Outbox, target: &str) -> Option<TargetStatus> {
    outbox.note(target, STATUS_NOTE).await.ok().flatten().and_then(|n| TargetStatus::from_note(&n))
}

/// Every target to show, in id order: the configured ones, and any other the outbox holds
/// messages of (a target since removed from the configuration), with their counts.
fn shown(configured: &[(TargetId, Discipline)], counts: Vec<TargetCounts>) -> Vec<(TargetCounts, Option<Discipline>)> {
    let mut all: std::collections::BTreeMap<String, (TargetCounts, Option<Discipline>)> = configured
        .iter()
        .map(|(id, d)| (id.to_string(), (TargetCounts { target: id.to_string(), ..TargetCounts::default() }, Some(*d))))
        .collect();
    for c in counts {
        let discipline = all.get(&c.target).and_then(|(_, d)| *d);
        all.insert(c.target.clone(), (c, discipline));
    }
    all.into_values().collect()
}

/// Whether `target=` names the target `id` (`kind/name`), or its name alone (as links made
/// before targets had kinds do).
fn named(asked: &str, id: &str) -> bool {
    asked == id || TargetId::parse(id).is_some_and(|t| t.name() == asked)
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

async fn metrics(State(ctx): State<Arc<NotificationsContext>>) -> Response {
    let counts = match ctx.outbox.counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("/notifications/metrics failed: {e}");
            return match crate::ports::fault(&e) {
                Some(f) => super::error::unavailable(f, "the outbox could not be read"),
                None => (StatusCode::INTERNAL_SERVER_ERROR, "the outbox could not be read: the server failed\n")
                    .into_response(),
            };
        }
    };
    let mut text = String::from(
        "# HELP buildstatus_notifications Messages in the outbox, by target (kind/name) and state.\n\
         # TYPE buildstatus_notifications gauge\n",
    );
    for c in &counts {
        let kind = TargetId::parse(&c.target).map(|t| t.kind().to_owned()).unwrap_or_default();
        let (target, kind) = (label(&c.target), label(&kind));
        for (state, n) in c.by_state() {
            let state = state.name();
            text.push_str(&format!(
                "buildstatus_notifications{{kind=\"{kind}\",target=\"{target}\",state=\"{state}\"}} {n}\n"
            ));
        }
    }
    text.push_str(
        "# HELP buildstatus_notifications_oldest_waiting_seconds Age of each target's oldest message still to go.\n\
         # TYPE buildstatus_notifications_oldest_waiting_seconds gauge\n",
    );
    let now = ctx.clock.now();
    for c in counts.iter().filter(|c| c.pending + c.sending > 0) {
        if let Ok(Some(head)) = ctx.outbox.head(&c.target).await {
            let kind = TargetId::parse(&c.target).map(|t| t.kind().to_owned()).unwrap_or_default();
            let age = (now - head.created).num_milliseconds().max(0) as f64 / 1000.0;
            text.push_str(&format!(
                "buildstatus_notifications_oldest_waiting_seconds{{kind=\"{}\",target=\"{}\"}} {age}\n",
                label(&kind),
                label(&c.target)
            ));
        }
    }
    text.push_str(
        "# HELP buildstatus_target_up Whether a target with a connection of its own (an IRC bot) is connected.\n\
         # TYPE buildstatus_target_up gauge\n",
    );
    let mut ids: Vec<String> = ctx.targets.iter().map(|(id, _)| id.to_string()).collect();
    ids.extend(
        counts.iter().map(|c| c.target.clone()).filter(|t| !ctx.targets.iter().any(|(id, _)| id.to_string() == *t)),
    );
    for id in ids {
        if let Some(status) = status_of(ctx.outbox.as_ref(), &id).await {
            let kind = TargetId::parse(&id).map(|t| t.kind().to_owned()).unwrap_or_default();
            let up = u8::from(status.up);
            text.push_str(&format!(
                "buildstatus_target_up{{kind=\"{}\",target=\"{}\"}} {up}\n",
                label(&kind),
                label(&id)
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_cannot_break_the_metrics_format() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
