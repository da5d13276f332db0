//! Build rows (spec §5.1) and `/one_line_per_build` (§5.2).

use maud::{Markup, html};

use super::{rev_list, text_line};
use crate::domain::model::{Build, property_string};
use crate::domain::result::table_class;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{capitalize, path, short_time, shortrev};

/// The table of finished builds; `with_builder` adds the Builder column.
pub fn build_table(page: &Page, builds: &[Build], with_builder: bool) -> Markup {
    let root = &page.root;
    if builds.is_empty() {
        return html! { p { "No matching builds found" } };
    }
    html! {
        table.info.builds {
            tr {
                th { "Time" } th { "Revision" } th { "Result" }
                @if with_builder { th { "Builder" } }
                th { "Build #" } th { "Reason" } th { "Info" }
            }
            @for (i, b) in builds.iter().enumerate() {
                @let class = table_class(b.result);
                tr.alt[i % 2 == 1] {
                    td { (short_time(b.started)) }
                    td {
                        @for (j, r) in rev_list(b).iter().enumerate() {
                            @if j > 0 { br; }
                            @if !r.codebase.is_empty() { span.codebase { (r.codebase) } ":\u{a0}" }
                            (shortrev(&r.rev, page.site.decorations.revision_url(&r.rev, &r.repository).as_deref()))
                        }
                    }
                    td class=(class) { (class) }
                    @if with_builder { td { a href=(path::builder(root, &b.builder)) { (b.builder) } } }
                    td { a href=(path::build(root, &b.builder, b.number)) { "#" (b.number) } }
                    td {
                        span.reason { (b.reason) }
                        @for (k, owner) in owners(b).iter().enumerate() {
                            @if k > 0 { ", " } @else { " " }
                            span.interested_user { (owner) }
                        }
                    }
                    td { (capitalize(&text_line(b))) }
                }
            }
        }
    }
}

/// `(Jun 01 12:34) Rev: abc success [builder] #12 - Build successful`.
pub fn build_line(page: &Page, b: &Build, with_builder: bool) -> Markup {
    let root = &page.root;
    let revs = rev_list(b);
    let class = table_class(b.result);
    html! {
        small { "(" (short_time(b.started)) ")" }
        " Rev: "
        @if let [rev] = revs.as_slice() {
            (shortrev(&rev.rev, page.site.decorations.revision_url(&rev.rev, &rev.repository).as_deref()))
        } @else { "multiple rev" }
        " " span class=(class) { (class) } " "
        @if with_builder { a href=(path::builder(root, &b.builder)) { (b.builder) } " " }
        a href=(path::build(root, &b.builder, b.number)) { "#" (b.number) }
        " - " (capitalize(&text_line(b)))
    }
}

fn owners(build: &Build) -> Vec<String> {
    match build.property("owners") {
        Some(serde_json::Value::Array(items)) => items.iter().map(property_string).collect(),
        Some(other) => vec![property_string(other)],
        None => Vec::new(),
    }
}

/// `/one_line_per_build`: the newest finished builds of all (or the chosen) builders.
pub fn one_line_per_build(page: &Page, builds: &[Build], branches: &str, builders: &[String]) -> Markup {
    frame(
        page,
        "Recent Builds",
        html! {
            h1 {
                "Last " (builds.len()) " finished builds: " (branches)
                @if !builders.is_empty() { " of builders: " (builders.join(", ")) }
            }
            (build_table(page, builds, true))
        },
    )
}

/// `/one_line_per_build/NAME`: one builder's newest finished builds as lines.
pub fn one_line_per_builder(page: &Page, builder: &str, builds: &[Build], branches: &str) -> Markup {
    frame(
        page,
        &format!("Recent Builds of {builder}"),
        html! {
            h1 { "Last " (builds.len()) " builds of builder " (builder) ": " (branches) }
            @if builds.is_empty() { p { "No matching builds found" } }
            ul { @for b in builds { li { (build_line(page, b, false)) } } }
        },
    )
}
