//! `/buildstatus?builder=NAME&number=N` (spec §5.8): one build's steps as waterfall boxes,
//! newest step on top, a bare fragment for the console's pop-up. Its links open a new window.

use maud::{DOCTYPE, Markup, html};

use crate::domain::model::Build;
use crate::domain::result::box_class;
use crate::domain::web::text::{path, safe_url};

pub fn buildstatus_fragment(root: &str, build: &Build) -> Markup {
    let steps = build.steps.iter().rev().filter(|s| s.started.is_some() && !s.text.is_empty());
    let start_class = if build.is_finished() && build.steps.is_empty() { box_class(build.result) } else { "start" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (build.builder) " #" (build.number) }
                link rel="stylesheet" href={ (root) "default.css" } type="text/css";
            }
            body {
                table {
                    @for step in steps {
                        tr {
                            td align="center" class={ "BuildStep " (box_class(step.result)) } {
                                @for line in &step.text { (line) br; }
                                @for log in &step.logs {
                                    a href=(path::log(root, &build.builder, build.number, &step.name, &log.name)) target="_blank" { (log.name) }
                                    br;
                                }
                                @for (name, url) in &step.urls {
                                    @if let Some(url) = safe_url(url) {
                                        "[" a href=(url) class="BuildStep external" target="_blank" { (name) } "]" br;
                                    } @else { "[" (name) "]" br; }
                                }
                            }
                        }
                    }
                    tr {
                        td align="center" class={ "BuildStep " (start_class) } {
                            a title={ "Reason: " (build.reason) } href=(path::build(root, &build.builder, build.number)) target="_blank" {
                                "Build " (build.number)
                            }
                        }
                    }
                }
            }
        }
    }
}
