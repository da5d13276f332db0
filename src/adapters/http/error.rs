//! Errors a request can end in, each with its status and a message that names the problem.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::WebContext;
use crate::domain::web::args::ArgError;
use crate::domain::web::layout::{Page, Site, error_page};
use crate::ports::{Clock, Fault, LogError, StoreError, fault};

#[derive(Debug)]
pub enum WebError {
    /// What was asked for does not exist; the text says what.
    NotFound(String),
    /// The request is malformed; the text says which part.
    BadRequest(String),
    /// This server does not show it; the text says which setting.
    Forbidden(String),
    /// Our fault; details go to the log, not the page.
    Internal(String),
    /// The machine's fault (a full disk, storage that fails): 503, the reason on the page and
    /// the details in the log.
    Unavailable(Fault, String),
    /// The site's template failed; the page names the template and line, for its author.
    Template(String),
    /// The client is over its share, or the server full (`[limits]`); the refusal says which.
    Refused(super::limits::Refusal),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        Self::failed(&e)
    }
}

impl From<LogError> for WebError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::NotFound(_) => Self::NotFound(e.to_string()),
            other => Self::failed(&other),
        }
    }
}

/// Seconds a client is told to wait before trying again after a 503: time enough for an
/// operator's alert to fire, short enough that a retrying hook sender is not given up.
pub const RETRY_AFTER_SECONDS: &str = "30";

/// `response`, told when to try again if it is a 503 (the machine's fault passes).
pub fn retry_later(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    response
}

/// A 503 in plain text: the reason, and when to try again.
pub fn unavailable(fault: Fault, what: &str) -> Response {
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::RETRY_AFTER, RETRY_AFTER_SECONDS)];
    (StatusCode::SERVICE_UNAVAILABLE, headers, format!("{what}: {}\n", fault.reason())).into_response()
}

impl WebError {
    /// A failure of a port: the machine's fault when it is one, else ours.
    pub fn failed(e: &(dyn std::error::Error + 'static)) -> Self {
        let words = e.to_string();
        match fault(e) {
            Some(f) => Self::Unavailable(f, words),
            None => Self::Internal(words),
        }
    }
}

impl From<ArgError> for WebError {
    fn from(e: ArgError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl WebError {
    pub fn into_response(self, ctx: &WebContext, request_path: &str) -> Response {
        self.respond(&ctx.site, ctx.clock.as_ref(), request_path)
    }

    /// The error page, for a router that has the site and a clock but not the pages' context.
    pub fn respond(self, site: &Site, clock: &dyn Clock, request_path: &str) -> Response {
        let (status, heading, detail) = match self {
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "Not Found", what),
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad Request", why),
            Self::Forbidden(why) => (StatusCode::FORBIDDEN, "Forbidden", why),
            Self::Internal(why) => {
                tracing::error!(path = request_path, "request failed: {why}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server Error",
                    "The server failed to answer; the details are in its log.".to_owned(),
                )
            }
            Self::Refused(refusal) => return refusal.answer(),
            Self::Template(why) => {
                tracing::error!(path = request_path, "template failed: {why}");
                (StatusCode::INTERNAL_SERVER_ERROR, "Template Error", why)
            }
            Self::Unavailable(fault, why) => {
                tracing::error!(path = request_path, "request failed: {why}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    format!("{}; try again later.", fault.reason()),
                )
            }
        };
        let page = Page::plain(site, request_path, clock.now());
        let body = error_page(&page, heading, &detail).into_string();
        retry_later((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
    }
}
