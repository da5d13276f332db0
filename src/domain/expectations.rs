//! How long a builder's next build should take, learnt from its successful builds (Buildbot
//! 0.8's "expectations"), and the expected finish (ETA) of a running build and of its steps.
//! Pure: times come from the builds themselves; nothing here reads a clock.
//!
//! The rule, in our words:
//!
//! - Only successful builds teach: a failed or interrupted build stops early and would make
//!   every estimate too short. Their order is their number's.
//! - Each successful build moves the expectation halfway towards what it did: the first sets
//!   it, each later one averages with it (0.8's decay of ½), so the newest weighs as much as
//!   all older ones together. This holds for the whole build's duration and for each step
//!   name's duration (over the successful builds that finished a step of that name).
//! - The steps a build is expected to run, in order, are those of the newest successful build.
//! - A running build is expected to finish when its running steps end (each its expected
//!   duration after it started) and then the steps still to come have run one after the other,
//!   each taking its expected duration. The steps to come are the build's own steps not started
//!   yet when it lists any, else the expected steps beyond as many as it has listed.
//! - Nothing is expected to end before the latest moment the build tells of (its start, a
//!   step's start or finish): a step running over its expectation is expected to end "now".
//! - When a step on the way has no expectation (it never finished in a successful build), or
//!   neither the build nor the successes have steps, the build is expected to take its
//!   expected duration from its start instead (or to end now, if that is past), if there is
//!   one; otherwise it has no ETA.
//!
//! 0.8 kept expectations forever; here they come from the successful builds in the builder's
//! window of recent builds, which bounds the cost. With the halving, a build ten successes
//! back weighs less than a thousandth, so the answers agree but for long-gone history.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::model::{Build, Step, Timestamp};
use super::result::BuildResult;

/// What a builder's successful builds lead us to expect. See the module doc for the rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    build: Option<TimeDelta>,
    steps: BTreeMap<String, TimeDelta>,
    order: Vec<String>,
}

/// The expected finish of a running build and of its unfinished steps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    pub build: Option<Timestamp>,
    /// By step number: the steps listed and not finished that have an ETA.
    pub steps: BTreeMap<u32, Timestamp>,
}

impl Expectations {
    /// Learnt from `builds`, a builder's finished builds in any order (the others are ignored).
    pub fn learn<'a>(builds: impl IntoIterator<Item = &'a Build>) -> Self {
        let mut successful: Vec<&Build> =
            builds.into_iter().filter(|b| b.result == Some(BuildResult::Success) && b.finished.is_some()).collect();
        successful.sort_by_key(|b| b.number);
        let mut out = Self::default();
        for build in &successful {
            if let Some(took) = took(Some(build.started), build.finished) {
                out.build = Some(halfway(out.build, took));
            }
            for step in &build.steps {
                if let Some(took) = took(step.started, step.finished) {
                    let old = out.steps.get(&step.name).copied();
                    out.steps.insert(step.name.clone(), halfway(old, took));
                }
            }
        }
        if let Some(newest) = successful.last() {
            out.order = newest.steps.iter().map(|s| s.name.clone()).collect();
        }
        out
    }

    /// How long a whole build is expected to take.
    pub fn build(&self) -> Option<TimeDelta> {
        self.build
    }

    /// How long a step of this name is expected to take.
    pub fn step(&self, name: &str) -> Option<TimeDelta> {
        self.steps.get(name).copied()
    }

    /// The steps a build is expected to run, in order (the newest successful build's).
    pub fn order(&self) -> &[String] {
        &self.order
    }

    /// When `build` (running) and its unfinished steps are expected to finish.
    pub fn estimate(&self, build: &Build) -> Estimate {
        let mut estimate = Estimate::default();
        // Nothing learnt (no success): nothing to expect.
        if self.build.is_none() {
            return estimate;
        }
        let latest = latest_moment(build);
        // When the running steps end (a build between steps is at `latest`).
        let mut cursor = latest;
        // Whether every step on the way has an expectation, and whether any step was on it.
        let (mut known, mut stepped) = (true, false);
        for step in build.steps.iter().filter(|s| s.started.is_some() && s.finished.is_none()) {
            match (step.started, self.step(&step.name)) {
                (Some(started), Some(expected)) => {
                    let end = (started + expected).max(latest);
                    estimate.steps.insert(step.number, end);
                    cursor = cursor.max(end);
                    stepped = true;
                }
                _ => known = false,
            }
        }
        let planned: Vec<&Step> = build.steps.iter().filter(|s| s.started.is_none()).collect();
        let to_come: Vec<(Option<u32>, &str)> = if planned.is_empty() {
            self.order.iter().skip(build.steps.len()).map(|name| (None, name.as_str())).collect()
        } else {
            planned.iter().map(|s| (Some(s.number), s.name.as_str())).collect()
        };
        for (number, name) in to_come {
            let Some(expected) = self.step(name).filter(|_| known) else {
                known = false;
                continue;
            };
            cursor += expected;
            stepped = true;
            if let Some(number) = number {
                estimate.steps.insert(number, cursor);
            }
        }
        // A build of steps is done with them at `cursor`; one without any (nor expected to
        // have any) is judged by its duration.
        let by_steps = known && (stepped || !build.steps.is_empty());
        estimate.build = match (by_steps, self.build) {
            (true, _) => Some(cursor),
            (false, Some(expected)) => Some((build.started + expected).max(latest)),
            (false, None) => None,
        };
        estimate
    }
}

/// The latest moment `build` tells of: its start, or a step's start or finish after it.
fn latest_moment(build: &Build) -> Timestamp {
    let steps = build.steps.iter().flat_map(|s| s.started.into_iter().chain(s.finished));
    steps.fold(build.started, Timestamp::max)
}

/// How long something that started and finished took (never negative: a sender's clock may
/// step back).
fn took(started: Option<Timestamp>, finished: Option<Timestamp>) -> Option<TimeDelta> {
    Some((finished? - started?).max(TimeDelta::zero()))
}

/// Halfway from `old` to `new` (to the millisecond); `new` when there was nothing before.
fn halfway(old: Option<TimeDelta>, new: TimeDelta) -> TimeDelta {
    match old {
        None => new,
        Some(old) => TimeDelta::milliseconds((old.num_milliseconds() + new.num_milliseconds()) / 2),
    }
}

#[cfg(test)]
mod tests;
