//! `POST /api/v1/events`: the event ingest API. Any CI that can send an HTTP request reports
//! its builds here, in our event model (`docs/events.schema.json`), authenticated by a bearer
//! token. The body is read up to a limit and parsed by the pure `domain::ingest`; builders a
//! batch needs are added when the config allows; the batch is recorded through the
//! [`IngestSink`] port, once per sender's id and all or nothing.
//!
//! `POST /api/v1/buildbot` takes what Buildbot 4's `HttpStatusPush` reporter sends
//! (`domain::buildbot_push`), with the same tokens, receipts and answers.
//!
//! Answers are JSON: 200 `{"applied", "repeated", "seq"}`; 400 `{"error", "index", "field"}`
//! naming the offending event; 401, 404 (not enabled), 409 (the batch contradicts the
//! status, such as an unknown builder), 413, 500.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use super::body::read_limited;
use super::error::retry_later;
use crate::domain::event::StatusEvent;
use crate::domain::ingest::{self, Tokens};
use crate::domain::machine::json_tree::escape_markup;
use crate::domain::model::Builder;
use crate::ports::{IngestSink, SinkError, StatusReader, fault};

/// The path of the API.
pub const PATH: &str = "/api/v1/events";

/// What the ingest API needs.
pub struct IngestContext {
    /// Empty: the API is not enabled (every request answers 404).
    pub tokens: Tokens,
    /// Whether events may start builds on builders not yet known (they are added first).
    pub create_builders: bool,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    pub sink: Arc<dyn IngestSink>,
    pub reader: Arc<dyn StatusReader>,
}

/// Where Buildbot 4's `HttpStatusPush` reporter posts (its default JSON: one build).
pub const BUILDBOT_PATH: &str = "/api/v1/buildbot";

/// The routes of the API (to merge into the site's router).
pub fn router(context: IngestContext) -> Router {
    Router::new()
        .route(PATH, any(events))
        .route("/api/v1/events/", any(events))
        .route(BUILDBOT_PATH, any(buildbot))
        .route("/api/v1/buildbot/", any(buildbot))
        .with_state(Arc::new(context))
}

async fn events(State(ctx): State<Arc<IngestContext>>, request: Request) -> Response {
    post(&ctx, request, ingest::parse).await
}

/// A Buildbot master's report: the same checks and receipts as `/api/v1/events`.
async fn buildbot(State(ctx): State<Arc<IngestContext>>, request: Request) -> Response {
    post(&ctx, request, crate::domain::buildbot_push::parse).await
}

fn answer(status: StatusCode, body: Value) -> Response {
    let headers = [(header::CONTENT_TYPE, "application/json"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")];
    (status, headers, escape_markup(body.to_string())).into_response()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    answer(status, json!({ "error": message.to_string() }))
}

/// A failure to read or store: 503 with the reason and `Retry-After` when the machine is at
/// fault (a full disk, failing storage), else a 500 that says the fault is the server's.
fn failed(e: &(dyn std::error::Error + 'static), what: &str) -> Response {
    tracing::error!("ingest: {e}");
    match fault(e) {
        Some(f) => retry_later(error(StatusCode::SERVICE_UNAVAILABLE, format!("{what}: {}", f.reason()))),
        None => {
            error(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: the server failed; the details are in its log"))
        }
    }
}

type Parser = fn(&[u8]) -> Result<Vec<ingest::Posted>, ingest::IngestError>;

async fn post(ctx: &IngestContext, request: Request, parse: Parser) -> Response {
    if ctx.tokens.is_empty() {
        return error(StatusCode::NOT_FOUND, "the event ingest API is not enabled: add [ingest] tokens to the config");
    }
    let (parts, body) = request.into_parts();
    if parts.method != axum::http::Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, format!("{} is not allowed here: POST events", parts.method));
    }
    let given = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !ctx.tokens.allows(given) {
        let mut refused =
            error(StatusCode::UNAUTHORIZED, "a valid bearer token is needed (Authorization: Bearer TOKEN)");
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return refused;
    }
    let bytes = match read_limited(&parts.headers, body, ctx.max_body).await {
        Ok(bytes) => bytes,
        Err(e) => return error(e.status(), e.to_string()),
    };
    let posted = match parse(&bytes) {
        Ok(posted) => posted,
        Err(e) => {
            let body = json!({ "error": e.to_string(), "index": e.index, "field": e.field });
            return answer(StatusCode::BAD_REQUEST, body);
        }
    };
    let known = match ctx.reader.builders().await {
        Ok(builders) => builders.into_iter().map(|b| b.name).collect::<Vec<_>>(),
        Err(e) => return failed(&e, "the status could not be read; nothing was recorded"),
    };
    let missing = ingest::unknown_builders(&posted, |name| known.iter().any(|k| k == name));
    if !missing.is_empty() && !ctx.create_builders {
        let names = missing.join("', '");
        return error(
            StatusCode::CONFLICT,
            format!(
                "unknown builder '{names}'; nothing was recorded (send builder_added first, or set [ingest] create_builders = true)"
            ),
        );
    }
    let added = missing
        .into_iter()
        .map(|name| (None, StatusEvent::BuilderAdded { builder: Builder { name, ..Builder::default() } }));
    let events: Vec<_> = added.chain(posted.into_iter().map(|p| (Some(p.id), p.event))).collect();
    match ctx.sink.record_once(events).await {
        Ok(r) => answer(StatusCode::OK, json!({ "applied": r.applied, "repeated": r.repeated, "seq": r.seq })),
        Err(SinkError::Rejected(e)) => error(StatusCode::CONFLICT, format!("{e}; nothing was recorded")),
        Err(e @ SinkError::Storage(_)) => failed(&e, "the events could not be stored; none was recorded"),
        Err(e @ SinkError::LogContent { .. }) => {
            failed(&e, &format!("{e}; the events are recorded (a repeat is acknowledged)"))
        }
    }
}
