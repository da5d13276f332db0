//! `/console` (spec-web-displays §4.5–4.7): renders the console that `views::console` computed.
//! A box links to the page of the build it stands for, and its tooltip says the build's number,
//! text and ETA: the old page's pop-up of `/buildstatus` needed a script, a plain link works
//! everywhere.

use maud::{Markup, html};

use crate::domain::model::{Build, Timestamp};
use crate::domain::views::console::{Console, ConsoleBuilder, ConsoleClass, ConsoleGroup, ConsoleRow, RowSubject};
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{path, quote, shortrev, user};

/// The filters the top bar lists.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ConsoleHeading {
    pub tags: Vec<String>,
    /// (label, value) of the active codebase/repository/project/branch filters.
    pub filters: Vec<(&'static str, String)>,
    pub names: Vec<String>,
    /// The page's other query arguments, which "Personalized for…" keeps.
    pub kept: Vec<(String, String)>,
}

pub fn console_page(page: &Page, builders: &[ConsoleBuilder], console: &Console, heading: &ConsoleHeading) -> Markup {
    let title = format!("BuildBot: {}", page.site.title);
    let groups = &console.groups;
    // Each builder's link, made once for its status box and every row's box.
    let links: Vec<String> = builders.iter().map(|b| path::builder(&page.root, &b.builder.name)).collect();
    frame(
        page,
        &title,
        html! {
            (top_bar(groups, heading))
            @if builders.is_empty() {
                p.error { "No builders match these filters." }
            } @else if console.rows.is_empty() {
                p.error { "No revisions available" }
            } @else {
                table id="console" width="100%" {
                    @if groups.len() > 1 { (group_names_row(groups)) }
                    (builder_status_row(&links, builders, console))
                    @for (r, row) in console.rows.iter().enumerate() {
                        (revision_rows(page, builders, &links, groups, row, r % 2 == 1))
                    }
                }
            }
        },
    )
}

/// The bar above the console: the tags and filters in use, the legend of the box colours, and
/// the "Personalized for…" form (which keeps the page's other arguments).
fn top_bar(groups: &[ConsoleGroup], heading: &ConsoleHeading) -> Markup {
    html! {
        table.ConsoleTop width="100%" {
            tr {
                td {
                    @if groups.len() > 1 {
                        "Tags: "
                        @for g in groups { a href={ "?tag=" (quote(&g.name)) } { (g.name) } " " }
                        br;
                    }
                    @for (label, value) in &heading.filters { b { (label) ": " } (value) br; }
                    @if !heading.names.is_empty() { b { "Authors: " } (heading.names.join(", ")) }
                }
                td align="center" {
                    div.legend {
                        @for (class, label, tip) in ConsoleClass::LEGEND {
                            span class={ "legend " (class.css()) } title=(tip) { (label) } " "
                        }
                    }
                }
                td align="right" {
                    form method="get" action="" {
                        "Personalized for... "
                        @for (name, value) in &heading.kept { input type="hidden" name=(name) value=(value); }
                        input type="text" name="name" value=(heading.names.first().map_or("", String::as_str));
                        input type="submit" value="Go";
                    }
                }
            }
        }
    }
}

/// The tag groups' names, each as wide as its share of the builders.
fn group_names_row(groups: &[ConsoleGroup]) -> Markup {
    let total: usize = groups.iter().map(|g| g.members.len()).sum::<usize>().max(1);
    html! {
        tr {
            td colspan="2" {}
            @for (i, g) in groups.iter().enumerate() {
                td class={ "DevStatus" @if i % 2 == 1 { " Alt" } @if i == 0 { " first" } @if i + 1 == groups.len() { " last" } }
                    width={ (100 * g.members.len() / total) "%" } { (g.name) }
            }
        }
    }
}

/// One box per builder, by group, coloured by the builder's state (§4.5).
fn builder_status_row(links: &[String], builders: &[ConsoleBuilder], console: &Console) -> Markup {
    html! {
        tr {
            td.DevSlave colspan="2" {}
            @for g in &console.groups {
                td.DevSlave {
                    table width="100%" { tr {
                        @for &i in &g.members {
                            @let b = builders[i].builder;
                            td.DevSlaveBox {
                                a class={ "DevSlaveBox " (console.status[i].class.css()) } href=(links[i]) title=(b.name) target="_blank" {}
                            }
                        }
                    } }
                }
            }
        }
    }
}

/// A revision's rows: its builds' boxes, its comment, the failures' details (if any), a spacer.
/// `alt` rows are shaded.
/// A row's commit link: its change's own, else the site's rule for the repository.
fn revision_url(page: &Page, row: &ConsoleRow) -> Option<String> {
    let links = &page.site.decorations;
    match &row.subject {
        RowSubject::Change(c) => links.change_url(c),
        RowSubject::Orphan { revision, repository, .. } => links.revision_url(revision, repository),
    }
}

fn revision_rows(
    page: &Page,
    builders: &[ConsoleBuilder],
    links: &[String],
    groups: &[ConsoleGroup],
    row: &ConsoleRow,
    alt: bool,
) -> Markup {
    let root = &page.root;
    let alt = if alt { " Alt" } else { "" };
    let bottom = if row.details.is_empty() { " DevBottom" } else { "" };
    html! {
        tr {
            td class={ "DevRev" (alt) } { (shortrev(row.subject.revision().unwrap_or(""), revision_url(page, row).as_deref())) }
            td class={ "DevName" (alt) } {
                @match &row.subject {
                    RowSubject::Change(c) => (user(&c.who)),
                    RowSubject::Orphan { .. } => "(forced build)",
                }
            }
            @for g in groups {
                td class={ "DevStatus" (alt) } {
                    table width="100%" { tr {
                        @for &i in &g.members {
                            @let (builder, cell) = (builders[i].builder.name.as_str(), row.boxes[i]);
                            td {
                                @match cell.build {
                                    Some(b) => a class={ "DevStatusBox " (cell.class.css()) } href={ (links[i]) "/builds/" (b.number) }
                                        title=(BoxTip { builder, build: b, now: page.now }) {},
                                    None => a class={ "DevStatusBox " (cell.class.css()) } href={ (root) "waterfall" } title=(builder) {},
                                }
                            }
                        }
                    } }
                }
            }
        }
        tr {
            td class={ "DevComment" (alt) (bottom) } colspan=(groups.len() + 2) {
                @match &row.subject {
                    RowSubject::Change(c) => {
                        a href=(path::change(root, c.number)) { "Change " (c.number) } ": "
                        @for (i, line) in c.comments.lines().enumerate() {
                            @if i > 0 { br; }
                            (page.site.decorations.comment(line, &c.project))
                        }
                    }
                    RowSubject::Orphan { reason, started, .. } => {
                        "Built without a change, " (started.format("%Y-%m-%d %H:%M")) ": " (reason)
                    }
                }
            }
        }
        @if !row.details.is_empty() {
            tr {
                td class={ "DevDetails" (alt) " DevBottom" } colspan=(groups.len() + 2) {
                    ul {
                        @for d in &row.details {
                            li {
                                (d.builder) ": " (d.text) " - "
                                @for log in &d.logs {
                                    a href=(path::log(root, &d.build.builder, d.build.number, d.step, log)) { (log) } " "
                                }
                            }
                        }
                    }
                }
            }
        }
        tr.DevStatusSpacing { td colspan=(groups.len() + 2) {} }
    }
}

/// A box's tooltip: the builder, the build's number and text, and a running build's ETA.
/// Written where it goes (maud escapes it), as there are rows × builders of them.
struct BoxTip<'a> {
    builder: &'a str,
    build: &'a Build,
    now: Timestamp,
}

impl std::fmt::Display for BoxTip<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.build;
        write!(f, "{} #{}", self.builder, b.number)?;
        // The build's text line (`text_line`, its words joined by spaces), after a space
        // when it is not empty.
        let words = || b.text.iter().chain(b.steps.iter().flat_map(|s| s.text2.iter()));
        let joined_is_empty = words().all(String::is_empty) && words().nth(1).is_none();
        if !joined_is_empty {
            for word in words() {
                write!(f, " {word}")?;
            }
        }
        if !b.is_finished() {
            // Seconds left, as Buildbot's getETA() said.
            let eta = b.eta.map_or(0, |e| (e - self.now).num_seconds().max(0));
            write!(f, " ETA: {eta}s")?;
        }
        Ok(())
    }
}
