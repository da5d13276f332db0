//! Gerrit's REST API: `POST {url}a/changes/{change}/revisions/{revision}/review` with a
//! `ReviewInput` body, authenticated with the account's HTTP password (basic auth). Gerrit
//! prefixes JSON answers with `)]}'` and words its errors as plain text, which is kept: 401
//! and 403 are a refused account, 404 an unknown change, 409 a change that cannot take
//! reviews (closed), all permanent; 429 waits as told; 5xx and broken connections are
//! temporary.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;

use crate::domain::notify::gerrit::Outgoing;
use crate::domain::notify::gerrit::command::rest_review;
use crate::domain::notify::rate_limit::retry_after;
use crate::domain::secret::Secret;
use crate::ports::{Clock, ReviewApi, ReviewError, in_words};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestSettings {
    /// The server's root, ending in `/` (`https://gerrit.example.org/`).
    pub url: String,
    pub user: String,
    pub password: Secret,
    pub timeout: Duration,
}

pub struct GerritRest {
    http: reqwest::Client,
    settings: RestSettings,
    clock: Arc<dyn Clock>,
}

impl GerritRest {
    pub fn new(settings: RestSettings, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("buildstatus/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { http, settings, clock })
    }
}

/// Gerrit's answer text, cut to a line's worth.
fn words(body: &str) -> String {
    let text = body.trim_start_matches(")]}'").trim();
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[async_trait]
impl ReviewApi for GerritRest {
    async fn post_review(&self, review: &Outgoing) -> Result<(), ReviewError> {
        let call = rest_review(&review.target, &review.review).map_err(ReviewError::Permanent)?;
        let url = format!("{}{}", self.settings.url, call.path);
        let answer = self
            .http
            .post(&url)
            .basic_auth(&self.settings.user, Some(self.settings.password.expose()))
            .json(&call.body)
            .send()
            .await
            .map_err(|e| {
                let e = if e.is_timeout() { "timed out".to_owned() } else { in_words(&e.without_url()) };
                ReviewError::Temporary(format!("Gerrit could not be reached: {e}"))
            })?;
        let code = answer.status();
        if code.is_success() {
            return Ok(());
        }
        let retry = answer.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let said = format!("Gerrit answered {code}: {}", words(&answer.text().await.unwrap_or_default()));
        let change = review.target.describe();
        Err(match code {
            StatusCode::TOO_MANY_REQUESTS => {
                let now = self.clock.now();
                let until = retry.and_then(|r| retry_after(&r, now)).unwrap_or(now + chrono::Duration::seconds(60));
                ReviewError::RateLimited { error: said, until }
            }
            c if c.is_server_error() => ReviewError::Temporary(said),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ReviewError::Permanent(format!(
                "{said} (the account {} or its HTTP password was refused, or it may not review {change})",
                self.settings.user
            )),
            StatusCode::NOT_FOUND => {
                ReviewError::Permanent(format!("{said} (no change {change} visible to the account)"))
            }
            _ => ReviewError::Permanent(format!("{said} ({change})")),
        })
    }
}
