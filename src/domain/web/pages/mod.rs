//! One module per page of spec-web-pages.md. Each takes the data it shows (already fetched)
//! and returns markup; nothing here knows where the data came from.

mod auth;
mod build;
mod builder;
mod builders;
mod buildstatus;
mod changes;
mod console;
pub mod forms;
mod grid;
mod home;
mod notifications;
mod recent;
mod step;
mod tests;
mod users;
mod waterfall;
mod workers;

pub use auth::{authfail_page, authzfail_page, login_page};
pub use build::build_page;
pub use builder::{BuilderPage, builder_page};
pub use builders::{BuilderRow, activity_lines, builders_page};
pub use buildstatus::buildstatus_fragment;
pub use changes::{change_page, changes_page};
pub use console::{ConsoleHeading, console_page};
pub use grid::{GridFilters, grid_page};
pub use home::{about_page, home_page};
pub use notifications::{TargetLog, notifications_page};
pub use recent::{build_line, build_table, one_line_per_build, one_line_per_builder};
pub use step::step_page;
pub use tests::test_page;
pub use users::{user_page, users_page};
pub use waterfall::{ColumnHead, WaterfallPage, waterfall_help, waterfall_page};
pub use workers::{WorkerPage, WorkerRow, worker_page, workers_page};

use crate::domain::model::Build;

/// One revision entry of a build row: the revision of one source stamp (spec §5.1 `rev_list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevEntry {
    pub codebase: String,
    pub rev: String,
    /// The repository the revision is of, for its commit link.
    pub repository: String,
}

/// The revisions a build row shows.
pub fn rev_list(build: &Build) -> Vec<RevEntry> {
    let entry = |codebase: &str, rev: &str, repository: &str| RevEntry {
        codebase: codebase.to_owned(),
        rev: rev.to_owned(),
        repository: repository.to_owned(),
    };
    match build.sourcestamps.as_slice() {
        [] => vec![entry("", "unknown", "")],
        [one] => {
            let rev = build.got_revision(&one.codebase).or_else(|| one.revision.clone());
            vec![entry(&one.codebase, rev.as_deref().unwrap_or("??"), &one.repository)]
        }
        many => {
            let entries: Vec<RevEntry> = many
                .iter()
                .filter(|s| s.is_specific())
                .map(|s| {
                    let rev =
                        s.branch.clone().or_else(|| build.got_revision(&s.codebase)).or_else(|| s.revision.clone());
                    entry(&s.codebase, rev.as_deref().unwrap_or("??"), &s.repository)
                })
                .collect();
            if entries.is_empty() { vec![entry("", "most recent", "")] } else { entries }
        }
    }
}

/// The build's text, space-joined, as rows and boxes show it.
pub fn text_line(build: &Build) -> String {
    build.full_text().join(" ")
}
