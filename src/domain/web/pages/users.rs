//! `/users` and `/users/UID` (spec §5.11, with its recommendation: `/users/table[/UID]` are the
//! same pages, unknown users are 404). The caller checks `showUsersPage`.

use maud::{Markup, html};

use crate::domain::model::User;
use crate::domain::web::layout::{Page, frame};

/// Attributes never shown: the identity columns and any stored password.
const HIDDEN: &[&str] = &["uid", "identifier", "bb_password"];

pub fn users_page(page: &Page, users: &[User]) -> Markup {
    frame(
        page,
        "Users",
        html! {
            h1 { "Users" }
            table.info {
                tr { th { "Uid" } th { "Identifier" } }
                @for (i, u) in users.iter().enumerate() {
                    tr.alt[i % 2 == 1] {
                        td { a href={ (page.root) "users/" (u.uid) } { (u.uid) } }
                        td { (u.identifier) }
                    }
                }
            }
            @if users.is_empty() { p { "No users are known." } }
        },
    )
}

pub fn user_page(page: &Page, user: &User) -> Markup {
    frame(
        page,
        &format!("Buildbot User: {}", user.uid),
        html! {
            h1 { "User: " (user.identifier) }
            table.info {
                tr { th { "Attribute Type" } th { "Attribute Value" } }
                @for (i, (k, v)) in user.attributes.iter().filter(|(k, _)| !HIDDEN.contains(&k.as_str())).enumerate() {
                    tr.alt[i % 2 == 1] { td { (k) } td { (v) } }
                }
            }
        },
    )
}
