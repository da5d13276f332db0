//! `/buildstatus` (a build's steps, for the console's pop-up) and the users pages, which are
//! served only to whom `showUsersPage` allows (the others are sent to log in, or to
//! `authfail`, as the seed says).

use minijinja::context;

use super::call::{Answer, Call};
use super::html::{self, Frame, ser};
use super::read::find_build;
use super::{WebContext, WebError};
use crate::domain::auth::{Action, LoginBox, Subject};
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
    let viewer = call.viewer();
    if !viewer.authz.allows(Action::ShowUsersPage, viewer.identity.as_ref(), &Subject::Nothing) {
        // 'auth' (or a rule) and nobody logged in: the login prompt; otherwise a refusal.
        let may_log_in = viewer.identity.is_none() && viewer.login == LoginBox::Form;
        let to = if may_log_in && viewer.authz.wants_login(Action::ShowUsersPage) { "login" } else { "authfail" };
        return Ok(call.redirect(to, None));
    }
    html::page(ctx, call, Frame::PLAIN, async |ctx, page, _| match uid {
        None => {
            let users = ctx.reader.users().await?;
            html::drawn(
                ctx,
                page,
                "users.html",
                || context! { users => ser(&users) },
                || pages::users_page(page, &users),
            )
        }
        Some(text) => {
            let uid: u64 = text.parse().map_err(|_| WebError::BadRequest(format!("'{text}' is not a user number")))?;
            let user =
                ctx.reader.user(uid).await?.ok_or_else(|| WebError::NotFound(format!("No user number {uid}")))?;
            html::drawn(ctx, page, "user.html", || context! { user => ser(&user) }, || pages::user_page(page, &user))
        }
    })
    .await
}
