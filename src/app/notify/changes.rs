//! The builds of one change, for a merge-safety verdict (`domain::notify::verdict`): every
//! stored build of its revision that the target counts as the change's, the build at hand as
//! it is now, and the builders whose requests for that revision still wait for a worker.
//! Read afresh on every event from the store (by its revision index) and the open buildsets,
//! so nothing is kept between events and a restart changes nothing.

use crate::domain::model::Build;
use crate::domain::notify::verdict::ChangeBuild;
use crate::ports::{BuildQuery, StatusReader, StoreError};

/// Builds of one revision looked at, at most.
const MOST: usize = 500;

/// The builds of the change at `revision`: those `of_change` takes (it says how each counts),
/// with `current` in its present state.
pub async fn builds(
    reader: &dyn StatusReader,
    revision: &str,
    current: &Build,
    of_change: impl Fn(&Build) -> Option<ChangeBuild>,
) -> Result<Vec<ChangeBuild>, StoreError> {
    let query = BuildQuery { revision: Some(revision.to_owned()), limit: MOST, ..BuildQuery::default() };
    let stored = reader.builds(&query).await?;
    let others = stored.iter().map(|b| &**b).filter(|b| b.builder != current.builder || b.number != current.number);
    Ok(others.chain(std::iter::once(current)).filter_map(of_change).collect())
}

/// The builders of `watches` with a request for `revision` still waiting for a worker.
pub async fn waiting(
    reader: &dyn StatusReader,
    revision: &str,
    watches: impl Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = reader
        .open_buildsets()
        .await?
        .into_iter()
        .filter(|open| {
            open.buildset
                .sourcestamps
                .iter()
                .any(|s| s.revision.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(revision)))
        })
        .flat_map(|open| open.requests.into_iter().map(|r| r.builder))
        .filter(|name| watches(name))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}
