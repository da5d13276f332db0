use proptest::prelude::*;

use super::*;

const REV: &str = "4f3c2a1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";
const BUILDERS: [&str; 4] = ["linux", "mac", "win", "docs"];

fn build(builder: &str, number: u32, result: Option<BuildResult>) -> ChangeBuild {
    ChangeBuild { builder: builder.into(), number, built: None, result }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_change_is_safe_when_every_builder_passed_and_pending_while_one_runs() {
    use BuildResult::*;
    let rules = Requirements::default();
    let done = [build("linux", 3, Some(Success)), build("win", 7, Some(Success))];
    let safe = verdict(REV, &done, &[], &rules);
    assert_eq!(safe, Verdict::Success { passed: vec![("linux".into(), 3), ("win".into(), 7)] });
    assert_eq!(safe.describe(), "Safe to merge: all 2 required builders passed");

    let rebuild = [&done[..], &[build("win", 8, None)]].concat();
    let pending = verdict(REV, &rebuild, &names(&["mac"]), &rules);
    assert_eq!(
        pending,
        Verdict::Pending {
            busy: vec![Busy { builder: "mac".into(), number: None }, Busy { builder: "win".into(), number: Some(8) }]
        }
    );
    assert_eq!(pending.describe(), "Pending (building: win; waiting: mac)");
}

#[test]
fn a_failure_names_each_builder_and_why() {
    use BuildResult::*;
    let rules = Requirements { required: names(&["linux", "mac", "win"]), ..Requirements::default() };
    let mut other = build("win", 2, Some(Success));
    other.built = Some("0123456789abcdef0123".into());
    let builds = [build("linux", 1, Some(Failure)), build("linux", 0, Some(Success)), other];
    let failed = verdict(REV, &builds, &[], &rules);
    assert_eq!(failed.describe(), "Failed: linux (failure), mac (not built), win (built 0123456789ab)");
    assert_eq!(failed.fingerprint(), "failure:linux#1,mac#-,win#2");
    // The same revision written in capitals is the same revision.
    let mut same = build("linux", 5, Some(Success));
    same.built = Some(REV.to_uppercase());
    let rules = Requirements { required: names(&["linux"]), ..Requirements::default() };
    assert_eq!(verdict(REV, &[same], &[], &rules).word(), "success");
}

#[test]
fn warnings_pass_only_when_the_target_says_so() {
    let builds = [build("linux", 1, Some(BuildResult::Warnings))];
    assert_eq!(verdict(REV, &builds, &[], &Requirements::default()).word(), "failure");
    let lenient =
        Requirements { passing: vec![BuildResult::Success, BuildResult::Warnings], ..Requirements::default() };
    assert_eq!(verdict(REV, &builds, &[], &lenient).word(), "success");
}

#[test]
fn a_build_interrupted_for_a_retry_keeps_the_change_pending() {
    let builds = [build("linux", 4, Some(BuildResult::Retry)), build("win", 1, Some(BuildResult::Success))];
    assert_eq!(verdict(REV, &builds, &[], &Requirements::default()).word(), "pending");
}

fn result() -> impl Strategy<Value = Option<BuildResult>> {
    prop_oneof![2 => Just(None), 8 => proptest::sample::select(BuildResult::ALL.to_vec()).prop_map(Some)]
}

fn change_build() -> impl Strategy<Value = ChangeBuild> {
    let built = prop_oneof![6 => Just(None), 2 => Just(Some(REV.to_owned())), 1 => Just(Some("ffff".to_owned()))];
    (proptest::sample::select(BUILDERS.to_vec()), 0u32..20, built, result())
        .prop_map(|(builder, number, built, result)| ChangeBuild { builder: builder.into(), number, built, result })
}

/// Builds where no builder has two builds of one number (numbers are unique per builder).
fn builds() -> impl Strategy<Value = Vec<ChangeBuild>> {
    proptest::collection::vec(change_build(), 0..12).prop_map(|mut all| {
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|b| seen.insert((b.builder.clone(), b.number)));
        all
    })
}

fn rules() -> impl Strategy<Value = Requirements> {
    let required = proptest::sample::subsequence(BUILDERS.to_vec(), 0..=BUILDERS.len());
    let passing =
        prop_oneof![Just(vec![BuildResult::Success]), Just(vec![BuildResult::Success, BuildResult::Warnings])];
    (required, passing).prop_map(|(r, passing)| Requirements { required: names(&r), passing })
}

fn waiting() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(BUILDERS.to_vec(), 0..=2).prop_map(|w| names(&w))
}

/// Each builder's build with the highest number.
fn newest(builds: &[ChangeBuild]) -> BTreeMap<String, ChangeBuild> {
    let mut out: BTreeMap<String, ChangeBuild> = BTreeMap::new();
    for b in builds {
        if out.get(&b.builder).is_none_or(|o| o.number < b.number) {
            out.insert(b.builder.clone(), b.clone());
        }
    }
    out
}

fn passes(b: &ChangeBuild, rules: &Requirements) -> bool {
    b.built.as_deref().is_none_or(|r| r == REV) && b.result.is_some_and(|r| rules.passing.contains(&r))
}

proptest! {
    /// Pending exactly when a newest build runs (or waits for its retry) or a request waits.
    #[test]
    fn pending_while_anything_of_the_change_is_at_work(builds in builds(), waiting in waiting(), rules in rules()) {
        let busy = newest(&builds).values().any(|b| matches!(b.result, None | Some(BuildResult::Retry)))
            || !waiting.is_empty();
        let v = verdict(REV, &builds, &waiting, &rules);
        if busy {
            prop_assert_eq!(v.word(), "pending");
        } else if !builds.is_empty() || !rules.required.is_empty() {
            prop_assert_ne!(v.word(), "pending");
        }
    }

    /// Success only when every required builder's newest build passed on that revision;
    /// a failure names exactly the required builders whose newest build did not.
    #[test]
    fn success_and_failure_follow_each_required_builders_newest_build(builds in builds(), rules in rules()) {
        let newest = newest(&builds);
        let required: Vec<String> =
            if rules.required.is_empty() { newest.keys().cloned().collect() } else { rules.required.clone() };
        match verdict(REV, &builds, &[], &rules) {
            Verdict::Pending { .. } => {}
            Verdict::Success { passed } => {
                prop_assert!(!required.is_empty());
                for r in &required {
                    let b = newest.get(r);
                    prop_assert!(b.is_some_and(|b| passes(b, &rules)), "{} did not pass", r);
                    prop_assert!(passed.contains(&(r.clone(), b.map(|b| b.number).unwrap_or_default())));
                }
            }
            Verdict::Failure { failed } => {
                let mut expected: Vec<String> =
                    required.iter().filter(|r| newest.get(*r).is_none_or(|b| !passes(b, &rules))).cloned().collect();
                expected.sort();
                expected.dedup();
                let named: Vec<String> = failed.iter().map(|f| f.builder.clone()).collect();
                prop_assert_eq!(named, expected);
            }
        }
    }

    /// The order builds are given in never matters.
    #[test]
    fn the_order_of_the_builds_does_not_matter(builds in builds(), waiting in waiting(), rules in rules(), seed in any::<u64>()) {
        let mut shuffled = builds.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = usize::try_from((seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) % (i as u64 + 1)).unwrap_or(0);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(verdict(REV, &builds, &waiting, &rules), verdict(REV, &shuffled, &waiting, &rules));
    }

    /// A rebuild of any builder flips any verdict back to pending as soon as it starts; once
    /// it ends, its result decides for its builder, whatever the older builds said.
    #[test]
    fn a_rebuild_flips_to_pending_then_decides(builds in builds(), rules in rules(), which in 0usize..4, ends in result()) {
        let builder = BUILDERS[which];
        let next = builds.iter().filter(|b| b.builder == builder).map(|b| b.number + 1).max().unwrap_or(0);
        let started = [&builds[..], &[build(builder, next, None)]].concat();
        prop_assert_eq!(verdict(REV, &started, &[], &rules).word(), "pending");
        let Some(result) = ends else { return Ok(()) };
        let finished = [&builds[..], &[build(builder, next, Some(result))]].concat();
        let v = verdict(REV, &finished, &[], &rules);
        let required = rules.required.is_empty() || rules.required.iter().any(|r| r == builder);
        if let Verdict::Failure { failed } = &v {
            let named = failed.iter().any(|f| f.builder == builder);
            prop_assert_eq!(named, required && !rules.passing.contains(&result));
        }
        if required && !rules.passing.contains(&result) && result != BuildResult::Retry {
            prop_assert_ne!(v.word(), "success");
        }
    }

    /// Builds older than a builder's newest one never change the verdict.
    #[test]
    fn older_builds_never_decide(builds in builds(), waiting in waiting(), rules in rules(), old in result()) {
        let Some(top) = builds.iter().find(|b| b.number > 0) else { return Ok(()) };
        let older = ChangeBuild { number: 0, result: old, ..top.clone() };
        if builds.iter().any(|b| b.builder == older.builder && b.number == 0) {
            return Ok(());
        }
        let more = [&builds[..], &[older]].concat();
        prop_assert_eq!(verdict(REV, &builds, &waiting, &rules), verdict(REV, &more, &waiting, &rules));
    }
}
