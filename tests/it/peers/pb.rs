//! `[pb]` against a stock Twisted Perspective Broker client (`tests/fixtures/pb/status_client.py`
//! on the Twisted of the Buildbot virtualenv): it logs in with the MD5 challenge, calls every
//! perspective method and the remote objects' methods, subscribes at each mode and receives
//! the calls of a build played on the server; a wrong password is refused; a client that stops
//! reading is dropped while another keeps up; `unsubscribe` stops the calls; references past the
//! limit are refused, and one the client lets go (its decref) frees its place; a buildset and
//! its build requests answer their methods (`newbuild` when a build claims a request,
//! `waitUntilFinished` when the buildset finishes), waits and observers bounded.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use buildstatus::adapters::http::listen::{Bound, Listen};
use buildstatus::adapters::pb::PbSettings;
use buildstatus::app::StatusServer;
use buildstatus::app::config::pb::PbConfig;
use buildstatus::domain::event::{Channel, StatusEvent};
use buildstatus::domain::model::{BuildRequest, Builder, Buildset, SourceStamp};
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::StatusSink;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{self, buildbot, whole_build};

/// A fixture server with a PB listener on loopback (the default credentials are allowed there).
async fn pb_server(settings: PbSettings) -> (StatusServer, u16, tokio::task::JoinHandle<()>) {
    let server = common::fixture_server().await;
    let config = PbConfig { listen: Listen::Tcp("127.0.0.1:0".parse().unwrap()), settings };
    let bound = StatusServer::bind_pb(&config).await.expect("bind");
    let Bound::Tcp(listener) = &bound else { panic!("tcp") };
    let port = listener.local_addr().unwrap().port();
    let task = server.serve_pb(bound, config.settings.clone());
    (server, port, task)
}

fn default_settings() -> PbSettings {
    PbSettings::new("statusClient", "clientpw")
}

/// A running client: its output lines as JSON, read as they come.
struct Client {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: Vec<Value>,
}

impl Client {
    fn start(port: u16, user: &str, password: &str, script: &Value) -> Self {
        let mut child = tokio::process::Command::new(buildbot::python())
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pb/status_client.py"))
            .args([port.to_string(), user.into(), password.into(), script.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the Buildbot virtualenv's python (scripts/test installs it)");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, lines, seen: Vec::new() }
    }

    /// Reads until a line has `key`; that line.
    async fn until(&mut self, key: &str) -> Value {
        let read = async {
            while let Some(line) = self.lines.next_line().await.expect("read") {
                let value: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
                self.seen.push(value.clone());
                if value.get(key).is_some() {
                    return value;
                }
            }
            panic!("the client ended before {key}: {:#?}", self.seen)
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .unwrap_or_else(|_| panic!("no {key} in 60 s: {:#?}", self.seen))
    }

    /// Reads to the end; the exit code.
    async fn finish(&mut self) -> i32 {
        while let Ok(Some(line)) = self.lines.next_line().await {
            self.seen.push(serde_json::from_str(&line).unwrap_or(Value::String(line)));
        }
        self.child.wait().await.unwrap().code().unwrap_or(-1)
    }

    fn answers(&self) -> Vec<(String, Value)> {
        self.seen
            .iter()
            .filter(|v| v.get("call").is_some())
            .map(|v| {
                let call = v["call"].as_str().unwrap().to_owned();
                let outcome = if v.get("error").is_some() {
                    json!({"error": v["error"], "value": v["value"]})
                } else {
                    v["answer"].clone()
                };
                (call, outcome)
            })
            .collect()
    }

    fn events(&self) -> Vec<(String, Value)> {
        self.seen
            .iter()
            .filter(|v| v.get("event").is_some())
            .map(|v| (v["event"].as_str().unwrap().to_owned(), v["args"].clone()))
            .collect()
    }
}

#[tokio::test]
async fn a_twisted_client_calls_every_method() {
    let (_server, port, _task) = pb_server(default_settings()).await;
    let script = json!([
        ["call", "ping"],
        ["call", "getBuilderNames"],
        ["call", "getBuilder", "linux"],
        ["on", "$0", "getName"],
        ["on", "$0", "getCategory"],
        ["on", "$0", "getState"],
        ["on", "$0", "getSlaves"],
        ["on", "$0", "getLastFinishedBuild"],
        ["on", "$0", "getCurrentBuilds"],
        ["on", "$0", "getBuild", -1],
        ["on", "$1", "getBuilderName"],
        ["on", "$1", "getNumber"],
        ["on", "$1", "getResults"],
        ["on", "$1", "getText"],
        ["on", "$1", "isFinished"],
        ["on", "$1", "getResponsibleUsers"],
        ["on", "$1", "getRevisions"],
        ["on", "$1", "getProperties"],
        ["on", "$1", "getSteps"],
        ["on", "$4", "getName"],
        ["on", "$4", "getResults"],
        ["on", "$4", "isFinished"],
        ["on", "$4", "getLogs"],
        ["on", "$5", "getName"],
        ["on", "$5", "getText"],
        ["on", "$5", "getChunks"],
        ["on", "$1", "waitUntilFinished"],
        ["call", "getLastBuilds", "linux", 2],
        ["call", "getBuildSets"],
        ["call", "getBuilder", "nope"],
        ["call", "nosuch"],
        ["on", "$0", "nosuch"],
        ["call", "subscribe", "everything", 5, "$0"],
        ["call", "ping"]
    ]);
    // In two parts: one json! of it all passes the macro recursion limit.
    let rest = json!([
        ["call", "getSlave", "w1"],
        ["call", "getSlave", "nobody"],
        ["on", "$1", "getReason"],
        ["on", "$1", "getTimes"],
        ["on", "$1", "getETA"],
        ["on", "$1", "getCurrentStep"],
        ["on", "$1", "getChanges"],
        ["on", "$4", "getBuild"],
        ["on", "$9", "getNumber"],
        ["on", "$4", "getTimes"],
        ["on", "$4", "getExpectations"],
        ["on", "$4", "getETA"],
        ["on", "$4", "getText"],
        ["on", "$4", "waitUntilFinished"],
        ["on", "$5", "isFinished"],
        ["on", "$5", "getTextWithHeaders"],
        ["on", "$5", "waitUntilFinished"],
        ["on", "$1", "subscribe", "@target", 1],
        ["on", "$1", "unsubscribe", "@target"],
        ["call", "getBuilder", "macos"],
        ["on", "$12", "getCurrentBuilds"],
        ["on", "$13", "isFinished"],
        ["on", "$13", "getETA"],
        ["on", "$13", "getCurrentStep"],
        ["on", "$14", "getName"],
        ["call", "unsubscribe"],
        ["call", "ping"]
    ]);
    let script = Value::Array([script.as_array().unwrap().clone(), rest.as_array().unwrap().clone()].concat());
    let mut client = Client::start(port, "statusClient", "clientpw", &script);
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    let got: Vec<(&str, &Value)> = answers.iter().map(|(c, v)| (c.as_str(), v)).collect();
    let expected = [
        ("ping", json!("pong")),
        ("getBuilderNames", json!([common::HOSTILE, "linux", "macos"])),
        ("getBuilder", json!({"ref": 0})),
        ("getName", json!("linux")),
        ("getCategory", json!("unix")),
        ("getState", json!(["idle", null, []])),
        ("getSlaves", json!(["w1", "w2"])),
        ("getLastFinishedBuild", json!({"ref": 1})),
        ("getCurrentBuilds", json!([])),
        ("getBuild", json!({"ref": 2})),
        ("getBuilderName", json!("linux")),
        ("getNumber", json!(4)),
        ("getResults", json!(0)),
        ("getText", json!(["build", "successful"])),
        ("isFinished", json!(true)),
        ("getResponsibleUsers", json!(["Ann Lee <ann@example.org>"])),
        ("getRevisions", json!("")),
    ];
    for (i, (call, value)) in expected.iter().enumerate() {
        assert_eq!(got[i], (*call, value), "answer {i}");
    }
    let properties = &answers[17].1;
    assert_eq!(properties["got_revision"], json!([format!("{:040x}", 0xabc0 + 4), "Git"]), "{properties}");
    assert_eq!(answers[18].1, json!([{"ref": 3}, {"ref": 4}]), "getSteps");
    assert_eq!(answers[19].1, json!("test"), "the second step's name");
    assert_eq!(answers[20].1, json!([0, []]), "its results");
    assert_eq!(answers[21].1, json!(true));
    assert_eq!(answers[22].1, json!({"stdio": {"ref": 5}}), "getLogs");
    assert_eq!(answers[23].1, json!("stdio"));
    assert_eq!(
        answers[24].1,
        json!("cc -c main.c\n\u{1b}[32mok\u{1b}[0m\nwarning: <b>unused</b>\n"),
        "getText leaves headers out"
    );
    assert_eq!(
        answers[25].1,
        json!([[2, "make all\n"], [0, "cc -c main.c\n\u{1b}[32mok\u{1b}[0m\n"], [1, "warning: <b>unused</b>\n"]]),
        "getChunks: (channel, text)"
    );
    assert_eq!(answers[26].1, json!({"ref": 6}), "waitUntilFinished of a finished build answers at once");
    assert_eq!(answers[27].1, json!([{"ref": 7}, {"ref": 8}]), "getLastBuilds");
    assert_eq!(answers[28].1, json!([]), "no open buildset");
    let error =
        |i: usize| (answers[i].1["error"][0].as_str().unwrap_or_default().to_owned(), answers[i].1["value"].clone());
    assert_eq!(error(29), ("builtins.KeyError".into(), json!("'nope'")));
    assert_eq!(
        error(30),
        (
            "builtins.AttributeError".into(),
            json!("'StatusClientPerspective' object has no attribute 'perspective_nosuch'")
        )
    );
    assert_eq!(error(31), ("twisted.spread.flavors.NoSuchMethod".into(), json!("No such method: remote_nosuch")));
    assert_eq!(error(32).0, "builtins.ValueError", "an unknown mode");
    assert_eq!(answers[33], ("ping".into(), json!("pong")), "the connection stays usable after errors");

    // The rest of the perspective and of the remote objects (refs $9 on are new here).
    assert_eq!(answers[34].1, json!({"name": "w1", "connected": true}), "getSlave");
    assert_eq!(error(35), ("builtins.KeyError".into(), json!("'nobody'")));
    assert_eq!(answers[36].1, json!("The SingleBranchScheduler scheduler named 'all' triggered this build"));
    let times = answers[37].1.as_array().expect("getTimes: (start, end)").clone();
    assert_eq!(times[1].as_f64().unwrap() - times[0].as_f64().unwrap(), 180.0, "build 4 took 3 minutes");
    assert_eq!(answers[38].1, Value::Null, "a finished build has no ETA");
    assert_eq!(answers[39].1, Value::Null, "nor a current step");
    assert_eq!(answers[40].1, json!([]), "getChanges");
    assert_eq!(answers[41].1, json!({"ref": 9}), "a step's getBuild");
    assert_eq!(answers[42].1, json!(4), "is its build");
    let times = answers[43].1.as_array().expect("a step's getTimes").clone();
    assert_eq!(times[1].as_f64().unwrap() - times[0].as_f64().unwrap(), 60.0, "the test step took a minute");
    assert_eq!(answers[44].1, json!([]), "getExpectations");
    assert_eq!(answers[45].1, Value::Null, "a finished step has no ETA");
    assert_eq!(answers[46].1, json!(["test"]));
    assert_eq!(answers[47].1, json!({"ref": 10}), "a finished step's waitUntilFinished answers at once");
    assert_eq!(answers[48].1, json!(true), "the log is finished");
    assert_eq!(
        answers[49].1,
        json!("make all\ncc -c main.c\n\u{1b}[32mok\u{1b}[0m\nwarning: <b>unused</b>\n"),
        "getTextWithHeaders"
    );
    assert_eq!(answers[50].1, json!({"ref": 11}), "a finished log's waitUntilFinished");
    assert_eq!(answers[51], ("subscribe".into(), Value::Null), "a build observer");
    assert_eq!(answers[52], ("unsubscribe".into(), Value::Null));
    assert_eq!(answers[53].1, json!({"ref": 12}), "macos");
    assert_eq!(answers[54].1, json!([{"ref": 13}]), "its running build");
    assert_eq!(answers[55].1, json!(false));
    assert!(answers[56].1.is_f64(), "a running build's ETA: {:?}", answers[56]);
    assert_eq!(answers[57].1, json!({"ref": 14}), "its current step");
    assert_eq!(answers[58].1, json!("compile"));
    assert_eq!(answers[59], ("unsubscribe".into(), Value::Null));
    assert_eq!(answers[60], ("ping".into(), json!("pong")));
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let (_server, port, _task) = pb_server(default_settings()).await;
    let mut client = Client::start(port, "statusClient", "wrong", &json!([["call", "ping"]]));
    let refused = client.until("login_error").await;
    assert_eq!(refused["login_error"][0], "twisted.cred.error.UnauthorizedLogin");
    assert_eq!(client.finish().await, 3);
    let mut client = Client::start(port, "someone", "clientpw", &json!([]));
    assert_eq!(client.until("login_error").await["login_error"][0], "twisted.cred.error.UnauthorizedLogin");
}

/// A build of `linux` (number 5) and a new builder, played on the server.
async fn play(sink: &Arc<dyn StatusSink>) {
    let windows = Builder { name: "windows".into(), workers: vec!["w9".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder: windows }).await.unwrap();
    sink.record_all(whole_build("linux", 5, 100, "main", BuildResult::Failure, None)).await.unwrap();
}

fn names(events: &[(String, Value)], keep: &[&str]) -> Vec<String> {
    events.iter().map(|(n, _)| n.clone()).filter(|n| keep.contains(&n.as_str())).collect()
}

#[tokio::test]
async fn each_mode_hears_what_the_matrix_says_in_order() {
    let (server, port, _task) = pb_server(default_settings()).await;
    let modes = ["builders", "builds", "steps", "logs", "full"];
    let mut clients = Vec::new();
    for mode in modes {
        let wait = if mode == "builders" {
            json!(["wait", "builderAdded", 4, 30])
        } else {
            json!(["wait", "buildFinished", 1, 30])
        };
        let script = json!([["subscribe", mode, 1], ["ready"], wait, ["sleep", 1.5]]);
        let mut client = Client::start(port, "statusClient", "clientpw", &script);
        client.until("ready").await;
        clients.push(client);
    }
    play(&server.sink()).await;
    let all = [
        "builderAdded",
        "builderRemoved",
        "builderChangedState",
        "buildStarted",
        "buildFinished",
        "buildETAUpdate",
        "stepStarted",
        "stepFinished",
        "logStarted",
        "logFinished",
        "logChunk",
    ];
    let build_calls =
        ["buildStarted", "stepStarted", "logStarted", "logChunk", "logFinished", "stepFinished", "buildFinished"];
    for (mode, client) in modes.iter().zip(clients.iter_mut()) {
        assert_eq!(client.finish().await, 0, "{mode}: {:#?}", client.seen);
        let events = client.events();
        let heard: std::collections::BTreeSet<String> = events.iter().map(|(n, _)| n.clone()).collect();
        let level = modes.iter().position(|m| m == mode).unwrap();
        let expected: std::collections::BTreeSet<String> = all
            .iter()
            .filter(|m| match **m {
                "builderAdded" => true,
                "builderRemoved" => false,
                "builderChangedState" | "buildStarted" | "buildFinished" => level >= 1,
                "buildETAUpdate" | "stepStarted" | "stepFinished" => level >= 2,
                "logStarted" | "logFinished" => level >= 3,
                _ => level >= 4,
            })
            .map(|m| (*m).to_owned())
            .collect();
        assert_eq!(heard, expected, "{mode}");
        // The replay first: every builder, with its state from `builds` on.
        assert_eq!(events[0].0, "builderAdded", "{mode}");
        assert_eq!(events[0].1[1], json!({"ref": 0}), "{mode}: a builder reference");
        // The build's calls in the order it ran, with its steps' names and results.
        let build: Vec<String> = names(&events, &build_calls);
        let expected_build: Vec<&str> = match level {
            0 => vec![],
            1 => vec!["buildStarted", "buildFinished"],
            2 => vec!["buildStarted", "stepStarted", "stepFinished", "stepStarted", "stepFinished", "buildFinished"],
            _ => {
                let log: &[&str] = if level == 3 {
                    &["logStarted", "logFinished"]
                } else {
                    &["logStarted", "logChunk", "logChunk", "logChunk", "logFinished"]
                };
                let step = [&["stepStarted"][..], log, &["stepFinished"]].concat();
                [&["buildStarted"][..], &step, &step, &["buildFinished"]].concat()
            }
        };
        assert_eq!(build, expected_build, "{mode}");
        if level >= 1 {
            let finished = events.iter().find(|(n, _)| n == "buildFinished").unwrap();
            assert_eq!(
                (finished.1[0].clone(), finished.1[2].clone()),
                (json!("linux"), json!(2)),
                "{mode}: FAILURE is 2"
            );
        }
        if level >= 2 {
            let step = events.iter().filter(|(n, _)| n == "stepFinished").nth(1).unwrap();
            assert_eq!((step.1[2].clone(), step.1[4].clone()), (json!("test"), json!([2, ["test"]])), "{mode}");
            let eta = events.iter().find(|(n, _)| n == "buildETAUpdate").unwrap();
            assert_eq!(eta.1[0], json!("macos"), "{mode}: the running build's ETA");
            assert!(eta.1[2].is_f64(), "{mode}: {eta:?}");
        }
        if level >= 4 {
            let chunk = events.iter().find(|(n, _)| n == "logChunk").unwrap();
            assert_eq!(
                (chunk.1[4].clone(), chunk.1[6].clone(), chunk.1[7].clone()),
                (json!("stdio"), json!(2), json!("make all\n"))
            );
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_while_others_keep_up() {
    let mut settings = default_settings();
    settings.queue_limit = 256 * 1024;
    let (server, port, _task) = pb_server(settings).await;
    let mut slow = Client::start(
        port,
        "statusClient",
        "clientpw",
        &json!([["subscribe", "full", 0], ["ready"], ["stall", 8], ["call", "ping"]]),
    );
    slow.until("ready").await;
    slow.until("stalled").await;
    let mut steady = Client::start(
        port,
        "statusClient",
        "clientpw",
        &json!([["subscribe", "builds", 0], ["ready"], ["wait", "buildFinished", 3, 60]]),
    );
    steady.until("ready").await;
    let sink = server.sink();
    let chunk = "x".repeat(100 * 1024) + "\n";
    for number in 5..8u32 {
        let mut events = whole_build("linux", number, 100 + i64::from(number), "main", BuildResult::Success, None);
        // 100 chunks of 100 KiB in the first step's log: about 10 MB per build for `full`.
        let at = events.iter().position(|e| matches!(e, StatusEvent::LogChunk { .. })).unwrap();
        for _ in 0..100 {
            events.insert(
                at,
                StatusEvent::LogChunk {
                    builder: "linux".into(),
                    number,
                    step: 0,
                    log: "stdio".into(),
                    channel: Channel::Stdout,
                    text: chunk.clone(),
                },
            );
        }
        sink.record_all(events).await.unwrap();
    }
    assert_eq!(steady.until("waited").await["count"], 3, "the steady client heard every build");
    assert_eq!(steady.finish().await, 0);
    assert_eq!(slow.finish().await, 0);
    let ping = slow.answers().into_iter().find(|(c, _)| c == "ping").expect("the ping's outcome");
    assert!(ping.1.get("error").is_some(), "the slow client was disconnected: {ping:?}");
}

#[tokio::test]
async fn references_past_the_limit_are_refused_and_repeated_violations_close() {
    let mut settings = default_settings();
    settings.max_references = 4;
    let (_server, port, _task) = pb_server(settings).await;
    // Live: the perspective, the builder, builds 0 and 1; then four refusals.
    let script = json!([
        ["call", "getBuilder", "linux"],
        ["on", "$0", "getBuild", 0],
        ["on", "$0", "getBuild", 1],
        ["on", "$0", "getBuild", 1],
        ["on", "$0", "getBuild", 2],
        ["on", "$0", "getBuild", 3],
        ["on", "$0", "getBuild", 4],
        ["call", "getBuilder", "macos"],
        ["call", "ping"]
    ]);
    let mut client = Client::start(port, "statusClient", "clientpw", &script);
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    assert_eq!(answers[3].1, json!({"ref": 3}), "the same build again takes no new reference");
    for (i, answer) in answers[4..8].iter().enumerate() {
        assert_eq!(answer.1["value"], json!("Maximum PB reference count exceeded."), "refusal {i}: {answer:?}");
    }
    assert!(answers[8].1.get("error").is_some(), "the fourth refusal closed the connection: {:?}", answers[8]);
}

#[tokio::test]
async fn a_dropped_reference_is_decrefed_and_frees_its_place() {
    let mut settings = default_settings();
    settings.max_references = 4;
    let (_server, port, _task) = pb_server(settings).await;
    // Live: the perspective, the builder, builds 0 and 1; build 2 is refused until the client
    // lets build 0 go (Twisted sends the decref when its RemoteReference is collected).
    let script = json!([
        ["call", "getBuilder", "linux"],
        ["on", "$0", "getBuild", 0],
        ["on", "$0", "getBuild", 1],
        ["on", "$0", "getBuild", 2],
        ["drop", 1],
        ["sleep", 0.5],
        ["on", "$0", "getBuild", 2],
        ["on", "$3", "getNumber"]
    ]);
    let mut client = Client::start(port, "statusClient", "clientpw", &script);
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    assert_eq!(answers[3].1["value"], json!("Maximum PB reference count exceeded."), "{:?}", answers[3]);
    assert_eq!(answers[4].1, json!({"ref": 3}), "build 2 once build 0 was decrefed: {:#?}", client.seen);
    assert_eq!(answers[5].1, json!(2));
}

#[tokio::test]
async fn unsubscribe_stops_the_calls() {
    let (server, port, _task) = pb_server(default_settings()).await;
    let script = |unsubscribe: bool| {
        let mut steps = vec![json!(["subscribe", "builds", 0])];
        if unsubscribe {
            steps.push(json!(["call", "unsubscribe"]));
        }
        steps.extend([json!(["ready"]), json!(["wait", "buildFinished", 1, 5])]);
        Value::Array(steps)
    };
    let mut quiet = Client::start(port, "statusClient", "clientpw", &script(true));
    quiet.until("ready").await;
    let mut heard = Client::start(port, "statusClient", "clientpw", &script(false));
    heard.until("ready").await;
    play(&server.sink()).await;
    assert_eq!(heard.until("waited").await["count"], 1, "the subscribed client heard the build");
    assert_eq!(quiet.until("waited").await["count"], 0, "{:#?}", quiet.seen);
    assert_eq!(quiet.finish().await, 0);
    assert!(quiet.answers().contains(&("unsubscribe".to_owned(), Value::Null)), "{:#?}", quiet.seen);
    // Only the replay of the subscription came: not the new builder, not the build.
    let events = quiet.events();
    assert!(events.iter().all(|(_, args)| args[0] != "windows"), "{events:#?}");
    assert!(events.iter().all(|(n, _)| n == "builderAdded" || n == "builderChangedState"), "{events:#?}");
    assert_eq!(heard.finish().await, 0);
}

#[tokio::test]
async fn a_buildset_and_its_build_requests_answer_their_methods_and_waiting_answers_when_it_finishes() {
    let (server, port, _task) = pb_server(default_settings()).await;
    let stamp = SourceStamp {
        branch: Some("main".into()),
        revision: Some("abc1234".into()),
        repository: "https://git.example.org/widget.git".into(),
        project: "widget".into(),
        changes: vec![1],
        ..SourceStamp::default()
    };
    let buildset = Buildset {
        id: 900,
        reason: "a forced build".into(),
        external_id: None,
        submitted_at: common::at(42),
        sourcestamps: vec![stamp.clone()],
        builders: vec!["macos".into(), "linux".into()],
        complete_at: None,
        result: None,
    };
    let request = |id: u64, builder: &str| StatusEvent::BuildRequestSubmitted {
        request: BuildRequest {
            id,
            buildset_id: Some(900),
            builder: builder.into(),
            submitted_at: common::at(43),
            reason: "a forced build".into(),
            properties: Default::default(),
            sourcestamps: vec![stamp.clone()],
        },
    };
    let sink = server.sink();
    sink.record_all(vec![StatusEvent::BuildsetSubmitted { buildset }, request(901, "linux"), request(902, "macos")])
        .await
        .unwrap();
    // $0 the buildset, $1 and $2 its requests (linux, macos), $3 the build newbuild names.
    let script = json!([
        ["call", "getBuildSets"],
        ["on", "$0", "getID"],
        ["on", "$0", "getReason"],
        ["on", "$0", "getBuilderNames"],
        ["on", "$0", "isFinished"],
        ["on", "$0", "getResults"],
        ["on", "$0", "getSourceStamp"],
        ["on", "$0", "getBuildRequests"],
        ["on", "$1", "getBuilderName"],
        ["on", "$1", "getSourceStamp"],
        ["on", "$1", "getSubmitTime"],
        ["on", "$1", "getBuilds"],
        ["on", "$1", "subscribe", "@target"],
        ["ready"],
        ["wait", "newbuild", 1, 10],
        ["on", "$3", "getNumber"],
        ["on", "$1", "getBuilds"],
        ["on", "$2", "getBuilds"],
        ["ready"],
        ["on", "$0", "waitUntilFinished"],
        ["on", "$0", "isFinished"],
        ["on", "$0", "getResults"],
        ["on", "$0", "waitUntilFinished"],
        ["on", "$1", "unsubscribe", "@target"],
        ["on", "$1", "noSuchMethod"]
    ]);
    let mut client = Client::start(port, "statusClient", "clientpw", &script);
    client.until("ready").await;
    // A build claims the linux request.
    let mut build = whole_build("linux", 20, 110, "main", BuildResult::Success, None);
    let StatusEvent::BuildStarted { requests, .. } = &mut build[0] else { panic!("starts with its start") };
    requests.push(901);
    sink.record_all(build).await.unwrap();
    client.until("ready").await;
    // A client that logs in after the claim still finds the build, and hears of it.
    let late = json!([
        ["call", "getBuildSets"],
        ["on", "$0", "getBuildRequests"],
        ["on", "$1", "getBuilds"],
        ["on", "$1", "subscribe", "@target"],
        ["on", "$2", "subscribe", "@target"],
        ["ready"],
        ["on", "$0", "waitUntilFinished"],
        ["on", "$3", "getNumber"]
    ]);
    let mut late = Client::start(port, "statusClient", "clientpw", &late);
    late.until("ready").await;
    sink.record(StatusEvent::BuildsetFinished { id: 900, result: BuildResult::Success, at: common::at(120) })
        .await
        .unwrap();
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    assert_eq!(late.finish().await, 0, "{:#?}", late.seen);
    let stamp_dict = json!({
        "branch": "main", "revision": "abc1234", "repository": "https://git.example.org/widget.git",
        "project": "widget", "codebase": "", "changes": [1], "hasPatch": false
    });
    let answers = client.answers();
    let expected = [
        ("getBuildSets", json!([[{"ref": 0}, 900]])),
        ("getID", json!(900)),
        ("getReason", json!("a forced build")),
        ("getBuilderNames", json!(["linux", "macos"])),
        ("isFinished", json!(false)),
        ("getResults", Value::Null),
        ("getSourceStamp", stamp_dict.clone()),
        ("getBuildRequests", json!([["linux", {"ref": 1}], ["macos", {"ref": 2}]])),
        ("getBuilderName", json!("linux")),
        ("getSourceStamp", stamp_dict),
        ("getSubmitTime", json!(common::at(43).timestamp() as f64)),
        ("getBuilds", json!([])),
        ("subscribe", Value::Null),
        ("getNumber", json!(20)),
        ("getBuilds", json!([{"ref": 4}])),
        ("getBuilds", json!([])),
        // Answered once the buildset finished: its reference (a new proxy, $5).
        ("waitUntilFinished", json!({"ref": 5})),
        ("isFinished", json!(true)),
        ("getResults", json!(0)),
        ("waitUntilFinished", json!({"ref": 6})),
        ("unsubscribe", Value::Null),
    ];
    let expected: Vec<(String, Value)> = expected.into_iter().map(|(c, v)| (c.to_owned(), v)).collect();
    assert_eq!(answers[..expected.len()], expected[..], "{:#?}", client.seen);
    let (call, refused) = answers.last().unwrap();
    assert_eq!(call, "noSuchMethod");
    assert_eq!(refused["error"][0], "twisted.spread.flavors.NoSuchMethod", "{refused}");
    let newbuilds: Vec<Value> =
        client.events().into_iter().filter(|(n, _)| n == "newbuild").map(|(_, args)| args).collect();
    assert_eq!(newbuilds, [json!([{"ref": 3}, "linux"])], "the build that claimed the request, once");
    let late_answers: Vec<Value> = late.answers().into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        late_answers,
        [
            json!([[{"ref": 0}, 900]]),
            json!([["linux", {"ref": 1}], ["macos", {"ref": 2}]]),
            json!([{"ref": 3}]),
            Value::Null,
            Value::Null,
            json!({"ref": 5}),
            json!(20)
        ],
        "{:#?}",
        late.seen
    );
    assert_eq!(late.events(), [("newbuild".to_owned(), json!([{"ref": 4}, "linux"]))], "the build it already had");
}

#[tokio::test]
async fn a_build_observer_hears_its_steps_and_waiting_answers_when_the_build_ends() {
    let (server, port, _task) = pb_server(default_settings()).await;
    // The fixture's macos build 1 runs (its first step started); $1 is it.
    let script = json!([
        ["call", "getBuilder", "macos"],
        ["on", "$0", "getCurrentBuilds"],
        ["on", "$1", "subscribe", "@target", 0],
        ["ready"],
        ["on", "$1", "waitUntilFinished"],
        ["on", "$1", "isFinished"],
        ["wait", "stepFinished", 2, 10]
    ]);
    let mut client = Client::start(port, "statusClient", "clientpw", &script);
    client.until("ready").await;
    let rest = whole_build("macos", 1, 40, "main", BuildResult::Success, Some(1)).split_off(4);
    server.sink().record_all(rest).await.unwrap();
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    assert_eq!(answers[2], ("subscribe".into(), Value::Null));
    // The build's reference (the events' own references came before it).
    assert_eq!(answers[3].0, "waitUntilFinished");
    assert!(answers[3].1.get("ref").is_some(), "answered once the build ended: {:?}", answers[3]);
    assert_eq!(answers[4], ("isFinished".into(), json!(true)));
    let events = client.events();
    let steps: Vec<(String, Value)> =
        events.iter().filter(|(n, _)| n.starts_with("step")).map(|(n, args)| (n.clone(), args[2].clone())).collect();
    assert_eq!(
        steps,
        [
            ("stepFinished".to_owned(), json!("compile")),
            ("stepStarted".to_owned(), json!("test")),
            ("stepFinished".to_owned(), json!("test"))
        ],
        "{events:#?}"
    );
}

#[tokio::test]
async fn waiting_calls_and_build_observers_are_bounded() {
    let mut settings = default_settings();
    settings.max_references = 8;
    let (server, port, _task) = pb_server(settings).await;
    // $1 is the fixture's running macos build; nine calls wait on it, one more than allowed.
    let mut script = vec![json!(["call", "getBuilder", "macos"]), json!(["on", "$0", "getCurrentBuilds"])];
    script.extend((0..9).map(|_| json!(["fire", "$1", "waitUntilFinished"])));
    script.extend([json!(["on", "$1", "subscribe", "@target", 1]), json!(["on", "$1", "subscribe", "@target", 2])]);
    script.extend((0..8).map(|_| json!(["on", "$1", "subscribe", "@new", 1])));
    script.extend([json!(["call", "ping"]), json!(["ready"]), json!(["sleep", 1])]);
    let mut client = Client::start(port, "statusClient", "clientpw", &Value::Array(script));
    client.until("ready").await;
    let rest = whole_build("macos", 1, 40, "main", BuildResult::Success, Some(1)).split_off(4);
    server.sink().record_all(rest).await.unwrap();
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    let of = |call: &str| answers.iter().filter(|(c, _)| c == call).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let waits = of("waitUntilFinished");
    assert_eq!(waits.len(), 9, "{:#?}", client.seen);
    let refused = |v: &&Value, message: &str| v.get("value") == Some(&json!(message));
    assert_eq!(waits.iter().filter(|v| refused(v, "Too many calls waiting.")).count(), 1, "{waits:#?}");
    assert_eq!(waits.iter().filter(|v| v.get("ref").is_some()).count(), 8, "the others answered at the end");
    // Observers: the same one again replaces it; seven others fill the places, the eighth is refused.
    let subscribes = of("subscribe");
    assert_eq!(subscribes.len(), 10);
    assert_eq!(subscribes.iter().filter(|v| refused(v, "Too many build observers.")).count(), 1, "{subscribes:#?}");
    assert_eq!(of("ping"), [json!("pong")], "the connection stays usable");
}

#[tokio::test]
async fn buildset_waits_and_build_request_observers_are_bounded() {
    let mut settings = default_settings();
    settings.max_references = 8;
    let (server, port, _task) = pb_server(settings).await;
    let buildset = Buildset {
        id: 7,
        reason: "nightly".into(),
        external_id: None,
        submitted_at: common::at(42),
        sourcestamps: vec![],
        builders: vec!["linux".into()],
        complete_at: None,
        result: None,
    };
    server.sink().record(StatusEvent::BuildsetSubmitted { buildset }).await.unwrap();
    // $0 the buildset, $1 its linux request: nine calls wait on the buildset and nine
    // observers subscribe to the request, one more than allowed each.
    let mut script = vec![json!(["call", "getBuildSets"]), json!(["on", "$0", "getBuildRequests"])];
    script.extend((0..9).map(|_| json!(["fire", "$0", "waitUntilFinished"])));
    script.extend((0..9).map(|_| json!(["on", "$1", "subscribe", "@new"])));
    script.extend([json!(["call", "ping"]), json!(["ready"]), json!(["sleep", 1])]);
    let mut client = Client::start(port, "statusClient", "clientpw", &Value::Array(script));
    client.until("ready").await;
    let finished = StatusEvent::BuildsetFinished { id: 7, result: BuildResult::Failure, at: common::at(50) };
    server.sink().record(finished).await.unwrap();
    assert_eq!(client.finish().await, 0, "{:#?}", client.seen);
    let answers = client.answers();
    let of = |call: &str| answers.iter().filter(|(c, _)| c == call).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let refused = |v: &&Value, message: &str| v.get("value") == Some(&json!(message));
    let waits = of("waitUntilFinished");
    assert_eq!(waits.len(), 9, "{:#?}", client.seen);
    assert_eq!(waits.iter().filter(|v| refused(v, "Too many calls waiting.")).count(), 1, "{waits:#?}");
    assert_eq!(waits.iter().filter(|v| v.get("ref").is_some()).count(), 8, "the others answered when it finished");
    let subscribes = of("subscribe");
    assert_eq!(subscribes.len(), 9);
    let too_many = subscribes.iter().filter(|v| refused(v, "Too many build request observers.")).count();
    assert_eq!(too_many, 1, "{subscribes:#?}");
    assert_eq!(of("ping"), [json!("pong")], "the connection stays usable");
}
