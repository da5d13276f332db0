//! `/builders` (spec §5.3): one row per builder with its last build and current activity.

use maud::{Markup, html};

use super::forms::{self, Several};
use super::text_line;
use crate::domain::auth::{Action, Subject};
use crate::domain::control::ForceScheduler;
use crate::domain::model::{Build, Builder, BuilderState, Timestamp};
use crate::domain::result::box_class;
use crate::domain::web::args::Args;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::path;

/// What one row of `/builders` shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuilderRow {
    pub builder: Builder,
    pub state: BuilderState,
    /// The newest finished build matching the branch filter.
    pub last: Option<Build>,
    pub running: Vec<Build>,
    pub pending: usize,
}

/// `schedulers` are the master's force schedulers; `args` the page's (they pre-fill forms).
pub fn builders_page(
    page: &Page,
    rows: &[BuilderRow],
    branches: &str,
    schedulers: &[ForceScheduler],
    args: &Args,
) -> Markup {
    let root = &page.root;
    frame(
        page,
        "Builders",
        html! {
            h1 { "Builders: " (branches) }
            table.info.builders {
                @for row in rows {
                    tr {
                        td.box { a href=(path::builder(root, &row.builder.name)) { (row.builder.name) } }
                        @match &row.last {
                            Some(b) => td class={ "LastBuild box " (box_class(b.result)) } {
                                a href=(path::build(root, &b.builder, b.number)) { (build_label(b)) }
                                br; (text_line(b))
                            },
                            None => td.LastBuild.box { "no build" },
                        }
                        td class={ "Activity " (row.state.name()) } {
                            @for (i, line) in activity_lines(row.state, &row.running, row.pending, page.now).iter().enumerate() {
                                @if i > 0 { br; }
                                (line)
                            }
                        }
                    }
                }
            }
            @if rows.is_empty() { p { "No builders are configured." } }
            (several_builders_forms(page, rows, schedulers, args))
        },
    )
}

/// Below the table (spec §5.3): stop, cancel and force on the selected or all builders, each
/// when the visitor may, and when there is something to stop (a building builder) or someone
/// to build (an online builder).
fn several_builders_forms(page: &Page, rows: &[BuilderRow], schedulers: &[ForceScheduler], args: &Args) -> Markup {
    let names: Vec<String> = rows.iter().map(|r| r.builder.name.clone()).collect();
    let building = rows.iter().any(|r| r.state == BuilderState::Building);
    let online: Vec<String> =
        rows.iter().filter(|r| r.state != BuilderState::Offline).map(|r| r.builder.name.clone()).collect();
    let forcing: Vec<&ForceScheduler> =
        schedulers.iter().filter(|s| s.builders.iter().any(|b| online.contains(b))).collect();
    let root = &page.root;
    html! {
        @if building && page.may(Action::StopAllBuilds, &Subject::Nothing) {
            h2 { "Stop Builds" }
            (forms::selected_and_all(page, &names, Several::Stop))
        }
        @if page.may(Action::CancelAllPendingBuilds, &Subject::Nothing) {
            h2 { "Cancel Pending Builds" }
            (forms::selected_and_all(page, &names, Several::Cancel))
        }
        @if !forcing.is_empty() && page.may(Action::ForceAllBuilds, &Subject::Nothing) {
            h2 { "Force Selected Builds" }
            (forms::force_forms(page, &format!("{root}builders/_selected/forceselected"), &forcing, Some(&online), args))
            h2 { "Force All Builds" }
            (forms::force_forms(page, &format!("{root}builders/_all/forceall"), &forcing, None, args))
        }
    }
}

/// The link label of a last build: a short got_revision when there is one, else `#N`.
fn build_label(build: &Build) -> String {
    match build.revision() {
        Some(rev) if !rev.is_empty() && rev.chars().count() <= 20 => rev,
        _ => format!("#{}", build.number),
    }
}

/// The "current activity" lines of a builder (spec-web-displays §2.7 row 2).
pub fn activity_lines(state: BuilderState, running: &[Build], pending: usize, now: Timestamp) -> Vec<String> {
    let mut lines = vec![state.name().to_owned()];
    if state == BuilderState::Building {
        for eta in running.iter().filter_map(|b| b.eta) {
            let secs = (eta - now).num_seconds();
            if secs < 60 {
                lines.push("< 1 min".to_owned());
            } else {
                lines.push("ETA in".to_owned());
                lines.push(format!("~{}", approx(secs)));
                lines.push(format!("at {}", eta.format("%H:%M")));
            }
        }
    }
    if pending > 0 {
        lines.push(format!("{pending} pending"));
    }
    lines
}

/// ` 1 hrs 5 mins` for an ETA of at least a minute.
fn approx(secs: i64) -> String {
    let mut out = String::new();
    if secs >= 3600 {
        out.push_str(&format!(" {} hrs", secs / 3600));
    }
    let mins = secs % 3600 / 60;
    if mins > 0 || out.is_empty() {
        out.push_str(&format!(" {mins} mins"));
    }
    out
}
