//! Reads what a notifier compares a finished build with: its builder's recent finished builds,
//! the previous one among them (or the one a `previousBuildGetter` chooses), and the failure
//! streak (`domain::notify::history` decides from them).

use crate::domain::model::Build;
use crate::domain::notify::history::{PreviousBuild, Streak, streak, streak_along};
use crate::ports::{BuildQuery, StatusReader, StoreError};

/// Finished builds looked at for the previous build and a failure streak.
const HISTORY: usize = 50;

/// A build's past as notifiers compare it.
#[derive(Clone, Debug, Default)]
pub struct Past {
    /// The previous finished build of its builder (or the one the getter chose).
    pub previous: Option<Build>,
    pub streak: Streak,
}

/// The past of `build`: the finished builds of its builder numbered below it, newest first.
pub async fn past(
    reader: &dyn StatusReader,
    build: &Build,
    getter: Option<&PreviousBuild>,
) -> Result<Past, StoreError> {
    let query = BuildQuery {
        finished: Some(true),
        before_number: Some(build.number),
        ..BuildQuery::of_builder(&build.builder, HISTORY)
    };
    let before = crate::ports::owned(reader.builds(&query).await?);
    Ok(match getter {
        Some(choose) => Past { previous: choose(build, &before), streak: streak_along(build, &before, choose) },
        None => Past { previous: before.first().cloned(), streak: streak(build, &before) },
    })
}
