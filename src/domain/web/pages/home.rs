//! The welcome page `/` and `/about` (spec §5.12).

use maud::{Markup, html};

use super::forms;
use crate::domain::auth::{Action, Subject};
use crate::domain::web::layout::{Page, VERSION, frame, main_pages};

/// The welcome page; `shutting_down` says whether the master is in a clean shutdown.
pub fn home_page(page: &Page, shutting_down: bool) -> Markup {
    let site = page.site;
    frame(
        page,
        &site.title,
        html! {
            h1 {
                "Welcome to the buildstatus for the "
                @if site.title_url.is_empty() { (site.title) } @else { a href=(site.title_url) { (site.title) } }
                " project!"
            }
            @if page.viewer.is_none_or(|v| v.may(Action::View, &Subject::Nothing)) {
                ul.links {
                    @for (path, label, what) in main_pages(site) {
                        li {
                            a href={ (page.root) (path) } { (label) } ": " (what)
                            @if *path == "waterfall" {
                                " (" a href={ (page.root) "waterfall/help" } { "help" } ": which builders, how many events, how it reloads)"
                            }
                        }
                    }
                }
            } @else {
                p { "This status is private: log in to see it." }
            }
            @if page.may(Action::CleanShutdown, &Subject::Nothing) {
                (forms::clean_shutdown(page, shutting_down))
            } @else if shutting_down {
                p.shutting-down { "Master is shutting down" }
            }
        },
    )
}

/// `(crate, version)` of the main libraries, filled in by the caller.
pub fn about_page(page: &Page, libraries: &[(&str, &str)]) -> Markup {
    frame(
        page,
        "About this Buildbot",
        html! {
            h1 { "About this buildstatus" }
            h2 { "Version Information" }
            ul {
                li { "buildstatus: " (VERSION) }
                @for (name, version) in libraries { li { (name) ": " (version) } }
            }
            h2 { "Source code" }
            p {
                "buildstatus is free software. It re-implements the status targets of Buildbot 0.8 "
                "(" a href="http://buildbot.net/" { "buildbot.net" } ")."
            }
        },
    )
}
