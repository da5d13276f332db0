//! The server on PostgreSQL end to end (`[store] url`): the demo writes its history into the
//! database and is killed; a server started on a new, empty data directory serves the same
//! history from the database alone, and so does the next one after it is killed in turn:
//! the same `/json` and the same pages. While the database is down, writes answer 503 and
//! pages go on; once it is back, writes resume without a restart. `check-config` refuses a URL
//! that is not PostgreSQL's.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::common::postgres::{self, Postgres};
use crate::common::{self};

/// A configuration naming the database at `url`.
fn config(dir: &Path, url: &str) -> String {
    let file = dir.join("buildstatus.toml");
    std::fs::write(&file, format!("title = \"On PostgreSQL\"\n\n[store]\nurl = \"{url}\"\n")).expect("config");
    file.display().to_string()
}

/// What a user of the history reads: machine answers and pages of finished builds, changes
/// and workers, and a log.
const PATHS: [&str; 12] = [
    "/json/builders",
    "/json/builders/linux-gcc/builds/0",
    "/json/builders/linux-gcc/builds?select=0&select=1&select=2",
    "/json/changes",
    "/json/slaves",
    "/builders",
    "/builders/linux-gcc/builds/0",
    "/builders/linux-gcc/builds/0/steps/git/logs/stdio/text",
    "/one_line_per_build?numbuilds=50",
    "/changes",
    "/changes/1",
    "/buildslaves",
];

pub(super) async fn read_all(base: &str) -> Vec<(String, u16, String)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for path in PATHS {
        let response = http.get(format!("{base}{path}")).send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        out.push((path.to_owned(), status, response.text().await.expect("body")));
    }
    out
}

/// The pages but those that show how long ago something was (which moves with the clock),
/// without the time each page was built.
pub(super) fn timeless(pages: &[(String, u16, String)]) -> Vec<(String, String)> {
    let built = regex::Regex::new("Page built: <b>[^<]*</b>").expect("regex");
    pages
        .iter()
        .filter(|(_, _, body)| !body.contains(" ago"))
        .map(|(path, _, body)| (path.clone(), built.replace_all(body, "").into_owned()))
        .collect()
}

/// Where two texts first differ, with some context, for a readable failure.
pub(super) fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let around = |s: &str| s.get(at.saturating_sub(80)..(at + 80).min(s.len())).unwrap_or("").to_owned();
    format!("at byte {at}: {:?} against {:?}", around(a), around(b))
}

#[tokio::test]
async fn the_server_serves_its_history_from_postgresql_alone_across_restarts() {
    let url = postgres::database();
    let etc = tempfile::tempdir().expect("tempdir");
    let cfg = config(etc.path(), &url);
    let demo = common::start_binary(&["demo", "--history", "200", "--seed", "7", "--config", &cfg]);
    let http = reqwest::Client::new();
    let build = format!("{}/json/builders/linux-gcc/builds/0", demo.base);
    let written = http.get(&build).send().await.expect("build").text().await.expect("body");
    assert!(written.contains("\"number\": 0") || written.contains("\"number\":0"), "{written}");
    drop(demo); // killed

    let fresh = tempfile::tempdir().expect("tempdir");
    let first = common::start_binary_with_data(&["serve", "--config", &cfg], &fresh.path().join("data"));
    let served = read_all(&first.base).await;
    for (path, status, body) in &served {
        assert_eq!(*status, 200, "{path}: {body}");
    }
    assert_eq!(served[1].2, written, "the build the demo wrote is served from the database");
    assert!(served[7].2.starts_with("git: 1 of"), "its log too: {}", served[7].2);
    let kept: Vec<String> = std::fs::read_dir(fresh.path().join("data"))
        .expect("the data directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !kept.iter().any(|f| f.starts_with("buildstatus.sqlite") || f == "logs"),
        "no history on the instance's disk: {kept:?}"
    );
    drop(first); // killed

    let again = tempfile::tempdir().expect("tempdir");
    let second = common::start_binary_with_data(&["serve", "--config", &cfg], &again.path().join("data"));
    let restarted = read_all(&second.base).await;
    let (before, after) = (timeless(&served), timeless(&restarted));
    assert_eq!(before.iter().map(|(p, _)| p).collect::<Vec<_>>(), after.iter().map(|(p, _)| p).collect::<Vec<_>>());
    for ((path, a), (_, b)) in before.iter().zip(&after) {
        assert!(a == b, "{path} differs after a restart, {}", first_difference(a, b));
    }
    assert!(before.len() >= 8, "most pages compared: {:?}", before.iter().map(|(p, _)| p).collect::<Vec<_>>());
}

#[test]
fn check_config_refuses_a_store_url_that_is_not_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[store]\nurl = \"mysql://bs:hunter2@db/status\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("check-config").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store.url: 'mysql://bs:***@db/status' is not a postgresql:// URL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

const TOKEN: &str = "pg-token-0123456789abcdef";

/// Status and `Retry-After` of an ingest POST of build `n` of builder `pg`.
async fn ingest(base: &str, n: u32) -> (u16, Option<String>, String) {
    let batch = json!([
        {"event_id": format!("s{n}"), "type": "build_started",
         "build": {"builder": "pg", "number": n, "started": "2026-03-01T10:00:00Z", "worker": "w1"}},
        {"event_id": format!("f{n}"), "type": "build_finished", "builder": "pg", "number": n,
         "result": "success", "at": "2026-03-01T10:05:00Z"},
    ]);
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(TOKEN)
        .json(&batch)
        .send()
        .await
        .expect("an answer");
    let retry = answer.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    (answer.status().as_u16(), retry, answer.text().await.expect("a body"))
}

#[tokio::test]
async fn while_the_database_is_down_writes_answer_503_and_they_resume_when_it_is_back() {
    // A server of the test's own: it is stopped and started again under the instance.
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE status");
    let etc = tempfile::tempdir().expect("tempdir");
    let file = etc.path().join("buildstatus.toml");
    let text = format!(
        "[store]\nurl = \"{}\"\n\n[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n",
        pg.url("postgresql", "status")
    );
    std::fs::write(&file, text).expect("config");
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start_binary_with_data(
        &["serve", "--config", file.to_str().expect("a path")],
        &data.path().join("data"),
    );
    assert_eq!(ingest(&server.base, 1).await.0, 200);

    pg.stop_now();
    let (status, retry, body) = ingest(&server.base, 2).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "a 503 says when to come back");
    assert!(body.contains("storage cannot be read or written"), "{body}");
    // What needs only the hub's memory is still served (a page that reads the store, such as
    // a builder whose window is not loaded yet, answers 503 meanwhile, as a write does).
    let page = reqwest::get(format!("{}/json/slaves", server.base)).await.expect("page");
    assert_eq!(page.status().as_u16(), 200, "the workers are served from memory");

    pg.start_again();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, _, body) = ingest(&server.base, 2).await;
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "writes did not resume: {status} {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(ingest(&server.base, 3).await.0, 200);
    let builds: serde_json::Value =
        reqwest::get(format!("{}/json/builders/pg/builds?select=1&select=2&select=3", server.base))
            .await
            .expect("json")
            .json()
            .await
            .expect("json body");
    for n in ["1", "2", "3"] {
        assert_eq!(builds[n]["results"], 0, "build {n} is stored: {builds}");
    }
}
