//! `/buildstatus` (a build's steps, for the console's pop-up) and the users pages, which are
//! served only when `showUsersPage` is on.

use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use super::read::find_build;
use super::{WebContext, WebError};
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::pages;
use crate::domain::web::route::BuildNumber;
use crate::domain::web::text::path_to_root;

pub async fn buildstatus(ctx: &WebContext, uri: &Uri) -> Result<Response, WebError> {
    let args = Args::parse(uri.query().unwrap_or(""));
    let (Some(builder), Some(number)) =
        (args.first("builder").filter(|b| !b.is_empty()), args.first("number").filter(|n| !n.is_empty()))
    else {
        return Err(WebError::BadRequest("builder and number parameter missing".to_owned()));
    };
    let number = match BuildNumber::parse(number.trim()) {
        BuildNumber::Invalid(t) => {
            return Err(WebError::BadRequest(format!("argument 'number': '{t}' is not a build number")));
        }
        n => n,
    };
    let build = find_build(ctx, builder, &number).await?;
    let body = pages::buildstatus_fragment(&path_to_root(uri.path()), &build).into_string();
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `/users`, `/users/table` (`uid` None) and `/users/UID`, `/users/table/UID`.
pub async fn users(ctx: &WebContext, uri: &Uri, uid: Option<&str>) -> Result<Response, WebError> {
    if !ctx.site.show_users_page {
        return Ok(forbidden(ctx, uri));
    }
    let page = Page::plain(&ctx.site, uri.path(), ctx.clock.now());
    let markup = match uid {
        None => pages::users_page(&page, &ctx.reader.users().await?),
        Some(text) => {
            let uid: u64 = text.parse().map_err(|_| WebError::BadRequest(format!("'{text}' is not a user number")))?;
            let user =
                ctx.reader.user(uid).await?.ok_or_else(|| WebError::NotFound(format!("No user number {uid}")))?;
            pages::user_page(&page, &user)
        }
    };
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response())
}

fn forbidden(ctx: &WebContext, uri: &Uri) -> Response {
    let why = "The users pages are turned off on this server (showUsersPage).";
    WebError::Forbidden(why.to_owned()).into_response(ctx, uri.path())
}
