//! HttpStatusPush's transport: POSTs a form body (`domain::notify::push::encode`) to the
//! receiver with reqwest (rustls), and says how it went in words. Unlike 0.8 (spec-notify-5
//! §5.2.4) every request has a timeout (S3), any 2xx is a success (S4: 0.8 resent after a
//! 204 forever), a redirect is a failure (a POST redirected to a GET would drop the packets
//! and still look like a success), and certificates are verified (against the web PKI and the
//! target's own CA). Connections are kept between requests.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::{Certificate, StatusCode};

use crate::domain::model::Timestamp;

/// Where and how a target posts.
#[derive(Clone)]
pub struct HttpPushSettings {
    pub url: String,
    /// Of a whole request: connecting, sending, and reading the answer.
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM).
    pub ca_pem: Vec<Vec<u8>>,
}

/// The URL without its password, if it has one.
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for HttpPushSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPushSettings")
            .field("url", &shown(&self.url))
            .field("timeout", &self.timeout)
            .field("ca_pem", &self.ca_pem.len())
            .finish()
    }
}

impl HttpPushSettings {
    /// The URL as logs and pages show it: without its password.
    pub fn shown_url(&self) -> String {
        shown(&self.url)
    }

    /// What the settings would refuse when the client is made: a URL that is not `http://` or
    /// `https://`, a CA file that is not PEM.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(_) => problems.push(format!("'{}' is not an http:// or https:// URL", shown(&self.url))),
            Err(e) => problems.push(format!("'{}' is not a URL: {e}", shown(&self.url))),
        }
        for pem in &self.ca_pem {
            if let Err(e) = Certificate::from_pem(pem) {
                problems.push(format!("not a PEM certificate: {e}"));
            }
        }
        problems
    }
}

/// How a POST failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostError {
    /// 413: the receiver takes no body this large.
    TooLarge(String),
    /// Anything else: no connection, a timeout, a status other than 2xx.
    Failed {
        error: String,
        /// When the receiver said to come back (`Retry-After`).
        retry_after: Option<RetryAfter>,
    },
}

/// A `Retry-After` header: a delay, or a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    Delay(Duration),
    At(Timestamp),
}

impl RetryAfter {
    fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Self::Delay(Duration::from_secs(seconds)));
        }
        chrono::DateTime::parse_from_rfc2822(value).ok().map(|t| Self::At(t.to_utc()))
    }
}

/// Posts bodies to one receiver.
pub struct HttpPushClient {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// How much of an answer's body is read to describe a failure.
const ANSWER_SHOWN: usize = 200;

impl HttpPushClient {
    pub fn new(settings: &HttpPushSettings) -> Result<Self, String> {
        let url = reqwest::Url::parse(&settings.url).map_err(|e| format!("{}: {e}", shown(&settings.url)))?;
        let roots = settings
            .ca_pem
            .iter()
            .map(|pem| Certificate::from_pem(pem).map_err(|e| format!("CA certificate: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(roots)
            .build()
            .map_err(|e| format!("HTTP client: {}", words(&e)))?;
        Ok(Self { client, url })
    }

    /// POSTs `body` as `application/x-www-form-urlencoded`.
    pub async fn post(&self, body: String) -> Result<(), PostError> {
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(USER_AGENT, concat!("buildstatus/", env!("CARGO_PKG_VERSION")))
            .body(body);
        let mut answer = request.send().await.map_err(|e| failed(words(&e.without_url())))?;
        let status = answer.status();
        let retry_after = answer.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(RetryAfter::parse);
        // Read the answer whole (a success too: the connection is then reused), keeping its
        // start to describe a failure.
        let mut start = Vec::new();
        loop {
            match answer.chunk().await {
                Ok(Some(chunk)) if start.len() < ANSWER_SHOWN => start.extend_from_slice(&chunk),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let e = e.without_url();
                    return Err(failed(format!("{}: the answer broke off: {}", describe(status), words(&e))));
                }
            }
        }
        if status.is_success() {
            return Ok(());
        }
        let mut error = describe(status);
        let text = String::from_utf8_lossy(&start[..start.len().min(ANSWER_SHOWN)]).trim().to_owned();
        if !text.is_empty() {
            error.push_str(&format!(": {}", text.replace(['\r', '\n'], " ")));
        }
        if status.is_redirection() {
            let to = answer.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
            error = format!("{} to {to} (redirects are not followed: give the final URL)", describe(status));
        }
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Err(PostError::TooLarge(error)),
            _ => Err(PostError::Failed { error, retry_after }),
        }
    }
}

fn failed(error: String) -> PostError {
    PostError::Failed { error, retry_after: None }
}

fn describe(status: StatusCode) -> String {
    format!("HTTP {}", status.as_str()) + status.canonical_reason().map(|r| format!(" {r}")).as_deref().unwrap_or("")
}

/// An error and its causes, in words (reqwest's own message names only the request).
fn words(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let settings = HttpPushSettings {
            url: "https://bb:s3cret@example.org/push".into(),
            timeout: Duration::from_secs(1),
            ca_pem: vec![],
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
        assert!(settings.check().is_empty());
        let bad = HttpPushSettings { url: "ftp://x:pw@example.org/".into(), ..settings };
        assert_eq!(bad.check(), ["'ftp://x:***@example.org/' is not an http:// or https:// URL"]);
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(RetryAfter::parse(" 120 "), Some(RetryAfter::Delay(Duration::from_secs(120))));
        let at = chrono::DateTime::from_timestamp(784_111_777, 0).expect("time");
        assert_eq!(RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(RetryAfter::At(at)));
        assert_eq!(RetryAfter::parse("soon"), None);
    }
}
