//! `/builders/NAME/builds/N/tests/A.B.C` (spec §5.5): one test result of a build, with its
//! result, its words and each of its logs.

use maud::{Markup, html};

use crate::domain::model::{Build, TestResult};
use crate::domain::result::table_class;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::path;

pub fn test_page(page: &Page, build: &Build, test: &TestResult) -> Markup {
    let root = &page.root;
    let name = test.dotted_name();
    frame(
        page,
        &format!("Test Result: {name}"),
        html! {
            h1 {
                "Builder " a href=(path::builder(root, &build.builder)) { (build.builder) }
                " build " a href=(path::build(root, &build.builder, build.number)) { "#" (build.number) }
                " test " (name)
            }
            h2 { "Result" }
            p class={ (table_class(Some(test.result))) " result" } {
                (test.result.name()) @if !test.text.is_empty() { ": " (test.text.join(" ")) }
            }
            @for (log, text) in &test.logs {
                h2 { "Log: " (log) }
                pre { (text) }
            }
        },
    )
}

/// The build page's list of its test results, each linked to its page.
pub fn test_list(page: &Page, build: &Build) -> Markup {
    html! {
        @if !build.tests.is_empty() {
            h2 { "Test Results:" }
            table.info.tests {
                @for t in &build.tests {
                    tr {
                        td { a href=(path::test(&page.root, &build.builder, build.number, &t.dotted_name())) { (t.dotted_name()) } }
                        td class=(table_class(Some(t.result))) { (t.result.name()) }
                        td { (t.text.join(" ")) }
                    }
                }
            }
        }
    }
}
