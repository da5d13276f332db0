//! The binary on a machine at fault: a full disk (a file-size limit, `RLIMIT_FSIZE`, lowered
//! and raised from outside with util-linux's `prlimit`) makes writes answer 503 with the
//! reason, corrupts nothing, and writes resume when space returns, without a restart; a
//! damaged database file is refused at start, naming the file, without a panic.
use crate::common::{self, data_dir};

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const TOKEN: &str = "fault-token-0123456789abcdef";

fn config(dir: &Path) -> String {
    let file = dir.join("buildstatus.toml");
    std::fs::write(
        &file,
        format!(
            "[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n\n\
             [change_hook.base]\nallow_unauthenticated = true\n"
        ),
    )
    .expect("config");
    file.to_str().expect("a path").to_owned()
}

fn batch(n: u32) -> Value {
    json!([
        {"event_id": format!("s{n}"), "type": "build_started",
         "build": {"builder": "disk", "number": n, "started": "2026-03-01T10:00:00Z", "worker": "w1"}},
        {"event_id": format!("f{n}"), "type": "build_finished", "builder": "disk", "number": n,
         "result": "success", "at": "2026-03-01T10:05:00Z"},
    ])
}

/// Status, `Retry-After`, and body of an ingest POST of build `n`.
async fn ingest(base: &str, n: u32) -> (u16, Option<String>, String) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(TOKEN)
        .json(&batch(n))
        .send()
        .await
        .expect("an answer");
    let retry = answer.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    (answer.status().as_u16(), retry, answer.text().await.expect("a body"))
}

/// Status, `Retry-After`, and body of a `base` change hook.
async fn hook(base: &str, comments: &str) -> (u16, Option<String>, String) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/change_hook/base"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("author=ann&branch=main&comments={}", comments.replace(' ', "+")))
        .send()
        .await
        .expect("an answer");
    let retry = answer.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    (answer.status().as_u16(), retry, answer.text().await.expect("a body"))
}

/// `prlimit --pid PID --fsize=LIMIT`: the soft limit only, so that it can be raised again.
fn file_size_limit(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}:unlimited")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --fsize={limit} failed");
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_503_and_they_resume_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = config(dir.path());
    // Its log is a file already past the limit set below, so no line of it can be written
    // either: that must cost the lines, not the requests that log them.
    let log_path = dir.path().join("stderr.log");
    std::fs::write(&log_path, "x".repeat(8192)).expect("log");
    let log = std::fs::OpenOptions::new().append(true).open(&log_path).expect("log");
    let mut server = common::start_binary_with_data_logged(&["serve", "--config", &cfg], &data, log);
    let base = server.base.clone();
    for n in 0..5 {
        let (status, _, body) = ingest(&base, n).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, accepted) = hook(&base, "before the disk filled").await;
    assert_eq!(status, 202, "{accepted}");

    // Every file the server writes is already past 4 KiB, the database's log among them: to
    // the server, the disk is full. Without its SIGXFSZ handler the kernel would kill it.
    let pid = server.child.id();
    file_size_limit(pid, "4096");
    // Enough failures for each pooled connection to meet several (sqlx 0.9.0 lost count of its
    // transactions after a few, and then "committed" into one that never was).
    for attempt in 0..12 {
        let (status, retry, body) = ingest(&base, 5).await;
        assert_eq!(status, 503, "attempt {attempt}: {body}");
        assert_eq!(retry.as_deref(), Some("30"));
        let error: Value = serde_json::from_str(&body).expect("a JSON answer");
        let error = error["error"].as_str().expect("an error");
        assert!(error.contains("none was recorded") && error.contains("disk is full"), "{error}");
    }
    let (status, retry, body) = hook(&base, "while the disk is full").await;
    assert_eq!((status, retry.as_deref()), (503, Some("30")), "{body}");
    assert!(body.contains("none was recorded") && body.contains("disk is full"), "{body}");
    // What is stored can still be read.
    let page = reqwest::get(format!("{base}/builders/disk")).await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("text").contains("#4"));

    file_size_limit(pid, "unlimited");
    let (status, _, body) = ingest(&base, 5).await;
    assert_eq!(status, 200, "the same batch, once space is back: {body}");
    let answer: Value = serde_json::from_str(&body).expect("a JSON answer");
    assert_eq!((&answer["applied"], &answer["repeated"]), (&json!(2), &json!(0)), "nothing of it was stored before");
    let (status, _, later) = hook(&base, "after space returned").await;
    assert_eq!(status, 202, "{later}");
    let (status, _, body) = ingest(&base, 6).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.child.try_wait().expect("a status"), None, "the server kept running");

    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    let db = data_dir::open(&data).await;
    assert_eq!(data_dir::integrity(&db).await, ["ok"]);
    let builds = data_dir::builds(&db, "disk").await;
    assert_eq!(builds.keys().copied().collect::<Vec<_>>(), (0..=6).collect::<Vec<_>>());
    assert!(builds.values().all(|finished| *finished), "{builds:?}");
    let changes: Vec<String> = data_dir::changes(&db).await.into_values().collect();
    assert_eq!(changes, ["before the disk filled", "after space returned"]);
    let (events, last) = data_dir::journal(&db).await;
    let seqs: Vec<i64> = events.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "the journal has no gap");
}

/// A data directory with history in its database, folded from the write-ahead log into the
/// file and without free pages, so that any page damaged is one in use.
async fn history(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let cfg = config(dir);
    let mut server = common::start_binary_with_data(&["serve", "--config", &cfg], &data);
    let events: Vec<Value> = (0..300).flat_map(|n| batch(n).as_array().expect("a batch").clone()).collect();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/events", server.base))
        .bearer_auth(TOKEN)
        .json(&events)
        .send()
        .await
        .expect("an answer");
    let (status, body) = (answer.status().as_u16(), answer.text().await.expect("a body"));
    assert_eq!(status, 200, "{body}");
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    let db = data_dir::open(&data).await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&db).await.expect("checkpoint");
    sqlx::query("VACUUM").execute(&db).await.expect("vacuum");
    db.close().await;
    data
}

/// `buildstatus serve` on `data`: it must stop at once, non-zero, naming the file as damaged.
fn refused(data: &Path, cfg: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A server that starts anyway would never exit: it is stopped after a while, and fails.
    let started = std::time::Instant::now();
    while child.try_wait().expect("a status").is_none() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("its output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "refused, not served nor panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let file = data.join("buildstatus.sqlite");
    assert!(stderr.contains(&format!("{} is damaged", file.display())), "{stderr}");
    stderr
}

#[tokio::test]
async fn a_damaged_database_is_refused_at_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = history(dir.path()).await;
    let cfg = config(dir.path());
    let file = data.join("buildstatus.sqlite");
    let whole = std::fs::read(&file).expect("the database");
    assert!(whole.len() > 40 * 4096, "enough pages to damage one in the middle: {}", whole.len());

    // Garbage over the header.
    let mut damaged = whole.clone();
    damaged[..100].fill(0xA5);
    std::fs::write(&file, &damaged).expect("damaged");
    let stderr = refused(&data, &cfg);
    assert!(stderr.contains("restore it from a backup"), "{stderr}");

    // Garbage over one page in the middle, which only reading every page finds.
    let mut damaged = whole.clone();
    let page = whole.len() / 4096 / 2 * 4096;
    damaged[page..page + 4096].fill(0xA5);
    std::fs::write(&file, &damaged).expect("damaged");
    refused(&data, &cfg);

    // The file as it was starts.
    std::fs::write(&file, &whole).expect("restored");
    let server = common::start_binary_with_data(&["serve", "--config", &cfg], &data);
    let page = reqwest::get(format!("{}/builders/disk", server.base)).await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
}
