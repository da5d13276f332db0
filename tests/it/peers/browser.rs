//! Pages in a real browser: headless Chromium loads `/builders` and a build page of the demo,
//! the DOM it built is checked, and screenshots are saved under `target/screenshots/`.
//! Chromium is a required peer (`.ci/run` installs it); a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::start_binary;

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
