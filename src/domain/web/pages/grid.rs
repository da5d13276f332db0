//! `/grid` and `/tgrid` (spec-web-displays §3.3): render the grid that `views::grid` computed,
//! stamps across (grid) or down (tgrid).

use maud::{Markup, html};

use crate::domain::model::{Build, BuilderState};
use crate::domain::result::box_class;
use crate::domain::views::grid::{Grid, GridRow, GridStamp, cell_text};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{path, shortrev};

/// What the top-left cell says about the filters.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct GridFilters {
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub branch: Option<String>,
}

pub fn grid_page(page: &Page, grid: &Grid, filters: &GridFilters, transposed: bool, newest_first: bool) -> Markup {
    let root = &page.root;
    let title = format!("BuildBot: {}", page.site.title);
    let stamps: Vec<(usize, &GridStamp)> = if newest_first {
        grid.stamps.iter().enumerate().rev().collect()
    } else {
        grid.stamps.iter().enumerate().collect()
    };
    frame(
        page,
        &title,
        html! {
            @if grid.rows.is_empty() { p.error { "No builders match these filters." } }
            @else if grid.stamps.is_empty() { p { "No builds match these filters yet." } }
            table.Grid border="0" cellspacing="0" {
                @if transposed {
                    tr {
                        (title_cell(page, filters))
                        @for row in &grid.rows { (builder_cell(root, row)) }
                    }
                    @for (i, stamp) in &stamps {
                        tr {
                            (stamp_cell(page, stamp))
                            @for row in &grid.rows { (build_cell(root, row.cells[*i])) }
                        }
                    }
                } @else {
                    tr {
                        (title_cell(page, filters))
                        @for (_, stamp) in &stamps { (stamp_cell(page, stamp)) }
                    }
                    @for row in &grid.rows {
                        tr {
                            (builder_cell(root, row))
                            @for (i, _) in &stamps { (build_cell(root, row.cells[*i])) }
                        }
                    }
                }
            }
        },
    )
}

fn title_cell(page: &Page, filters: &GridFilters) -> Markup {
    let site = page.site;
    html! {
        td.title {
            a href=(site.title_url) { (site.title) }
            @if !filters.tags.is_empty() {
                br; (if filters.tags.len() == 1 { "Tag:" } else { "Tags:" })
                @for t in &filters.tags { br; (t) }
            }
            @if !filters.categories.is_empty() {
                br; "Categories:"
                @for c in &filters.categories { br; (c) }
            }
            @if let Some(branch) = &filters.branch { br; "Branch: " (branch) }
        }
    }
}

fn stamp_cell(page: &Page, stamp: &GridStamp) -> Markup {
    let links = &page.site.decorations;
    html! {
        td.sourcestamp valign="bottom" {
            @for (i, (ss, rev)) in stamp.stamps.iter().zip(&stamp.revisions).enumerate() {
                @if i > 0 { br; }
                @if !ss.project.is_empty() { (links.project(&ss.project)) ": " }
                @if !ss.codebase.is_empty() { (ss.codebase) ": " }
                @match rev { Some(r) => (shortrev(r, links.revision_url(r, &ss.repository).as_deref())), None => "latest" }
                @if let Some(b) = &ss.branch { " in " (b) }
                @if ss.patch.is_some() { " [patch]" }
            }
        }
    }
}

fn builder_cell(root: &str, row: &GridRow) -> Markup {
    let state = row.state.name();
    html! {
        td class={ "builder " (state) } {
            a href=(path::builder(root, &row.builder.name)) { (row.builder.name) }
            @if row.state != BuilderState::Idle || row.pending > 0 {
                br;
                @if row.pending > 0 { "(" (state) ", plus " (row.pending) ")" } @else { "(" (state) ")" }
            }
        }
    }
}

fn build_cell(root: &str, build: Option<&Build>) -> Markup {
    match build {
        None => html! { td.build { "\u{a0}" } },
        Some(b) => html! {
            td class={ "build " (box_class(b.result)) } {
                a href=(path::build(root, &b.builder, b.number)) {
                    @for (i, line) in cell_text(b).iter().enumerate() { @if i > 0 { br; } (line) }
                }
            }
        },
    }
}
