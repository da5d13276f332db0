//! `/buildslaves` and `/buildslaves/NAME` (spec §5.10).

use maud::{Markup, html};

use super::forms;
use super::recent::{build_line, build_table};
use crate::domain::auth::{Action, Subject};
use crate::domain::model::{Build, Timestamp, Worker};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{abbreviate_age, email, path, safe_url};

/// One row of the worker list.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WorkerRow {
    pub worker: Worker,
    /// Builders that may use this worker, natural order.
    pub builders: Vec<String>,
    pub running: usize,
}

pub fn workers_page(page: &Page, rows: &[WorkerRow], show_builders: bool) -> Markup {
    let root = &page.root;
    frame(
        page,
        "BuildSlaves",
        html! {
            h1 { "Buildslaves" }
            table.info {
                tr {
                    th { "Name" }
                    @if show_builders { th { "Builders" } }
                    th { "BuildBot" } th { "Admin" } th { "Last heard from" } th { "Connects/Hour" } th { "Status" }
                }
                @for (i, row) in rows.iter().enumerate() {
                    @let w = &row.worker;
                    @let (class, label) = status(w, row.running);
                    tr.alt[i % 2 == 1] {
                        td { a href=(path::worker(root, &w.name)) { (w.name) } }
                        @if show_builders {
                            td {
                                @if row.builders.is_empty() { span.Warning { "no builders" } }
                                @for (j, b) in row.builders.iter().enumerate() {
                                    @if j > 0 { " " }
                                    a href=(path::builder(root, b)) { (b) }
                                }
                            }
                        }
                        td { (w.version.as_deref().unwrap_or("-")) }
                        td { @match &w.admin { Some(a) => (email(a)), None => "-" } }
                        td {
                            @if let Some(t) = w.last_heard {
                                (abbreviate_age((page.now - t).num_seconds())) " "
                                small { "(" (t.format("%Y-%b-%d %H:%M:%S")) ")" }
                            }
                        }
                        td { (connects_last_hour(w, page.now)) }
                        td class=(class) { (label) }
                    }
                }
            }
            @if rows.is_empty() { p { "No workers are known." } }
        },
    )
}

/// Everything one worker's page shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WorkerPage {
    pub worker: Worker,
    pub running: Vec<Build>,
    pub recent: Vec<Build>,
}

pub fn worker_page(page: &Page, data: &WorkerPage) -> Markup {
    let root = &page.root;
    let w = &data.worker;
    frame(
        page,
        &format!("Buildbot: {}", w.name),
        html! {
            h1 { "Buildslave: " (w.name) }
            div.column {
                h2 { "Currently building:" }
                @if data.running.is_empty() { p { "No current builds" } }
                ul {
                    @for b in &data.running {
                        li {
                            (build_line(page, b, true))
                            @if page.may(Action::StopBuild, &Subject::Build(b)) {
                                (forms::stop_build(page, &path::build(root, &b.builder, b.number), "Stop Build"))
                            }
                        }
                    }
                }
                h2 { "Recent builds" }
                (build_table(page, &data.recent, true))
            }
            div.column {
                @if let Some(uri) = w.access_uri.as_deref().and_then(safe_url) { p { a href=(uri) { "Click to Access Slave" } } }
                @if let Some(a) = &w.admin { h2 { "Administrator" } p { (email(a)) } }
                h2 { "Slave information" }
                @if let Some(v) = &w.version { p { "Buildbot-Slave " (v) } }
                @if let Some(h) = &w.host { pre { (h) } }
                @if !w.info.is_empty() {
                    table.info.worker_info {
                        tr { th { "Name" } th { "Value" } }
                        @for (key, value) in &w.info { tr { td { (key) } td { (info_value(value)) } } }
                    }
                }
                h2 { "Connection Status" }
                p {
                    (connects_last_hour(w, page.now)) " connection(s) in the last hour"
                    @if !w.connected { " (not currently connected)" }
                }
                @if w.connected {
                    (forms::worker_forms(
                        page,
                        w,
                        page.may(Action::GracefulShutdown, &Subject::Worker(w)),
                        page.may(Action::PauseSlave, &Subject::Worker(w)),
                    ))
                }
            }
        },
    )
}

/// A worker info value: text as it is, a mapping as a nested table, anything else as JSON.
fn info_value(value: &serde_json::Value) -> Markup {
    match value {
        serde_json::Value::String(text) => html! { (text) },
        serde_json::Value::Object(map) => html! {
            table.info { @for (k, v) in map { tr { td { (k) } td { (info_value(v)) } } } }
        },
        other => html! { (other.to_string()) },
    }
}

fn status(w: &Worker, running: usize) -> (&'static str, String) {
    match (w.connected, running, w.paused) {
        (false, _, _) => ("offline", "Not connected".to_owned()),
        (true, n, _) if n > 0 => ("building", format!("Running {n} build(s)")),
        (true, _, true) => ("paused", "Paused".to_owned()),
        (true, _, false) => ("idle", "Idle".to_owned()),
    }
}

fn connects_last_hour(w: &Worker, now: Timestamp) -> usize {
    w.connect_times.iter().filter(|t| (now - **t).num_seconds() < 3600).count()
}
