//! `/changes` (change sources and the latest changes) and `/changes/N` (spec §5.9).

use maud::{Markup, html};

use super::forms;
use crate::domain::auth::{Action, Subject};
use crate::domain::model::{Change, property_string};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{capitalize, email, long_time, path, safe_url, shortrev};

/// `sources` describes each configured change source; `recent` are the newest changes.
pub fn changes_page(page: &Page, sources: &[String], recent: &[Change]) -> Markup {
    let root = &page.root;
    frame(
        page,
        "Buildbot",
        html! {
            h1 { "Changesources" }
            @if sources.is_empty() { p { "none (push only)" } }
            ol { @for s in sources { li { (s) } } }
            h2 { "Latest changes" }
            @if recent.is_empty() { p { "No changes yet." } }
            @else {
                table.info {
                    tr { th { "Change" } th { "Author" } th { "Branch" } th { "Revision" } th { "Comments" } }
                    @for (i, c) in recent.iter().enumerate() {
                        tr.alt[i % 2 == 1] {
                            td { a href=(path::change(root, c.number)) { (c.number) } }
                            td { (email(&c.who)) }
                            td { (c.branch.as_deref().unwrap_or("")) }
                            td { @if let Some(r) = &c.revision { (shortrev(r, c.revlink.as_deref())) } }
                            td { (c.comments.lines().next().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}

pub fn change_page(page: &Page, change: &Change) -> Markup {
    frame(
        page,
        &format!("Change #{}", change.number),
        html! {
            h1 { "Change #" (change.number) }
            (change_block(&page.root, change))
            @if page.may(Action::StopChange, &Subject::Nothing) { (forms::stop_change(page, change.number)) }
        },
    )
}

/// The details of one change, also shown at the bottom of build pages.
pub fn change_block(_root: &str, c: &Change) -> Markup {
    html! {
        table.info {
            tr { td.label { "Category" } td { b { (c.category.as_deref().unwrap_or("")) } } }
            tr { td.label { "Changed by" } td { (email(&c.who)) } }
            tr { td.label { "Changed at" } td { (long_time(c.when)) } }
            @if !c.repository.is_empty() { tr { td.label { "Repository" } td { (c.repository) } } }
            @if !c.project.is_empty() { tr { td.label { "Project" } td { (c.project) } } }
            @if let Some(b) = &c.branch { tr { td.label { "Branch" } td { (b) } } }
            @if let Some(r) = &c.revision {
                tr { td.label { "Revision" } td { @if let Some(url) = c.revlink.as_deref().and_then(safe_url) { a href=(url) { (r) } } @else { (r) } } }
            }
        }
        h3 { "Comments" }
        pre.comments { (c.comments) }
        h3 { "Changed files" }
        @if c.files.is_empty() { p { "no files" } }
        ul { @for f in &c.files { li { (f) } } }
        @if !c.properties.is_empty() {
            h3 { "Properties" }
            table.info {
                @for (k, p) in &c.properties { tr { td { (capitalize(k)) } td { (property_string(&p.value)) } } }
            }
        }
    }
}
