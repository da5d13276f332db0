//! A finished build against its builder's past, as every notifier that compares needs it: the
//! previous *finished* build (spec-notify-8 X4: build N−1 may be running, pruned or on
//! another branch) and where the current run of failures began or ended. The app reads the
//! builder's recent finished builds; these functions decide.

use std::sync::Arc;

use crate::domain::model::Build;
use crate::domain::result::BuildResult;

/// How a target chooses the previous build of a finished one, given its builder's finished
/// builds before it, newest first (the seed's `previousBuildGetter`).
pub type PreviousBuild = Arc<dyn Fn(&Build, &[Build]) -> Option<Build> + Send + Sync>;

/// Where a failure streak stands after a build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    /// The build failed: the first build of the run of failures it belongs to.
    pub failing_since: Option<u32>,
    /// The build did not fail but the ones before it did: the first of those failures.
    pub broken_since: Option<u32>,
}

/// The first build of the run of failures that `builds` (newest first) starts with.
pub fn first_failure(builds: &[Build]) -> Option<u32> {
    builds.iter().take_while(|b| b.result == Some(BuildResult::Failure)).last().map(|b| b.number)
}

/// The streak after `build`, given the finished builds before it, newest first.
pub fn streak(build: &Build, before: &[Build]) -> Streak {
    match build.result {
        Some(BuildResult::Failure) => {
            Streak { failing_since: Some(first_failure(before).unwrap_or(build.number)), broken_since: None }
        }
        Some(_) => Streak { failing_since: None, broken_since: first_failure(before) },
        None => Streak::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(number: u32, result: BuildResult) -> Build {
        Build { builder: "b".into(), number, result: Some(result), ..Build::default() }
    }

    #[test]
    fn a_streak_starts_at_the_first_of_the_failures_before() {
        use BuildResult::*;
        let before = [build(4, Failure), build(3, Failure), build(2, Success), build(1, Failure)];
        assert_eq!(streak(&build(5, Failure), &before), Streak { failing_since: Some(3), broken_since: None });
        assert_eq!(streak(&build(5, Success), &before), Streak { failing_since: None, broken_since: Some(3) });
        assert_eq!(streak(&build(5, Failure), &[]), Streak { failing_since: Some(5), broken_since: None });
        assert_eq!(streak(&build(5, Warnings), &before[2..]), Streak::default());
    }
}
