//! What 2,000 slow clients cost everyone else (issue 20): `/builders` over TCP with nobody
//! else connected, against the same while 2,000 connections drip their request heads a byte a
//! second (slowloris; each reconnects when the server cuts it off at `header_timeout`), with
//! the p50 and p99 of every request printed after each (the issue asks for the p99 within 2×
//! of idle). The slow clients come from 127.0.0.2, the measuring client from 127.0.0.1.
//!
//! `cargo bench --bench slow_clients`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::{percentiles, timed_get};

criterion_group!(benches, slow_clients);
criterion_main!(benches);

const SLOW: usize = 2_000;

/// One slow client, forever: connects from 127.0.0.2, sends part of a head, then a byte a
/// second until the server closes the connection; then again.
async fn drip(address: std::net::SocketAddr, connected: Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    loop {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.2:0".parse().expect("address")).expect("bind 127.0.0.2");
        let Ok(mut stream) = socket.connect(address).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        connected.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"GET /builders HTTP/1.1\r\nHost: slow\r\nX-Drip: ").await;
        let mut byte = [0u8; 1];
        loop {
            tokio::select! {
                read = stream.read(&mut byte) => if matches!(read, Ok(0) | Err(_)) { break },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if stream.write_all(b"a").await.is_err() { break }
                }
            }
        }
        connected.fetch_sub(1, Ordering::Relaxed);
    }
}

fn slow_clients(c: &mut Criterion) {
    // The server on two async threads, as on this project's 2-core machines.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let address =
        runtime.block_on(async { support::serve_tcp(support::server(support::history(1_000).await).await).await });
    let http = reqwest::Client::new();
    let url = format!("http://{address}/builders");
    let mut group = c.benchmark_group("slow_clients");
    group.sample_size(50).measurement_time(Duration::from_secs(10));

    let idle = Mutex::new(Vec::new());
    group.bench_function("builders_idle", |b| {
        b.to_async(&runtime).iter_custom(|iters| timed_get(&http, &url, iters, &idle))
    });

    // The slow clients run on a runtime of their own, so only the server shares its threads.
    let clients = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let loops: Vec<_> = (0..SLOW).map(|_| clients.spawn(drip(address, connected.clone()))).collect();
    while connected.load(std::sync::atomic::Ordering::Relaxed) < SLOW {
        std::thread::sleep(Duration::from_millis(50));
    }
    let loaded = Mutex::new(Vec::new());
    group.bench_function("builders_during_2000_slow_connections", |b| {
        b.to_async(&runtime).iter_custom(|iters| timed_get(&http, &url, iters, &loaded))
    });
    let still = connected.load(std::sync::atomic::Ordering::Relaxed);
    for task in loops {
        task.abort();
    }
    group.finish();

    let (idle_p50, idle_p99) = percentiles(&mut idle.lock().expect("samples"));
    let (load_p50, load_p99) = percentiles(&mut loaded.lock().expect("samples"));
    println!(
        "slow_clients: /builders idle p50 {idle_p50:.2?} p99 {idle_p99:.2?}; during {SLOW} slow connections \
         ({still} open at the end) p50 {load_p50:.2?} p99 {load_p99:.2?}: p99 {:.2}× idle",
        load_p99.as_secs_f64() / idle_p99.as_secs_f64()
    );
    drop(clients);
}
