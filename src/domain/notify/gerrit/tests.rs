use serde_json::json;

use super::*;
use crate::domain::model::{Properties, Property};
use crate::domain::notify::verdict::Busy;

const REV: &str = "4f3c2a1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";

fn build(builder: &str, number: u32, result: Option<BuildResult>, change: u64) -> Build {
    let properties: Properties = [
        ("event.change.id", json!("I0123")),
        ("event.change.number", json!(change.to_string())),
        ("event.patchSet.number", json!("2")),
        ("event.patchSet.revision", json!(REV)),
        ("project", json!("tools/bb")),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), Property { value: v, source: "Change".into() }))
    .collect();
    let mut b: Build = serde_json::from_value(json!({
        "builder": builder, "number": number, "started": "2025-01-01T00:00:00Z", "text": ["done"]
    }))
    .expect("build");
    b.properties = properties;
    b.result = result;
    b
}

fn builder(name: &str) -> Builder {
    Builder { name: name.into(), ..Builder::default() }
}

#[test]
fn by_default_only_the_summary_is_posted() {
    let rules = GerritRules::new("g");
    let b = build("linux", 1, Some(BuildResult::Success), 1234);
    assert_eq!(on_build(&rules, &builder("linux"), &b, None, None).expect("ok"), []);
    assert_eq!(on_build(&rules, &builder("linux"), &b, Some(BuildResult::Success), None).expect("ok"), []);
    let builds = [(b, Some("http://bb/builders/linux/builds/1".to_owned()))];
    let decided = on_buildset(&rules, 9, &builds).expect("ok");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].id, "buildset.9.tools=2Fbb=7E1234=2C2=2F");
    assert_eq!(decided[0].key, "tools/bb~1234,2/buildset");
    assert_eq!(decided[0].summary, "buildset 9 summary on tools/bb 1234,2 (Verified+1)");
}

#[test]
fn a_buildset_of_two_changes_posts_one_summary_on_each() {
    let rules = GerritRules::new("g");
    let builds = [
        (build("win", 2, Some(BuildResult::Failure), 1), None),
        (build("linux", 1, Some(BuildResult::Success), 1), None),
        (build("mac", 3, Some(BuildResult::Success), 2), None),
    ];
    let decided = on_buildset(&rules, 9, &builds).expect("ok");
    let on_1 = &decided[0].outgoing;
    assert_eq!(on_1.target.change, Some(1));
    assert_eq!(
        on_1.review.message.as_deref(),
        Some("Builder linux succeeded (done).\n\nBuilder win failed (done)."),
        "sorted by builder name"
    );
    assert_eq!(on_1.review.labels["Verified"], -1);
    assert_eq!((decided[1].outgoing.target.change, decided[1].outgoing.review.labels["Verified"]), (Some(2), 1));
}

#[test]
fn start_and_review_callbacks_post_per_build_when_given() {
    let mut rules = GerritRules::new("g");
    rules.review = Some(BuildCallback::Default);
    rules.start = Some(BuildCallback::Closure(std::sync::Arc::new(|a: &BuildArgs| {
        Reply::Text(format!("started on {}", a.builder))
    })));
    let b = build("linux", 1, None, 1234);
    let started = on_build(&rules, &builder("linux"), &b, None, None).expect("ok");
    assert_eq!(started[0].outgoing.review, Review::new("started on linux", &[]));
    let finished = on_build(&rules, &builder("linux"), &b, Some(BuildResult::Failure), None).expect("ok");
    assert_eq!(finished[0].outgoing.review.labels["Verified"], -1);
    assert_eq!(started[0].key, finished[0].key, "the review of a build supersedes its unsent start");
    assert_ne!(started[0].id, finished[0].id);
    rules.filter.builders = Some(vec!["win".into()]);
    assert_eq!(on_build(&rules, &builder("linux"), &b, None, None).expect("ok"), []);
}

#[test]
fn the_merge_safety_vote_follows_the_verdict() {
    let safety = MergeSafety { requirements: Requirements::default(), label: Some("Merge-Safe".into()) };
    let target = locate(&build("linux", 1, None, 1234)).remove(0);
    let pending = Verdict::Pending { busy: vec![Busy { builder: "linux".into(), number: Some(1) }] };
    let decided = merge_safety(&safety, &target, &pending);
    assert_eq!(decided.outgoing.review, Review::new("Merge safety: Pending (building: linux)", &[("Merge-Safe", 0)]));
    assert_eq!(decided.key, "tools/bb~1234,2/merge-safety");
    let safe = Verdict::Success { passed: vec![("linux".into(), 1)] };
    let decided = merge_safety(&safety, &target, &safe);
    assert_eq!(decided.outgoing.review.labels["Merge-Safe"], 1);
    let no_label = MergeSafety { label: None, ..safety };
    assert!(merge_safety(&no_label, &target, &safe).outgoing.review.labels.is_empty());
}
