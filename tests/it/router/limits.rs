//! `[limits]` over real sockets, as an abusive client meets them: request heads and bodies
//! that come too slowly (slowloris), 2,000 slow connections at once, connections and live
//! streams past their caps, oversized heads, hook and ingest requests past their rate, and
//! compressed bodies (a bomb stops at the body limit). Each refusal says why.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use buildstatus::app::{Config, StatusServer, Storage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "ci-token-0123456789abcdef";

/// A server configured by `limits` (the body of a `[limits]` block), with the base hook and
/// the ingest API enabled, on a loopback port: its base URL.
async fn serving(limits: &str) -> (Arc<StatusServer>, String) {
    let text = format!(
        "[limits]\n{limits}\n[change_hook.base]\nallow_unauthenticated = true\n\
         [ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\nmax_body = 1048576\n"
    );
    let mut config = Config::parse(&text, Path::new(".")).expect("a valid config");
    config.server.storage = Storage::Memory;
    config.server.public_html = None;
    config.server.http_log = None;
    let server = Arc::new(StatusServer::start(config.server).await.expect("server starts"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
    (server, base)
}

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `limit` passes): what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

fn events_body(id: &str) -> String {
    serde_json::json!({"event_id": id, "type": "builder_added", "builder": {"name": "linux"}}).to_string()
}

fn ingest(http: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
    http.post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).header("Content-Type", "application/json")
}

#[tokio::test]
async fn a_request_head_or_body_that_comes_too_slowly_is_cut_off() {
    let (_server, base) = serving("header_timeout = 1\nbody_timeout = 1").await;
    let started = Instant::now();
    let mut slow = TcpStream::connect(address(&base)).await.expect("connects");
    slow.write_all(b"GET /builders HTTP/1.1\r\nHost: x\r\n").await.expect("writes");
    let said = read_until_closed(&mut slow, Duration::from_secs(10)).await.expect("closed by the server");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the timeout");
    assert!(!said.contains("200 OK"), "{said}");

    // A body promised and not sent: 408, saying why.
    let mut slow = TcpStream::connect(address(&base)).await.expect("connects");
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"event_id\""
    );
    slow.write_all(head.as_bytes()).await.expect("writes");
    let said = read_until_closed(&mut slow, Duration::from_secs(10)).await.expect("answered and closed");
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("did not arrive within 1 s"), "{said}");
    assert!(said.contains("body_timeout"), "{said}");

    // Others meanwhile are served.
    let page = reqwest::get(format!("{base}/builders")).await.expect("an answer");
    assert_eq!(page.status().as_u16(), 200);
}

#[tokio::test]
async fn two_thousand_slow_connections_keep_nobody_out_and_are_closed_in_time() {
    let (_server, base) = serving("header_timeout = 3").await;
    let mut slow = Vec::new();
    for _ in 0..2_000 {
        let mut stream = TcpStream::connect(address(&base)).await.expect("connects");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: slow\r\nX-Drip: ").await.expect("writes");
        slow.push(stream);
    }
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let page = http.get(format!("{base}/builders")).send().await.expect("an answer");
        assert_eq!(page.status().as_u16(), 200);
    }
    // Every slow connection is closed by the server once its head is overdue.
    let closed = futures_util::future::join_all(
        slow.iter_mut().map(|stream| read_until_closed(stream, Duration::from_secs(30))),
    )
    .await;
    assert!(closed.iter().all(Option::is_some), "some slow connections were left open");
}

#[tokio::test]
async fn connections_past_a_cap_are_refused_saying_which() {
    let (_server, base) = serving("limit_loopback = true\nmax_connections_per_address = 3").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(address(&base)).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = reqwest::get(format!("{base}/builders")).await.expect("an answer");
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let text = refused.text().await.expect("text");
    assert!(text.contains("127.0.0.1 has its limit of 3 open connections"), "{text}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(reqwest::get(format!("{base}/builders")).await.expect("an answer").status().as_u16(), 200);

    // The whole server's cap counts every address, loopback too.
    let (_server, base) = serving("max_connections = 2").await;
    let _held = [
        TcpStream::connect(address(&base)).await.expect("connects"),
        TcpStream::connect(address(&base)).await.expect("connects"),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let full = reqwest::get(format!("{base}/builders")).await.expect("an answer");
    assert_eq!(full.status().as_u16(), 503);
    let text = full.text().await.expect("text");
    assert!(text.contains("the server has its limit of 2 open connections"), "{text}");
}

#[tokio::test]
async fn live_streams_past_an_address_s_cap_are_refused() {
    let (_server, base) = serving("limit_loopback = true\nmax_streams_per_address = 2").await;
    let http = reqwest::Client::new();
    let first = http.get(format!("{base}/events")).send().await.expect("a stream");
    let second = http.get(format!("{base}/events")).send().await.expect("a stream");
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = http.get(format!("{base}/events")).send().await.expect("an answer");
    assert_eq!(third.status().as_u16(), 429);
    let text = third.text().await.expect("text");
    assert!(text.contains("has its limit of 2 open live streams"), "{text}");
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = http.get(format!("{base}/events")).send().await.expect("a stream");
    assert_eq!(again.status().as_u16(), 200, "a closed stream frees its place");
}

#[tokio::test]
async fn an_oversized_request_head_is_431() {
    let (_server, base) = serving("max_header_bytes = 8192").await;
    let http = reqwest::Client::new();
    let big = http.get(format!("{base}/builders")).header("X-Big", "a".repeat(10_000)).send().await;
    assert_eq!(big.expect("an answer").status().as_u16(), 431);
    let mut many = http.get(format!("{base}/builders"));
    for i in 0..150 {
        many = many.header(format!("X-H{i}"), "1");
    }
    assert_eq!(many.send().await.expect("an answer").status().as_u16(), 431);
    let fine = http.get(format!("{base}/builders")).header("X-Small", "a".repeat(1_000)).send().await;
    assert_eq!(fine.expect("an answer").status().as_u16(), 200);
}

#[tokio::test]
async fn hook_and_ingest_requests_past_their_rate_are_refused_per_address() {
    let limits = "limit_loopback = true\nhook_requests_per_minute = 3\ningest_requests_per_minute = 2";
    let (_server, base) = serving(limits).await;
    let http = reqwest::Client::new();
    for n in 0..3 {
        let hook = http.post(format!("{base}/change_hook/base?who=ann&comments=c{n}")).send().await;
        assert_eq!(hook.expect("an answer").status().as_u16(), 202);
    }
    let refused = http.post(format!("{base}/change_hook/base?who=ann")).send().await.expect("an answer");
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let text = refused.text().await.expect("text");
    assert!(text.contains("more than 3 change hook requests in a minute"), "{text}");
    assert!(text.contains("hook_requests_per_minute"), "{text}");

    for n in 0..2 {
        let posted = ingest(&http, &base).body(events_body(&format!("e{n}"))).send().await.expect("an answer");
        assert_eq!(posted.status().as_u16(), 200, "{:?}", posted.text().await);
    }
    let refused = ingest(&http, &base).body(events_body("e3")).send().await.expect("an answer");
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.text().await.expect("text").contains("ingest_requests_per_minute"));
    // The pages are not rate-limited.
    assert_eq!(http.get(format!("{base}/builders")).send().await.expect("page").status().as_u16(), 200);

    // Loopback is a front end's address: not limited unless asked.
    let (_server, base) = serving("hook_requests_per_minute = 1").await;
    for n in 0..5 {
        let hook = http.post(format!("{base}/change_hook/base?who=ann&comments=c{n}")).send().await;
        assert_eq!(hook.expect("an answer").status().as_u16(), 202);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("compresses");
    encoder.finish().expect("compresses")
}

#[tokio::test]
async fn compressed_bodies_are_inflated_within_the_body_limit() {
    let (server, base) = serving("").await;
    let http = reqwest::Client::new();
    let posted = ingest(&http, &base).header("Content-Encoding", "gzip").body(gzip(events_body("z1").as_bytes()));
    let posted = posted.send().await.expect("an answer");
    assert_eq!(posted.status().as_u16(), 200, "{:?}", posted.text().await);
    let builders = server.reader().builders().await.expect("builders");
    assert!(builders.iter().any(|b| b.name == "linux"), "the gzip body's builder is stored");

    // 64 MiB of zeros in 64 KiB: stopped at the 1 MiB limit, never inflated whole.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let refused = ingest(&http, &base).header("Content-Encoding", "gzip").body(bomb).send().await;
    let refused = refused.expect("an answer");
    assert_eq!(refused.status().as_u16(), 413);
    assert!(refused.text().await.expect("text").contains("larger than the limit of 1048576 bytes"));

    let unknown = ingest(&http, &base).header("Content-Encoding", "br").body("x").send().await.expect("answer");
    assert_eq!(unknown.status().as_u16(), 415);
    assert!(unknown.text().await.expect("text").contains("Content-Encoding 'br'"));

    let damaged = ingest(&http, &base).header("Content-Encoding", "gzip").body("not gzip").send().await;
    let damaged = damaged.expect("an answer");
    assert_eq!(damaged.status().as_u16(), 400);
    assert!(damaged.text().await.expect("text").contains("compressed body is damaged"));
}
