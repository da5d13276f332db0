//! A client of a buildstatus server's own HTTP API, for the commands that talk to a running
//! server: `send` posts events to its ingest API, `catch-up-buildbot` posts Buildbot reports
//! and reads what the server has from its `/json`. Over HTTP or HTTPS (rustls, with the web
//! PKI's roots).
//!
//! Tested through those commands against the real binary (`tests/it/binary`, `tests/it/peers`).

use serde_json::Value;

/// Why a call failed. A server's refusal keeps its status, so a caller can tell a conflict
/// (an event that contradicts the status) from an outage.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("'{0}': not an http:// or https:// URL")]
    NotHttp(String),
    #[error("cannot reach {endpoint}: {source}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint} answered {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Refused { endpoint: String, status: reqwest::StatusCode, body: String },
    #[error("{endpoint}: answer unreadable: {why}")]
    Unreadable { endpoint: String, why: String },
}

impl ClientError {
    /// The server refused with 409: what was posted contradicts what it has.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Refused { status: reqwest::StatusCode::CONFLICT, .. })
    }
}

/// A buildstatus server at `url` (`http://host:port`), posting with a bearer token.
#[derive(Clone, Debug)]
pub struct StatusClient {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl StatusClient {
    pub fn new(url: &str, token: &str) -> Result<Self, ClientError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ClientError::NotHttp(url.to_owned()));
        }
        let url = url.trim_end_matches('/').to_owned();
        Ok(Self { url, token: token.to_owned(), http: reqwest::Client::new() })
    }

    /// Posts events (one, or a batch) to `/api/v1/events`; the server's answer.
    pub async fn post_events(&self, body: &Value) -> Result<String, ClientError> {
        self.post("/api/v1/events", body).await
    }

    /// Posts a Buildbot `HttpStatusPush` report to `/api/v1/buildbot`; the server's answer.
    pub async fn post_buildbot_report(&self, report: &Value) -> Result<String, ClientError> {
        self.post("/api/v1/buildbot", report).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<String, ClientError> {
        let endpoint = format!("{}{path}", self.url);
        let sent = self.http.post(&endpoint).bearer_auth(&self.token).json(body).send().await;
        let response = sent.map_err(|source| ClientError::Unreachable { endpoint: endpoint.clone(), source })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ClientError::Unreadable { endpoint: endpoint.clone(), why: e.to_string() })?;
        if status.is_success() { Ok(text) } else { Err(ClientError::Refused { endpoint, status, body: text }) }
    }

    /// GETs `path` as JSON; `None` when it answers 404.
    pub async fn get_json(&self, path: &str) -> Result<Option<Value>, ClientError> {
        let endpoint = format!("{}{path}", self.url);
        let sent = self.http.get(&endpoint).send().await;
        let response = sent.map_err(|source| ClientError::Unreachable { endpoint: endpoint.clone(), source })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ClientError::Refused { endpoint, status, body: String::new() });
        }
        let json = response.json().await;
        json.map(Some).map_err(|e| ClientError::Unreadable { endpoint, why: format!("not JSON: {e}") })
    }

    /// The full URL of `path` on this server, for messages.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}
