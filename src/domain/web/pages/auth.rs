//! The pages of logging in (spec §5.12, spec-web-auth §9.4): the login form, and the two
//! refusals, `/authfail` (who you are could not be checked) and `/authzfail` (you may not).

use maud::{Markup, html};

use crate::domain::web::layout::{Page, frame};

/// `/login`: the form, for a visitor who follows a link here (the header has it too).
pub fn login_page(page: &Page) -> Markup {
    frame(
        page,
        "Login",
        html! {
            h1 { "Login" }
            form.login method="post" action={ (page.root) "login" } {
                p { label { "User name: " input type="text" name="username" autocomplete="username"; } }
                p { label { "Password: " input type="password" name="passwd" autocomplete="current-password"; } }
                p { input type="submit" value="login"; }
            }
        },
    )
}

/// `/authfail`: the login did not succeed; `why` adds what the visitor can do about it.
pub fn authfail_page(page: &Page, why: Option<&str>) -> Markup {
    frame(
        page,
        "Authentication Failed",
        html! {
            h1 { "Authentication Failed" }
            p { "The username or password you entered were not correct. Please go back and try again." }
            @if let Some(why) = why { p.error { (why) } }
        },
    )
}

/// `/authzfail`: the visitor may not do what they asked.
pub fn authzfail_page(page: &Page) -> Markup {
    frame(
        page,
        "Authorization Failed",
        html! {
            h1 { "Authorization Failed" }
            p { "You are not allowed to perform this action." }
            @if page.viewer.is_some_and(|v| v.identity.is_none()) { p { "Logging in may help." } }
        },
    )
}
