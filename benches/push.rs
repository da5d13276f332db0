//! HttpStatusPush performance (issue 16), against a receiver that answers at once (an axum
//! server on loopback, on a thread and runtime of its own as another program would be, that
//! decodes each `packets=` body as a receiver would and remembers the last packet id):
//!
//! - `push_burst/http_push`: 500 builds recorded at once (about 2,000 packets), timed from
//!   the record until the receiver has the last packet: packets per second leaving one target,
//!   batched (target: at least 20,000/s);
//! - `hub_ingest_100_events/*`: the ingest bench's batch (50 builds started and finished,
//!   recorded in SQLite through `StatusSink::record_all`) without a target, and with an
//!   HttpStatusPush target following it, back to back; `with_http_push_drained` also waits
//!   until the target has delivered every packet of the batches it timed (target: the push
//!   target costs the hub less than 10 % of its ingest rate).
//!
//! `cargo bench --bench push`

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use buildstatus::app::{Config, Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, Worker};
use buildstatus::domain::result::BuildResult;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BURST_BUILDS: u32 = 500;
const INGEST_BUILDS: u32 = 50;

fn at(second: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000 + second, 0).unwrap_or_default()
}

/// Builds `first..first + count` of `bench`, started and finished.
fn builds(first: u32, count: u32) -> Vec<StatusEvent> {
    let mut events = Vec::new();
    for number in first..first + count {
        let build = Build {
            builder: "bench".into(),
            number,
            worker: "w1".into(),
            reason: "The SingleBranchScheduler scheduler named 'all' triggered this build".into(),
            blamelist: vec!["Ann <ann@example.org>".into()],
            started: at(i64::from(number)),
            ..Build::default()
        };
        events.push(StatusEvent::BuildStarted { build, requests: vec![] });
        events.push(StatusEvent::BuildFinished {
            builder: "bench".into(),
            number,
            result: BuildResult::Success,
            text: vec!["build".into(), "successful".into()],
            at: at(i64::from(number) + 60),
            properties: Default::default(),
        });
    }
    events
}

/// The last packet id the receiver got.
#[derive(Clone, Default)]
struct Received(Arc<AtomicU64>);

/// Decodes the form body and its JSON as a receiver does, and keeps the last id.
async fn receive(State(received): State<Received>, body: String) -> &'static str {
    let field = body.split('&').find_map(|f| f.strip_prefix("packets=")).unwrap_or("[]").replace('+', " ");
    let json = percent_encoding::percent_decode_str(&field).decode_utf8_lossy().into_owned();
    let packets: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON list of packets");
    if let Some(id) = packets.last().and_then(|p| p["id"].as_u64()) {
        received.0.fetch_max(id, Ordering::Relaxed);
    }
    "ok"
}

/// The receiver, on a thread of its own as another program would be (it shares the machine's
/// cores, not the hub's runtime: its decoding does not hold up the hub's tasks).
fn receiver() -> (String, Received) {
    let received = Received::default();
    let router = Router::new().route("/push", post(receive)).with_state(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}/push", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, router).await
        })
    });
    (url, received)
}

/// A server on `dir` with a builder `bench` and its worker, pushing to `url` if given.
async fn server(dir: &Path, url: Option<&str>) -> StatusServer {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("dir");
    let toml = url.map(|u| format!("[[http_push]]\nserverUrl = \"{u}\"\nbufferDelay = 0\n")).unwrap_or_default();
    let mut setup: Setup = Config::parse(&toml, dir).expect("configuration").server;
    setup.storage = Storage::Directory(dir.join("data"));
    let server = StatusServer::start(setup).await.expect("server");
    let builder = Builder { name: "bench".into(), workers: vec!["w1".into()], ..Builder::default() };
    let worker = Worker { name: "w1".into(), ..Worker::default() };
    let events = vec![StatusEvent::BuilderAdded { builder }, StatusEvent::WorkerConnected { worker, at: at(0) }];
    server.sink().record_all(events).await.expect("builder");
    server
}

/// Waits until the receiver's last id has stopped moving; that id.
async fn settled(received: &Received) -> u64 {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = received.0.load(Ordering::Relaxed);
        if now == last {
            return now;
        }
        last = now;
    }
}

async fn until(received: &Received, id: u64) {
    let start = Instant::now();
    while received.0.load(Ordering::Relaxed) < id {
        assert!(start.elapsed() < Duration::from_secs(300), "packet {id} never came");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Records one build and counts the packets it makes.
async fn packets_per_build(server: &StatusServer, received: &Received, number: u32) -> u64 {
    let before = settled(received).await;
    server.sink().record_all(builds(number, 1)).await.expect("build");
    settled(received).await - before
}

fn push(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join("push");

    let (url, received) = receiver();
    let burst = runtime.block_on(server(&root.join("burst"), Some(&url)));
    let per_build = runtime.block_on(packets_per_build(&burst, &received, 0));
    assert!(per_build >= 2, "{per_build} packets a build");
    let next = AtomicU32::new(1);
    let mut group = c.benchmark_group("push_burst");
    group.sample_size(10).throughput(Throughput::Elements(per_build * u64::from(BURST_BUILDS)));
    group.bench_function("http_push", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            let (server, received, next) = (&burst, &received, &next);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let first = next.fetch_add(BURST_BUILDS, Ordering::Relaxed);
                    let events = builds(first, BURST_BUILDS);
                    let expected = received.0.load(Ordering::Relaxed) + per_build * u64::from(BURST_BUILDS);
                    let start = Instant::now();
                    server.sink().record_all(events).await.expect("recorded");
                    until(received, expected).await;
                    total += start.elapsed();
                }
                total
            }
        })
    });
    group.finish();
    drop(burst);

    let mut group = c.benchmark_group("hub_ingest_100_events");
    // Each sample waits for the target to settle first (outside the timing): fewer of them.
    group.sample_size(20).throughput(Throughput::Elements(u64::from(INGEST_BUILDS) * 2));
    let plain = runtime.block_on(server(&root.join("plain"), None));
    let next = AtomicU32::new(1);
    group.bench_function("without_target", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            let (plain, next) = (&plain, &next);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let events = builds(next.fetch_add(INGEST_BUILDS, Ordering::Relaxed), INGEST_BUILDS);
                    let start = Instant::now();
                    plain.sink().record_all(events).await.expect("recorded");
                    total += start.elapsed();
                }
                total
            }
        })
    });
    drop(plain);

    let (url, received) = receiver();
    let pushing = runtime.block_on(server(&root.join("pushing"), Some(&url)));
    let per_build = runtime.block_on(packets_per_build(&pushing, &received, 0));
    let next = AtomicU32::new(1);
    for drained in [false, true] {
        let name = if drained { "with_http_push_drained" } else { "with_http_push" };
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let (pushing, received, next) = (&pushing, &received, &next);
                async move {
                    let expected = received.0.load(Ordering::Relaxed);
                    let expected = expected.max(settled(received).await);
                    let mut total = Duration::ZERO;
                    for i in 0..iterations {
                        let events = builds(next.fetch_add(INGEST_BUILDS, Ordering::Relaxed), INGEST_BUILDS);
                        let start = Instant::now();
                        pushing.sink().record_all(events).await.expect("recorded");
                        if drained {
                            until(received, expected + per_build * u64::from(INGEST_BUILDS) * (i + 1)).await;
                        }
                        total += start.elapsed();
                    }
                    total
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
