//! Live pages in a real browser: Chromium, driven through chromedriver (WebDriver), keeps a
//! waterfall open while builds finish. The page must change without a reload, and after its
//! connection is cut (by a proxy between browser and server) the events of the gap must reach
//! it, each exactly once. Chromium and chromedriver are required peers (`.ci/run` installs
//! them); a missing one fails the test.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{at, record_fixture, whole_build};
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::StatusSink;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A TCP proxy that can cut every connection and refuse new ones for a while.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (gate, list) = (open.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate.load(Ordering::SeqCst) {
                    continue; // dropped: the browser sees the connection fail
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                list.lock().expect("links").push(link.abort_handle());
            }
        });
        Self { addr, open, links }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Self {
        let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is installed (apt-get install chromium-driver); .ci/run installs it");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        let session = reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {reply}")).to_owned();
        Self { child, base, http, session, _profile: profile }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let reply: Value = self.http.post(url).json(&body).send().await.expect("WebDriver").json().await.expect("json");
        reply["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    async fn eval(&self, script: &str) -> Value {
        self.command("execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Evaluates `script` until `done` says yes; fails with `what` after 20 s.
    async fn wait_for(&self, what: &str, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await;
            if done(&value) {
                return value;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{what}: still {value}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const LAST_BUILD: &str = "var c = document.querySelector('td.LastBuild'); return c ? c.className : null;";
const LIVE: &str = "return window.buildstatusLive || null;";

/// Records `events` one by one after event `before`; returns the numbers of those a page is
/// told about: every event but log chunks, and the builder states they derive (numbered
/// right after them).
async fn record(sink: &Arc<dyn StatusSink>, mut before: u64, events: Vec<StatusEvent>) -> Vec<u64> {
    let mut told = Vec::new();
    for event in events {
        let chunk = matches!(event, StatusEvent::LogChunk { .. });
        let seq = sink.record(event).await.expect("recorded");
        if !chunk {
            told.extend(before + 1..=seq);
        }
        before = seq;
    }
    told
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_waterfall_follows_builds_and_catches_up_after_a_lost_connection() {
    let server =
        StatusServer::start_with_clock(Setup::default(), Arc::new(MemoryClock::new(at(45)))).await.expect("server");
    let sink = server.sink();
    record_fixture(&sink).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream = listener.local_addr().expect("address");
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let proxy = Proxy::start(upstream).await;
    let driver = Driver::start().await;

    driver.open(&format!("http://{}/waterfall?builder=macos", proxy.addr)).await;
    let class = driver.eval(LAST_BUILD).await;
    assert_eq!(class, "LastBuild retry", "macos #0 was the last to finish");
    driver.wait_for("the page connects to the stream", LIVE, |v| v["connected"] == true).await;

    // macos #1 finishes with a failure: the open page shows it without being reloaded.
    let mut told = record(
        &sink,
        server.hub().last_seq(),
        vec![
            StatusEvent::StepFinished {
                builder: "macos".into(),
                number: 1,
                step: 0,
                result: BuildResult::Failure,
                text: vec!["compile".into()],
                text2: vec!["compile".into()],
                at: at(46),
            },
            StatusEvent::BuildFinished {
                builder: "macos".into(),
                number: 1,
                result: BuildResult::Failure,
                text: vec!["failed".into()],
                at: at(46),
                properties: Default::default(),
            },
        ],
    )
    .await;
    driver.eval("document.body.setAttribute('data-loaded-once', 'yes'); return null;").await;
    driver.wait_for("the finished build shows", LAST_BUILD, |v| v == "LastBuild failure").await;

    // The connection is cut; while it is down, macos #2 runs and passes with warnings.
    proxy.cut();
    driver.wait_for("the page notices the loss", LIVE, |v| v["connected"] == false).await;
    let build = whole_build("macos", 2, 47, "main", BuildResult::Warnings, Some(3));
    told.extend(record(&sink, server.hub().last_seq(), build).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.restore();

    driver.wait_for("the gap's build shows", LAST_BUILD, |v| v == "LastBuild warnings").await;
    let last = *told.last().expect("events");
    let live = driver.wait_for("every event arrived", LIVE, |v| v["lastEventId"].as_u64() == Some(last)).await;
    let seqs: Vec<u64> = live["seqs"].as_array().expect("seqs").iter().filter_map(Value::as_u64).collect();
    assert_eq!(seqs, told, "each event of the page's time, the gap's included, exactly once and in order");
    assert!(live["opens"].as_u64() >= Some(2), "the stream was opened again: {live}");
    let same_document = driver.eval("return document.body.getAttribute('data-loaded-once');").await;
    assert_eq!(same_document, "yes", "the page was updated in place, not reloaded");
}
