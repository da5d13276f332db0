//! GitHubStatus throughput (issue 17): a burst of 1,000 finished builds, from the moment they
//! are recorded until a loopback stand-in for api.github.com has taken every final status,
//! against raw reqwest posting the same 1,000 requests with the same concurrency (target: at
//! least half its rate). The stand-in answers each request after `LATENCY` (a network's
//! round trip) and counts the requests in flight, which must never exceed the target's
//! configured concurrency. The builds' `pending` statuses are delivered before the burst: the
//! burst is their final statuses only. SQLite outbox, as in production.
//!
//! `cargo bench --bench github`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use buildstatus::adapters::github::GitHubSettings;
use buildstatus::app::notify::{GitHubApiChoice, GitHubTarget, Notifiers, Overrides, Target, WorkerOptions};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, Property, SourceStamp};
use buildstatus::domain::notify::github::GitHubRules;
use buildstatus::domain::notify::interpolate::Interpolate;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::secret::Secret;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;

const BURST: u32 = 1_000;
const CONCURRENCY: usize = 8;
const LATENCY: Duration = Duration::from_millis(5);

/// What the stand-in has seen.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

/// The stand-in for api.github.com on a free loopback port: 201 for every status, after
/// `LATENCY`.
async fn fake_github(seen: Arc<Seen>) -> String {
    let handler = move || {
        let seen = seen.clone();
        async move {
            let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(LATENCY).await;
            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
            seen.requests.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::CREATED, r#"{"id":1,"state":"success"}"#)
        }
    };
    let app = Router::new().route("/repos/{owner}/{repo}/statuses/{sha}", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    url
}

fn sha(n: u32) -> String {
    format!("{n:040x}")
}

fn build(n: u32) -> Build {
    let prop = |v: &str| Property { value: serde_json::Value::String(v.into()), source: "bench".into() };
    Build {
        builder: format!("builder-{}", n % 10),
        number: n / 10,
        reason: "bench".into(),
        properties: [("owner".to_owned(), prop("buildbot")), ("repo".to_owned(), prop("bbtools"))].into(),
        sourcestamps: vec![SourceStamp { revision: Some(sha(n)), ..SourceStamp::default() }],
        blamelist: Vec::new(),
        worker: "w1".into(),
        started: chrono::DateTime::from_timestamp(1_700_000_000 + i64::from(n), 0).unwrap_or_default(),
        text: Vec::new(),
        steps: Vec::new(),
        ..Build::default()
    }
}

/// Raw reqwest: the same 1,000 requests, `CONCURRENCY` at a time.
async fn raw_reqwest(url: &str) -> Duration {
    let http = reqwest::Client::builder().user_agent("bench").build().expect("client");
    let start = Instant::now();
    futures_util::stream::iter(0..BURST)
        .for_each_concurrent(CONCURRENCY, |n| {
            let http = &http;
            async move {
                let body = serde_json::json!({"state": "success", "description": "Build done.",
                    "context": format!("buildbot/builder-{}", n % 10), "target_url": "http://localhost:8010/"});
                let answer = http
                    .post(format!("{url}repos/buildbot/bbtools/statuses/{}", sha(n)))
                    .header("authorization", "token bench")
                    .json(&body)
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(answer.status(), 201);
            }
        })
        .await;
    start.elapsed()
}

/// buildstatus: 1,000 builds finish; each final status is decided, queued in SQLite and
/// delivered by the GitHub target.
async fn through_buildstatus(url: &str, seen: &Seen) -> Duration {
    let data = tempfile::tempdir().expect("tempdir");
    let template = |t: &str| Interpolate::parse(t).expect("template");
    let rules = GitHubRules::new("bench", template("%(prop:owner)s"), template("%(prop:repo)s"));
    let mut settings = GitHubSettings::new(Secret::new("bench"));
    settings.base_url = url.to_owned();
    let target = GitHubTarget {
        rules,
        api: GitHubApiChoice::Http(settings),
        concurrency: CONCURRENCY,
        delivery: Overrides::default(),
    };
    let notifiers = Notifiers { targets: vec![Arc::new(target) as Arc<dyn Target>], worker: WorkerOptions::default() };
    let setup = Setup { storage: Storage::Directory(data.path().into()), notifiers, ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    let sink = server.sink();
    for b in 0..10 {
        let builder = Builder { name: format!("builder-{b}"), workers: vec!["w1".into()], ..Builder::default() };
        sink.record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    }
    let started: Vec<StatusEvent> =
        (0..BURST).map(|n| StatusEvent::BuildStarted { build: build(n), requests: vec![] }).collect();
    sink.record_all(started).await.expect("started");
    let until = |n: usize| async move {
        while seen.requests.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let before = seen.requests.load(Ordering::SeqCst);
    until(before + BURST as usize).await;
    let start = Instant::now();
    let finished: Vec<StatusEvent> = (0..BURST)
        .map(|n| StatusEvent::BuildFinished {
            builder: format!("builder-{}", n % 10),
            number: n / 10,
            result: BuildResult::Success,
            text: vec!["build".into(), "successful".into()],
            at: chrono::DateTime::from_timestamp(1_700_000_100 + i64::from(n), 0).unwrap_or_default(),
            properties: Default::default(),
        })
        .collect();
    for chunk in finished.chunks(100) {
        sink.record_all(chunk.to_vec()).await.expect("finished");
    }
    until(before + 2 * BURST as usize).await;
    let elapsed = start.elapsed();
    server.stop_notifiers().await;
    elapsed
}

fn burst(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let seen = Arc::new(Seen::default());
    let url = runtime.block_on(fake_github(seen.clone()));
    let mut group = c.benchmark_group("github_burst");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(u64::from(BURST)));
    group.bench_function("raw_reqwest", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| runtime.block_on(raw_reqwest(&url))).sum())
    });
    group.bench_function("buildstatus", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| runtime.block_on(through_buildstatus(&url, &seen))).sum())
    });
    group.finish();
    let most = seen.most.load(Ordering::SeqCst);
    eprintln!("most requests in flight at once: {most} (configured concurrency {CONCURRENCY})");
    assert!(most <= CONCURRENCY, "more than the configured concurrency in flight: {most}");
}

criterion_group!(benches, burst);
criterion_main!(benches);
