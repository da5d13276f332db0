//! Shared by the benchmarks: stores with a given number of builds, made once under
//! `target/bench-data/`, and a way to fetch a page through the router.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::app::{Setup, StatusServer, Storage};

use buildstatus::domain::model::{Build, Builder, Change, SourceStamp, Step, Worker};
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::state::Mutation;
use buildstatus::ports::{Commit, StatusStore};
use tower::ServiceExt;

const BUILDERS: usize = 20;

/// History sizes to measure: `BUILDSTATUS_BENCH_SIZES` (comma-separated), else 1,000 and 1,000,000.
pub fn sizes() -> Vec<usize> {
    sizes_from("BUILDSTATUS_BENCH_SIZES", &[1_000, 1_000_000])
}

/// History sizes from the variable `var` (comma-separated), else `default`.
pub fn sizes_from(var: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(var)
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn at(minute: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_600_000_000 + minute * 60, 0).unwrap_or_default()
}

/// The change that round `number` of every builder builds.
fn change(number: u32, minute: i64) -> Change {
    Change {
        number: u64::from(number) + 1,
        who: ["Ann <ann@example.org>", "Bob <bob@example.org>", "Cy <cy@example.org>"][number as usize % 3].into(),
        files: vec!["src/main.c".into()],
        comments: format!("Change {number}"),
        revision: Some(format!("{number:040x}")),
        when: at(minute),
        branch: Some("main".into()),
        ..Change::default()
    }
}

fn build(builder: &str, number: u32, minute: i64) -> Build {
    let result = BuildResult::ALL[(number as usize * 7 + builder.len()) % 7];
    let steps = (0..5)
        .map(|s| Step {
            number: s,
            name: ["git", "compile", "test", "lint", "package"][s as usize].into(),
            text: vec!["done".into()],
            result: Some(BuildResult::Success),
            started: Some(at(minute)),
            finished: Some(at(minute + 1)),
            ..Step::default()
        })
        .collect();
    Build {
        builder: builder.into(),
        number,
        reason: "scheduler".into(),
        properties: Default::default(),
        sourcestamps: vec![SourceStamp {
            branch: Some("main".into()),
            revision: Some(format!("{number:040x}")),
            changes: vec![u64::from(number) + 1],
            ..SourceStamp::default()
        }],
        blamelist: vec!["Ann <ann@example.org>".into()],
        worker: "w1".into(),
        started: at(minute),
        finished: Some(at(minute + 5)),
        result: Some(result),
        text: vec!["build".into()],
        steps,
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

/// A data directory holding `builds` builds over 20 builders, made once.
pub async fn history(builds: usize) -> PathBuf {
    history_of(BUILDERS, builds).await
}

/// A data directory holding `builds` builds over `builders` builders, made once. Round `n`
/// of every builder builds change `n + 1`, so the console and grid have revisions to show.
pub async fn history_of(builders: usize, builds: usize) -> PathBuf {
    let name = format!("builders-{builders}-builds-{builds}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(name);
    let done = dir.join("complete");
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let store = SqliteStore::open(&dir.join("buildstatus.sqlite")).await.expect("store");
    let mut setup = vec![Mutation::PutWorker(Worker { name: "w1".into(), connected: true, ..Worker::default() })];
    for b in 0..builders {
        setup.push(Mutation::PutBuilder(Builder {
            name: format!("builder-{b}"),
            workers: vec!["w1".into()],
            ..Builder::default()
        }));
    }
    store.commit(&Commit { mutations: setup, next_log_id: 1, ..Commit::default() }).await.expect("commit");
    let per_builder = builds / builders;
    let mut batch = Vec::new();
    for n in 0..per_builder {
        batch.push(Mutation::PutChange(change(n as u32, (n * builders) as i64)));
        for b in 0..builders {
            batch.push(Mutation::PutBuild(build(&format!("builder-{b}"), n as u32, (n * builders + b) as i64)));
        }
        if batch.len() >= 20_000 || n + 1 == per_builder {
            let commit = Commit { mutations: std::mem::take(&mut batch), next_log_id: 1, ..Commit::default() };
            store.commit(&commit).await.expect("commit");
        }
    }
    std::fs::write(done, "").expect("marker");
    dir
}

/// Finished builds per builder kept in memory by the benchmarks' servers: small, so that
/// builds 0..`WINDOW` are read from the store whatever the history size.
pub const WINDOW: usize = 10;

/// A server on `dir`, as it answers right after start (its windows still filling).
pub async fn start(dir: PathBuf) -> StatusServer {
    let setup = Setup { storage: Storage::Directory(dir), window: WINDOW, ..Setup::default() };
    StatusServer::start(setup).await.expect("server")
}

/// A server on `dir` whose windows have filled, as pages meet it after its first moments.
pub async fn server(dir: PathBuf) -> StatusServer {
    let server = start(dir).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server
}

/// A server on `dir` with the default window (what `buildstatus serve` runs with), once every
/// builder's window has filled.
pub async fn default_server(dir: PathBuf) -> StatusServer {
    let setup = Setup { storage: Storage::Directory(dir), ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    // Filling is a background task (200 builders take a moment); give it time to finish.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    server
}

/// A server on `dir` with the default window, once every builder's window has filled (as
/// [`default_server`], but waiting for the hub to say so: 1,000 builders take a while).
pub async fn filled_server(dir: PathBuf) -> StatusServer {
    let setup = Setup { storage: Storage::Directory(dir), ..Setup::default() };
    let started = std::time::Instant::now();
    let server = StatusServer::start(setup).await.expect("server");
    while !server.hub().windows_loaded() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eprintln!("windows filled {:.1?} after start", started.elapsed());
    server
}

pub async fn fetch(server: &StatusServer, uri: &str) -> usize {
    let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
    let response = server.router().oneshot(req).await.expect("response");
    assert!(response.status().is_success(), "{uri}: {}", response.status());
    to_bytes(response.into_body(), usize::MAX).await.expect("body").len()
}

/// Serves `server` over TCP on a free loopback port, as the binary does, until the process
/// ends; its address.
pub async fn serve_tcp(server: StatusServer) -> std::net::SocketAddr {
    let server = std::sync::Arc::new(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    address
}

/// A runtime of two async threads, as the server has on this project's 2-core machines.
pub fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// The p50 and p99 of a page's requests with nobody else about, and while a load ran.
pub struct UnderLoad {
    pub idle: (std::time::Duration, std::time::Duration),
    pub loaded: (std::time::Duration, std::time::Duration),
}

impl UnderLoad {
    /// `idle p50 … p99 …; during LOAD p50 … p99 …: p99 N× idle`.
    pub fn summary(&self, load: &str) -> String {
        let ((idle_p50, idle_p99), (load_p50, load_p99)) = (self.idle, self.loaded);
        format!(
            "idle p50 {idle_p50:.2?} p99 {idle_p99:.2?}; during {load} p50 {load_p50:.2?} p99 {load_p99:.2?}: \
             p99 {:.2}× idle",
            load_p99.as_secs_f64() / idle_p99.as_secs_f64()
        )
    }
}

/// Times GETs of `url` in `group` as `names.0`, then starts `load` on a runtime of its own
/// (one thread, so that only the server shares the server's threads) and times them again as
/// `names.1`; the load's tasks are stopped after. Criterion's estimates are means; the p50 and
/// p99 are read from each request's time.
pub fn idle_then_loaded(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    url: &str,
    names: (&str, &str),
    load: impl FnOnce(&tokio::runtime::Runtime) -> Vec<tokio::task::JoinHandle<()>>,
) -> UnderLoad {
    let idle = std::sync::Mutex::new(Vec::new());
    group.bench_function(names.0, |b| b.to_async(runtime).iter_custom(|iters| timed_get(http, url, iters, &idle)));
    let clients = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let tasks = load(&clients);
    let loaded = std::sync::Mutex::new(Vec::new());
    group.bench_function(names.1, |b| b.to_async(runtime).iter_custom(|iters| timed_get(http, url, iters, &loaded)));
    for task in tasks {
        task.abort();
    }
    let idle = percentiles(&mut idle.lock().expect("samples"));
    let loaded = percentiles(&mut loaded.lock().expect("samples"));
    UnderLoad { idle, loaded }
}

/// The p50 and p99 of `samples`.
pub fn percentiles(samples: &mut [std::time::Duration]) -> (std::time::Duration, std::time::Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

/// Times `iters` GETs of `url` over the network, each a success, remembering each request's
/// time in `samples` (criterion's estimates are means; the p99 is read from these).
pub async fn timed_get(
    http: &reqwest::Client,
    url: &str,
    iters: u64,
    samples: &std::sync::Mutex<Vec<std::time::Duration>>,
) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    let mut times = Vec::with_capacity(iters as usize);
    for _ in 0..iters {
        let start = std::time::Instant::now();
        let response = http.get(url).send().await.expect("answer");
        assert!(response.status().is_success(), "{url}: {}", response.status());
        response.bytes().await.expect("body");
        let took = start.elapsed();
        times.push(took);
        total += took;
    }
    samples.lock().expect("samples").extend(times);
    total
}
