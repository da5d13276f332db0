//! `/change_hook/DIALECT`: the HTTP side of the change hooks. It checks `change_hook_auth`,
//! finds the enabled dialect, reads the body up to the configured limit, hands the request to
//! the pure parser (`domain::hooks`), and records the changes through the [`ChangeSink`] port
//! in one batch. Answers are short plain text: 202 when changes were recorded, 200 when there
//! was nothing to record (and why), 400/403/404/405/413 naming the problem.
//!
//! The dialect is the path segment after this router's own mount point, so the hooks work
//! behind a prefixing proxy or when a master nests the router.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::body::read_limited;
use super::error::unavailable;
use crate::domain::hooks::auth::{Credentials, REALM};
use crate::domain::hooks::{self, HookError, HookOutcome, HookRequest, HookSettings};
use crate::ports::{ChangeError, ChangeSink, Clock, PollTrigger, fault};

/// What the hooks need.
pub struct HookContext {
    pub settings: HookSettings,
    /// `change_hook_auth`: when set, every hook request needs HTTP Basic credentials.
    pub credentials: Option<Credentials>,
    pub sink: Arc<dyn ChangeSink>,
    pub pollers: Arc<dyn PollTrigger>,
    pub clock: Arc<dyn Clock>,
}

/// The routes of `/change_hook` (to merge into the site's router).
pub fn router(context: HookContext) -> Router {
    Router::new()
        .route("/change_hook", any(hook))
        .route("/change_hook/", any(hook))
        .route("/change_hook/{dialect}", any(hook))
        .route("/change_hook/{dialect}/", any(hook))
        .route("/change_hook/{dialect}/{*rest}", any(hook))
        .with_state(Arc::new(context))
}

/// A plain-text answer; it may quote the request (an event name), so browsers must not sniff it.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")];
    (status, headers, body.into()).into_response()
}

/// `/change_hook[/NAME[/…]]` → NAME, or `base`.
fn dialect_name(path: &str) -> &str {
    let rest = path.strip_prefix("/change_hook").unwrap_or(path).trim_start_matches('/');
    let name = rest.split('/').next().unwrap_or("");
    if name.is_empty() { "base" } else { name }
}

async fn hook(State(ctx): State<Arc<HookContext>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(credentials) = &ctx.credentials {
        let given = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let allowed = if credentials.slow() {
            // A password hash (bcrypt takes milliseconds): checked off the async threads.
            let credentials = credentials.clone();
            tokio::task::spawn_blocking(move || credentials.allows(given.as_deref())).await.unwrap_or(false)
        } else {
            credentials.allows(given.as_deref())
        };
        if !allowed {
            let mut answer = text(StatusCode::UNAUTHORIZED, "Unauthorized");
            if let Ok(challenge) = format!("Basic realm=\"{REALM}\"").parse() {
                answer.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
            }
            return answer;
        }
    }
    let name = dialect_name(parts.uri.path());
    let Some(dialect) = ctx.settings.dialects.get(name) else {
        return text(StatusCode::NOT_FOUND, format!("no change hook dialect '{name}' is enabled here"));
    };
    let method = parts.method.as_str();
    if method != "POST" && method != "GET" {
        return text(StatusCode::METHOD_NOT_ALLOWED, HookError::Method(method.to_owned()).to_string());
    }
    let body = match read_limited(&parts.headers, body, ctx.settings.max_body).await {
        Ok(bytes) => bytes,
        Err(e) => return text(e.status(), format!("{e}\n")),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let request = HookRequest {
        method,
        headers: &headers,
        query: parts.uri.query().unwrap_or(""),
        body: &body,
        now: ctx.clock.now(),
    };
    let outcome = hooks::parse(&ctx.settings, dialect, &request, &ctx.pollers.pollers());
    match outcome {
        Ok(HookOutcome::Changes(changes)) => match ctx.sink.add_changes(changes).await {
            Ok(numbers) => {
                let list: Vec<String> = numbers.iter().map(u64::to_string).collect();
                text(StatusCode::ACCEPTED, format!("{} change(s) added: {}\n", numbers.len(), list.join(" ")))
            }
            Err(ChangeError::Rejected(why)) => text(
                StatusCode::CONFLICT,
                format!("the changes contradict what is recorded ({why}); none was recorded\n"),
            ),
            Err(e) => {
                tracing::error!(dialect = name, "change hook: {e}");
                let what = "the changes could not be stored; none was recorded";
                match fault(&e) {
                    Some(f) => unavailable(f, what),
                    None => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: the server failed\n")),
                }
            }
        },
        Ok(HookOutcome::Ignored(why)) => text(StatusCode::OK, format!("no changes: {why}\n")),
        Ok(HookOutcome::Poll(names)) => {
            ctx.pollers.poll_now(&names);
            let what = if names.is_empty() { "no pollers are configured".to_owned() } else { names.join(", ") };
            text(StatusCode::OK, format!("no changes; polling: {what}\n"))
        }
        Err(HookError::Forbidden(why)) => {
            tracing::warn!(dialect = name, "change hook refused: {why}");
            text(StatusCode::FORBIDDEN, format!("{why}\n"))
        }
        Err(HookError::BadRequest(why)) => text(StatusCode::BAD_REQUEST, format!("{why}\n")),
        Err(e @ HookError::Method(_)) => text(StatusCode::METHOD_NOT_ALLOWED, format!("{e}\n")),
    }
}
