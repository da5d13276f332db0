//! `/change_hook` over HTTP, against the real hub: every answer a sender can get (202, 200,
//! 400, 401, 403, 404, 405, 413), changes all or nothing, on `/changes` and on the event bus
//! for the master, and the running binary configured from `buildstatus.toml`.
use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use buildstatus::adapters::clock::SystemClock;
use buildstatus::adapters::http::hooks::{HookContext, router};
use buildstatus::adapters::memory::{MemoryChanges, MemoryPollers};
use buildstatus::app::{HookConfig, Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::hooks::auth::Credentials;
use buildstatus::domain::hooks::verify::{Algorithm, hmac_hex};
use buildstatus::domain::hooks::{Dialect, GithubOptions, HookSettings, PollerOptions};
use buildstatus::ports::ChangeQuery;
use futures_util::StreamExt;
use serde_json::json;

const SECRET: &str = "It's a Secret to Everybody";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/hooks/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn settings() -> HookSettings {
    let mut dialects = BTreeMap::new();
    let github = GithubOptions { secret: Some(SECRET.into()), strict: true, ..GithubOptions::default() };
    dialects.insert("github".to_owned(), Dialect::Github(github));
    dialects.insert("base".to_owned(), Dialect::Base);
    dialects.insert("poller".to_owned(), Dialect::Poller(PollerOptions::default()));
    HookSettings { dialects, max_body: 64 * 1024, ..HookSettings::default() }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn hub_server(credentials: Option<Credentials>) -> (StatusServer, String) {
    let hooks = HookConfig { settings: settings(), credentials };
    let server = StatusServer::start(Setup { hooks: Some(hooks), ..Setup::default() }).await.expect("server");
    let base = serve(server.router()).await;
    (server, base)
}

fn signed_push(client: &reqwest::Client, url: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
    signed(client, url, body, "push")
}

fn signed(client: &reqwest::Client, url: &str, body: Vec<u8>, event: &str) -> reqwest::RequestBuilder {
    let signature = format!("sha256={}", hmac_hex(Algorithm::Sha256, SECRET.as_bytes(), &body));
    client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", event)
        .header("X-Hub-Signature-256", signature)
        .body(body)
}

/// A push of `n` commits; commit `broken` (if any) lacks its timestamp.
fn push_of(n: usize, broken: Option<usize>) -> Vec<u8> {
    let commits: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut c = json!({
                "id": format!("{i:040x}"),
                "distinct": true,
                "message": format!("commit {i}"),
                "timestamp": "2026-11-20T10:00:00Z",
                "url": format!("https://github.com/o/r/commit/{i:040x}"),
                "author": {"name": "Ann", "email": "ann@example.org"},
                "added": [format!("file{i}.c")], "removed": [], "modified": []
            });
            if broken == Some(i) {
                c.as_object_mut().expect("an object").remove("timestamp");
            }
            c
        })
        .collect();
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "repository": {"url": "https://github.com/o/r", "full_name": "o/r"},
        "commits": commits
    }))
    .expect("json")
}

async fn stored(server: &StatusServer) -> usize {
    server.reader().changes(&ChangeQuery { limit: 1000, ..ChangeQuery::default() }).await.expect("changes").len()
}

#[tokio::test]
async fn a_signed_push_is_recorded_shown_and_published() {
    let (server, base) = hub_server(None).await;
    let mut events = server.hub().subscribe(server.hub().last_seq());
    let http = reqwest::Client::new();
    let response = signed_push(&http, &format!("{base}/change_hook/github"), fixture("github-push.json"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(response.text().await.expect("body"), "2 change(s) added: 1 2\n");
    let page = http.get(format!("{base}/changes")).send().await.expect("page").text().await.expect("body");
    assert!(page.contains("Zoë Ångström") && page.contains("李小龙"), "the authors are listed: {page}");
    let detail = http.get(format!("{base}/changes/2")).send().await.expect("page");
    assert_eq!(detail.status().as_u16(), 200);
    let detail = detail.text().await.expect("body");
    assert!(detail.contains("tests/fixtures/old-1.json") && detail.contains("feature/ünïcode"), "{detail}");
    // The master embedding the library sees the changes on the event bus, to schedule builds.
    for expected in [1, 2] {
        let event = events.next().await.expect("an event").expect("not lagged");
        match event.event {
            StatusEvent::ChangeAdded { change } => assert_eq!(change.number, expected),
            other => panic!("expected a change, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn every_bad_request_is_refused_with_its_reason_and_stores_nothing() {
    let (server, base) = hub_server(None).await;
    let http = reqwest::Client::new();
    let github = format!("{base}/change_hook/github");
    let body = fixture("github-push.json");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            http.post(&github)
                .header("Content-Type", "application/json")
                .header("X-GitHub-Event", "push")
                .body(body.clone()),
            403,
            "the request has no X-Hub-Signature-256 signature",
        ),
        (
            http.post(&github)
                .header("Content-Type", "application/json")
                .header("X-GitHub-Event", "push")
                .header("X-Hub-Signature-256", "sha256=0000")
                .body(body.clone()),
            403,
            "X-Hub-Signature-256 does not match",
        ),
        (signed_push(&http, &github, b"{\"ref\": [".to_vec()), 400, "malformed JSON payload"),
        (signed_push(&http, &github, br#"{"ref": "refs/heads/x"}"#.to_vec()), 400, "payload has no 'repository'"),
        (
            signed_push(&http, &format!("{base}/change_hook/gitlab"), body.clone()),
            404,
            "no change hook dialect 'gitlab'",
        ),
        (signed_push(&http, &format!("{base}/change_hook/nope/extra"), body.clone()), 404, "dialect 'nope'"),
        (http.put(format!("{base}/change_hook/base?who=x")), 405, "method PUT is not allowed"),
        (signed_push(&http, &github, vec![b' '; 64 * 1024 + 1]), 413, "larger than the limit of 65536 bytes"),
        (signed_push(&http, &github, push_of(20, Some(19))), 400, "payload has no 'commits[19].timestamp'"),
    ];
    for (request, status, text) in cases {
        let response = request.send().await.expect("answer");
        let got = response.status().as_u16();
        let answer = response.text().await.expect("body");
        assert_eq!(got, status, "{answer}");
        assert!(answer.contains(text), "expected '{text}' in '{answer}'");
    }
    let ping = signed(&http, &github, b"{}".to_vec(), "ping");
    let response = ping.send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let other = signed(&http, &github, b"{}".to_vec(), "watch");
    let response = other.send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.text().await.expect("body"), "no changes: event 'watch' ignored\n");
    assert_eq!(stored(&server).await, 0, "nothing was stored");
    let twenty = signed_push(&http, &github, push_of(20, None)).send().await.expect("answer");
    assert_eq!(twenty.status().as_u16(), 202);
    assert_eq!(stored(&server).await, 20, "a 20-commit push stores 20 changes");
}

#[tokio::test]
async fn the_base_dialect_the_mount_point_and_the_poller() {
    let (server, _) = hub_server(None).await;
    // A master may mount the site under a prefix: the dialect is read after the mount point.
    let base = serve(axum::Router::new().nest("/ci", server.router())).await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{base}/ci/change_hook"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("author=Ann&comments=from+post_build_request&branch=main&revision=42")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 202, "/change_hook is the base dialect");
    let change = server.reader().change(1).await.expect("read").expect("change 1");
    assert_eq!((change.who.as_str(), change.revision.as_deref()), ("Ann", Some("42")));
    let poll = http.post(format!("{base}/ci/change_hook/poller?poller=missing")).send().await.expect("answer");
    assert_eq!(poll.status().as_u16(), 400);
    assert_eq!(poll.text().await.expect("body"), "Could not find pollers: missing\n");
}

#[tokio::test]
async fn basic_auth_guards_every_hook() {
    let credentials = Credentials::parse("ci:hunter2\n").expect("valid");
    let (server, base) = hub_server(Some(credentials)).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/change_hook/base?who=x");
    let anonymous = http.post(&url).send().await.expect("answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let challenge = anonymous.headers().get("www-authenticate").expect("a challenge").to_str().expect("text");
    assert_eq!(challenge, "Basic realm=\"Protected area\"");
    let wrong = http.post(&url).basic_auth("ci", Some("hunter3")).send().await.expect("answer");
    assert_eq!(wrong.status().as_u16(), 401);
    let unknown = http.post(format!("{base}/change_hook/zzz")).send().await.expect("answer");
    assert_eq!(unknown.status().as_u16(), 401, "no dialect is revealed to strangers");
    assert_eq!(stored(&server).await, 0);
    let right = http.post(&url).basic_auth("ci", Some("hunter2")).send().await.expect("answer");
    assert_eq!(right.status().as_u16(), 202);
    assert_eq!(stored(&server).await, 1);
}

#[tokio::test]
async fn a_failed_store_records_nothing_and_says_so() {
    let sink = Arc::new(MemoryChanges::new());
    let pollers = Arc::new(MemoryPollers::new(&["widget", "docs"]));
    let context = HookContext {
        settings: settings(),
        credentials: None,
        sink: sink.clone(),
        pollers: pollers.clone(),
        clock: Arc::new(SystemClock),
    };
    let base = serve(router(context)).await;
    let http = reqwest::Client::new();
    sink.fail_next();
    let failed =
        signed_push(&http, &format!("{base}/change_hook/github"), push_of(5, None)).send().await.expect("answer");
    assert_eq!(failed.status().as_u16(), 500);
    assert!(sink.changes().is_empty());
    let ok = signed_push(&http, &format!("{base}/change_hook/github"), push_of(5, None)).send().await.expect("answer");
    assert_eq!(ok.status().as_u16(), 202);
    assert_eq!(sink.changes().len(), 5);
    let poll = http.get(format!("{base}/change_hook/poller?poller=docs")).send().await.expect("answer");
    assert_eq!(poll.status().as_u16(), 200);
    let all = http.post(format!("{base}/change_hook/poller")).send().await.expect("answer");
    assert_eq!(all.text().await.expect("body"), "no changes; polling: widget, docs\n");
    assert_eq!(pollers.polled(), [vec!["docs".to_owned()], vec!["widget".to_owned(), "docs".to_owned()]]);
}

#[tokio::test]
async fn the_binary_accepts_the_benchmark_push_and_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("buildstatus.toml");
    std::fs::write(&config, "[change_hook.github]\nallow_unauthenticated = true\n").expect("write");
    let server = common::start_binary(&["serve", "--config", config.to_str().expect("a path")]);
    let payload =
        std::fs::read_to_string(format!("{}/tests/fixtures/hooks/bench-github-push.json", env!("CARGO_MANIFEST_DIR")))
            .expect("the benchmark payload");
    let http = reqwest::Client::new();
    for seq in 1..=3 {
        let body = payload.replace("@@SEQ@@", &seq.to_string());
        let response = http
            .post(format!("{}/change_hook/github", server.base))
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "push")
            .body(body)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap_or_default());
    }
    let page = http.get(format!("{}/changes", server.base)).send().await.expect("page").text().await.expect("body");
    assert!(page.contains("Bob Chen") && page.contains("Alice Martin"), "{page}");
    assert!(page.contains("Change hook (/change_hook): github"), "the hooks are listed as a change source");
    let sixth = http.get(format!("{}/changes/6", server.base)).send().await.expect("page");
    assert_eq!(sixth.status().as_u16(), 200, "2 changes per push, 3 pushes");
    let body = sixth.text().await.expect("body");
    assert!(body.contains("src/net/backoff.c") && body.contains("example-org/widget"), "{body}");
    let seventh = http.get(format!("{}/changes/7", server.base)).send().await.expect("page");
    assert_eq!(seventh.status().as_u16(), 404, "exactly 2 changes per accepted push");
}

#[test]
fn check_config_refuses_an_open_hook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hooks.toml");
    std::fs::write(&file, "[change_hook]\nbase = true\n[change_hook.github]\nstrict = true\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .arg("check-config")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(err.contains("change_hook.base: anyone could fake changes"), "{err}");
    assert!(err.contains("change_hook.github: strict needs a secret"), "{err}");
}

#[tokio::test]
async fn changes_from_hooks_and_from_the_master_never_share_a_number() {
    use buildstatus::domain::hooks::NewChange;
    use buildstatus::ports::SinkError;
    let server = StatusServer::start(Setup::default()).await.expect("server");
    let when = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("a time");
    let change = |who: &str| NewChange::new(who, when);
    let master = |n: u64| StatusEvent::ChangeAdded { change: change("master").numbered(n) };
    server.sink().record(master(1)).await.expect("the master's change 1");
    let numbers = server.change_sink().add_changes(vec![change("a"), change("b")]).await.expect("added");
    assert_eq!(numbers, [2, 3], "numbered after the master's");
    // A batch that repeats a number is refused whole, and leaves nothing behind.
    let repeated = server.sink().record_all(vec![master(4), master(4)]).await;
    assert!(matches!(repeated, Err(SinkError::Rejected(_))), "{repeated:?}");
    assert_eq!(stored(&server).await, 3);
    assert_eq!(server.change_sink().add_changes(vec![change("c")]).await.expect("added"), [4]);
    assert_eq!(server.reader().change(4).await.expect("read").expect("change 4").who, "c");
}

#[tokio::test]
async fn without_change_hook_every_hook_is_not_found() {
    let server = StatusServer::start(Setup::default()).await.expect("server");
    let base = serve(server.router()).await;
    let http = reqwest::Client::new();
    for url in [format!("{base}/change_hook"), format!("{base}/change_hook/github")] {
        let posted = http.post(&url).body("{}").send().await.expect("answer");
        assert_eq!(posted.status().as_u16(), 404, "{url}");
    }
    assert_eq!(http.get(format!("{base}/builders")).send().await.expect("page").status().as_u16(), 200);
}
