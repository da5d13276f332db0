//! The headers every answer of the site carries for the browser's sake. Pages hold action
//! buttons (force, stop, cancel), so no other site may show them in a frame and trick a
//! logged-in user into clicking (clickjacking); no answer is sniffed into another type than
//! the one it says; a link followed from a page tells another site nothing of our URLs; and
//! no script runs but our own files (`CONTENT_SECURITY_POLICY`).
//! An answer that set one of these itself keeps its own.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Scripts only from our own files (no inline script, no `eval`, none from elsewhere: text
/// that slipped into a page unescaped still could not run), no plugins, no `<base>` that
/// moves relative links, forms posting only here, and no framing. Styles and images are left
/// alone: pages use `style` attributes, and a site's templates may show images from anywhere.
pub const CONTENT_SECURITY_POLICY: &str =
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The middleware.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}
