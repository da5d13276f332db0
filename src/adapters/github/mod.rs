//! GitHub's REST API through reqwest (rustls): commit statuses
//! (`POST {baseURL}repos/{owner}/{repo}/statuses/{sha}`, operation
//! `repos/create-commit-status`), for api.github.com or a GitHub Enterprise `baseURL`.
//!
//! GitHub's answers are sorted for the outbox: 2xx taken; a rate limit (403 or 429 with
//! `Retry-After`, or with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`, or saying so)
//! holds every request of this client back until the reset, without a request, and is not
//! counted as an attempt; 5xx, timeouts and broken connections are temporary; any other answer
//! (a bad token, an unknown repository, a commit GitHub does not have) is permanent, in
//! GitHub's own words. Redirects are not followed (a moved repository is a configuration to
//! fix). The token is only ever in the `Authorization` header: never in a URL, an error or a
//! log line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::domain::model::Timestamp;
use crate::domain::notify::github::CommitStatus;
use crate::domain::notify::rate_limit::{reset_at, retry_after};
use crate::domain::secret::Secret;
use crate::domain::web::text::quote;
use crate::ports::{Clock, CommitStatusApi, ReviewError, in_words};

/// Where and how to reach GitHub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubSettings {
    /// The API root, ending in `/` (`https://api.github.com/`, or a GitHub Enterprise
    /// server's `https://HOST/api/v3/`).
    pub base_url: String,
    pub token: Secret,
    /// Per request, connection included.
    pub timeout: Duration,
}

pub const API_GITHUB_COM: &str = "https://api.github.com/";

impl GitHubSettings {
    pub fn new(token: Secret) -> Self {
        Self { base_url: API_GITHUB_COM.to_owned(), token, timeout: Duration::from_secs(30) }
    }
}

/// `url` as an API root: http(s), ending in `/` (0.8.12 required the slash, H5).
pub fn api_root(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("'{url}' is not an http:// or https:// URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err(format!("'{url}': give the API root without credentials or a query"));
    }
    Ok(if url.ends_with('/') { url.to_owned() } else { format!("{url}/") })
}

/// A GitHub API client; clones share the rate limit they learnt.
#[derive(Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    settings: GitHubSettings,
    clock: Arc<dyn Clock>,
    /// Until when GitHub said to wait.
    held: Arc<Mutex<Option<Timestamp>>>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient").field("settings", &self.settings).finish()
    }
}

/// GitHub's wait after a secondary rate limit that names no time ("at least a minute").
const UNNAMED_WAIT: chrono::Duration = chrono::Duration::seconds(60);

impl GitHubClient {
    pub fn new(settings: GitHubSettings, clock: Arc<dyn Clock>) -> Result<Self, String> {
        api_root(&settings.base_url)?;
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static("2022-11-28"));
        let mut auth = HeaderValue::from_str(&format!("token {}", settings.token.expose()))
            .map_err(|_| "the token holds characters a header cannot carry".to_owned())?;
        auth.set_sensitive(true);
        headers.insert("authorization", auth);
        let http = reqwest::Client::builder()
            .user_agent(concat!("buildstatus/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { http, settings, clock, held: Arc::default() })
    }

    fn held_until(&self) -> Option<Timestamp> {
        let held = *self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.filter(|t| *t > self.clock.now())
    }

    fn hold(&self, until: Timestamp) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = Some(held.map_or(until, |t| t.max(until)));
    }

    /// The URL of `status`'s request: each path part percent-encoded.
    pub fn url(&self, status: &CommitStatus) -> String {
        format!(
            "{}repos/{}/{}/statuses/{}",
            self.settings.base_url,
            quote(&status.owner),
            quote(&status.repo),
            quote(&status.sha)
        )
    }

    /// Sorts an answer other than 2xx.
    fn refused(&self, code: StatusCode, headers: &HeaderMap, body: &str, status: &CommitStatus) -> ReviewError {
        let now = self.clock.now();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let said = github_message(body);
        let answer = format!("GitHub answered {code}{}", said.as_ref().map(|m| format!(": {m}")).unwrap_or_default());
        if matches!(code, StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) {
            let exhausted = header("x-ratelimit-remaining") == Some("0");
            let until = header("retry-after")
                .and_then(|v| retry_after(v, now))
                .or_else(|| header("x-ratelimit-reset").filter(|_| exhausted).and_then(reset_at))
                .or_else(|| {
                    let says = said.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"));
                    (code == StatusCode::TOO_MANY_REQUESTS || says).then(|| now + UNNAMED_WAIT)
                });
            if let Some(until) = until {
                self.hold(until);
                return ReviewError::RateLimited { error: answer, until };
            }
        }
        let repo = format!("{}/{}", status.owner, status.repo);
        match code {
            c if c.is_server_error() => ReviewError::Temporary(answer),
            StatusCode::UNAUTHORIZED => {
                ReviewError::Permanent(format!("{answer} (the token is not valid: check `token`)"))
            }
            StatusCode::NOT_FOUND => ReviewError::Permanent(format!(
                "{answer} (no repository {repo} that the token may write statuses to: check repoOwner, repoName and \
                 the token's access)"
            )),
            StatusCode::UNPROCESSABLE_ENTITY => ReviewError::Permanent(format!(
                "{answer} (commit {} of {repo}, context {})",
                status.sha, status.context
            )),
            c if c.is_redirection() => ReviewError::Permanent(format!(
                "{answer} (moved to {}: fix repoOwner/repoName or baseURL)",
                header("location").unwrap_or("elsewhere")
            )),
            _ => ReviewError::Permanent(answer),
        }
    }
}

/// GitHub's error body in words: its `message`, and each of its `errors`.
fn github_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value.get("message")?.as_str()?.to_owned();
    let details: Vec<String> = value
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| {
                    e.get("message").and_then(|m| m.as_str()).map(str::to_owned).or_else(|| Some(e.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(if details.is_empty() { message } else { format!("{message} ({})", details.join("; ")) })
}

#[async_trait]
impl CommitStatusApi for GitHubClient {
    async fn create_status(&self, status: &CommitStatus) -> Result<(), ReviewError> {
        if let Some(until) = self.held_until() {
            return Err(ReviewError::RateLimited { error: "GitHub's rate limit".to_owned(), until });
        }
        let url = self.url(status);
        let answer = (self.http.post(&url).json(&status.body()).send().await).map_err(|e| {
            let e = if e.is_timeout() { "timed out".to_owned() } else { in_words(&e.without_url()) };
            ReviewError::Temporary(format!("GitHub could not be reached: {e}"))
        })?;
        let code = answer.status();
        if code.is_success() {
            return Ok(());
        }
        let headers = answer.headers().clone();
        let body = answer.text().await.unwrap_or_default();
        Err(self.refused(code, &headers, &body, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_are_http_urls_ending_in_a_slash() {
        assert_eq!(api_root("https://ghe.example.org/api/v3").as_deref(), Ok("https://ghe.example.org/api/v3/"));
        assert_eq!(api_root(API_GITHUB_COM).as_deref(), Ok(API_GITHUB_COM));
        assert!(api_root("ftp://x/").is_err());
        assert!(api_root("https://user:pw@x/").is_err());
    }

    #[test]
    fn githubs_error_bodies_are_read_in_words() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom","message":"No commit found for SHA: abc"}]}"#;
        assert_eq!(github_message(body).as_deref(), Some("Validation Failed (No commit found for SHA: abc)"));
        assert_eq!(github_message("<html>").as_deref(), None);
    }
}
