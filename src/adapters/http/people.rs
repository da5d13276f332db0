//! `/buildstatus` (a build's steps, for the console's pop-up) and the users pages, which are
//! served only when `showUsersPage` is on.

use axum::response::Response;

use super::call::{Answer, Call};
use super::html;
use super::read::find_build;
use super::{WebContext, WebError};
use crate::domain::web::layout::Page;
use crate::domain::web::pages;
use crate::domain::web::route::BuildNumber;
use crate::domain::web::text::path_to_root;

/// `/buildstatus?builder=&number=`.
pub async fn buildstatus(ctx: &WebContext, call: Call) -> Answer {
    let args = call.args();
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
    Ok(html::response(pages::buildstatus_fragment(&path_to_root(call.path()), &build), true))
}

/// `/users` and `/users/table`: every user.
pub async fn users(ctx: &WebContext, call: Call) -> Answer {
    users_page(ctx, &call, None).await
}

/// `/users/UID` and `/users/table/UID`: one user.
pub async fn user(ctx: &WebContext, call: Call) -> Answer {
    users_page(ctx, &call, Some(call.param("uid")?)).await
}

async fn users_page(ctx: &WebContext, call: &Call, uid: Option<&str>) -> Answer {
    if !ctx.site.show_users_page {
        return Ok(forbidden(ctx, call.path()));
    }
    let page = Page::plain(&ctx.site, call.path(), ctx.clock.now());
    let markup = match uid {
        None => pages::users_page(&page, &ctx.reader.users().await?),
        Some(text) => {
            let uid: u64 = text.parse().map_err(|_| WebError::BadRequest(format!("'{text}' is not a user number")))?;
            let user =
                ctx.reader.user(uid).await?.ok_or_else(|| WebError::NotFound(format!("No user number {uid}")))?;
            pages::user_page(&page, &user)
        }
    };
    Ok(html::response(markup, false))
}

fn forbidden(ctx: &WebContext, path: &str) -> Response {
    let why = "The users pages are turned off on this server (showUsersPage).";
    WebError::Forbidden(why.to_owned()).into_response(ctx, path)
}
