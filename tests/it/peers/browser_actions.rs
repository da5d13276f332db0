//! The Force Build button in a real browser: Chromium (through chromedriver) logs in to the
//! demo with a password from an `htpasswd` file, presses Force Build on a builder page, and
//! watches the forced build start and finish on the live waterfall, without a reload; then it
//! forces another and presses Stop on its build page, and the build ends cancelled.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::start_binary;
use crate::common::webdriver::Driver;
use serde_json::Value;

async fn json(base: &str, path: &str) -> Value {
    let answer = reqwest::get(format!("{base}{path}")).await.expect("json answered");
    answer.json().await.unwrap_or(Value::Null)
}

/// The number of the build of `builder` whose reason contains `reason`, once one started.
async fn started_build(base: &str, builder: &str, reason: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = json(base, &format!("/json/builders/{builder}")).await["currentBuilds"].clone();
        let cached = json(base, &format!("/json/builders/{builder}")).await["cachedBuilds"].clone();
        for number in current.as_array().into_iter().chain(cached.as_array()).flatten().filter_map(Value::as_u64) {
            let build = json(base, &format!("/json/builders/{builder}/builds/{number}")).await;
            if build["reason"].as_str().is_some_and(|r| r.contains(reason)) {
                return number;
            }
        }
        assert!(Instant::now() < deadline, "no build of {builder} for '{reason}' started in 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The build, once finished.
async fn finished_build(base: &str, builder: &str, number: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let build = json(base, &format!("/json/builders/{builder}/builds/{number}")).await;
        if !build["times"][1].is_null() {
            return build;
        }
        assert!(Instant::now() < deadline, "{builder} #{number} did not finish in 120 s: {build}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn htpasswd(dir: &Path, args: &[&str]) {
    let out = Command::new("htpasswd").args(args).current_dir(dir).output().expect("htpasswd runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Logs in through the header's form, on the page open now.
async fn log_in(driver: &Driver, user: &str, password: &str) {
    driver.type_into("form.login input[name=username]", user).await;
    driver.type_into("form.login input[name=passwd]", password).await;
    driver.click("form.login input[type=submit]").await;
    let said = "return document.querySelector('div.auth') ? document.querySelector('div.auth').innerText : '';";
    driver
        .wait_for("logged in", said, |v| v.as_str().is_some_and(|t| t.contains(&format!("Logged in as {user}"))))
        .await;
}

/// Presses Force Build with `reason` on the builder page open now; the alert it led to.
async fn force(driver: &Driver, reason: &str) -> String {
    driver.type_into("form.command_forcebuild input[name=reason]", reason).await;
    driver.click("form.command_forcebuild input[type=submit]").await;
    let alert = "var a = document.querySelector('div.alert'); return a ? a.innerText : '';";
    let said = driver.wait_for("the force's answer", alert, |v| v.as_str().is_some_and(|t| !t.is_empty())).await;
    said.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_build_in_chromium_runs_a_demo_build_on_the_live_waterfall_and_stop_cancels_one() {
    let dir = tempfile::tempdir().expect("dir");
    htpasswd(dir.path(), &["-cbB", "users.htpasswd", "ann", "ann's password"]);
    let config = dir.path().join("buildstatus.toml");
    let text = format!(
        "[authz]\nforceBuild = \"auth\"\nstopBuild = \"auth\"\n[auth]\nhtpasswd = \"{}\"\n",
        dir.path().join("users.htpasswd").display()
    );
    std::fs::write(&config, text).expect("config");
    let demo = start_binary(&["demo", "--history", "30", "--pace", "150", "--config", config.to_str().expect("path")]);
    let base = demo.base.clone();
    let driver = Driver::start().await;

    driver.open(&format!("{base}/builders/linux-gcc")).await;
    let no_form = driver.eval("return document.querySelector('form.command_forcebuild') === null;").await;
    assert_eq!(no_form, true, "no Force Build button before logging in");
    log_in(&driver, "ann", "ann's password").await;
    assert!(driver.url().await.ends_with("/builders/linux-gcc"), "back on the page it came from");

    let said = force(&driver, "pressed in Chromium").await;
    assert!(said.starts_with("Build requested (request "), "{said}");
    let number =
        started_build(&base, "linux-gcc", "A build was forced by 'ann <ann@localhost>': pressed in Chromium").await;

    // The live waterfall shows it start, then every step of it finished (each step's box, with
    // its log, coloured by its result), without a reload.
    driver.open(&format!("{base}/waterfall?builder=linux-gcc")).await;
    driver.eval("document.body.setAttribute('data-loaded-once', 'yes'); return null;").await;
    let link = format!("a[href$='builders/linux-gcc/builds/{number}']");
    let shown = format!("return document.querySelector(\"{link}\") !== null;");
    driver.wait_for("the forced build on the waterfall", &shown, |v| v == true).await;
    let build = finished_build(&base, "linux-gcc", number).await;
    let steps = build["steps"].as_array().map_or(0, Vec::len);
    let boxes = format!(
        "return Array.from(document.querySelectorAll(\"a[href*='builders/linux-gcc/builds/{number}/steps/'][href$='/logs/stdio']\"))
           .map(function (a) {{ return a.closest('td').className; }});"
    );
    let classes = driver
        .wait_for("every step of it finished on the waterfall", &boxes, |v| {
            v.as_array()
                .is_some_and(|c| c.len() == steps && c.iter().all(|k| !k.as_str().unwrap_or("").contains("running")))
        })
        .await;
    assert!(steps > 0, "{build}");
    assert_eq!(
        driver.eval("return document.body.getAttribute('data-loaded-once');").await,
        "yes",
        "updated in place: {classes}"
    );

    // Another one, stopped from its build page: it ends cancelled. (A simulated build may
    // fail at its first step and be over before the page is open: then force another.)
    let alert = "var a = document.querySelector('div.alert'); return a ? a.innerText : '';";
    let mut stopped = None;
    for attempt in 0..4 {
        driver.open(&format!("{base}/builders/linux-gcc")).await;
        let reason = format!("to be stopped {attempt}");
        force(&driver, &reason).await;
        let doomed = started_build(&base, "linux-gcc", &reason).await;
        driver.open(&format!("{base}/builders/linux-gcc/builds/{doomed}")).await;
        if driver.eval("return document.querySelector('form.command_stopbuild') === null;").await == true {
            finished_build(&base, "linux-gcc", doomed).await;
            continue;
        }
        driver.type_into("form.command_stopbuild input[name=comments]", "not needed").await;
        driver.click("form.command_stopbuild input[type=submit]").await;
        let said = driver.wait_for("the stop's answer", alert, |v| v.as_str().is_some_and(|t| !t.is_empty())).await;
        if said.as_str().is_some_and(|t| t.contains("is being stopped")) {
            stopped = Some(doomed);
            break;
        }
        assert!(said.as_str().is_some_and(|t| t.contains("is not running")), "{said}");
    }
    let doomed = stopped.expect("a build was stopped while it ran");
    let build = finished_build(&base, "linux-gcc", doomed).await;
    assert_eq!(build["results"], 6, "cancelled: {build}");
    assert_eq!(build["text"][0], "cancelled", "{build}");
    driver.open(&format!("{base}/builders/linux-gcc/builds/{doomed}")).await;
    let result = "var r = document.querySelector('p.result'); return r ? r.className + ' ' + r.innerText : '';";
    driver
        .wait_for("the build page says cancelled", result, |v| v.as_str().is_some_and(|t| t.contains("Cancelled")))
        .await;
}
