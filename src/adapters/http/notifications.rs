//! `/notifications`: the delivery log of every notification target, read from the outbox;
//! `/notifications/metrics`: the same counts in the Prometheus text format.
//! They read the outbox, which nothing else of the site needs: their context of their own
//! ([`NotificationsContext`]) is one field of the site's.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::call::{Answer, Call};
use super::{WebContext, WebError};
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
    let mut targets = Vec::new();
    let counts = match ctx.outbox.counts().await {
        Ok(c) => c,
        Err(e) => return WebError::Internal(e.to_string()).respond(&ctx.site, ctx.clock.as_ref(), uri.path()),
    };
    for counts in counts.into_iter().filter(|c| only.is_none_or(|t| t == c.target)) {
        match ctx.outbox.log(&counts.target, None, limit).await {
            Ok(recent) => targets.push(TargetLog { counts, recent }),
            Err(e) => return WebError::Internal(e.to_string()).respond(&ctx.site, ctx.clock.as_ref(), uri.path()),
        }
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], notifications_page(&page, &targets).into_string())
        .into_response()
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
            return (StatusCode::INTERNAL_SERVER_ERROR, "the outbox could not be read\n").into_response();
        }
    };
    let mut text = String::from(
        "# HELP buildstatus_notifications Messages in the outbox, by target and state.\n\
         # TYPE buildstatus_notifications gauge\n",
    );
    for c in &counts {
        for (state, n) in [("pending", c.pending), ("sent", c.sent), ("failed", c.failed)] {
            let target = label(&c.target);
            text.push_str(&format!("buildstatus_notifications{{target=\"{target}\",state=\"{state}\"}} {n}\n"));
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
