//! `/builders/NAME/builds/N/steps/STEP` (spec §5.6).

use maud::{Markup, html};

use crate::domain::model::{Build, Step};
use crate::domain::result::table_class;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{ctime, format_interval, path};

pub fn step_page(page: &Page, build: &Build, step: &Step) -> Markup {
    let root = &page.root;
    frame(
        page,
        "Build Step",
        html! {
            h1 {
                "Builder " a href=(path::builder(root, &build.builder)) { (build.builder) }
                " build " a href=(path::build(root, &build.builder, build.number)) { "#" (build.number) }
                " step " (step.name)
            }
            @if step.finished.is_some() {
                h2 { "Finished" }
                p class={ (table_class(step.result)) " result" } { (step.text.join(" ")) }
            } @else {
                h2 { "Not Finished" }
            }
            h2 { "Timing" }
            @if let Some(start) = step.started {
                table.info {
                    tr { td { "Start" } td { (ctime(start)) } }
                    tr { td { "End" } td { @if let Some(end) = step.finished { (ctime(end)) } @else { "Not Finished" } } }
                    tr { td { "Elapsed" } td { (format_interval((step.finished.unwrap_or(page.now) - start).num_seconds())) } }
                }
            } @else {
                p { "Not started" }
            }
            h2 { "Logs" }
            ul {
                @if step.logs.is_empty() { li { "- No logs -" } }
                @for log in &step.logs { li { a href=(path::log(root, &build.builder, build.number, &step.name, &log.name)) { (log.name) } } }
            }
            @if !step.statistics.is_empty() {
                h2 { "Statistics" }
                table.info {
                    tr { th { "Name" } th { "Value" } }
                    @for (k, v) in &step.statistics { tr { td { (k) } td { (v.to_string()) } } }
                }
            }
        },
    )
}
