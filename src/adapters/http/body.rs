//! Reading a request's body whole, within a size limit, for the endpoints that take data from
//! outside (change hooks, the event ingest API, forms). A body is refused as soon as its
//! declared length or the bytes received pass the limit, so a huge body is never held; a body
//! that breaks off is told apart from one that is too large, and one that comes too slowly
//! (every body arrives under the deadline [`with_deadline`] sets). A gzip or deflate body is
//! inflated within the same limit, so a compression bomb stops at the limit; other encodings
//! are refused.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the body could not be read: {0}")]
    Unreadable(String),
    #[error("the body did not arrive within {0} s (the server's [limits] body_timeout)")]
    TooSlow(u64),
    #[error("the body is sent with Content-Encoding '{0}'; send it plain, gzip or deflate")]
    Encoding(String),
}

impl BodyError {
    /// 413 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
            BodyError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Encoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// The whole body, inflated when it says it is compressed, or an error as soon as it passes
/// `limit`.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_ascii_lowercase());
    let bytes = read_raw(headers, body, limit).await?;
    match encoding.as_deref() {
        None | Some("" | "identity") => Ok(bytes),
        Some("gzip" | "x-gzip") => inflate(flate2::read::MultiGzDecoder::new(&bytes[..]), limit),
        Some("deflate") => inflate(flate2::read::ZlibDecoder::new(&bytes[..]), limit),
        Some(other) => Err(BodyError::Encoding(other.to_owned())),
    }
}

/// What `decoder` yields, unless it passes `limit` (a bomb stops there) or is corrupt.
fn inflate(decoder: impl Read, limit: usize) -> Result<Bytes, BodyError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Unreadable(format!("the compressed body is damaged: {e}")))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(Bytes::from(out))
}

/// The body's bytes as sent.
async fn read_raw(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut stream = body.into_data_stream();
    // Most bodies come in one chunk, which is kept as it is rather than copied.
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match TooSlow::in_chain(&e) {
            Some(late) => BodyError::TooSlow(late.0.as_secs()),
            None => BodyError::Unreadable(e.to_string()),
        })?;
        total += chunk.len();
        if total > limit {
            return Err(BodyError::TooLarge { limit });
        }
        match &first {
            None => first = Some(chunk),
            Some(f) => {
                if rest.is_empty() {
                    rest.extend_from_slice(f);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() { first.unwrap_or_default() } else { Bytes::from(rest) })
}

/// A request's body that must have arrived within `limit` of its head; a body known to be
/// empty is left as it is.
pub fn with_deadline(body: hyper::body::Incoming, limit: Duration) -> Body {
    if body.is_end_stream() {
        return Body::new(body);
    }
    Body::new(Deadline { body, limit, sleep: Box::pin(tokio::time::sleep(limit)) })
}

struct Deadline {
    body: hyper::body::Incoming,
    limit: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

/// The error a body that came too slowly ends in.
#[derive(Debug, thiserror::Error)]
#[error("the body did not arrive within {} s", .0.as_secs())]
struct TooSlow(Duration);

impl TooSlow {
    /// The `TooSlow` somewhere in `error`'s chain of sources.
    fn in_chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a TooSlow> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(late) = e.downcast_ref::<TooSlow>() {
                return Some(late);
            }
            next = e.source();
        }
        None
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow(this.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
