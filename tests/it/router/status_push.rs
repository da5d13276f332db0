//! The library's StatusPush, as an embedding master uses it: an async closure that gets the
//! packets, a batch a call. The start replay and `start`, `shutdown` at a stop, `bufferDelay`,
//! the black and white lists, a failing callback probed with one packet at a time, one given up
//! on a permanent error; and, over random failure schedules (a callback that fails before or
//! after taking the packets), the packets a callback takes, ids de-duplicated, are the packets
//! emitted, in order.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use buildstatus::app::notify::{Notifiers, Overrides, StatusPush};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Builder, Worker};
use buildstatus::domain::notify::outbox::{AttemptError, RetryPolicy};
use buildstatus::domain::notify::push::{Packet, PayloadFilter};
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::web::layout::Site;
use proptest::prelude::*;

use crate::common::{at, whole_build};

/// What the callback got: each call's packets.
type Calls = Arc<Mutex<Vec<Vec<Packet>>>>;

/// How the callback answers a call.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Take,
    /// Refuses the packets (the receiver was down).
    Refuse,
    /// Takes the packets, then fails (the answer was lost): they come again.
    TakeThenFail,
    /// Refuses them for good.
    GiveUp,
}

/// A callback answering as `script` says, then taking everything; it records what it took.
fn callback(calls: Calls, script: Vec<Answer>) -> StatusPush {
    let script = Arc::new(Mutex::new(script.into_iter()));
    let push = StatusPush::new("feed", move |packets: Vec<Packet>| {
        let (calls, script) = (calls.clone(), script.clone());
        async move {
            let answer = script.lock().expect("script").next().unwrap_or(Answer::Take);
            if matches!(answer, Answer::Take | Answer::TakeThenFail) {
                calls.lock().expect("calls").push(packets);
            }
            match answer {
                Answer::Take => Ok(()),
                Answer::Refuse | Answer::TakeThenFail => Err(AttemptError::temporary("the receiver is down")),
                Answer::GiveUp => Err(AttemptError::Permanent("the receiver refuses these".into())),
            }
        }
    });
    // Retries at once, so that a test does not wait for them.
    let fast = RetryPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_attempts: u32::MAX,
    };
    let mut push = push.buffer_delay(Duration::ZERO);
    push.delivery = Overrides { retry: Some(fast), ..Overrides::default() };
    push
}

fn setup(push: StatusPush, storage: Storage) -> Setup {
    let site = Site { title: "Widgets".into(), ..Site::default() };
    Setup { site, storage, notifiers: Notifiers::new(vec![Arc::new(push)]), ..Setup::default() }
}

async fn builder_and_worker(server: &StatusServer, name: &str) {
    let builder = Builder { name: name.into(), workers: vec!["w1".into()], ..Builder::default() };
    let events = vec![
        StatusEvent::BuilderAdded { builder },
        StatusEvent::WorkerConnected { worker: Worker { name: "w1".into(), ..Worker::default() }, at: at(0) },
    ];
    server.sink().record_all(events).await.expect("builder and worker");
}

/// Every packet taken, in the order taken.
fn taken(calls: &Calls) -> Vec<Packet> {
    calls.lock().expect("calls").iter().flatten().cloned().collect()
}

fn events(packets: &[Packet]) -> Vec<&str> {
    packets.iter().map(|p| p.event.as_str()).collect()
}

/// Waits until the callback took a packet for which `done` holds.
async fn until(calls: &Calls, done: impl Fn(&Packet) -> bool) -> Vec<Packet> {
    let start = Instant::now();
    loop {
        let packets = taken(calls);
        if packets.iter().any(&done) {
            return packets;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not there: {:?}", events(&packets));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The packets of one build on `linux`, after the builder and its worker.
const BUILD: [&str; 8] = [
    "buildStarted",
    "builderChangedState",
    "stepStarted",
    "stepFinished",
    "stepStarted",
    "stepFinished",
    "buildFinished",
    "builderChangedState",
];

#[tokio::test]
async fn a_closure_gets_the_start_replay_every_event_in_order_and_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = || Storage::Directory(dir.path().join("data"));
    // A master that knew two builders before the target was configured.
    let before = StatusServer::start(Setup { storage: storage(), ..Setup::default() }).await.expect("starts");
    builder_and_worker(&before, "linux").await;
    builder_and_worker(&before, "mac").await;
    drop(before);

    let calls = Calls::default();
    let server = StatusServer::start(setup(callback(calls.clone(), vec![]), storage())).await.expect("starts");
    until(&calls, |p| p.event == "start").await;
    server.sink().record_all(whole_build("linux", 0, 1, "main", BuildResult::Success, None)).await.expect("build");
    until(&calls, |p| p.event == "buildFinished").await;
    server.stop_notifiers().await;

    let packets = taken(&calls);
    let mut expected = vec!["builderAdded", "builderChangedState", "builderAdded", "builderChangedState", "start"];
    expected.extend(BUILD);
    expected.push("shutdown");
    assert_eq!(events(&packets), expected);
    assert_eq!(packets.iter().map(|p| p.id).collect::<Vec<_>>(), (1..=expected.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        (packets[0].payload["builderName"].as_str(), packets[2].payload["builderName"].as_str()),
        (Some("linux"), Some("mac"))
    );
    assert!(packets.iter().all(|p| p.project == "Widgets" && p.started == packets[0].started));
    assert_eq!(packets[4].payload["status"]["title"], "Widgets");
    let finished = &packets[11].payload["build"];
    assert_eq!((finished["number"].as_u64(), finished["results"].as_u64()), (Some(0), Some(0)), "0 kept: {finished}");

    // The receiver sees /json's objects (less their null and empty members).
    let json = |uri: &str| {
        let server = &server;
        let uri = uri.to_owned();
        async move {
            let (status, body, _) = crate::common::get(server, &uri).await;
            assert_eq!(status, axum::http::StatusCode::OK, "{uri}");
            let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            PayloadFilter::Empty.apply(serde_json::Map::from_iter([("x".to_owned(), value)])).remove("x")
        }
    };
    assert_eq!(Some(finished.clone()), json("/json/builders/linux/builds/0").await);
    let steps = finished["steps"].as_array().expect("steps");
    assert_eq!(Some(&packets[10].payload["step"]), steps.get(1), "a step's packet is the build's step object");
    assert_eq!(
        Some(packets[0].payload["builder"].clone()).map(|b| b["basedir"].clone()),
        json("/json/builders/linux").await.map(|b| b["basedir"].clone())
    );
}

#[tokio::test]
async fn buffer_delay_gathers_the_packets_of_a_burst_into_one_call() {
    let calls = Calls::default();
    let push = callback(calls.clone(), vec![]).buffer_delay(Duration::from_millis(400));
    let server = StatusServer::start(setup(push, Storage::Memory)).await.expect("starts");
    until(&calls, |p| p.event == "start").await;
    builder_and_worker(&server, "linux").await;
    let recorded = Instant::now();
    server.sink().record_all(whole_build("linux", 0, 1, "main", BuildResult::Success, None)).await.expect("build");
    until(&calls, |p| p.event == "buildFinished").await;
    let waited = recorded.elapsed();

    let calls = calls.lock().expect("calls").clone();
    let last = calls.last().expect("a call");
    assert!(last.len() >= BUILD.len(), "the build's packets in one call: {:?}", events(last));
    assert!(waited >= Duration::from_millis(400), "sent after {waited:?}, before bufferDelay");
}

#[tokio::test]
async fn black_and_white_lists_choose_the_events() {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let black = names(&["stepStarted", "stepFinished", "builderChangedState"]);
    let white = names(&["buildFinished", "stepTextChanged", "start"]);
    let (black_calls, white_calls) = (Calls::default(), Calls::default());
    let black_push = callback(black_calls.clone(), vec![]).events(None, &black).expect("known names");
    let white_push = callback(white_calls.clone(), vec![]).events(Some(&white), &[]).expect("known names");
    let mut white_push = white_push;
    white_push.rules.name = "white".into();
    let setup =
        Setup { notifiers: Notifiers::new(vec![Arc::new(black_push), Arc::new(white_push)]), ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("starts");
    until(&black_calls, |p| p.event == "start").await;
    until(&white_calls, |p| p.event == "start").await;
    builder_and_worker(&server, "linux").await;
    let mut build = whole_build("linux", 0, 1, "main", BuildResult::Failure, None);
    build.insert(
        3,
        StatusEvent::StepTextChanged {
            builder: "linux".into(),
            number: 0,
            step: 0,
            text: Some(vec!["compiling".into()]),
            text2: None,
        },
    );
    server.sink().record_all(build).await.expect("build");
    until(&black_calls, |p| p.event == "buildFinished").await;
    until(&white_calls, |p| p.event == "buildFinished").await;

    let black_events = taken(&black_calls);
    assert_eq!(events(&black_events), ["start", "builderAdded", "slaveConnected", "buildStarted", "buildFinished"]);
    assert_eq!(events(&taken(&white_calls)), ["start", "stepTextChanged", "buildFinished"], "asked for, so sent");
    let unknown = callback(Calls::default(), vec![]).events(None, &names(&["buildFinshed"]));
    assert!(unknown.expect_err("unknown").contains("unknown event 'buildFinshed'"));
}

#[tokio::test]
async fn a_failing_callback_is_probed_with_one_packet_and_a_permanent_error_gives_up() {
    let calls = Calls::default();
    let script = vec![Answer::Take, Answer::Refuse, Answer::Refuse, Answer::Take, Answer::Take, Answer::GiveUp];
    // The build's packets wait together, so the first call after the start holds several.
    let push = callback(calls.clone(), script).buffer_delay(Duration::from_millis(300));
    let server = StatusServer::start(setup(push, Storage::Memory)).await.expect("starts");
    until(&calls, |p| p.event == "start").await;
    builder_and_worker(&server, "linux").await;
    server.sink().record_all(whole_build("linux", 0, 1, "main", BuildResult::Success, None)).await.expect("build");
    let packets = until(&calls, |p| p.event == "buildFinished").await;

    let sizes: Vec<usize> = calls.lock().expect("calls").iter().map(Vec::len).collect();
    // start; (refused twice, not recorded); the probe: one packet; then the rest at once.
    assert_eq!(sizes[..2], [1, 1], "{sizes:?}");
    assert!(sizes[2] > 1, "a whole batch once a probe got through: {sizes:?}");
    assert_eq!(packets.iter().map(|p| p.id).collect::<Vec<_>>(), (1..=packets.len() as u64).collect::<Vec<_>>());
    assert_eq!(packets.len(), 5 + BUILD.len());

    // The next call fails for good: the packets of that call are given up, and the stream
    // goes on after them.
    server.sink().record_all(whole_build("linux", 1, 2, "main", BuildResult::Success, None)).await.expect("build");
    let start = Instant::now();
    let given_up = format!("{} given up", BUILD.len());
    while !crate::common::get(&server, "/notifications?target=push/feed").await.1.contains(&given_up) {
        assert!(start.elapsed() < Duration::from_secs(20), "build 1's packets not given up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.sink().record_all(whole_build("linux", 2, 3, "main", BuildResult::Success, None)).await.expect("build");
    let packets = until(&calls, |p| p.event == "buildFinished" && p.payload["build"]["number"] == 2).await;
    let ids: Vec<u64> = packets.iter().map(|p| p.id).collect();
    let missing: Vec<u64> = (1..=*ids.last().expect("ids")).filter(|id| !ids.contains(id)).collect();
    let first = 5 + BUILD.len() as u64 + 1;
    assert_eq!(missing, (first..first + BUILD.len() as u64).collect::<Vec<_>>(), "build 1's packets, not sent again");
    let (_, page, _) = crate::common::get(&server, "/notifications?target=push/feed").await;
    assert!(page.contains("the receiver refuses these"), "{page}");
}

/// A failure schedule's run: the packets the callback took, with duplicates.
fn run_schedule(script: Vec<Answer>, builds: u32) -> Vec<Packet> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let calls = Calls::default();
        let server =
            StatusServer::start(setup(callback(calls.clone(), script), Storage::Memory)).await.expect("starts");
        queued(&server, "#1 start").await;
        builder_and_worker(&server, "linux").await;
        // A builder's object is read when its packet is made: the builds come after it.
        queued(&server, "#5 builderChangedState").await;
        for n in 0..builds {
            let events = whole_build("linux", n, i64::from(n), "main", BuildResult::Success, None);
            server.sink().record_all(events).await.expect("build");
        }
        // start, the builder and its worker, then the builds.
        until(&calls, |p| p.id == 5 + u64::from(builds) * BUILD.len() as u64).await
    })
}

/// Waits until the target queued the packet `summary` (`#1 start`: the start replay reads the
/// builders, so one added before it would be in the replay as well as in its own packet).
async fn queued(server: &StatusServer, summary: &str) {
    let start = Instant::now();
    while !crate::common::get(server, "/notifications?target=push/feed&limit=1000").await.1.contains(summary) {
        assert!(start.elapsed() < Duration::from_secs(10), "{summary} not queued");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The packets a run without failures takes (computed once).
fn without_failures() -> &'static [(u64, String, String)] {
    static EXPECTED: std::sync::OnceLock<Vec<(u64, String, String)>> = std::sync::OnceLock::new();
    EXPECTED.get_or_init(|| run_schedule(vec![], 3).iter().map(content).collect())
}

/// What a packet says, but for when it was queued.
fn content(p: &Packet) -> (u64, String, String) {
    (p.id, p.event.clone(), serde_json::Value::Object(p.payload.clone()).to_string())
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![4 => Just(Answer::Take), 3 => Just(Answer::Refuse), 2 => Just(Answer::TakeThenFail)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Whatever the receiver's failures, what it took, each id once, is what was emitted: the
    /// packets of a run without failures, in order.
    #[test]
    fn the_packets_taken_once_each_are_the_packets_emitted(script in prop::collection::vec(answer(), 0..12)) {
        let expected = without_failures();
        let got = run_schedule(script.clone(), 3);
        let mut seen = std::collections::BTreeSet::new();
        let distinct: Vec<_> = got.iter().filter(|p| seen.insert(p.id)).map(content).collect();
        prop_assert_eq!(distinct.as_slice(), expected);
        let twice = got.len() - distinct.len();
        prop_assert!(twice == 0 || script.contains(&Answer::TakeThenFail), "{} duplicates", twice);
    }
}
