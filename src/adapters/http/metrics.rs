//! `/metrics`: the whole server in one Prometheus scrape: the web server's own figures
//! (`access.rs`) and every source the app hands it (the hub, the outbox, the store).

use axum::http::header;
use axum::response::IntoResponse;

use super::WebContext;
use super::call::{Answer, Call};
use crate::domain::machine::prometheus::render;

pub async fn prometheus(ctx: &WebContext, _: Call) -> Answer {
    let mut families = ctx.metrics.families();
    for source in &ctx.metric_sources {
        families.extend(source.metrics().await);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&families)).into_response())
}
