//! `/changes` (change sources and the latest changes) and `/changes/N` (spec §5.9).

use crate::domain::web::decorate::Decorations;
use maud::{Markup, html};

use super::forms;
use crate::domain::auth::{Action, Subject};
use crate::domain::model::{Change, property_string};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{capitalize, email, long_time, path, shortrev};

/// `sources` describes each configured change source; `recent` are the newest changes.
pub fn changes_page(page: &Page, sources: &[String], recent: &[Change]) -> Markup {
    let links = &page.site.decorations;
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
                            td { @if let Some(r) = &c.revision { (shortrev(r, links.change_url(c).as_deref())) } }
                            td { (links.comment(c.comments.lines().next().unwrap_or(""), &c.project)) }
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
            (change_block(&page.site.decorations, change))
            @if page.may(Action::StopChange, &Subject::Nothing) { (forms::stop_change(page, change.number)) }
        },
    )
}

/// The details of one change, also shown at the bottom of build pages.
pub fn change_block(links: &Decorations, c: &Change) -> Markup {
    html! {
        table.info {
            tr { td.label { "Category" } td { b { (c.category.as_deref().unwrap_or("")) } } }
            tr { td.label { "Changed by" } td { (email(&c.who)) } }
            tr { td.label { "Changed at" } td { (long_time(c.when)) } }
            @if !c.repository.is_empty() { tr { td.label { "Repository" } td { (links.repository(&c.repository)) } } }
            @if !c.project.is_empty() { tr { td.label { "Project" } td { (links.project(&c.project)) } } }
            @if let Some(b) = &c.branch { tr { td.label { "Branch" } td { (b) } } }
            @if let Some(r) = &c.revision {
                tr { td.label { "Revision" } td { @if let Some(url) = links.change_url(c) { a href=(url) { (r) } } @else { (r) } } }
            }
        }
        h3 { "Comments" }
        pre.comments { (links.comment(&c.comments, &c.project)) }
        h3 { "Changed files" }
        @if c.files.is_empty() { p { "no files" } }
        ul { @for f in sorted(&c.files) { li { (f) } } }
        @if !c.properties.is_empty() {
            h3 { "Properties" }
            table.info {
                @for (k, p) in &c.properties { tr { td { (capitalize(k)) } td { (property_string(&p.value)) } } }
            }
        }
    }
}

/// A change's files in order (spec §5.9: the list is sorted, however the sender sent it).
fn sorted(files: &[String]) -> Vec<&String> {
    let mut files: Vec<&String> = files.iter().collect();
    files.sort();
    files
}
