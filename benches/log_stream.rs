//! Streaming a 1 GiB log as text (`…/logs/stdio/text`) against sending the same bytes as a
//! static file from `public_html`, both over loopback HTTP from the real server; and how much
//! the process's resident memory grows while the log streams.
//!
//! `cargo bench --bench log_stream` (`BUILDSTATUS_BENCH_LOG_MIB=64` for a quick run).

use std::path::Path;

use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::{Channel, StatusEvent};
use buildstatus::domain::model::{Build, Builder, Step};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;

fn log_mib() -> usize {
    std::env::var("BUILDSTATUS_BENCH_LOG_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024)
}

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_600_000_000, 0).unwrap_or_default()
}

/// A server whose build `big #0` has a step `test` with a log of `mib` MiB, and whose
/// public_html holds the same content as `big.log`.
async fn server_with_big_log(mib: usize) -> (StatusServer, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(format!("log-{mib}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("public_html")).expect("dirs");
    let setup = Setup {
        storage: Storage::Directory(dir.join("data")),
        public_html: Some(dir.join("public_html")),
        ..Setup::default()
    };
    let server = StatusServer::start(setup).await.expect("server");
    let sink = server.sink();
    let b = || "big".to_string();
    let build = Build { builder: b(), number: 0, worker: String::new(), started: at(), ..Build::default() };
    let step = Step { number: 0, name: "test".into(), started: Some(at()), ..Step::default() };
    let setup_events = vec![
        StatusEvent::BuilderAdded { builder: Builder { name: b(), ..Builder::default() } },
        StatusEvent::BuildStarted { build, requests: vec![] },
        StatusEvent::StepStarted { builder: b(), number: 0, step },
        StatusEvent::LogStarted { builder: b(), number: 0, step: 0, log: "stdio".into(), kind: Default::default() },
    ];
    sink.record_all(setup_events).await.expect("setup");
    let line = "test_case_with_a_long_name ... ok, 0.001 seconds, nothing to report here at all\n";
    let chunk: String = line.repeat((1 << 20) / line.len());
    let mut file = std::fs::File::create(dir.join("public_html").join("big.log")).expect("file");
    for _ in 0..mib {
        let event = StatusEvent::LogChunk {
            builder: b(),
            number: 0,
            step: 0,
            log: "stdio".into(),
            channel: Channel::Stdout,
            text: chunk.clone(),
        };
        sink.record(event).await.expect("chunk");
        std::io::Write::write_all(&mut file, chunk.as_bytes()).expect("write");
    }
    sink.record(StatusEvent::LogFinished { builder: b(), number: 0, step: 0, log: "stdio".into() })
        .await
        .expect("finish");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = server.router();
    // Served as the binary serves (TCP_NODELAY and all).
    let listeners = vec![buildstatus::adapters::http::listen::Bound::Tcp(listener)];
    let limits = buildstatus::adapters::http::limits::Limits::default();
    tokio::spawn(buildstatus::adapters::http::serve::serve_all(listeners, router, limits, std::future::pending()));
    (server, base)
}

async fn download(client: &reqwest::Client, url: &str) -> u64 {
    let response = client.get(url).send().await.expect("response");
    assert!(response.status().is_success(), "{url}");
    let mut body = response.bytes_stream();
    let mut total = 0u64;
    while let Some(piece) = body.next().await {
        total += piece.expect("piece").len() as u64;
    }
    total
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn log_stream(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mib = log_mib();
    let at_start = status_kib("VmRSS:");
    let (_server, base) = runtime.block_on(server_with_big_log(mib));
    println!("log_stream: resident memory {at_start} KiB at start, {} KiB after writing the log", status_kib("VmRSS:"));
    let client = reqwest::Client::new();
    let text_url = format!("{base}/builders/big/builds/0/steps/test/logs/stdio/text");
    let static_url = format!("{base}/big.log");
    let bytes = runtime.block_on(download(&client, &text_url));
    assert_eq!(bytes, runtime.block_on(download(&client, &static_url)), "same content both ways");

    // Resident memory while the log streams: reset the peak, stream, compare.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    runtime.block_on(download(&client, &text_url));
    let peak = status_kib("VmHWM:");
    println!(
        "log_stream: {mib} MiB as text: resident memory {before} KiB before, peak {peak} KiB during (+{} KiB)",
        peak.saturating_sub(before)
    );

    let mut group = c.benchmark_group("log_stream");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(format!("text_view/{mib}MiB"), |b| b.to_async(&runtime).iter(|| download(&client, &text_url)));
    group.bench_function(format!("static_file/{mib}MiB"), |b| {
        b.to_async(&runtime).iter(|| download(&client, &static_url))
    });
    group.finish();
}

criterion_group!(benches, log_stream);
criterion_main!(benches);
