//! The rule of `apply`, checked event by event, and the window under any finishing order.
use super::*;
use crate::domain::event::Channel;
use crate::domain::model::{Change, LogKind, Properties, Property, Step, Timestamp};
use crate::domain::result::BuildResult;

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap_or_default()
}

fn builder(name: &str) -> StatusEvent {
    StatusEvent::BuilderAdded {
        builder: Builder { name: name.into(), workers: vec!["w".into()], ..Builder::default() },
    }
}

fn start(name: &str, number: u32) -> StatusEvent {
    let build =
        Build { builder: name.into(), number, worker: "w".into(), started: at(i64::from(number)), ..Build::default() };
    StatusEvent::BuildStarted { build, requests: Vec::new() }
}

fn finish(name: &str, number: u32, result: BuildResult) -> StatusEvent {
    let at = at(i64::from(number) + 1);
    StatusEvent::BuildFinished { builder: name.into(), number, result, text: vec![], at, properties: Properties::new() }
}

fn step(name: &str, number: u32, s: u32) -> StatusEvent {
    let step = Step { number: s, name: format!("step{s}"), started: Some(at(0)), ..Step::default() };
    StatusEvent::StepStarted { builder: name.into(), number, step }
}

#[test]
fn a_build_runs_through_steps_and_logs_and_lands_in_the_window() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    state.apply(&start("b", 0)).unwrap();
    state.apply(&step("b", 0, 0)).unwrap();
    let log =
        StatusEvent::LogStarted { builder: "b".into(), number: 0, step: 0, log: "stdio".into(), kind: LogKind::Text };
    state.apply(&log).unwrap();
    let chunk = StatusEvent::LogChunk {
        builder: "b".into(),
        number: 0,
        step: 0,
        log: "stdio".into(),
        channel: Channel::Stdout,
        text: "hello".into(),
    };
    let applied = state.apply(&chunk).unwrap();
    assert_eq!(applied.log, Some(LogTarget { log_id: 1 }));
    assert!(applied.mutations.is_empty(), "chunks change no stored record");
    let done = StatusEvent::LogFinished { builder: "b".into(), number: 0, step: 0, log: "stdio".into() };
    assert_eq!(state.apply(&done).unwrap().logs_finished, [1]);
    assert_eq!(
        state.apply(&chunk),
        Err(ApplyError::LogFinished(BuildKey { builder: "b".into(), number: 0 }, 0, "stdio".into()))
    );
    assert_eq!(state.builder_state("b"), BuilderState::Building);
    state.apply(&finish("b", 0, BuildResult::Failure)).unwrap();
    let build = state.build("b", 0).unwrap();
    assert_eq!(build.result, Some(BuildResult::Failure));
    assert_eq!(build.steps[0].logs[0].size, 5);
    assert_eq!(state.running().count(), 0);
    assert_eq!(state.builder_state("b"), BuilderState::Offline);
}

#[test]
fn a_build_notes_the_buildsets_of_the_requests_it_claims() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    let request = |id: u64, buildset: Option<u64>| StatusEvent::BuildRequestSubmitted {
        request: crate::domain::model::BuildRequest {
            id,
            buildset_id: buildset,
            builder: "b".into(),
            submitted_at: at(0),
            reason: String::new(),
            properties: Properties::new(),
            sourcestamps: vec![],
        },
    };
    for (id, buildset) in [(1, Some(9)), (2, Some(4)), (3, None), (4, Some(9))] {
        state.apply(&request(id, buildset)).unwrap();
    }
    // Request 5 was never pending: it says nothing. A sender's own list is not taken.
    let StatusEvent::BuildStarted { mut build, .. } = start("b", 0) else { unreachable!() };
    build.buildsets = vec![77];
    state.apply(&StatusEvent::BuildStarted { build, requests: vec![4, 1, 2, 3, 5] }).unwrap();
    assert_eq!(state.build("b", 0).unwrap().buildsets, [4, 9]);
    assert_eq!(state.pending().count(), 0, "claimed");
}

#[test]
fn a_finished_build_finishes_the_logs_left_open() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    state.apply(&start("b", 0)).unwrap();
    state.apply(&step("b", 0, 0)).unwrap();
    for name in ["stdio", "junit"] {
        let log =
            StatusEvent::LogStarted { builder: "b".into(), number: 0, step: 0, log: name.into(), kind: LogKind::Text };
        state.apply(&log).unwrap();
    }
    state.apply(&StatusEvent::LogFinished { builder: "b".into(), number: 0, step: 0, log: "stdio".into() }).unwrap();
    let applied = state.apply(&finish("b", 0, BuildResult::Success)).unwrap();
    assert_eq!(applied.logs_finished, [2], "only junit was open");
    // So does a finished step, for the logs its sender left open.
    state.apply(&start("b", 1)).unwrap();
    state.apply(&step("b", 1, 0)).unwrap();
    let log =
        StatusEvent::LogStarted { builder: "b".into(), number: 1, step: 0, log: "stdio".into(), kind: LogKind::Text };
    state.apply(&log).unwrap();
    let done = StatusEvent::StepFinished {
        builder: "b".into(),
        number: 1,
        step: 0,
        result: BuildResult::Success,
        text: vec![],
        text2: vec![],
        at: at(2),
    };
    assert_eq!(state.apply(&done).unwrap().logs_finished, [3]);
    assert!(state.apply(&finish("b", 1, BuildResult::Success)).unwrap().logs_finished.is_empty());
    let build = state.build("b", 0).expect("in the window");
    assert!(build.steps[0].logs.iter().all(|l| l.finished));
}

#[test]
fn events_that_contradict_the_state_are_rejected_and_change_nothing() {
    let mut state = StatusState::new(10);
    assert_eq!(state.apply(&start("nope", 0)), Err(ApplyError::UnknownBuilder("nope".into())));
    state.apply(&builder("b")).unwrap();
    state.apply(&start("b", 0)).unwrap();
    let key = BuildKey { builder: "b".into(), number: 0 };
    assert_eq!(state.apply(&start("b", 0)), Err(ApplyError::NotNewest(key.clone(), 0)));
    assert_eq!(
        state.apply(&finish("b", 1, BuildResult::Success)),
        Err(ApplyError::UnknownBuild(BuildKey { builder: "b".into(), number: 1 }))
    );
    state.apply(&finish("b", 0, BuildResult::Success)).unwrap();
    assert_eq!(state.apply(&finish("b", 0, BuildResult::Success)), Err(ApplyError::BuildFinished(key.clone())));
    assert_eq!(state.apply(&step("b", 0, 0)), Err(ApplyError::BuildFinished(key)));
    let gone = StatusEvent::WorkerDisconnected { name: "ghost".into(), at: at(0) };
    assert_eq!(state.apply(&gone), Err(ApplyError::UnknownWorker("ghost".into())));
}

#[test]
fn change_numbers_start_at_1_only_grow_and_stay_in_range() {
    let change = |number: u64| StatusEvent::ChangeAdded { change: Change { number, ..Change::default() } };
    // A window of 1 keeps the newest 10 changes in memory.
    let mut state = StatusState::new(1);
    assert_eq!(state.apply(&change(0)), Err(ApplyError::ChangeNotNewer(0, 0)));
    for n in 1..=20 {
        state.apply(&change(n)).unwrap();
    }
    assert_eq!(state.apply(&change(20)), Err(ApplyError::ChangeExists(20)));
    // Change 3 is no longer in memory: still refused, never written over.
    assert_eq!(state.apply(&change(3)), Err(ApplyError::ChangeNotNewer(3, 20)));
    assert_eq!(state.apply(&change(MAX_NUMBER + 1)), Err(ApplyError::NumberTooLarge("change number", MAX_NUMBER + 1)));
    state.apply(&change(MAX_NUMBER)).unwrap();
    assert_eq!(state.last_change(), MAX_NUMBER);
    // Ids a sender chooses elsewhere stay in range too (a store could not write them).
    let user = crate::domain::model::User { uid: u64::MAX, identifier: "ann".into(), attributes: Default::default() };
    let user = StatusEvent::UserChanged { user };
    assert_eq!(state.apply(&user), Err(ApplyError::NumberTooLarge("user uid", u64::MAX)));
}

#[test]
fn a_window_is_used_only_once_filled_and_keeps_builds_finished_meanwhile() {
    let mut stored = StatusState::new(10);
    stored.apply(&builder("b")).unwrap();
    let mut history = Vec::new();
    for n in 0..5 {
        stored.apply(&start("b", n)).unwrap();
        history.extend(stored.apply(&finish("b", n, BuildResult::Success)).unwrap().mutations);
    }
    let snapshot = Snapshot {
        builders: stored.builders().cloned().collect(),
        newest: vec![("b".into(), 4)],
        next_log_id: 1,
        ..Snapshot::default()
    };
    let mut state = StatusState::from_snapshot(snapshot, 3);
    assert!(!state.window_loaded("b") && !state.recent_is_complete("b"));
    assert_eq!(state.last_number("b"), Some(4));
    assert_eq!(state.apply(&start("b", 4)), Err(ApplyError::NotNewest(BuildKey { builder: "b".into(), number: 4 }, 4)));
    state.apply(&start("b", 5)).unwrap();
    state.apply(&finish("b", 5, BuildResult::Failure)).unwrap();
    let from_store: Vec<Build> = stored.recent("b").take(3).cloned().collect();
    state.fill_window("b", from_store, Some(4));
    assert!(state.window_loaded("b"));
    assert_eq!(state.recent("b").map(|b| b.number).collect::<Vec<_>>(), [5, 4, 3]);
    assert_eq!(state.last_number("b"), Some(5));
}

#[test]
fn compact_keeps_the_last_write_of_each_build_in_place() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    let mut all = Vec::new();
    for e in [start("b", 0), step("b", 0, 0), step("b", 0, 1), finish("b", 0, BuildResult::Success)] {
        all.extend(state.apply(&e).unwrap().mutations);
    }
    let compacted = compact(all);
    assert_eq!(compacted.len(), 1);
    let Mutation::PutBuild(b) = &compacted[0] else { panic!("expected a build") };
    assert_eq!((b.steps.len(), b.result), (2, Some(BuildResult::Success)));
}

proptest::proptest! {
    /// Whatever the order of finishing, the window holds the newest builds, sorted, at most `window`.
    #[test]
    fn the_window_keeps_the_newest_finished_builds(window in 1usize..8, order in proptest::collection::vec(0u32..30, 1..40)) {
        let mut state = StatusState::new(window);
        state.apply(&builder("b")).unwrap();
        let mut numbers: Vec<u32> = order.clone();
        numbers.sort_unstable();
        numbers.dedup();
        for n in &numbers {
            state.apply(&start("b", *n)).unwrap();
        }
        let mut finished = Vec::new();
        for n in order {
            if state.apply(&finish("b", n, BuildResult::Success)).is_ok() {
                finished.push(n);
            }
        }
        let kept: Vec<u32> = state.recent("b").map(|b| b.number).collect();
        let mut expected = finished.clone();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        expected.truncate(window);
        // The window may hold older builds only if they finished after newer ones were dropped.
        proptest::prop_assert!(kept.len() <= window);
        proptest::prop_assert!(kept.windows(2).all(|w| w[0] > w[1]));
        proptest::prop_assert_eq!(kept.first(), expected.first());
    }
}

/// The builds written by a batch (`apply_deferred`, then `take_changed_builds`).
fn builds_written(applied: &[Applied], taken: &[Mutation]) -> Vec<(u32, usize, Option<BuildResult>)> {
    applied
        .iter()
        .flat_map(|a| &a.mutations)
        .chain(taken)
        .filter_map(|m| match m {
            Mutation::PutBuild(b) => Some((b.number, b.steps.len(), b.result)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_batch_writes_each_build_it_changed_once_as_it_ended() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    let batch = [
        start("b", 1),
        step("b", 1, 0),
        step("b", 1, 1),
        finish("b", 1, BuildResult::Success),
        start("b", 2),
        step("b", 2, 0),
    ];
    let applied: Vec<Applied> = batch.iter().map(|e| state.apply_deferred(e).unwrap()).collect();
    let taken = state.take_changed_builds();
    // Build 1 is written when it finishes; build 2, still running, by the take, with its step.
    assert_eq!(builds_written(&applied, &taken), [(1, 2, Some(BuildResult::Success)), (2, 1, None)]);
    assert!(state.take_changed_builds().is_empty(), "taken once");
    // `apply` alone writes the build at every event, as before.
    assert_eq!(builds_written(&[state.apply(&step("b", 2, 1)).unwrap()], &[]), [(2, 2, None)]);
}

#[test]
fn a_worker_described_again_keeps_its_connection_and_takes_the_description() {
    let mut state = StatusState::new(10);
    let described = |host: &str, paused: bool, connected: bool| Worker {
        name: "w".into(),
        host: Some(host.into()),
        paused,
        connected,
        ..Worker::default()
    };
    // A new worker is not connected, whatever the description says.
    state.apply(&StatusEvent::WorkerAdded { worker: described("a", false, true) }).unwrap();
    assert!(!state.worker("w").unwrap().connected);
    state.apply(&StatusEvent::WorkerConnected { worker: described("a", false, true), at: at(1) }).unwrap();
    state.apply(&StatusEvent::WorkerAdded { worker: described("b", true, false) }).unwrap();
    let w = state.worker("w").unwrap();
    assert!(w.connected, "still connected");
    assert_eq!(w.connect_times, [at(1)]);
    assert_eq!((w.host.as_deref(), w.paused), (Some("b"), true), "the newest description wins");
}

fn property(value: &str, source: &str) -> Property {
    Property { value: serde_json::json!(value), source: source.into() }
}

#[test]
fn properties_set_while_a_build_runs_and_at_its_finish_are_merged_into_it() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    let StatusEvent::BuildStarted { mut build, requests } = start("b", 0) else { unreachable!() };
    build.properties.insert("branch".into(), property("main", "Scheduler"));
    build.properties.insert("revision".into(), property("abc", "Scheduler"));
    state.apply(&StatusEvent::BuildStarted { build, requests }).unwrap();
    let set = |props: &[(&str, &str)]| -> Properties {
        props.iter().map(|(n, v)| (n.to_string(), property(v, "SetProperty Step"))).collect()
    };
    let changed = StatusEvent::BuildPropertiesChanged {
        builder: "b".into(),
        number: 0,
        properties: set(&[("got_revision", "abc123"), ("revision", "abd")]),
    };
    let applied = state.apply(&changed).unwrap();
    let Some(Mutation::PutBuild(written)) = applied.mutations.first() else { panic!("{applied:?}") };
    assert_eq!(written.property("got_revision"), Some(&serde_json::json!("abc123")), "stored at once");
    let StatusEvent::BuildFinished { builder, number, result, text, at, .. } = finish("b", 0, BuildResult::Success)
    else {
        unreachable!()
    };
    let properties = set(&[("event.change.id", "I42")]);
    state.apply(&StatusEvent::BuildFinished { builder, number, result, text, at, properties }).unwrap();
    let build = state.build("b", 0).unwrap();
    let names: Vec<(&str, &str)> =
        build.properties.iter().map(|(n, p)| (n.as_str(), p.value.as_str().unwrap_or_default())).collect();
    assert_eq!(
        names,
        [("branch", "main"), ("event.change.id", "I42"), ("got_revision", "abc123"), ("revision", "abd")],
        "merged: a name given again takes the new value"
    );
    assert_eq!(build.properties["revision"].source, "SetProperty Step");
    assert_eq!(build.got_revision(""), Some("abc123".into()));
    assert_eq!(
        state.apply(&changed),
        Err(ApplyError::BuildFinished(BuildKey { builder: "b".into(), number: 0 })),
        "a finished build's properties are final"
    );
}

#[test]
fn a_running_steps_text_and_urls_change_and_the_build_is_written() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    state.apply(&start("b", 0)).unwrap();
    state.apply(&step("b", 0, 0)).unwrap();
    let text = |text: Option<&[&str]>, text2: Option<&[&str]>| StatusEvent::StepTextChanged {
        builder: "b".into(),
        number: 0,
        step: 0,
        text: text.map(|t| t.iter().map(|s| s.to_string()).collect()),
        text2: text2.map(|t| t.iter().map(|s| s.to_string()).collect()),
    };
    let applied = state.apply(&text(Some(&["compiling", "12/40"]), None)).unwrap();
    assert!(matches!(applied.mutations.as_slice(), [Mutation::PutBuild(_)]), "{applied:?}");
    state.apply(&text(None, Some(&["2 warnings"]))).unwrap();
    let url = |name: &str, url: &str| StatusEvent::StepUrlAdded {
        builder: "b".into(),
        number: 0,
        step: 0,
        name: name.into(),
        url: url.into(),
    };
    state.apply(&url("coverage", "http://c/1")).unwrap();
    state.apply(&url("report", "http://r")).unwrap();
    state.apply(&url("coverage", "http://c/2")).unwrap();
    let s = &state.build("b", 0).unwrap().steps[0];
    assert_eq!(
        (s.text.as_slice(), s.text2.as_slice()),
        (&["compiling".to_owned(), "12/40".to_owned()][..], &["2 warnings".to_owned()][..])
    );
    assert_eq!(
        s.urls,
        [("coverage".to_owned(), "http://c/2".to_owned()), ("report".to_owned(), "http://r".to_owned())],
        "a URL of the same name is replaced in its place"
    );
    let key = BuildKey { builder: "b".into(), number: 0 };
    assert_eq!(state.apply(&text(None, None)), Err(ApplyError::NoStepText(key.clone(), 0)));
    let other_step =
        StatusEvent::StepUrlAdded { builder: "b".into(), number: 0, step: 5, name: "x".into(), url: "y".into() };
    assert_eq!(state.apply(&other_step), Err(ApplyError::UnknownStep(key, 5)));
}

/// Build `number` of "b", started at minute `start`, with one step "compile" from `start` to
/// `start + took`, finished then with `result`.
fn compiled(number: u32, start: i64, took: i64, result: BuildResult) -> Vec<StatusEvent> {
    let StatusEvent::BuildStarted { mut build, requests } = start_at("b", number, start) else { unreachable!() };
    build.eta = None;
    let step = Step { number: 0, name: "compile".into(), started: Some(at(start)), ..Step::default() };
    let done = |event_at| StatusEvent::StepFinished {
        builder: "b".into(),
        number,
        step: 0,
        result,
        text: vec![],
        text2: vec![],
        at: event_at,
    };
    let finished = StatusEvent::BuildFinished {
        builder: "b".into(),
        number,
        result,
        text: vec![],
        at: at(start + took),
        properties: Properties::new(),
    };
    vec![
        StatusEvent::BuildStarted { build, requests },
        StatusEvent::StepStarted { builder: "b".into(), number, step },
        done(at(start + took)),
        finished,
    ]
}

fn start_at(name: &str, number: u32, minute: i64) -> StatusEvent {
    let StatusEvent::BuildStarted { mut build, requests } = start(name, number) else { unreachable!() };
    build.started = at(minute);
    StatusEvent::BuildStarted { build, requests }
}

#[test]
fn a_running_build_without_an_eta_gets_one_from_the_builders_successes() {
    let mut state = StatusState::new(10);
    state.apply(&builder("b")).unwrap();
    for e in compiled(0, 0, 10, BuildResult::Success).iter().chain(&compiled(1, 20, 6, BuildResult::Failure)) {
        state.apply(e).unwrap();
    }
    assert_eq!(
        state.expectations("b").step("compile"),
        Some(chrono::TimeDelta::minutes(10)),
        "the failure teaches nothing"
    );
    let running = compiled(2, 100, 0, BuildResult::Success);
    let written = state.apply(&running[0]).unwrap();
    let Some(Mutation::PutBuild(stored)) = written.mutations.first() else { panic!("{written:?}") };
    assert_eq!(stored.eta, Some(at(110)), "stored with its ETA: start + the compile step's 10 minutes");
    state.apply(&running[1]).unwrap();
    let build = state.build("b", 2).unwrap();
    assert_eq!((build.eta, build.steps[0].eta), (Some(at(110)), Some(at(110))));
    state.apply(&running[2]).unwrap();
    let build = state.build("b", 2).unwrap();
    assert_eq!((build.eta, build.steps[0].eta), (Some(at(100)), None), "done with its steps (fast): ends now");
    state.apply(&running[3]).unwrap();
    assert_eq!(state.build("b", 2).unwrap().eta, None, "a finished build has no ETA");

    // A sender's ETA is kept, through its steps too.
    let mut own = compiled(3, 200, 0, BuildResult::Success);
    let StatusEvent::BuildStarted { build, .. } = &mut own[0] else { unreachable!() };
    build.eta = Some(at(999));
    state.apply(&own[0]).unwrap();
    state.apply(&own[1]).unwrap();
    let build = state.build("b", 3).unwrap();
    assert_eq!((build.eta, build.steps[0].eta), (Some(at(999)), None));
    // And it stays the sender's across a restart.
    let snapshot = Snapshot {
        builders: state.builders().cloned().collect(),
        running: state.running().cloned().collect(),
        next_log_id: state.next_log_id(),
        ..Snapshot::default()
    };
    let mut restarted = StatusState::from_snapshot(snapshot, 10);
    restarted.fill_window("b", state.recent("b").cloned().collect(), Some(3));
    restarted.apply(&own[2]).unwrap();
    assert_eq!(restarted.build("b", 3).unwrap().eta, Some(at(999)));
}
