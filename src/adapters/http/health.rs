//! `/health/live` and `/health/ready`, for load balancers and orchestrators: live says the
//! process answers (restart it when not), ready that its store answers too (send it requests
//! only then). Both are open to all, whatever the site's `view` rules (a probe has no
//! session), never cached, and cheap: live reads nothing, ready one small query of the store.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::WebContext;
use super::call::{Answer, Call};

fn answer(status: StatusCode, body: serde_json::Value) -> Answer {
    let headers = [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")];
    Ok((status, headers, format!("{body}\n")).into_response())
}

pub async fn live(_: &WebContext, _: Call) -> Answer {
    answer(StatusCode::OK, json!({"status": "live"}))
}

/// 503 with the reason when the store does not answer.
pub async fn ready(ctx: &WebContext, _: Call) -> Answer {
    match ctx.readiness.ready().await {
        Ok(()) => answer(StatusCode::OK, json!({"status": "ready"})),
        Err(reason) => answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "not ready", "reason": reason})),
    }
}
