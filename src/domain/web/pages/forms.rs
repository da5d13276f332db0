//! The forms of the actions (spec-web-auth §9.5, spec-web-pages §5.3–5.12): each posts to its
//! action's URL with the visitor's CSRF token, and is drawn only where the visitor may do
//! the action (the callers ask [`Page::may`] with the object the form is about).

use maud::{Markup, html};

use crate::domain::control::{DEFAULT_REASON, ForceScheduler, PROPERTY_FIELDS};
use crate::domain::model::Worker;
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::text::path;

/// A form posting to `action`, with the CSRF token and `class`.
fn post(page: &Page, action: &str, class: &str, fields: Markup) -> Markup {
    html! {
        form method="post" action=(action) class=(class) {
            (page.csrf())
            (fields)
        }
    }
}

/// A form that is only a button.
pub fn button(page: &Page, action: &str, class: &str, label: &str) -> Markup {
    post(page, action, class, html! { input type="submit" value=(label); })
}

/// One force form per scheduler, posting to `action` (`BUILDER/force`, `_all/forceall` or
/// `_selected/forceselected`); `selectable` lists the builders to tick (the selected form).
/// Field defaults come from `SCHEDULER.FIELD=` arguments of the page's URL.
pub fn force_forms(
    page: &Page,
    action: &str,
    schedulers: &[&ForceScheduler],
    selectable: Option<&[String]>,
    defaults: &Args,
) -> Markup {
    let logged_in = page.viewer.is_some_and(|v| v.identity.is_some());
    html! {
        @for s in schedulers {
            @let field = |name: &str, label: &str, default: &str| {
                let id = format!("force-{}-{name}", s.name);
                let value = defaults.first(&format!("{}.{name}", s.name)).unwrap_or(default).to_owned();
                html! {
                    div.row.force-text id=(id) {
                        span.label { (label) } input type="text" size="20" name=(name) value=(value);
                    }
                }
            };
            (post(page, action, "command_forcebuild", html! {
                h3 { (s.heading()) }
                p { "To force a build, fill out the following fields and push the '" (s.button_name) "' button" }
                input type="hidden" name="forcescheduler" value=(s.name);
                @if let Some(names) = selectable {
                    div.row.force-builders {
                        @for b in names.iter().filter(|b| s.builders.contains(b)) {
                            label { input type="checkbox" name="selected" value=(b); " " (b) } " "
                        }
                    }
                }
                @if !logged_in { (field("username", "Your name:", "")) }
                (field("reason", "reason", DEFAULT_REASON))
                @for codebase in &s.codebases {
                    @if !codebase.is_empty() { h4 { "Codebase: " (codebase) } }
                    @for (name, label) in [("branch", "Branch:"), ("revision", "Revision:"), ("repository", "Repository:"), ("project", "Project:")] {
                        (field(&ForceScheduler::field(codebase, name), label, ""))
                    }
                }
                @for i in 1..=PROPERTY_FIELDS {
                    div.row.force-property {
                        span.label { "Name:" } input type="text" size="10" name={ "property" (i) "_name" };
                        " " span.label { "Value:" } input type="text" size="10" name={ "property" (i) "_value" };
                    }
                }
                input type="submit" value=(s.button_name);
            }))
        }
    }
}

/// Stop one running build ("Stop This Build"), with its reason field.
pub fn stop_build(page: &Page, build_url: &str, label: &str) -> Markup {
    post(
        page,
        &format!("{build_url}/stop"),
        "command_stopbuild",
        html! {
            span.label { "Reason:" } " " input type="text" name="comments";
            " " input type="submit" value=(label);
        },
    )
}

/// Run a finished build again ("Resubmit Build:").
pub fn rebuild(page: &Page, build_url: &str) -> Markup {
    post(
        page,
        &format!("{build_url}/rebuild"),
        "command_rebuild",
        html! {
            span.label { "Reason for re-running build:" } " " input type="text" name="comments";
            br;
            select name="useSourcestamp" {
                option value="exact" selected { "Exact same revisions" }
                option value="updated" { "Same sourcestamps (ignoring 'got revision')" }
            }
            " " input type="submit" value="Rebuild";
        },
    )
}

/// Cancel one pending request of a builder (`id` a request id, or `all`).
pub fn cancel_request(page: &Page, builder_url: &str, id: &str, label: &str) -> Markup {
    post(
        page,
        &format!("{builder_url}/cancelbuild"),
        "command_cancelbuild",
        html! { input type="hidden" name="id" value=(id); input type="submit" value=(label); },
    )
}

/// The forms of the builders page acting on several builders: each lists `names` to tick,
/// and its "all" twin acts on every builder.
pub fn selected_and_all(page: &Page, names: &[String], kind: Several) -> Markup {
    let (selected, all, class, label_selected, label_all, reason) = match kind {
        Several::Stop => {
            ("stopselected", "stopall", "command_stopbuilds", "Stop Selected Builds", "Stop All Builds", true)
        }
        Several::Cancel => (
            "cancelpendingselected",
            "cancelpendingall",
            "command_cancelpending",
            "Cancel Selected Pending Builds",
            "Cancel All Pending Builds",
            false,
        ),
    };
    let root = &page.root;
    let reason_field = html! { @if reason { span.label { "Reason:" } " " input type="text" name="comments"; " " } };
    html! {
        (post(page, &format!("{root}builders/_selected/{selected}"), class, html! {
            @for b in names { label { input type="checkbox" name="selected" value=(b); " " (b) } " " }
            br; (reason_field) input type="submit" value=(label_selected);
        }))
        (post(page, &format!("{root}builders/_all/{all}"), class, html! {
            (reason_field) input type="submit" value=(label_all);
        }))
    }
}

/// Which pair of [`selected_and_all`] forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Several {
    Stop,
    Cancel,
}

/// A worker's "Graceful Shutdown" and "Pause Slave" sections (shown while it is connected).
pub fn worker_forms(page: &Page, worker: &Worker, graceful: bool, pause: bool) -> Markup {
    let url = path::worker(&page.root, &worker.name);
    html! {
        @if graceful {
            h2 { "Graceful Shutdown" }
            (button(page, &format!("{url}/shutdown"), "command_shutdown", "Graceful Shutdown"))
        }
        @if pause {
            h2 { "Pause Slave" }
            @if worker.paused { (button(page, &format!("{url}/unpause"), "command_unpause", "Unpause Slave")) }
            @else { (button(page, &format!("{url}/pause"), "command_pause", "Pause Slave")) }
        }
    }
}

/// The welcome page's clean shutdown: start it, or cancel it while it runs.
pub fn clean_shutdown(page: &Page, shutting_down: bool) -> Markup {
    let root = &page.root;
    html! {
        @if shutting_down {
            p.shutting-down { "Master is shutting down" }
            (button(page, &format!("{root}cancel_shutdown"), "command_cancel_shutdown", "Cancel Shutdown"))
        } @else {
            (button(page, &format!("{root}shutdown"), "command_clean_shutdown", "Clean Shutdown"))
        }
    }
}

/// "Cancel Builds For Change": cancel the change's requests and stop its builds on every
/// builder (spec §5.9's recommendation: a POST form to `builders/_all/stopchangeall`).
pub fn stop_change(page: &Page, change: u64) -> Markup {
    html! {
        h2 { "Cancel Builds For Change" }
        (post(page, &format!("{}builders/_all/stopchangeall", page.root), "command_stopchange", html! {
            input type="hidden" name="change" value=(change);
            input type="submit" value="Cancel Builds For Change";
        }))
    }
}
