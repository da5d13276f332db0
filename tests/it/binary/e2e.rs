//! The binary as a user runs it: `buildstatus demo` on a free loopback port, every page walked
//! over HTTP, and `check-config` on good and broken files.
use crate::common;

use std::process::Command;

use crate::common::start_binary;
use futures_util::StreamExt;

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client")
}

#[tokio::test]
async fn the_demo_serves_every_page() {
    let demo = start_binary(&["demo", "--history", "300", "--seed", "7"]);
    let http = client();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", demo.base);
        async move {
            let response = http.get(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let (status, builders) = get("/builders".into()).await;
    assert_eq!(status, 200);
    for name in ["linux-gcc", "macos-arm64", "windows-arm64", "windows-installer"] {
        assert!(builders.contains(name), "/builders lists {name}");
    }
    assert!(builders.contains("Activity offline"), "the builder of the offline worker is offline");
    let (_, recent) = get("/one_line_per_build?numbuilds=50".into()).await;
    assert_eq!(recent.matches("<span class=\"reason\">").count(), 50, "50 recent builds across builders");
    for result in ["success", "failure", "warnings"] {
        assert!(recent.contains(&format!("class=\"{result}\"")), "recent builds include a {result}");
    }
    let pages = [
        "/",
        "/about",
        "/builders?branch=main",
        "/builders/linux-gcc",
        "/builders/linux-gcc?numbuilds=30",
        "/builders/linux-gcc/builds/0",
        "/builders/linux-gcc/builds/-1",
        "/builders/linux-gcc/builds/0/steps/git",
        "/builders/linux-gcc/builds/0/steps/git/logs/stdio",
        "/builders/linux-gcc/builds/0/steps/git/logs/stdio/text",
        "/one_line_per_build",
        "/one_line_per_build/linux-gcc",
        "/changes",
        "/changes/1",
        "/buildslaves",
        "/buildslaves/linux-w1",
        "/default.css",
        "/favicon.ico",
        "/robots.txt",
    ];
    for page in pages {
        let (status, body) = get(page.into()).await;
        assert_eq!(status, 200, "{page}: {body}");
        assert!(!body.is_empty(), "{page} is empty");
    }
    let (_, text) = get("/builders/linux-gcc/builds/0/steps/git/logs/stdio/text".into()).await;
    assert!(text.starts_with("git: 1 of"), "the text log starts with the output, headers stripped: {text}");
    let (_, about) = get("/about".into()).await;
    assert!(about.contains("axum: 0.8") && about.contains("sqlx: 0.9"), "about lists libraries");
    for (page, status) in [
        ("/builders/nope", 404),
        ("/builders/linux-gcc/builds/x", 400),
        ("/builders?numbuilds=1", 200),
        ("/one_line_per_build?numbuilds=x", 400),
    ] {
        assert_eq!(get(page.into()).await.0, status, "{page}");
    }
}

#[tokio::test]
async fn history_survives_a_crash() {
    let mut first = start_binary(&["demo", "--history", "100"]);
    let http = client();
    let page = http
        .get(format!("{}/builders/linux-gcc/builds/0", first.base))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("Build #0"));
    first.child.kill().expect("kill");
    first.child.wait().expect("wait");
    let serve = common::start_binary_with_data(&["serve"], &first.dir.path().join("data"));
    let again = http.get(format!("{}/builders/linux-gcc/builds/0", serve.base)).send().await.expect("page");
    assert_eq!(again.status().as_u16(), 200);
    let body = again.text().await.expect("body");
    assert!(body.contains("Build #0") && body.contains("git"), "the stored build is served after a crash");
    let text = http
        .get(format!("{}/builders/linux-gcc/builds/0/steps/git/logs/stdio/text", serve.base))
        .send()
        .await
        .expect("log");
    assert!(text.text().await.expect("body").starts_with("git: 1 of"), "its log too");
}

#[tokio::test]
async fn a_data_directory_is_served_by_one_process_at_a_time() {
    let first = start_binary(&["demo", "--history", "3"]);
    let data = first.dir.path().join("data");
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second server on the same directory must not start");
    assert!(
        err.contains(&format!("is in use by buildstatus process {}", first.child.id()))
            && err.contains("stop it first"),
        "{err}"
    );
    // The first one goes on serving.
    let page = client().get(format!("{}/builders", first.base)).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
}

#[test]
fn check_config_reports_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "title = \"Widget\"\nlisten = \"127.0.0.1:8011\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["check-config"]).arg(&good).output().expect("runs");
    assert!(out.status.success());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"x\"\nnumbuilds = -1\nfoo = 1\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["check-config"]).arg(&bad).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 problem(s)") && err.contains("listen:") && err.contains("numbuilds:") && err.contains("foo:"),
        "{err}"
    );
}

#[test]
fn check_config_compiles_every_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = dir.path().join("more-templates");
    std::fs::create_dir_all(dir.path().join("templates")).expect("templates/");
    std::fs::create_dir_all(&extra).expect("more-templates/");
    std::fs::write(dir.path().join("templates/builders.html"), "<ul>\n{% for b in rows %}\n").expect("write");
    std::fs::write(extra.join("layout.html"), "{{ content }}\n{{ }}").expect("write");
    let file = dir.path().join("buildstatus.toml");
    std::fs::write(&file, "jinja_loaders = [\"more-templates\"]\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["check-config"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(err.contains("templates/builders.html: template builders.html, line 2"), "{err}");
    assert!(err.contains("more-templates/layout.html: template layout.html, line 2"), "{err}");
}

#[tokio::test]
async fn a_live_page_does_not_keep_the_server_from_stopping() {
    let mut demo = start_binary(&["demo", "--history", "50"]);
    let events = client().get(format!("{}/events", demo.base)).send().await.expect("stream");
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut stream = events.bytes_stream();
    let first = stream.next().await.expect("a first message").expect("readable");
    assert!(String::from_utf8_lossy(&first).contains("retry:"), "the stream tells how soon to reconnect");
    // SIGTERM: a graceful stop must not wait for the endless stream.
    let pid = demo.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = demo.child.try_wait().expect("wait") {
            assert!(status.success(), "a clean exit: {status}");
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "still running 10 s after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
