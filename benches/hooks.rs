//! The GitHub change hook: parsing the benchmark push (the payload `load.sh` posts, 2 commits),
//! and a whole `POST /change_hook/github` through the router — parse, number, commit to the
//! store, publish — with the memory store and with SQLite. Each request carries new commit
//! ids, as in the load test.
//!
//! `cargo bench --bench hooks`

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::Request;
use buildstatus::app::{HookConfig, Setup, StatusServer, Storage};
use buildstatus::domain::hooks::{self, Dialect, GithubOptions, HookOutcome, HookRequest, HookSettings};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

const PAYLOAD: &str = include_str!("../tests/fixtures/hooks/bench-github-push.json");

fn settings() -> HookSettings {
    let mut dialects = BTreeMap::new();
    dialects.insert("github".to_owned(), Dialect::Github(GithubOptions::default()));
    HookSettings { dialects, ..HookSettings::default() }
}

async fn post(server: &StatusServer, body: String) {
    let request = Request::post("/change_hook/github")
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push")
        .body(Body::from(body))
        .expect("request");
    let response = server.router().oneshot(request).await.expect("response");
    assert_eq!(response.status().as_u16(), 202);
}

fn github_hook(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("change_hook_github");
    let settings = settings();
    let dialect = &settings.dialects["github"];
    let headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-GitHub-Event".to_owned(), "push".to_owned()),
    ];
    let body = PAYLOAD.replace("@@SEQ@@", "1");
    group.bench_function("parse", |b| {
        b.iter(|| {
            let request = HookRequest {
                method: "POST",
                headers: &headers,
                query: "",
                body: body.as_bytes(),
                now: Default::default(),
            };
            match hooks::parse(&settings, dialect, &request, &[]) {
                Ok(HookOutcome::Changes(changes)) => changes.len(),
                other => panic!("the payload was not accepted: {other:?}"),
            }
        })
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join("hooks");
    let _ = std::fs::remove_dir_all(&dir);
    for (name, storage) in [("post_memory", Storage::Memory), ("post_sqlite", Storage::Directory(dir))] {
        let hooks = HookConfig { settings: settings.clone(), credentials: None };
        let setup = Setup { storage, hooks: Some(hooks), ..Setup::default() };
        let server = runtime.block_on(StatusServer::start(setup)).expect("server");
        let seq = AtomicU64::new(0);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                post(&server, PAYLOAD.replace("@@SEQ@@", &n.to_string()))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, github_hook);
criterion_main!(benches);
