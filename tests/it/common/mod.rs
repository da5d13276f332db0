//! Shared fixtures of the integration tests: a small, fixed CI history with hostile text in
//! it, recorded through the public `StatusSink`, and helpers to start the real binary.

pub mod buildbot;
pub mod buildbot_rest;
pub mod data_dir;
pub mod logs;
pub mod postgres;
pub mod push_receiver;
pub mod tls;
pub mod web;
pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::{Channel, StatusEvent};
use buildstatus::domain::model::*;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::web::layout::Site;
use buildstatus::ports::StatusSink;
use tower::ServiceExt;

pub const HOSTILE: &str = "<script>alert('x')</script>";

pub fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000 + minute * 60, 0).expect("a valid time")
}

fn prop(v: &str, source: &str) -> Property {
    Property { value: serde_json::Value::String(v.into()), source: source.into() }
}

fn build(builder: &str, number: u32, minute: i64, branch: &str, change: Option<u64>) -> Build {
    let mut properties = Properties::new();
    properties.insert("got_revision".into(), prop(&format!("{:040x}", 0xabc0 + u64::from(number)), "Git"));
    properties
        .insert("owners".into(), Property { value: serde_json::json!(["ann@example.org"]), source: "Build".into() });
    Build {
        builder: builder.into(),
        number,
        reason: "The SingleBranchScheduler scheduler named 'all' triggered this build".into(),
        properties,
        sourcestamps: vec![SourceStamp {
            repository: "https://git.example.org/widget.git".into(),
            branch: Some(branch.into()),
            changes: change.into_iter().collect(),
            ..SourceStamp::default()
        }],
        blamelist: vec!["Ann Lee <ann@example.org>".into()],
        worker: "w1".into(),
        started: at(minute),
        finished: None,
        result: None,
        text: vec![],
        steps: vec![],
        eta: Some(at(minute + 10)),
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

/// Events of one build with a compile and a test step, each with a log.
pub fn whole_build(
    builder: &str,
    number: u32,
    minute: i64,
    branch: &str,
    result: BuildResult,
    change: Option<u64>,
) -> Vec<StatusEvent> {
    let b = || builder.to_string();
    let mut events =
        vec![StatusEvent::BuildStarted { build: build(builder, number, minute, branch, change), requests: vec![] }];
    for (s, name) in ["compile", "test"].iter().enumerate() {
        let s = s as u32;
        let step = Step {
            number: s,
            name: (*name).into(),
            text: vec![(*name).into()],
            started: Some(at(minute + i64::from(s))),
            ..Step::default()
        };
        events.push(StatusEvent::StepStarted { builder: b(), number, step });
        events.push(StatusEvent::LogStarted {
            builder: b(),
            number,
            step: s,
            log: "stdio".into(),
            kind: LogKind::Text,
        });
        for (channel, text) in [
            (Channel::Header, "make all\n"),
            (Channel::Stdout, "cc -c main.c\n\x1b[32mok\x1b[0m\n"),
            (Channel::Stderr, "warning: <b>unused</b>\n"),
        ] {
            events.push(StatusEvent::LogChunk {
                builder: b(),
                number,
                step: s,
                log: "stdio".into(),
                channel,
                text: text.into(),
            });
        }
        events.push(StatusEvent::LogFinished { builder: b(), number, step: s, log: "stdio".into() });
        let step_result = if s == 1 { result } else { BuildResult::Success };
        events.push(StatusEvent::StepFinished {
            builder: b(),
            number,
            step: s,
            result: step_result,
            text: vec![(*name).into()],
            text2: if step_result == BuildResult::Success { vec![] } else { vec![(*name).into()] },
            at: at(minute + i64::from(s) + 1),
        });
    }
    let text =
        if result == BuildResult::Success { vec!["build".into(), "successful".into()] } else { vec!["failed".into()] };
    let properties = Properties::new();
    events.push(StatusEvent::BuildFinished { builder: b(), number, result, text, at: at(minute + 3), properties });
    events
}

/// Records a small CI system: 3 builders (one with a hostile name), 2 workers (one offline),
/// changes (one with a hostile message), finished builds of every result, a running build
/// with a growing log, and a pending request.
pub async fn record_fixture(sink: &Arc<dyn StatusSink>) {
    let builders = [("linux", "unix"), ("macos", "unix"), (HOSTILE, "odd")];
    let mut events = vec![StatusEvent::MasterStarted { at: at(0) }];
    for (name, tag) in builders {
        let workers = vec!["w1".into(), "w2".into()];
        events.push(StatusEvent::BuilderAdded {
            builder: Builder {
                name: name.into(),
                description: Some(format!("{name} builds")),
                tags: vec![tag.into()],
                workers,
            },
        });
    }
    let worker = |name: &str| Worker {
        name: name.into(),
        admin: Some("Ops <ops@example.org>".into()),
        host: Some("debian".into()),
        version: Some("0.8.12".into()),
        ..Worker::default()
    };
    events.push(StatusEvent::WorkerConnected { worker: worker("w1"), at: at(0) });
    events.push(StatusEvent::WorkerConnected { worker: worker("w2"), at: at(0) });
    events.push(StatusEvent::WorkerDisconnected { name: "w2".into(), at: at(1) });
    for (n, comments, branch) in [(1, "Fix the parser", "main"), (2, HOSTILE, "main"), (3, "Release prep", "release")] {
        events.push(StatusEvent::ChangeAdded {
            change: Change {
                number: n,
                who: "Ann Lee <ann@example.org>".into(),
                files: vec!["src/main.c".into()],
                comments: comments.into(),
                revision: Some(format!("{:040x}", 0xc0de + n)),
                when: at(n as i64),
                branch: Some(branch.into()),
                repository: "https://git.example.org/widget.git".into(),
                project: "widget".into(),
                ..Change::default()
            },
        });
    }
    sink.record_all(events).await.expect("fixture setup is valid");
    let results = [
        BuildResult::Success,
        BuildResult::Failure,
        BuildResult::Warnings,
        BuildResult::Exception,
        BuildResult::Success,
    ];
    for (i, result) in results.iter().enumerate() {
        let i = i as u32;
        sink.record_all(whole_build("linux", i, 10 + 5 * i64::from(i), "main", *result, Some(1 + u64::from(i % 3))))
            .await
            .expect("build");
    }
    sink.record_all(whole_build("macos", 0, 12, "release", BuildResult::Retry, Some(3))).await.expect("build");
    sink.record_all(whole_build(HOSTILE, 0, 14, "main", BuildResult::Cancelled, Some(2))).await.expect("build");
    // A running build with a step whose log is still growing.
    let mut running = whole_build("macos", 1, 40, "main", BuildResult::Success, Some(1));
    running.truncate(4);
    sink.record_all(running).await.expect("running build");
    let request = BuildRequest {
        id: 77,
        buildset_id: None,
        builder: "linux".into(),
        submitted_at: at(41),
        reason: "forced".into(),
        properties: [("owner".to_string(), prop("bob@example.org", "Force Build Form"))].into_iter().collect(),
        sourcestamps: vec![],
    };
    sink.record(StatusEvent::BuildRequestSubmitted { request }).await.expect("request");
}

/// A `buildstatus` process started by a test; killed when dropped.
pub struct Binary {
    pub child: Child,
    /// The first place it serves, without the trailing slash (`http://127.0.0.1:PORT`).
    pub base: String,
    /// Every place it serves, as it printed them (`http://…/`, `https://…/`, `unix:PATH`).
    pub places: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `buildstatus ARGS --listen 127.0.0.1:0 --data-dir TMP/data` and waits for it to serve.
pub fn start_binary(args: &[&str]) -> Binary {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    start_in(args, &["127.0.0.1:0"], dir, &data)
}

/// Like [`start_binary`], on an existing data directory.
pub fn start_binary_with_data(args: &[&str], data: &std::path::Path) -> Binary {
    start_in(args, &["127.0.0.1:0"], tempfile::tempdir().expect("a temp dir"), data)
}

/// Like [`start_binary`], listening where `listen` says (each a `--listen` form), in `dir`.
pub fn start_binary_listening(args: &[&str], listen: &[&str], dir: tempfile::TempDir) -> Binary {
    let data = dir.path().join("data");
    start_in(args, listen, dir, &data)
}

/// Like [`start_binary`] in `dir`, logging everything (`RUST_LOG=debug`) into `DIR/stderr.log`.
pub fn start_binary_logged(args: &[&str], dir: tempfile::TempDir) -> Binary {
    let data = dir.path().join("data");
    let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
    start_with(args, &["127.0.0.1:0"], dir, &data, Some(log))
}

/// Like [`start_binary_with_data`], logging everything (`RUST_LOG=debug`) into `log`.
pub fn start_binary_with_data_logged(args: &[&str], data: &std::path::Path, log: std::fs::File) -> Binary {
    start_with(args, &["127.0.0.1:0"], tempfile::tempdir().expect("a temp dir"), data, Some(log))
}

fn start_in(args: &[&str], listen: &[&str], dir: tempfile::TempDir, data: &std::path::Path) -> Binary {
    start_with(args, listen, dir, data, None)
}

/// Starts the binary; with `log`, its stderr goes there, at the debug level.
fn start_with(
    args: &[&str],
    listen: &[&str],
    dir: tempfile::TempDir,
    data: &std::path::Path,
    log: Option<std::fs::File>,
) -> Binary {
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildstatus"));
    let stderr = match log {
        Some(file) => {
            command.env("RUST_LOG", "debug");
            Stdio::from(file)
        }
        None => Stdio::inherit(),
    };
    let mut child = command
        .args(args)
        .args(listen.iter().flat_map(|l| ["--listen", l]))
        .arg("--data-dir")
        .arg(data)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let places: Vec<String> = loop {
        let line = lines.next().expect("the binary prints its address").expect("readable stdout");
        if let Some(rest) = line.split("serving ").nth(1) {
            let listed = rest.split(" (data in ").next().unwrap_or_default();
            break listed.split(" and ").map(str::to_owned).collect();
        }
    };
    let base = places[0].trim_end_matches('/').to_owned();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Binary { child, base, places, dir }
}

/// A server in memory with the fixture recorded, its clock standing at minute 45.
pub async fn fixture_server_with(site: Site) -> StatusServer {
    fixture_server_setup(Setup { site, ..Setup::default() }).await
}

/// [`fixture_server_with`] any setup.
pub async fn fixture_server_setup(setup: Setup) -> StatusServer {
    let clock = Arc::new(MemoryClock::new(at(45)));
    let server = StatusServer::start_with_clock(setup, clock).await.expect("server starts");
    record_fixture(&server.sink()).await;
    server
}

/// [`fixture_server_with`] the default site.
pub async fn fixture_server() -> StatusServer {
    fixture_server_with(Site::default()).await
}

/// Asks the router: status, body as text, headers.
pub async fn request(server: &StatusServer, method: Method, uri: &str) -> (StatusCode, String, HeaderMap) {
    let req = Request::builder().method(method).uri(uri).body(Body::empty()).expect("a request");
    let response = server.router().oneshot(req).await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

/// GETs `uri` through the router.
pub async fn get(server: &StatusServer, uri: &str) -> (StatusCode, String, HeaderMap) {
    request(server, Method::GET, uri).await
}

/// Compares `body` with `snapshots/NAME.snap` (the path is relative to this file).
pub fn snapshot(name: &str, body: &str) {
    insta::with_settings!({ snapshot_path => "../../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, body);
    });
}
