use proptest::prelude::*;

use super::*;
use crate::domain::model::{LogKind, LogRef, SourceStamp, Step};

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000 + minute * 60, 0).unwrap_or_default()
}

fn change(number: u64, rev: &str, minute: i64) -> Change {
    Change {
        number,
        who: format!("dev{}", number % 2),
        comments: format!("change {number}"),
        revision: Some(rev.into()),
        when: at(minute),
        branch: Some("main".into()),
        repository: "repo".into(),
        ..Change::default()
    }
}

fn build(number: u32, changes: &[u64], result: Option<BuildResult>) -> Build {
    Build {
        builder: "linux".into(),
        number,
        reason: String::new(),
        properties: Default::default(),
        sourcestamps: vec![SourceStamp {
            repository: "repo".into(),
            branch: Some("main".into()),
            changes: changes.to_vec(),
            ..SourceStamp::default()
        }],
        blamelist: vec![],
        worker: "w".into(),
        started: at(i64::from(number) * 10),
        finished: result.map(|_| at(i64::from(number) * 10 + 5)),
        result,
        text: vec![],
        steps: vec![],
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

fn classes(console: &Console) -> Vec<&'static str> {
    console.rows.iter().map(|r| r.boxes[0].class.css()).collect()
}

#[test]
fn revisions_follow_arrival_not_their_text_and_repeats_collapse() {
    let changes = [change(1, "999", 0), change(2, "1000", 1), change(3, "abc", 2), change(4, "1000", 3)];
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let input = ConsoleInput {
        changes: &changes,
        builders: vec![ConsoleBuilder { builder: &linux, offline: false, builds: &[] }],
        filter: ConsoleFilter::default(),
        by_time: false,
        revs: 40,
    };
    let revs: Vec<_> = console(&input).rows.iter().map(|r| r.subject.revision().unwrap_or("").to_owned()).collect();
    assert_eq!(revs, ["abc", "1000", "999"], "newest first by arrival; 1000 after 999");

    let mut late = changes.clone();
    late[0].when = at(10); // change 1's commit is the newest by time
    let by_time = ConsoleInput { changes: &late, by_time: true, ..input.clone() };
    let revs: Vec<_> = console(&by_time).rows.iter().map(|r| r.subject.revision().unwrap_or("").to_owned()).collect();
    assert_eq!(revs, ["999", "abc", "1000"]);
}

#[test]
fn a_new_failure_is_red_and_names_its_failing_step_and_a_repeat_is_salmon() {
    let changes = [change(1, "r1", 0), change(2, "r2", 1), change(3, "r3", 2), change(4, "r4", 3)];
    let mut failing = build(2, &[2], Some(BuildResult::Failure));
    failing.steps = vec![Step {
        number: 0,
        name: "test".into(),
        text: vec!["3 tests".into(), "failed".into()],
        result: Some(BuildResult::Failure),
        logs: vec![LogRef { id: 1, name: "stdio".into(), kind: LogKind::Text, size: 0, finished: true }],
        ..Step::default()
    }];
    let builds = vec![
        build(4, &[4], None),
        build(3, &[3], Some(BuildResult::Failure)),
        build(99, &[], Some(BuildResult::Success)), // forced, no changes: not a "previous" build
        failing,
        build(1, &[1], Some(BuildResult::Success)),
    ];
    let builds: Vec<std::sync::Arc<Build>> = builds.into_iter().map(std::sync::Arc::new).collect();
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let input = ConsoleInput {
        changes: &changes,
        builders: vec![ConsoleBuilder { builder: &linux, offline: false, builds: &builds }],
        filter: ConsoleFilter::default(),
        by_time: false,
        revs: 40,
    };
    let c = console(&input);
    assert_eq!(classes(&c), ["running", "failure-again", "failure", "success"]);
    let detail = &c.rows[2].details[0];
    assert_eq!((detail.step, detail.text.as_str(), detail.logs.clone()), ("test", "3 tests failed", vec!["stdio"]));
    assert_eq!(c.status[0].class, ConsoleClass::Failure, "the newest finished build, with no previous result");
    assert_eq!(c.groups, [ConsoleGroup { name: "default".into(), members: vec![0] }]);
}

#[test]
fn filters_narrow_changes_and_a_forced_build_of_an_unknown_revision_gets_its_row() {
    let mut other = change(2, "r2", 1);
    other.branch = Some("dev".into());
    other.who = "zed".into();
    let changes = [change(1, "r1", 0), other];
    let mut forced = build(5, &[], Some(BuildResult::Success));
    forced.properties.insert(
        "got_revision".into(),
        crate::domain::model::Property { value: serde_json::json!("f00d"), source: "Git".into() },
    );
    forced.reason = "forced by ann".into();
    let builds = vec![forced, build(1, &[1], Some(BuildResult::Success))];
    let builds: Vec<std::sync::Arc<Build>> = builds.into_iter().map(std::sync::Arc::new).collect();
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let input = ConsoleInput {
        changes: &changes,
        builders: vec![ConsoleBuilder { builder: &linux, offline: true, builds: &builds }],
        filter: ConsoleFilter { branches: vec!["main".into()], ..ConsoleFilter::default() },
        by_time: false,
        revs: 40,
    };
    let c = console(&input);
    let revs: Vec<_> = c.rows.iter().map(|r| r.subject.revision().unwrap_or("").to_owned()).collect();
    assert_eq!(revs, ["f00d", "r1"], "dev's change is filtered out; the forced revision has a row");
    assert_eq!(classes(&c), ["success", "success"]);
    assert_eq!(c.status[0].class, ConsoleClass::Offline);
    let by_name =
        ConsoleInput { filter: ConsoleFilter { names: vec!["zed".into()], ..ConsoleFilter::default() }, ..input };
    let revs: Vec<_> = console(&by_name).rows.iter().map(|r| r.subject.revision().unwrap_or("").to_owned()).collect();
    assert_eq!(revs, ["r2"], "a name filter shows only that author's changes, no forced rows");
}

fn result() -> impl Strategy<Value = Option<BuildResult>> {
    prop::option::of(prop::sample::select(BuildResult::ALL.to_vec()))
}

proptest! {
    /// The colour table of spec §4.4, written out as the spec states it, for every input.
    #[test]
    fn the_colour_is_the_specs_table(result in result(), previous in result(), running: bool, in_builder: bool) {
        let expected = if running {
            "running"
        } else {
            match (result, previous) {
                (None, _) if in_builder => "notstarted",
                (None, _) => "notinbuilder",
                (Some(BuildResult::Success), _) => "success",
                (Some(BuildResult::Warnings), _) => "warnings",
                (Some(BuildResult::Failure), Some(BuildResult::Failure)) => "failure-again",
                (Some(BuildResult::Failure), _) => "failure",
                (Some(_), _) => "exception",
            }
        };
        prop_assert_eq!(ConsoleClass::of(result, previous, running, in_builder).css(), expected);
    }

    /// The index a change row's box is found with says what walking the builds says.
    #[test]
    fn the_change_index_finds_the_box_the_walk_finds(
        stamps in prop::collection::vec(prop::collection::vec((0..2usize, prop::collection::vec(1..8u64, 0..3)), 0..3), 0..8),
        results in prop::collection::vec(result(), 8),
        codebase in 0..3usize,
        number in 1..8u64,
    ) {
        let codebases = ["", "x", "y"];
        let builds: Vec<Build> = stamps
            .iter()
            .enumerate()
            .map(|(i, stamps)| Build {
                sourcestamps: stamps
                    .iter()
                    .map(|(cb, changes)| SourceStamp { codebase: codebases[*cb].into(), changes: changes.clone(), ..SourceStamp::default() })
                    .collect(),
                ..build(i as u32, &[], results[i])
            })
            .collect();
        let list: Vec<&Build> = builds.iter().collect();
        let change = Change { codebase: codebases[codebase].into(), ..change(number, "r", 0) };
        let walked = box_for(&RowSubject::Change(&change), &list);
        prop_assert_eq!(ChangeIndex::of(&list).box_for(&change, &list), walked);
    }
}
