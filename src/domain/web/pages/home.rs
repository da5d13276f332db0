//! The welcome page `/` and `/about` (spec §5.12).

use maud::{Markup, html};

use crate::domain::web::layout::{Page, VERSION, frame, main_pages};

pub fn home_page(page: &Page) -> Markup {
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
