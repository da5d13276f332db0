//! Rendered views and JSON answers, kept until the status changes. Both are pure functions of
//! the status (named by the newest event's number), the URL and the time, so an answer asked for
//! again with the same status and URL within the same second is the same answer: a wall of screens showing
//! the console, or a dashboard polling `/json/builders`, costs one computation per status
//! change, not one per request.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, HttpBody, to_bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// Answers kept at most, and their bytes at most; past either the cache starts afresh
/// (answers change with every event anyway).
const MAX_ANSWERS: usize = 256;
const MAX_BYTES: usize = 64 << 20;
/// Answers larger than this are not kept (a big JSON listing is rare and costly to hold).
const MAX_BODY: usize = 4 << 20;

/// What a cached answer was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewKey {
    /// Path and query, as asked.
    pub uri: String,
    /// The newest event's number when the answer's data was read.
    pub seq: u64,
    /// The answer's time, in whole seconds.
    pub second: i64,
    /// Whom a page was drawn for (its header names a logged-in visitor and carries their
    /// logout token); empty for everyone not logged in, and for JSON.
    pub viewer: String,
}

impl ViewKey {
    pub fn new(uri: &axum::http::Uri, seq: u64, second: i64) -> Self {
        Self { uri: uri.to_string(), seq, second, viewer: String::new() }
    }

    /// The key of the same answer drawn for `viewer`.
    pub fn for_viewer(self, viewer: String) -> Self {
        Self { viewer, ..self }
    }
}

#[derive(Clone, Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Default)]
pub struct ViewCache(Mutex<Kept>);

/// The answers kept, their bytes, and the status and second they were all computed at (older
/// ones are dropped when a newer answer comes: they can never be asked for again).
#[derive(Debug, Default)]
struct Kept {
    answers: HashMap<ViewKey, Answer>,
    bytes: usize,
    newest: (u64, i64),
}

impl ViewCache {
    pub fn get(&self, key: &ViewKey) -> Option<Response> {
        let answer = self.lock().answers.get(key).cloned()?;
        let mut response = (answer.status, answer.body).into_response();
        *response.headers_mut() = answer.headers;
        Some(response)
    }

    /// Keeps a successful `response` under `key` and gives it back.
    pub async fn keep(&self, key: ViewKey, response: Response) -> Response {
        if response.status() != StatusCode::OK {
            return response;
        }
        // Views are rendered whole, so their size is known; a larger or a streamed answer is
        // passed on as it is.
        let size = response.body().size_hint().exact();
        if size.is_none_or(|n| n > MAX_BODY as u64) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = match to_bytes(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("an answer could not be read for the cache: {e}");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed to read its own answer; the details are in its log\n",
                )
                    .into_response();
            }
        };
        let answer = Answer { status: parts.status, headers: parts.headers.clone(), body: body.clone() };
        let mut kept = self.lock();
        // Answers for older status can never be asked for again under their key. (Only when
        // the status or the second moved on: a burst of cold requests costs no walk each.)
        if (key.seq, key.second) != kept.newest {
            kept.answers.retain(|k, _| k.seq >= key.seq && k.second >= key.second);
            kept.bytes = kept.answers.values().map(|a| a.body.len()).sum();
            kept.newest = (key.seq, key.second);
        }
        if kept.answers.len() >= MAX_ANSWERS || kept.bytes + answer.body.len() > MAX_BYTES {
            kept.answers.clear();
            kept.bytes = 0;
        }
        kept.bytes += answer.body.len();
        if let Some(replaced) = kept.answers.insert(key, answer) {
            kept.bytes -= replaced.body.len();
        }
        drop(kept);
        Response::from_parts(parts, Body::from(body))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uri: &str) -> ViewKey {
        ViewKey { uri: uri.to_owned(), seq: 1, second: 0, viewer: String::new() }
    }

    #[tokio::test]
    async fn an_answer_too_large_to_keep_is_passed_on_whole() {
        let cache = ViewCache::default();
        let big = "x".repeat(MAX_BODY + 1);
        let response = cache.keep(key("/big"), (StatusCode::OK, big.clone()).into_response()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        assert_eq!(body.len(), big.len());
        assert!(cache.get(&key("/big")).is_none(), "not kept");

        let small = cache.keep(key("/small"), (StatusCode::OK, "ok").into_response()).await;
        assert_eq!(to_bytes(small.into_body(), 10).await.expect("a body"), "ok");
        assert!(cache.get(&key("/small")).is_some(), "kept");
    }
}
