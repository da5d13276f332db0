//! Live pages in a real browser: Chromium, driven through chromedriver (WebDriver), keeps a
//! waterfall open while builds finish. The page must change without a reload, and after its
//! connection is cut (by a proxy between browser and server) the events of the gap must reach
//! it, each exactly once. Chromium and chromedriver are required peers (`.ci/run` installs
//! them); a missing one fails the test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::webdriver::Driver;
use crate::common::{at, record_fixture, whole_build};
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::StatusSink;
use serde_json::Value;
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
