//! A request as the handler of its route sees it: the method, URI and headers, the parameters
//! its route's pattern matched, and the body for the handlers that read one.

use std::sync::Mutex;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};

use super::WebError;
use crate::domain::web::args::Args;
use crate::domain::web::route::{BuildNumber, Params};

/// What a route's handler answers: a response, or the error whose page answers instead.
pub type Answer = Result<axum::response::Response, WebError>;

pub struct Call {
    parts: Parts,
    /// Behind a lock only so that a `Call` can be shared across awaits (a body is not `Sync`).
    body: Mutex<Option<Body>>,
    params: Params,
}

impl Call {
    pub(super) fn new(request: Request, params: Params) -> Self {
        let (parts, body) = request.into_parts();
        Self { parts, body: Mutex::new(Some(body)), params }
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
