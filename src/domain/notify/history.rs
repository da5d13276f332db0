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

/// The streak after `build` when "previous" is what `previous` picks (a `previousBuildGetter`
/// that skips other branches, say): the chain of builds it picks, one before the other, is
/// the history the streak is read from. `before` is the builder's finished builds before
/// `build`, newest first.
pub fn streak_along(build: &Build, before: &[Build], previous: &PreviousBuild) -> Streak {
    let mut chain: Vec<Build> = Vec::new();
    let mut current = build.clone();
    while chain.len() < before.len() {
        let older: Vec<Build> = before.iter().filter(|b| b.number < current.number).cloned().collect();
        match previous(&current, &older) {
            Some(p) if p.number < current.number => {
                chain.push(p.clone());
                current = p;
            }
            _ => break,
        }
    }
    streak(build, &chain)
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

    #[test]
    fn a_getter_s_notion_of_previous_decides_the_streak() {
        use BuildResult::*;
        // Odd builds are another branch: the getter skips them.
        let before = vec![build(4, Success), build(3, Failure), build(2, Failure), build(1, Failure)];
        let same_parity: PreviousBuild =
            Arc::new(|b: &Build, older: &[Build]| older.iter().find(|o| o.number % 2 == b.number % 2).cloned());
        // 6 failed; along its branch 4 succeeded: its own streak starts at 6.
        assert_eq!(streak_along(&build(6, Failure), &before, &same_parity).failing_since, Some(6));
        // 5 succeeded; along its branch 3 and 1 failed: broken since 1.
        assert_eq!(streak_along(&build(5, Success), &before, &same_parity).broken_since, Some(1));
        // Without the getter, 5's previous is 4 (a success): no streak ended.
        assert_eq!(streak(&build(5, Success), &before).broken_since, None);
    }
}
