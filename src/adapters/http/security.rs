//! The headers every answer of the site carries for the browser's sake. Pages hold action
//! buttons (force, stop, cancel), so no other site may show them in a frame and trick a
//! logged-in user into clicking (clickjacking); no answer is sniffed into another type than
//! the one it says; and a link followed from a page tells another site nothing of our URLs.
//! An answer that set one of these itself keeps its own.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}
