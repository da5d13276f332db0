//! `/builders/NAME/builds/N` (spec §5.5): result, source stamps, steps with their logs,
//! properties, blame list and timing.

use crate::domain::web::decorate::Decorations;
use maud::{Markup, html};

use super::builder::{current_step, eta_text};
use super::{forms, text_line};
use crate::domain::auth::{Action, Subject};
use crate::domain::control::FORCE_FORM;
use crate::domain::model::{Build, Builder, Change, Step, property_string};
use crate::domain::result::table_class;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{capitalize, ctime, format_interval, path, safe_url, user};
const LONGEST_PROPERTY: usize = 500;

/// `changes` are the changes of the build's source stamps that the store knows; `builder` is
/// the build's (what a rebuild is asked about).
pub fn build_page(page: &Page, builder: &Builder, build: &Build, changes: &[Change], worker_known: bool) -> Markup {
    let root = &page.root;
    let name = &build.builder;
    frame(
        page,
        &format!("Buildbot: {name} Build #{}", build.number),
        html! {
            div.column {
                h1 { "Builder " a href=(path::builder(root, name)) { (name) } " Build #" (build.number) }
                (outcome(page, build))
                (super::tests::test_list(page, build))
                (source_stamps(&page.site.decorations, build))
                h2 { "BuildSlave:" }
                p { @if worker_known { a href=(path::worker(root, &build.worker)) { (build.worker) } } @else { (build.worker) } }
                h2 { "Reason:" }
                p { (build.reason) }

                h2 { "Steps and Logfiles:" }
                ol.steps {
                    @for step in build.steps.iter().filter(|s| !(s.hidden && s.finished.is_some())) {
                        (step_item(page, build, step))
                    }
                }
            }
            div.column {
                (properties(build))
                h2 { "Responsible Users:" }
                @if build.blamelist.is_empty() { p { "no responsible users" } }
                ol { @for u in &build.blamelist { li { (user(u)) } } }
                (timing(page, build))
                @if build.is_finished() && page.may(Action::ForceBuild, &Subject::Builder(builder)) {
                    h2 { "Resubmit Build:" }
                    (forms::rebuild(page, &path::build(root, name, build.number)))
                }
            }
            @if !changes.is_empty() { (all_changes(&page.site.decorations, build, changes)) }
        },
    )
}

/// The result of a finished build, or the ETA and current step of a running one.
fn outcome(page: &Page, build: &Build) -> Markup {
    html! {
        @if build.is_finished() {
            h2 { "Results:" }
            p class={ (table_class(build.result)) " result" } { (capitalize(&text_line(build))) }
        } @else {
            h2 { "Build In Progress:" }
            @if let Some(eta) = build.eta { p { "ETA: " (eta_text(eta, page.now)) } }
            p { (current_step(build)) }
            @if page.may(Action::StopBuild, &Subject::Build(build)) {
                h2 { "Stop Build" }
                (forms::stop_build(page, &path::build(&page.root, &build.builder, build.number), "Stop This Build"))
            }
        }
    }
}

/// Each source stamp's repository, branch and revisions, and a link to its changes below.
fn source_stamps(links: &Decorations, build: &Build) -> Markup {
    html! {
        h2 { @if build.sourcestamps.len() > 1 { "SourceStamps:" } @else { "SourceStamp:" } }
        @for ss in &build.sourcestamps {
            @if !ss.codebase.is_empty() { h3 { (ss.codebase) } }
            @if ss.is_specific() || !ss.repository.is_empty() {
                table.info {
                    @if !ss.project.is_empty() { tr { td { "Project" } td { (links.project(&ss.project)) } } }
                    @if !ss.repository.is_empty() { tr { td { "Repository" } td { (links.repository(&ss.repository)) } } }
                    @if let Some(b) = &ss.branch { tr { td { "Branch" } td { (b) } } }
                    @if let Some(r) = &ss.revision { tr { td { "Revision" } td { (revision(links, r, &ss.repository)) } } }
                    @if let Some(r) = build.got_revision(&ss.codebase) {
                        tr { td { "Got Revision" } td { (revision(links, &r, &ss.repository)) } }
                    }
                    @if ss.patch.is_some() { tr { td { "Patch" } td { "YES" } } }
                    @if !ss.changes.is_empty() {
                        tr { td { "Changes" } td { a href={ "#changes-" (ss.codebase) } { (ss.changes.len()) " change(s)" } } }
                    }
                }
            }
            @if !ss.is_specific() { p { "Build of most recent revision" } }
        }
    }
}

/// A revision, linked to its commit page when the site knows one.
fn revision(links: &Decorations, rev: &str, repository: &str) -> Markup {
    match links.revision_url(rev, repository) {
        Some(url) => html! { a href=(url) { (rev) } },
        None => html! { (rev) },
    }
}

/// The build's properties, those set by the force form apart; long values cut short.
fn properties(build: &Build) -> Markup {
    let forced: Vec<_> = build.properties.iter().filter(|(_, p)| p.source == FORCE_FORM).collect();
    html! {
        h2 { "Build Properties:" }
        table.info {
            tr { th { "Name" } th { "Value" } th { "Source" } }
            @for (k, p) in build.properties.iter().filter(|(_, p)| p.source != FORCE_FORM) {
                tr { td { (k) } td { (shorten(&property_string(&p.value))) } td { (p.source) } }
            }
        }
        @if !forced.is_empty() {
            h2 { "Forced Build Properties:" }
            table.info {
                tr { th { "Name" } th { "Value" } }
                @for (k, p) in forced { tr { td { (k) } td { (shorten(&property_string(&p.value))) } } }
            }
        }
    }
}

/// Start, end and elapsed time (up to now for a running build).
fn timing(page: &Page, build: &Build) -> Markup {
    html! {
        h2 { "Timing:" }
        table.info {
            tr { td { "Start" } td { (ctime(build.started)) } }
            @if let Some(end) = build.finished { tr { td { "End" } td { (ctime(end)) } } }
            tr { td { "Elapsed" } td { (format_interval((build.finished.unwrap_or(page.now) - build.started).num_seconds())) } }
        }
    }
}

/// Every change of the build, by source stamp (the targets of the source stamps' links).
fn all_changes(links: &Decorations, build: &Build, changes: &[Change]) -> Markup {
    html! {
        div style="clear:both" {
            h2 { "All Changes:" }
            @for ss in build.sourcestamps.iter().filter(|s| !s.changes.is_empty()) {
                a id={ "changes-" (ss.codebase) } {}
                @if !ss.codebase.is_empty() { h3 { (ss.codebase) } }
                ol {
                    @for c in changes.iter().filter(|c| ss.changes.contains(&c.number)) {
                        li { h3 { "Change #" (c.number) } (super::changes::change_block(links, c)) }
                    }
                }
            }
        }
    }
}

fn step_item(page: &Page, build: &Build, step: &Step) -> Markup {
    let root = &page.root;
    let (class, time) = match (step.started, step.finished) {
        (Some(s), Some(f)) => (table_class(step.result), format!("( {} )", format_interval((f - s).num_seconds()))),
        (Some(_), None) => ("running", "running".to_owned()),
        (None, _) => ("not_started", String::new()),
    };
    html! {
        li {
            div class={ (class) " result" } {
                a href=(path::step(root, &build.builder, build.number, &step.name)) { (step.name) }
                " " (step.text.join(" ")) " " span.time { (time) }
            }
            ul {
                @if step.logs.is_empty() && step.urls.is_empty() { li { "- no logs -" } }
                @for log in &step.logs {
                    li { a href=(path::log(root, &build.builder, build.number, &step.name, &log.name)) { (log.name) } }
                }
                @for (name, url) in &step.urls {
                    li { @if let Some(url) = safe_url(url) { a href=(url) { (name) } } @else { (name) " " (url) } }
                }
            }
        }
    }
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(LONGEST_PROPERTY) {
        Some((cut, _)) => format!("{} .. [property value too long]", &value[..cut]),
        None => value.to_owned(),
    }
}
