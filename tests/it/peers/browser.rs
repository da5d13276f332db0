//! Pages in a real browser: headless Chromium loads `/builders` and a build page of the demo,
//! the DOM it built is checked, and screenshots are saved under `target/screenshots/`.
//! Chromium is a required peer (`.ci/run` installs it); a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::start_binary;
use crate::common::webdriver::Driver;

pub fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is installed (apt-get install chromium); .ci/run installs it")
}

fn run_chromium(profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("Chromium runs")
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[test]
fn chromium_renders_the_builders_and_a_build_page() {
    let demo = start_binary(&["demo", "--history", "200", "--seed", "3"]);
    let profile = tempfile::tempdir().expect("profile dir");
    for (page, name, expected) in [
        ("/builders", "builders", &["linux-gcc", "windows-arm64", "current"][..2]),
        ("/builders/linux-gcc/builds/0", "build", &["Steps and Logfiles:", "linux-gcc", "Build Properties:"][..]),
    ] {
        let url = format!("{}{page}", demo.base);
        let dom = run_chromium(profile.path(), &["--dump-dom".to_owned()], &url);
        let dom = String::from_utf8_lossy(&dom.stdout);
        for text in expected {
            assert!(dom.contains(text), "Chromium's DOM of {page} lacks {text}: {dom}");
        }
        let file = screenshots().join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        let shot = run_chromium(
            profile.path(),
            &[format!("--screenshot={}", file.display()), "--window-size=1280,900".to_owned()],
            &url,
        );
        let png = std::fs::read(&file)
            .unwrap_or_else(|e| panic!("no screenshot of {page} ({e}): {}", String::from_utf8_lossy(&shot.stderr)));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png is a PNG");
        assert!(png.len() > 10_000, "{name}.png shows a page, not a blank ({} bytes)", png.len());
    }
}

/// Every kind of page, opened in Chromium with the server's Content-Security-Policy in force
/// (scripts only from our own files): the browser reports no violation, and the pages'
/// scripts run (the live page connects, the log page keeps to its end). An inline script put
/// into a page is refused and reported, so the check can see a violation.
#[tokio::test]
async fn chromium_reports_no_content_security_policy_violation_on_any_page() {
    let demo = start_binary(&["demo", "--history", "60", "--seed", "3"]);
    let build = reqwest::get(format!("{}/builders/linux-gcc/builds/0", demo.base)).await.expect("page");
    let build = build.text().await.expect("text");
    let log = build
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("/logs/") && !href.ends_with("/text"))
        .unwrap_or_else(|| panic!("the build page links a log: {build}"))
        .trim_start_matches("../")
        .to_owned();
    let driver = Driver::start().await;
    let pages = [
        "/",
        "/builders",
        "/builders/linux-gcc",
        "/builders/linux-gcc/builds/0",
        &format!("/builders/linux-gcc/builds/0/{}", log.split("/builds/0/").last().unwrap_or(&log)),
        "/waterfall",
        "/grid",
        "/tgrid",
        "/console",
        "/changes",
        "/buildslaves",
        "/one_line_per_build",
        "/one_box_per_builder",
        "/about",
        "/login",
        "/users",
        "/no-such-page",
    ];
    driver.console().await;
    for page in pages {
        driver.open(&format!("{}{page}", demo.base)).await;
        driver.wait_for(&format!("{page} loads"), "return document.readyState", |s| s == "complete").await;
        let said = driver.console().await;
        let violations: Vec<&String> = said.iter().filter(|m| m.contains("Content Security Policy")).collect();
        assert!(violations.is_empty(), "{page}: {violations:?}");
    }
    // The last page opened with a script of its own, the log page, loaded it from its file.
    driver.open(&format!("{}{}", demo.base, pages[4])).await;
    let loaded = "return performance.getEntriesByType('resource').some(e => e.name.endsWith('/log.js'))";
    driver.wait_for("the log page loads log.js", loaded, |v| v == true).await;

    // A script slipped into a page inline is refused, and the console says so.
    driver.open(&format!("{}/builders", demo.base)).await;
    driver
        .eval(
            "var s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.head.appendChild(s);",
        )
        .await;
    let ran = driver.eval("return window.ran === 1").await;
    assert_eq!(ran, false, "the inline script did not run");
    let said = driver.console().await;
    assert!(said.iter().any(|m| m.contains("Content Security Policy")), "the refusal is reported: {said:?}");
}
