//! What an operator reads off a running server: `http.log` in the combined format, rotated at
//! the configured size, with nothing a client sends able to forge a line; and `/metrics`, one
//! scrape for the whole server, read by Prometheus' own text parser (Python's
//! `prometheus_client`).

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::common;

/// `/metrics` as Prometheus reads it: each sample as `name{labels} value`, one a line,
/// printed by `prometheus_client`'s parser (which fails on a malformed exposition).
fn parsed_by_prometheus(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, text).expect("metrics");
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
        for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
        \x20   for s in family.samples:\n\
        \x20       labels = ','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))\n\
        \x20       print(f'{s.name}{{{labels}}} {s.value}')\n";
    let out = Command::new("python3").args(["-c", script]).arg(&file).output().expect("python3 runs");
    assert!(out.status.success(), "prometheus_client refused /metrics: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

fn value(samples: &[String], prefix: &str) -> Option<f64> {
    samples.iter().find(|s| s.starts_with(prefix)).and_then(|s| s.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn http_log_is_combined_and_rotated_and_metrics_cover_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("buildstatus.toml");
    std::fs::write(&config, "logRotateLength = 2000\nmaxRotatedFiles = 2\n").expect("config");
    let server = common::start_binary(&["demo", "--history", "20", "--config", config.to_str().expect("path")]);
    let client = reqwest::Client::new();

    // A live stream open while the scrape is made.
    let events = client.get(format!("{}/events", server.base)).send().await.expect("a stream");
    let mut events = events.bytes_stream();
    let _ = events.next().await;

    let hostile_agent = "evil\" agent";
    for i in 0..40 {
        let url = format!("{}/builders/linux-gcc?i={i}", server.base);
        let answer = client.get(url).header("User-Agent", hostile_agent).header("Referer", "http://x/\"q").send().await;
        assert!(answer.expect("answers").status().is_success());
    }
    assert_eq!(client.get(format!("{}/nowhere-{}", server.base, "x")).send().await.expect("404").status(), 404);

    let scrape = client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    assert_eq!(scrape.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let samples = parsed_by_prometheus(&scrape.text().await.expect("text"));
    let builder_pages = "buildstatus_http_requests_total{route=/builders/{builder},status=200}";
    assert_eq!(value(&samples, builder_pages), Some(40.0), "requests are counted by route pattern: {samples:?}");
    let missing = "buildstatus_http_requests_total{route=/{*file},status=404}";
    assert_eq!(value(&samples, missing), Some(1.0), "what no page takes is a file, here missing");
    assert!(!samples.iter().any(|s| s.contains("?i=")), "no path or query becomes a label");
    let latency = "buildstatus_http_request_duration_seconds_count{route=/builders/{builder}}";
    assert_eq!(value(&samples, latency), Some(40.0));
    assert_eq!(value(&samples, "buildstatus_live_streams{}"), Some(1.0));
    assert!(value(&samples, "buildstatus_journal_seq{}").is_some_and(|seq| seq > 0.0));
    assert!(value(&samples, "buildstatus_hub_round_events_count{}").is_some_and(|n| n > 0.0));
    assert!(value(&samples, "buildstatus_store_bytes{}").is_some_and(|b| b > 4096.0));
    drop(events);

    // The log: rotated at 2,000 bytes, two old files kept, every line in the combined format.
    let data = server.dir.path().join("data");
    let start = Instant::now();
    while !data.join("http.log.2").exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "http.log was not rotated twice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!data.join("http.log.3").exists(), "beyond maxRotatedFiles files are deleted");
    let mut lines = Vec::new();
    for name in ["http.log.2", "http.log.1", "http.log"] {
        let text = std::fs::read_to_string(data.join(name)).expect("a log");
        assert!(text.len() <= 2000, "{name} holds {} bytes", text.len());
        lines.extend(text.lines().map(str::to_owned));
    }
    let builder = lines.iter().find(|l| l.contains("GET /builders/linux-gcc?i=")).expect("a builder page logged");
    assert!(builder.starts_with("127.0.0.1 - - ["), "{builder}");
    assert!(builder.contains(" +0000] \"GET /builders/linux-gcc?i="), "{builder}");
    assert!(builder.contains(" HTTP/1.1\" 200 "), "{builder}");
    assert!(builder.ends_with("\"http://x/\\\"q\" \"evil\\\" agent\""), "quotes are escaped: {builder}");
}
