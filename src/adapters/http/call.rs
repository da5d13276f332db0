//! A request as the handler of its route sees it: the method, URI and headers, the parameters
//! its route's pattern matched, who it comes from (its [`Visit`]), and the body for the
//! handlers that read one.

use std::sync::Mutex;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;

use super::WebError;
use super::auth::Visit;
use super::body::read_limited;
use crate::domain::auth::Viewer;
use crate::domain::web::args::Args;
use crate::domain::web::route::{BuildNumber, Params};
use crate::domain::web::text::path_to_root;

/// What a route's handler answers: a response, or the error whose page answers instead.
pub type Answer = Result<axum::response::Response, WebError>;

pub struct Call {
    parts: Parts,
    /// Behind a lock only so that a `Call` can be shared across awaits (a body is not `Sync`).
    body: Mutex<Option<Body>>,
    params: Params,
    visit: Visit,
}

/// The largest form an action takes: a few fields, never a file.
const MAX_FORM: usize = 64 * 1024;

impl Call {
    pub(super) fn new(request: Request, params: Params, visit: Visit) -> Self {
        let (parts, body) = request.into_parts();
        Self { parts, body: Mutex::new(Some(body)), params, visit }
    }

    /// Who the request comes from.
    pub fn visit(&self) -> &Visit {
        &self.visit
    }

    pub fn viewer(&self) -> &Viewer {
        &self.visit.viewer
    }

    /// The query arguments followed by the fields of a form-encoded body (the seed's actions
    /// read both as one). A body of another kind is a 400; one above 64 KiB a 413's reason.
    pub async fn form(&self) -> Result<Args, WebError> {
        let body = self.body.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().unwrap_or_default();
        let kind = self.parts.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let urlencoded = kind.is_none_or(|k| k.trim().starts_with("application/x-www-form-urlencoded"));
        let bytes = read_limited(&self.parts.headers, body, MAX_FORM)
            .await
            .map_err(|e| WebError::BadRequest(format!("the form could not be read: {e}")))?;
        if !urlencoded && !bytes.is_empty() {
            return Err(WebError::BadRequest("a form is sent as application/x-www-form-urlencoded".to_owned()));
        }
        let query = self.parts.uri.query().unwrap_or("");
        let body = String::from_utf8_lossy(&bytes);
        Ok(Args::parse(&format!("{query}&{body}")))
    }

    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The path as asked, still percent-encoded.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The query arguments.
    pub fn args(&self) -> Args {
        Args::parse(self.parts.uri.query().unwrap_or(""))
    }

    /// The decoded segment the pattern's `{name}` matched.
    pub fn param(&self, name: &str) -> Result<&str, WebError> {
        self.params.one(name).ok_or_else(|| undeclared(name))
    }

    /// The pattern's `{name}` read as a build number (an invalid one is the handler's 400 to give).
    pub fn build_number(&self, name: &str) -> Result<BuildNumber, WebError> {
        self.param(name).map(BuildNumber::parse)
    }

    /// The decoded segments the pattern's `{*name}` matched.
    pub fn rest(&self, name: &str) -> Result<&[String], WebError> {
        self.params.rest(name).ok_or_else(|| undeclared(name))
    }

    /// A redirect (302) to `to`, a path relative to the site's root (`builders/linux`, or
    /// `""` for the root itself), with `alert` shown in the target page's alert box.
    pub fn redirect(&self, to: &str, alert: Option<&str>) -> axum::response::Response {
        let mut location = format!("{}{to}", path_to_root(self.path()));
        if let Some(alert) = alert {
            location.push('?');
            location.push_str(&Args::default().with("alert_msg", Some(alert)));
        }
        let location = HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("./"));
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    }

    /// The whole request again, body included, for a handler that passes it on.
    pub fn into_request(self) -> Request {
        let body = self.body.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()).unwrap_or_default();
        Request::from_parts(self.parts, body)
    }
}

/// A handler asked for a parameter its route's pattern does not have: a mistake in the table.
fn undeclared(name: &str) -> WebError {
    WebError::Internal(format!("the route's pattern has no parameter '{name}'"))
}
