//! What 2,000 slow clients cost everyone else (issue 20): `/builders` over TCP with nobody
//! else connected, against the same while 2,000 connections drip their request heads a byte a
//! second (slowloris; each reconnects when the server cuts it off at `header_timeout`), with
//! the p50 and p99 of every request printed after each (the issue asks for the p99 within 2×
//! of idle). The slow clients come from 127.0.0.2, the measuring client from 127.0.0.1.
//!
//! `cargo bench --bench slow_clients`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

criterion_group!(benches, slow_clients);
criterion_main!(benches);

const SLOW: usize = 2_000;

/// One slow client, forever: connects from 127.0.0.2, sends part of a head, then a byte a
/// second until the server closes the connection; then again.
async fn drip(address: std::net::SocketAddr, connected: Arc<AtomicUsize>) {
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
    let runtime = support::server_runtime();
    let address =
        runtime.block_on(async { support::serve_tcp(support::server(support::history(1_000).await).await).await });
    let url = format!("http://{address}/builders");
    let mut group = c.benchmark_group("slow_clients");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    let connected = Arc::new(AtomicUsize::new(0));
    let names = ("builders_idle", "builders_during_2000_slow_connections");
    let measured = support::idle_then_loaded(&mut group, &runtime, &reqwest::Client::new(), &url, names, |clients| {
        let loops = (0..SLOW).map(|_| clients.spawn(drip(address, connected.clone()))).collect();
        while connected.load(Ordering::Relaxed) < SLOW {
            std::thread::sleep(Duration::from_millis(50));
        }
        loops
    });
    group.finish();
    let still = connected.load(Ordering::Relaxed);
    println!(
        "slow_clients: /builders {}",
        measured.summary(&format!("{SLOW} slow connections ({still} open at the end)"))
    );
}
