//! `/health/live` and `/health/ready` as a load balancer probes them, on a server of each
//! store: both 200 while the store answers; with PostgreSQL stopped under the server, ready
//! answers 503 saying why while live stays 200, and ready comes back with the database.
//! Neither is ever cached. (That they stay open when `view` closes the site:
//! `router::login::view_closes_every_page_and_resource_but_the_door`.)

use std::time::{Duration, Instant};

use crate::common::{self, postgres::Postgres};

/// Status, `Cache-Control` and body of `GET base path`.
async fn probe(base: &str, path: &str) -> (u16, String, serde_json::Value) {
    let answer = reqwest::get(format!("{base}{path}")).await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = answer.status().as_u16();
    let cache = answer.headers().get("cache-control").map(|v| v.to_str().expect("ascii").to_owned());
    let body = answer.json().await.unwrap_or_else(|e| panic!("{path} answers JSON: {e}"));
    (status, cache.unwrap_or_default(), body)
}

async fn assert_healthy(base: &str) {
    for (path, status) in [("/health/live", "live"), ("/health/ready", "ready")] {
        let (code, cache, body) = probe(base, path).await;
        assert_eq!((code, cache.as_str()), (200, "no-store"), "{path}: {body}");
        assert_eq!(body["status"], status, "{path}");
    }
}

#[tokio::test]
async fn on_sqlite_a_server_is_live_and_ready() {
    let server = common::start_binary(&["serve"]);
    assert_healthy(&server.base).await;
}

#[tokio::test]
async fn on_postgresql_ready_follows_the_database_and_live_the_process() {
    // A server of the test's own: it is stopped and started again under the instance.
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE status");
    let etc = tempfile::tempdir().expect("tempdir");
    let file = etc.path().join("buildstatus.toml");
    std::fs::write(&file, format!("[store]\nurl = \"{}\"\n", pg.url("postgresql", "status"))).expect("config");
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start_binary_with_data(
        &["serve", "--config", file.to_str().expect("a path")],
        &data.path().join("data"),
    );
    assert_healthy(&server.base).await;

    pg.stop_now();
    let asked = Instant::now();
    let (code, cache, body) = probe(&server.base, "/health/ready").await;
    assert!(asked.elapsed() < Duration::from_secs(5), "answered before a probe's usual timeout");
    assert_eq!((code, cache.as_str()), (503, "no-store"), "{body}");
    assert_eq!(body["status"], "not ready");
    let reason = body["reason"].as_str().expect("a reason");
    assert!(
        reason.starts_with("the store cannot be read") || reason.starts_with("the store did not answer"),
        "{reason}"
    );
    let (code, _, body) = probe(&server.base, "/health/live").await;
    assert_eq!(code, 200, "the process still answers: {body}");

    pg.start_again();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, _, body) = probe(&server.base, "/health/ready").await;
        if code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "ready again once the database is back: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_healthy(&server.base).await;
}
