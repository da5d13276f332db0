//! Static files: `public_html/` first, then the built-in stylesheet, favicon and robots.txt.
//! tower-http's ServeDir refuses paths that climb out of the directory; a path no file can
//! have (a name longer than the file system allows, a NUL) never reaches it, since its error
//! for one would be a 500 for what is only a page that does not exist.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::call::{Answer, Call};
use super::{WebContext, WebError};
use crate::domain::web::assets::builtin;
use crate::domain::web::route::relative_path;

/// Any path no other route takes: a file of `public_html`, else a built-in one, else 404.
pub async fn serve(ctx: &WebContext, call: Call) -> Answer {
    let request = call.into_request();
    let uri = request.uri().clone();
    let path = relative_path(uri.path());
    if let Some(dir) = ctx.public_html.as_ref().filter(|_| could_be_a_file(path)) {
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

/// The longest file name the usual file systems allow, in bytes (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Whether some file could have `path` (the request's path, not yet percent-decoded).
fn could_be_a_file(path: &str) -> bool {
    path.split('/').all(|segment| {
        let name = percent_encoding::percent_decode_str(segment).collect::<Vec<u8>>();
        name.len() <= NAME_MAX && !name.contains(&0)
    })
}
