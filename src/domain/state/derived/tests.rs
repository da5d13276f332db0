//! The builders' derived states: announced on each change and only then, on examples, and
//! for any sequence of builder, worker and build events (property test).
use proptest::prelude::*;

use super::super::{Snapshot, StatusState};
use crate::domain::event::StatusEvent;
use crate::domain::model::{Build, Builder, BuilderState, Timestamp, Worker};
use crate::domain::result::BuildResult;

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap_or_default()
}

fn added(name: &str, workers: &[&str]) -> StatusEvent {
    let workers = workers.iter().map(|w| w.to_string()).collect();
    StatusEvent::BuilderAdded { builder: Builder { name: name.into(), workers, ..Builder::default() } }
}

fn connected(name: &str) -> StatusEvent {
    StatusEvent::WorkerConnected { worker: Worker { name: name.into(), ..Worker::default() }, at: at(0) }
}

fn started(builder: &str, number: u32) -> StatusEvent {
    let build = Build { builder: builder.into(), number, worker: "w".into(), started: at(1), ..Build::default() };
    StatusEvent::BuildStarted { build, requests: Vec::new() }
}

fn finished(builder: &str, number: u32) -> StatusEvent {
    StatusEvent::BuildFinished {
        builder: builder.into(),
        number,
        result: BuildResult::Success,
        text: Vec::new(),
        at: at(2),
        properties: Default::default(),
    }
}

fn state_changed(name: &str, state: BuilderState) -> StatusEvent {
    StatusEvent::BuilderStateChanged { name: name.into(), state }
}

/// What `event` derives, applied to `state`.
fn derives(state: &mut StatusState, event: &StatusEvent) -> Vec<StatusEvent> {
    state.apply(event).expect("applies").derived
}

#[test]
fn each_change_of_a_builders_state_is_announced_once() {
    use BuilderState::*;
    let mut state = StatusState::new(10);
    assert_eq!(derives(&mut state, &added("b", &["w"])), [state_changed("b", Offline)], "a new builder's first state");
    assert_eq!(derives(&mut state, &added("b", &["w"])), [], "described again, unchanged");
    assert_eq!(derives(&mut state, &connected("w")), [state_changed("b", Idle)]);
    assert_eq!(derives(&mut state, &StatusEvent::WorkerPaused { name: "w".into() }), [], "paused is still idle");
    assert_eq!(derives(&mut state, &started("b", 0)), [state_changed("b", Building)]);
    assert_eq!(derives(&mut state, &started("b", 1)), [], "building already");
    assert_eq!(derives(&mut state, &finished("b", 0)), []);
    let gone = StatusEvent::WorkerDisconnected { name: "w".into(), at: at(3) };
    assert_eq!(derives(&mut state, &gone), [], "a build still runs");
    assert_eq!(derives(&mut state, &finished("b", 1)), [state_changed("b", Offline)]);
    // A worker serving two builders changes both, in name order.
    assert_eq!(derives(&mut state, &added("a", &["w", "v"])), [state_changed("a", Offline)]);
    assert_eq!(derives(&mut state, &connected("w")), [state_changed("a", Idle), state_changed("b", Idle)]);
    // A builder described with other workers changes with them.
    assert_eq!(derives(&mut state, &added("b", &["v"])), [state_changed("b", Offline)]);
}

#[test]
fn a_senders_builder_state_is_checked_then_absorbed() {
    let mut state = StatusState::new(10);
    state.apply(&added("b", &["w"])).unwrap();
    // 0.8 reports `building` before the build starts: not contradicted, not repeated.
    let claim = state.apply(&state_changed("b", BuilderState::Building)).unwrap();
    assert!(claim.absorbed && claim.derived.is_empty() && claim.mutations.is_empty(), "{claim:?}");
    assert_eq!(state.builder_state("b"), BuilderState::Offline, "the claim decides nothing");
    assert_eq!(
        state.apply(&state_changed("nope", BuilderState::Idle)),
        Err(super::super::ApplyError::UnknownBuilder("nope".into()))
    );
}

#[test]
fn a_restarted_state_announces_nothing_it_announced_before() {
    let mut state = StatusState::new(10);
    for e in [added("b", &["w"]), connected("w"), started("b", 0)] {
        state.apply(&e).unwrap();
    }
    let snapshot = Snapshot {
        builders: state.builders().cloned().collect(),
        workers: state.workers().cloned().collect(),
        running: state.running().cloned().collect(),
        next_log_id: 1,
        ..Snapshot::default()
    };
    let mut restarted = StatusState::from_snapshot(snapshot, 10);
    assert_eq!(derives(&mut restarted, &started("b", 1)), [], "building, as announced before the restart");
    assert_eq!(derives(&mut restarted, &finished("b", 0)), []);
    assert_eq!(derives(&mut restarted, &finished("b", 1)), [state_changed("b", BuilderState::Idle)]);
}

/// One step of a random history over builders b0..b2 and workers w0..w2.
#[derive(Clone, Debug)]
enum Step {
    Add(usize, Vec<usize>),
    Remove(usize),
    Connect(usize),
    Disconnect(usize),
    Pause(usize, bool),
    Start(usize),
    Finish(usize),
    Claim(usize, BuilderState),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let state = prop_oneof![Just(BuilderState::Offline), Just(BuilderState::Idle), Just(BuilderState::Building)];
    let step = prop_oneof![
        (0..3usize, proptest::collection::vec(0..3usize, 0..3)).prop_map(|(b, w)| Step::Add(b, w)),
        (0..3usize).prop_map(Step::Remove),
        (0..3usize).prop_map(Step::Connect),
        (0..3usize).prop_map(Step::Disconnect),
        (0..3usize, any::<bool>()).prop_map(|(w, p)| Step::Pause(w, p)),
        (0..3usize).prop_map(Step::Start),
        (0..3usize).prop_map(Step::Finish),
        (0..3usize, state).prop_map(|(b, s)| Step::Claim(b, s)),
    ];
    proptest::collection::vec(step, 1..60)
}

proptest! {
    /// Whatever happens, a follower that folds the derived events knows every builder's
    /// state at every moment, and no derived event repeats the state before it.
    #[test]
    fn followers_always_know_each_builders_state(steps in steps()) {
        let mut state = StatusState::new(5);
        let mut numbers = [0u32; 3];
        // Per builder: the running builds' numbers, oldest first.
        let mut running: [Vec<u32>; 3] = Default::default();
        let mut seen: std::collections::BTreeMap<String, BuilderState> = Default::default();
        for step in steps {
            let (b, w) = (|i: usize| format!("b{i}"), |i: usize| format!("w{i}"));
            let event = match &step {
                Step::Add(i, workers) => {
                    let names: Vec<String> = workers.iter().map(|x| w(*x)).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    added(&b(*i), &names)
                }
                Step::Remove(i) => StatusEvent::BuilderRemoved { name: b(*i) },
                Step::Connect(i) => connected(&w(*i)),
                Step::Disconnect(i) => StatusEvent::WorkerDisconnected { name: w(*i), at: at(5) },
                Step::Pause(i, true) => StatusEvent::WorkerPaused { name: w(*i) },
                Step::Pause(i, false) => StatusEvent::WorkerUnpaused { name: w(*i) },
                Step::Start(i) => started(&b(*i), numbers[*i]),
                Step::Finish(i) => finished(&b(*i), running[*i].first().copied().unwrap_or(u32::MAX)),
                Step::Claim(i, s) => state_changed(&b(*i), *s),
            };
            let Ok(applied) = state.apply(&event) else { continue };
            match step {
                Step::Start(i) => {
                    running[i].push(numbers[i]);
                    numbers[i] += 1;
                }
                Step::Finish(i) => _ = running[i].remove(0),
                Step::Remove(i) => _ = seen.remove(&b(i)),
                _ => {}
            }
            for derived in applied.derived {
                let StatusEvent::BuilderStateChanged { name, state: s } = derived else {
                    return Err(TestCaseError::fail("only builder states are derived"));
                };
                prop_assert_ne!(seen.insert(name.clone(), s), Some(s), "{} announced twice", name);
            }
            let known: Vec<(String, BuilderState)> =
                state.builders().map(|x| (x.name.clone(), state.builder_state(&x.name))).collect();
            prop_assert_eq!(seen.clone().into_iter().collect::<Vec<_>>(), known);
        }
    }
}
