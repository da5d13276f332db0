//! The operator's side of a request: what `/metrics` costs to scrape (the issue asks under a
//! millisecond), and what the request log adds to `/builders` (at most 3 %): the same server
//! and history, with `http_log` on and off, through the whole router (the counting middleware
//! included either way).
//!
//! `cargo bench --bench operations`

mod support;

use std::sync::Arc;

use buildstatus::adapters::http::access_log::AccessLogSettings;
use buildstatus::app::{Setup, StatusServer, Storage};
use criterion::{Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let history = runtime.block_on(support::history(1_000));
    let logs = tempfile::tempdir().expect("tempdir");
    let start = |http_log: Option<AccessLogSettings>| {
        let setup = Setup {
            storage: Storage::Directory(history.clone()),
            window: support::WINDOW,
            http_log,
            ..Setup::default()
        };
        let server = runtime.block_on(async {
            let server = StatusServer::start(setup).await.expect("server");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            server
        });
        Arc::new(server)
    };
    let mut group = c.benchmark_group("operations");
    group.sample_size(50);

    let off = start(None);
    // Every route family counted, so the scrape renders a realistic set of series.
    runtime.block_on(async {
        for uri in ["/builders", "/builders/builder-3", "/waterfall", "/grid", "/console", "/json/builders", "/"] {
            for _ in 0..50 {
                support::fetch(&off, uri).await;
            }
        }
    });
    group.bench_function("metrics_scrape", |b| b.to_async(&runtime).iter(|| support::fetch(&off, "/metrics")));
    group.bench_function("builders/http_log_off", |b| b.to_async(&runtime).iter(|| support::fetch(&off, "/builders")));
    drop(off);

    let on = start(Some(AccessLogSettings::at(logs.path().join("http.log"))));
    group.bench_function("builders/http_log_on", |b| b.to_async(&runtime).iter(|| support::fetch(&on, "/builders")));
    group.finish();
}

criterion_group!(benches, operations);
criterion_main!(benches);
