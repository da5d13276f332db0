//! SIGHUP re-reads the configuration of a running `buildstatus serve`: a good one is applied
//! to the next requests while an open live stream goes on receiving events; a bad one is
//! refused, its problems logged, and the one in force kept (templates too).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

const TOKEN: &str = "reload-token-0123456789";

fn config(title: &str, extra: &str) -> String {
    format!("title = \"{title}\"\n{extra}[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n")
}

fn hang_up(pid: u32) {
    assert!(Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill").success());
}

async fn page(base: &str, path: &str) -> String {
    reqwest::get(format!("{base}{path}")).await.expect("answers").text().await.expect("text")
}

#[tokio::test]
async fn sighup_applies_a_good_configuration_and_keeps_the_old_one_for_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("buildstatus.toml");
    std::fs::write(&file, config("Before", "")).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config", file.to_str().expect("path")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let errors = BufReader::new(child.stderr.take().expect("stderr"));
    let server = Reaped(child);
    let base = loop {
        let line = out.next().expect("an address").expect("stdout");
        if let Some(rest) = line.split("serving ").nth(1) {
            break rest.split_whitespace().next().expect("address").trim_end_matches('/').to_owned();
        }
    };
    let log = Arc::new(Mutex::new(String::new()));
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in errors.lines().map_while(Result::ok) {
            kept.lock().expect("log").push_str(&(line + "\n"));
        }
    });
    assert!(page(&base, "/").await.contains("Before"));

    // A live stream, open across the reloads.
    let stream = reqwest::get(format!("{base}/events?after=0")).await.expect("a stream");
    let mut stream = stream.bytes_stream();

    std::fs::write(&file, config("After", "numbuilds = 7\n")).expect("config");
    hang_up(server.0.id());
    let start = Instant::now();
    while !page(&base, "/").await.contains("After") {
        assert!(start.elapsed() < Duration::from_secs(10), "the new title never showed: {}", log.lock().expect("log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A configuration with problems: refused, said in the log, the old one kept.
    std::fs::write(&file, config("Broken", "colour = \"blue\"\n")).expect("config");
    hang_up(server.0.id());
    let start = Instant::now();
    while !log.lock().expect("log").contains("unknown key 'colour'") {
        assert!(start.elapsed() < Duration::from_secs(10), "no problem logged: {}", log.lock().expect("log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.lock().expect("log").contains("the one in force is kept"));
    assert!(page(&base, "/").await.contains("After"), "the configuration in force stays");

    // Templates are part of the configuration: a new one is drawn after a SIGHUP, a broken
    // one is refused like any other problem.
    std::fs::write(&file, config("After", "numbuilds = 7\n")).expect("config");
    std::fs::create_dir_all(dir.path().join("templates")).expect("templates/");
    std::fs::write(dir.path().join("templates/root.html"), "<p>templated {{ page.title }}</p>").expect("template");
    hang_up(server.0.id());
    let start = Instant::now();
    while !page(&base, "/").await.contains("<p>templated After</p>") {
        assert!(start.elapsed() < Duration::from_secs(10), "the template never showed: {}", log.lock().expect("log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(dir.path().join("templates/root.html"), "{% if %}").expect("template");
    hang_up(server.0.id());
    let start = Instant::now();
    while !log.lock().expect("log").contains("root.html") {
        assert!(start.elapsed() < Duration::from_secs(10), "no template problem logged: {}", log.lock().expect("log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(page(&base, "/").await.contains("<p>templated After</p>"), "the templates in force stay");

    // The stream opened before both reloads still delivers what happens now.
    let builder = serde_json::json!({"type": "builder_added", "event_id": "b1", "builder": {"name": "after-reload"}});
    let posted =
        reqwest::Client::new().post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).json(&builder).send().await;
    let posted = posted.expect("posted");
    let status = posted.status();
    assert!(status.is_success(), "{status}: {}", posted.text().await.unwrap_or_default());
    let mut seen = String::new();
    let start = Instant::now();
    while !seen.contains("builder_added") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
        let chunk = chunk.expect("the stream is alive").expect("more").expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        assert!(start.elapsed() < Duration::from_secs(10), "{seen}");
    }
}

/// Kills and reaps the server when the test ends, whichever way.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
