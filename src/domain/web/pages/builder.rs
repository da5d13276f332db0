//! `/builders/NAME` (spec §5.4): current builds, pending requests, recent builds, workers.

use maud::{Markup, html};

use super::forms;
use super::recent::build_table;
use crate::domain::auth::{Action, Subject};
use crate::domain::control::ForceScheduler;
use crate::domain::model::{Build, BuildRequest, Builder, Timestamp, Worker};
use crate::domain::web::args::{Args, MAX_ROWS};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{email, format_interval, path, shortrev};

/// Everything the builder page shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuilderPage {
    pub builder: Builder,
    pub running: Vec<Build>,
    pub pending: Vec<BuildRequest>,
    pub recent: Vec<Build>,
    /// The builder's workers, in the builder's order (unknown names shown offline).
    pub workers: Vec<Worker>,
    pub numbuilds: usize,
    /// The master's force schedulers that may build this builder (the forms are the built-in
    /// page's: not in a template's context).
    #[serde(skip)]
    pub schedulers: Vec<ForceScheduler>,
    /// The page's arguments (`SCHEDULER.FIELD=` pre-fills a force form).
    #[serde(skip)]
    pub args: Args,
}

pub fn builder_page(page: &Page, data: &BuilderPage) -> Markup {
    let root = &page.root;
    let name = &data.builder.name;
    frame(
        page,
        &format!("Buildbot: {name}"),
        html! {
            div.column {
                h1 {
                    "Builder " (name) " "
                    small { "(" a href={ (root) "waterfall?show=" (crate::domain::web::text::quote(name)) } { "view in waterfall" } ")" }
                }
                @if let Some(d) = &data.builder.description { div.BuilderDescription { (d) } }
                @if !data.builder.tags.is_empty() { p { "Tags: " (data.builder.tags.join(", ")) } }

                h2 { "Current Builds:" }
                @if data.running.is_empty() { p { "No current builds" } }
                ul {
                    @for b in &data.running {
                        li {
                            a href=(path::build(root, name, b.number)) { "#" (b.number) }
                            @if let Some(eta) = b.eta { " ETA: " (eta_text(eta, page.now)) }
                            " " (current_step(b))
                            @if page.may(Action::StopBuild, &Subject::Build(b)) {
                                (forms::stop_build(page, &path::build(root, name, b.number), "Stop Build"))
                            }
                        }
                    }
                }

                h2 { "Pending Build Requests:" }
                @if data.pending.is_empty() { p { "No Pending Build Requests" } }
                ul {
                    @for r in &data.pending {
                        li {
                            small { "(" (r.submitted_at.format("%b %d %H:%M:%S")) ", waiting "
                                (format_interval((page.now - r.submitted_at).num_seconds())) ")" }
                            " " (request_source(page, r))
                            @if let Some(owner) = r.properties.get("owner") {
                                " " b { "Forced build" } " by " (email(&crate::domain::model::property_string(&owner.value)))
                            }
                            @if !r.reason.is_empty() { " " small { (r.reason) } }
                            @if page.may(Action::CancelPendingBuild, &Subject::Request(r)) {
                                (forms::cancel_request(page, &path::builder(root, name), &r.id.to_string(), "Cancel"))
                            }
                        }
                    }
                }
                @if !data.pending.is_empty() && data.pending.iter().all(|r| page.may(Action::CancelPendingBuild, &Subject::Request(r))) {
                    (forms::cancel_request(page, &path::builder(root, name), "all", "Cancel All"))
                }

                h2 { "Recent Builds:" }
                (build_table(page, &data.recent, false))
                p { a href={ "?numbuilds=" (data.numbuilds.saturating_add(5).min(MAX_ROWS)) } { "Show more" } }
            }
            div.column {
                h2 { "Buildslaves:" }
                @if data.workers.is_empty() { p { "no slaves attached" } }
                @else {
                    table.info {
                        tr { th { "Name" } th { "Status" } th { "Admin" } }
                        @for w in &data.workers {
                            @let (class, label) = worker_status(w);
                            tr {
                                td { a href=(path::worker(root, &w.name)) { (w.name) } }
                                td class=(class) { (label) }
                                td { @if let Some(a) = &w.admin { (email(a)) } }
                            }
                        }
                    }
                }
                @if page.may(Action::PingBuilder, &Subject::Builder(&data.builder)) {
                    h2 { "Ping slaves" }
                    (forms::button(page, &format!("{}/ping", path::builder(root, name)), "command_ping", "Ping Builder"))
                }
                @if !data.schedulers.is_empty() && page.may(Action::ForceBuild, &Subject::Builder(&data.builder)) {
                    h2 { "Force build" }
                    @let schedulers: Vec<&ForceScheduler> = data.schedulers.iter().collect();
                    (forms::force_forms(page, &format!("{}/force", path::builder(root, name)), &schedulers, None, &data.args))
                }
            }
        },
    )
}

/// `HH:MM:SS [1 hrs, 2 mins, 3 secs]`: when a build is expected to finish.
pub fn eta_text(eta: Timestamp, now: Timestamp) -> String {
    format!("{} [{}]", eta.format("%H:%M:%S"), format_interval((eta - now).num_seconds()))
}

/// The step a running build is in, or that it waits.
pub fn current_step(build: &Build) -> String {
    match build.current_step() {
        Some(step) => step.name.clone(),
        None => "[waiting for Lock]".to_owned(),
    }
}

fn request_source(page: &Page, r: &BuildRequest) -> Markup {
    let root = &page.root;
    let changes: Vec<u64> = r.sourcestamps.iter().flat_map(|s| s.changes.iter().copied()).collect();
    html! {
        @if changes.len() >= 4 { "(" (changes.len()) " changes)" }
        @else {
            @for (i, n) in changes.iter().enumerate() {
                @if i > 0 { ", " }
                a href=(path::change(root, *n)) { "change " (n) }
            }
            @for s in r.sourcestamps.iter().filter(|s| s.changes.is_empty()) {
                @if let Some(rev) = &s.revision {
                    (shortrev(rev, page.site.decorations.revision_url(rev, &s.repository).as_deref())) " "
                }
            }
        }
    }
}

/// The status cell of a worker: (CSS class, text).
pub fn worker_status(w: &Worker) -> (&'static str, &'static str) {
    match (w.connected, w.paused) {
        (true, true) => ("paused", "paused"),
        (true, false) => ("idle", "connected"),
        (false, _) => ("offline", "offline"),
    }
}
