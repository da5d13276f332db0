//! Static files: `public_html/` first, then the built-in stylesheet, favicon and robots.txt.
//! tower-http's ServeDir refuses paths that climb out of the directory.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::{WebContext, WebError};
use crate::domain::web::assets::builtin;

pub async fn serve(ctx: &WebContext, path: &str, request: Request) -> Result<Response, WebError> {
    if let Some(dir) = &ctx.public_html {
        let response = ServeDir::new(dir).append_index_html_on_directories(true).oneshot(request).await;
        let response = match response {
            Ok(r) => r,
            Err(never) => match never {},
        };
        if response.status() != StatusCode::NOT_FOUND {
            return Ok(response.into_response());
        }
    }
    match builtin(path) {
        Some((body, content_type)) => {
            Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=3600")], body).into_response())
        }
        None => Err(WebError::NotFound(format!("No such page or file: /{path}"))),
    }
}
