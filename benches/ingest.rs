//! The event ingest API against the store it feeds: batches of 100 events (50 builds started
//! and finished) recorded durably in SQLite, once posted to `POST /api/v1/events` over
//! loopback TCP (JSON, token check, receipts) and once handed to the hub in-process
//! (`StatusSink::record_all`). The issue asks the API for at least a quarter of the direct
//! rate; criterion reports both in events per second. The in-process one runs again on
//! PostgreSQL (`[store] url`; a server of the bench's own, started with `initdb` as the tests
//! do, PostgreSQL's default durable settings), back to back with SQLite's.
//!
//! `cargo bench --bench ingest`

// The tests' PostgreSQL helper, one helper for both (the bench uses a server of its own).
#[allow(dead_code)]
#[path = "../tests/it/common/postgres.rs"]
mod postgres;

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use buildstatus::app::{IngestConfig, Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::ingest::Tokens;
use buildstatus::domain::model::Builder;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const TOKEN: &str = "bench-token-0123456789abcdef";
const BUILDS: u32 = 50;

/// The events of builds `first..first + BUILDS` on `builder`, as JSON with ids.
fn batch(builder: &str, first: u32) -> Value {
    let mut events = Vec::new();
    for n in first..first + BUILDS {
        events.push(json!({"event_id": format!("{builder}-{n}-s"), "type": "build_started",
            "build": {"builder": builder, "number": n, "started": "2026-03-01T10:00:00Z", "worker": "w1"}}));
        events.push(json!({"event_id": format!("{builder}-{n}-f"), "type": "build_finished", "builder": builder,
            "number": n, "result": "success", "at": "2026-03-01T10:05:00Z"}));
    }
    Value::Array(events)
}

async fn server(dir: &Path) -> StatusServer {
    server_on(dir, None).await
}

/// A server on the data directory `dir`, its history in `store_url`'s database when given.
async fn server_on(dir: &Path, store_url: Option<String>) -> StatusServer {
    let _ = std::fs::remove_dir_all(dir);
    let ingest =
        IngestConfig { tokens: Tokens::new(vec![TOKEN.to_owned()]), create_builders: false, max_body: 1 << 24 };
    let storage = Storage::Directory(dir.to_path_buf());
    let setup = Setup { storage, store_url, ingest: Some(ingest), ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    let builder = Builder { name: "bench".to_owned(), ..Builder::default() };
    server.sink().record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    server
}

/// Times `record_all` of a batch on `server`'s sink; the events are made outside the
/// measurement: what is timed is recording them.
fn record_in_process(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    server: &StatusServer,
) {
    let next = AtomicU32::new(1);
    group.bench_function(name, |b| {
        b.to_async(runtime).iter_batched(
            || {
                let first = next.fetch_add(BUILDS, Ordering::Relaxed);
                let posted = buildstatus::domain::ingest::parse(batch("bench", first).to_string().as_bytes());
                posted.expect("events").into_iter().map(|p| p.event).collect::<Vec<_>>()
            },
            |events| {
                let sink = server.sink();
                async move { sink.record_all(events).await.expect("recorded") }
            },
            BatchSize::SmallInput,
        )
    });
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join("ingest");
    let mut group = c.benchmark_group("ingest_100_events");
    group.throughput(Throughput::Elements(u64::from(BUILDS) * 2));

    let direct = runtime.block_on(server(&root.join("direct")));
    record_in_process(&mut group, &runtime, "record_all_in_process", &direct);
    let pg = postgres::Postgres::start();
    pg.psql("postgres", "CREATE DATABASE bench");
    let on_pg = runtime.block_on(server_on(&root.join("postgres"), Some(pg.url("postgresql", "bench"))));
    record_in_process(&mut group, &runtime, "record_all_in_process_postgresql", &on_pg);

    let posted = runtime.block_on(server(&root.join("http")));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a port");
    let url = format!("http://{}/api/v1/events", listener.local_addr().expect("address"));
    let router = posted.router();
    // Served as the binary serves (TCP_NODELAY and all).
    let listeners = vec![buildstatus::adapters::http::listen::Bound::Tcp(listener)];
    let limits = buildstatus::adapters::http::limits::Limits::default();
    runtime.spawn(buildstatus::adapters::http::serve::serve_all(listeners, router, limits, std::future::pending()));
    let http = reqwest::Client::new();
    let next = AtomicU32::new(1);
    group.bench_function("post_api_v1_events", |b| {
        b.to_async(&runtime).iter_batched(
            || batch("bench", next.fetch_add(BUILDS, Ordering::Relaxed)).to_string(),
            |body| {
                let request = http.post(&url).bearer_auth(TOKEN).header("Content-Type", "application/json").body(body);
                async move {
                    let answer = request.send().await.expect("answer");
                    assert_eq!(answer.status().as_u16(), 200);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
