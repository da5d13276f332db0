//! The expectation rule on examples, and its properties: expectations stay within what the
//! successes did and ignore the rest, a build on schedule keeps its ETA from start to end, and
//! no ETA is before what the build has already seen.
use proptest::prelude::*;

use super::*;

fn at(seconds: i64) -> Timestamp {
    at_ms(seconds * 1000)
}

fn at_ms(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap_or_default()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// A build started at `start` whose steps ran back to back for `durations` seconds each, named
/// `s0`, `s1`, …; finished with `result` when given.
fn ran(number: u32, start: i64, durations: &[i64], result: Option<BuildResult>) -> Build {
    let ms: Vec<i64> = durations.iter().map(|d| d * 1000).collect();
    ran_ms(number, start * 1000, &ms, result)
}

/// [`ran`] to the millisecond.
fn ran_ms(number: u32, start: i64, durations: &[i64], result: Option<BuildResult>) -> Build {
    let at = at_ms;
    let mut t = start;
    let steps = durations
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let step = Step {
                number: i as u32,
                name: format!("s{i}"),
                started: Some(at(t)),
                finished: Some(at(t + d)),
                result: Some(BuildResult::Success),
                ..Step::default()
            };
            t += d;
            step
        })
        .collect();
    Build {
        builder: "b".into(),
        number,
        worker: "w".into(),
        started: at(start),
        finished: result.map(|_| at(t)),
        result,
        steps,
        ..Build::default()
    }
}

const OK: Option<BuildResult> = Some(BuildResult::Success);

#[test]
fn each_success_moves_the_expectation_halfway_and_failures_teach_nothing() {
    let history = [
        ran(3, 0, &[10, 100], OK),
        ran(1, 0, &[30, 20, 5], OK),
        ran(4, 0, &[1, 1], Some(BuildResult::Failure)),
        ran(5, 0, &[4], None),
    ];
    let e = Expectations::learn(&history);
    // #1 first (by number), then #3: halfway between them.
    assert_eq!(e.build(), Some(TimeDelta::milliseconds(82_500)));
    assert_eq!((e.step("s0"), e.step("s1")), (Some(secs(20)), Some(secs(60))));
    assert_eq!(e.step("s2"), Some(secs(5)), "a step only the older build ran keeps what it taught");
    assert_eq!(e.order(), ["s0", "s1"], "the newest success's steps");
    assert_eq!(Expectations::learn(&history[2..]), Expectations::default(), "no success, nothing learnt");
}

#[test]
fn a_running_build_is_expected_when_its_steps_have_run_their_expected_time() {
    let e = Expectations::learn(&[ran(0, 0, &[60, 120, 30], OK)]);
    // Building step 1 since second 1000 (step 0 took 100 s, over its 60).
    let mut build = ran(1, 900, &[100, 0], None);
    build.steps[1].finished = None;
    let estimate = e.estimate(&build);
    assert_eq!(estimate.steps, BTreeMap::from([(1, at(1120))]));
    assert_eq!(estimate.build, Some(at(1150)), "step 1 ends at 1120, then step 2's 30 s");
    // Its steps listed ahead (planned, not started) get theirs too.
    build.steps.push(Step { number: 2, name: "s2".into(), ..Step::default() });
    assert_eq!(e.estimate(&build).steps, BTreeMap::from([(1, at(1120)), (2, at(1150))]));
    // A step over its time is expected to end when the build last told of something: here a
    // later step of its own that already finished (steps may run side by side).
    build.steps[2] = Step { started: Some(at(1200)), finished: Some(at(1300)), ..build.steps[2].clone() };
    assert_eq!(e.estimate(&build), Estimate { build: Some(at(1300)), steps: BTreeMap::from([(1, at(1300))]) });
}

#[test]
fn a_step_never_seen_falls_back_to_the_builds_expected_duration() {
    let e = Expectations::learn(&[ran(0, 0, &[60, 120], OK)]);
    let mut build = ran(1, 1000, &[10], None);
    build.steps[0].name = "new step".into();
    build.steps[0].finished = None;
    let estimate = e.estimate(&build);
    assert_eq!(estimate.build, Some(at(1180)), "the build's 180 s from its start");
    assert!(estimate.steps.is_empty(), "no step has an expectation on the way");
    assert_eq!(Expectations::default().estimate(&build), Estimate::default(), "no history: no ETA");
}

/// Durations in seconds of a build's steps.
fn durations() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(0i64..5000, 1..6)
}

proptest! {
    /// The expected duration of a build lies between the fastest and the slowest success, is
    /// the halving fold of the successes in number order, and failures change nothing.
    #[test]
    fn expectations_come_from_the_successes_alone(
        runs in proptest::collection::vec((durations(), any::<bool>()), 1..12),
    ) {
        let builds: Vec<Build> = runs
            .iter()
            .enumerate()
            .map(|(n, (d, ok))| ran(n as u32, 0, d, Some(if *ok { BuildResult::Success } else { BuildResult::Failure })))
            .collect();
        let learnt = Expectations::learn(builds.iter().rev());
        let successes: Vec<&Build> = builds.iter().filter(|b| b.result == OK).collect();
        prop_assert_eq!(&learnt, &Expectations::learn(successes.iter().copied()));
        let took: Vec<i64> = successes.iter().map(|b| (b.finished.unwrap_or(b.started) - b.started).num_milliseconds()).collect();
        let folded = took.iter().fold(None, |old: Option<i64>, t| Some(old.map_or(*t, |o| (o + t) / 2)));
        prop_assert_eq!(learnt.build().map(|d| d.num_milliseconds()), folded);
        if let Some(expected) = learnt.build() {
            let (min, max) = (took.iter().min().copied().unwrap_or(0), took.iter().max().copied().unwrap_or(0));
            prop_assert!((min..=max).contains(&expected.num_milliseconds()));
        }
    }

    /// A build whose steps take exactly what is expected of them, back to back, keeps one ETA
    /// from its start to its last step: its start plus the expected steps.
    #[test]
    fn a_build_on_schedule_keeps_its_eta(history in proptest::collection::vec(durations(), 1..4), start in 0i64..100_000) {
        let builds: Vec<Build> = history.iter().enumerate().map(|(n, d)| ran(n as u32, 0, d, OK)).collect();
        let e = Expectations::learn(&builds);
        let expected: Vec<i64> = e.order().iter().map(|name| e.step(name).map_or(0, |d| d.num_milliseconds())).collect();
        let eta = at_ms(start + expected.iter().sum::<i64>());
        // At each step's start, and once each has finished.
        for k in 0..=expected.len() {
            let mut build = ran_ms(99, start, &expected[..k], None);
            if let Some(last) = build.steps.last_mut() {
                last.finished = None;
            }
            prop_assert_eq!(e.estimate(&build).build, Some(eta), "running step {}", k);
            let done = ran_ms(99, start, &expected[..k], None);
            prop_assert_eq!(e.estimate(&done).build, Some(eta), "after step {}", k);
        }
    }

    /// Whatever the history and however a build runs, no ETA (of the build or a step) is
    /// before the latest moment the build tells of.
    #[test]
    fn no_eta_is_before_what_the_build_has_seen(
        history in proptest::collection::vec(durations(), 0..4),
        running in durations(),
        open in any::<bool>(),
        start in 0i64..100_000,
    ) {
        let builds: Vec<Build> = history.iter().enumerate().map(|(n, d)| ran(n as u32, 0, d, OK)).collect();
        let mut build = ran(99, start, &running, None);
        if let Some(last) = build.steps.last_mut().filter(|_| open) {
            last.finished = None;
        }
        let latest = latest_moment(&build);
        let estimate = Expectations::learn(&builds).estimate(&build);
        prop_assert!(estimate.build.is_none_or(|eta| eta >= latest));
        prop_assert!(estimate.steps.values().all(|eta| *eta >= latest));
        prop_assert_eq!(estimate.build.is_some(), !builds.is_empty(), "an ETA exactly when a success taught one");
    }
}
