//! Following a live Buildbot 4.3 master: a real master and a real `buildbot-worker`, both on
//! 127.0.0.1, run tiny builds (one builder that succeeds, one that fails) from a Periodic
//! scheduler, and report them with Buildbot's own `HttpStatusPush`, configured with the
//! lines the README gives, to the running `buildstatus` binary.

#[path = "buildbot/mod.rs"]
mod buildbot;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use buildbot::{free_port, start};
use serde_json::Value;

const TOKEN: &str = "buildbot-master-token-0123456789";

fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("runs");
    assert!(out.status.success(), "{} {args:?}: {}", program.display(), String::from_utf8_lossy(&out.stderr));
}

async fn json(base: &str, path: &str) -> Option<Value> {
    let response = reqwest::get(format!("{base}{path}")).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test]
async fn builds_of_a_live_buildbot_master_arrive_as_they_start_and_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("buildstatus.toml");
    std::fs::write(&config, format!("[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n")).expect("write");
    let server = common::start_binary(&["serve", "--config", config.to_str().expect("path")]);
    let base = server.base.clone();

    let bin = buildbot::venv().join("bin");
    let (master, worker) = (dir.path().join("master"), dir.path().join("worker"));
    let pb = free_port();
    run(&bin.join("buildbot"), &["create-master", "-r", master.to_str().expect("path")]);
    let cfg = format!(
        r#"
from buildbot.plugins import reporters, schedulers, steps, util, worker
c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{pb}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'pw')]
ok = util.BuildFactory([steps.ShellCommand(name='hello', command=['sh', '-c', 'echo hello; sleep 2'])])
broken = util.BuildFactory([steps.ShellCommand(name='fail', command=['sh', '-c', 'sleep 1; exit 3'])])
c['builders'] = [util.BuilderConfig(name='tiny', workernames=['w1'], factory=ok),
                 util.BuilderConfig(name='broken', workernames=['w1'], factory=broken)]
c['schedulers'] = [schedulers.Periodic(name='often', builderNames=['tiny', 'broken'], periodicBuildTimer=3)]
# The README's lines:
c['services'] = [reporters.HttpStatusPush(serverUrl='{base}/api/v1/buildbot',
                                          headers={{'Authorization': 'Bearer {TOKEN}'}})]
"#
    );
    std::fs::write(master.join("master.cfg"), cfg).expect("master.cfg");
    run(
        &bin.join("buildbot-worker"),
        &["create-worker", worker.to_str().expect("path"), &format!("127.0.0.1:{pb}"), "w1", "pw"],
    );
    let _master = start(&bin.join("buildbot"), &master, &dir.path().join("master.log"));
    let _worker = start(&bin.join("buildbot-worker"), &worker, &dir.path().join("worker.log"));

    // Watch buildstatus: a tiny build must be seen running, and then 3 finished per builder.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen_running = false;
    loop {
        let tiny = json(&base, "/json/builders/tiny").await;
        let broken = json(&base, "/json/builders/broken").await;
        if let Some(t) = &tiny {
            seen_running |= !t["currentBuilds"].as_array().is_none_or(Vec::is_empty);
        }
        let finished = |b: &Option<Value>| {
            b.as_ref().map_or(0, |b| {
                let all = b["cachedBuilds"].as_array().map_or(0, Vec::len);
                all - b["currentBuilds"].as_array().map_or(0, Vec::len)
            })
        };
        if seen_running && finished(&tiny) >= 3 && finished(&broken) >= 3 {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("master.log")).unwrap_or_default();
            panic!(
                "no 3 finished builds per builder in 120 s (running seen: {seen_running}): {tiny:?} {broken:?}\n{log}"
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    let first = json(&base, "/json/builders/tiny/builds/1").await.expect("tiny #1");
    assert_eq!(first["results"], 0, "{first}");
    assert_eq!(first["slave"], "w1");
    assert_eq!(first["text"][0], "build successful");
    assert!(first["reason"].as_str().expect("reason").contains("Periodic scheduler named 'often'"), "{first}");
    let times = first["times"].as_array().expect("times");
    assert!(
        times[1].as_f64().expect("end") - times[0].as_f64().expect("start") >= 2.0,
        "it ran the 2 s command: {first}"
    );
    let failed = json(&base, "/json/builders/broken/builds/2").await.expect("broken #2");
    assert_eq!(failed["results"], 2, "{failed}");
    // Buildbot's own words for it.
    assert_eq!(failed["text"][0], "failed 'sh -c ...' (failure)", "{failed}");
    let page = reqwest::get(format!("{base}/builders/broken")).await.expect("page").text().await.expect("text");
    assert!(
        page.contains("<td class=\"failure\">failure</td>") && page.contains("Failed 'sh -c ...' (failure)"),
        "{page}"
    );
}

async fn buildbot_builds(api: &str) -> Vec<Value> {
    let answer = reqwest::Client::new().get(format!("{api}/builds?complete=true")).header("Accept", "application/json");
    let body: Value = match answer.send().await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    body["builds"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn catch_up_posts_what_a_master_ran_while_buildstatus_was_away_and_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = buildbot::venv().join("bin");
    let (master, worker) = (dir.path().join("master"), dir.path().join("worker"));
    let (pb, www) = (free_port(), free_port());
    run(&bin.join("buildbot"), &["create-master", "-r", master.to_str().expect("path")]);
    let cfg = format!(
        r#"
from buildbot.plugins import changes, schedulers, steps, util, worker
c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{pb}:interface=127.0.0.1'}}}}
c['www'] = {{'port': 'tcp:{www}:interface=127.0.0.1', 'plugins': {{}}}}
c['change_source'] = [changes.PBChangeSource(user='change', passwd='changepw')]
c['collapseRequests'] = False
c['workers'] = [worker.Worker('w1', 'pw')]
ok = util.BuildFactory([steps.ShellCommand(name='hello', command=['sh', '-c', 'echo hello'])])
broken = util.BuildFactory([steps.ShellCommand(name='fail', command=['sh', '-c', 'exit 3'])])
c['builders'] = [util.BuilderConfig(name='tiny', workernames=['w1'], factory=ok),
                 util.BuilderConfig(name='broken', workernames=['w1'], factory=broken)]
c['schedulers'] = [schedulers.AnyBranchScheduler(name='all', treeStableTimer=None, builderNames=['tiny', 'broken'])]
"#
    );
    std::fs::write(master.join("master.cfg"), cfg).expect("master.cfg");
    run(
        &bin.join("buildbot-worker"),
        &["create-worker", worker.to_str().expect("path"), &format!("127.0.0.1:{pb}"), "w1", "pw"],
    );
    let _master = start(&bin.join("buildbot"), &master, &dir.path().join("master.log"));
    let _worker = start(&bin.join("buildbot-worker"), &worker, &dir.path().join("worker.log"));
    let api = format!("http://127.0.0.1:{www}/api/v2");

    // Two pushes, built by both builders while no buildstatus runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    for revision in ["r1", "r2"] {
        loop {
            let sent = Command::new(bin.join("buildbot"))
                .args(["sendchange", "--master", &format!("127.0.0.1:{pb}"), "--who", "Alice <a@example.org>"])
                .args(["--branch", "main", "--revision", revision, "src/lib.rs"])
                .output()
                .expect("sendchange runs");
            if sent.status.success() {
                break;
            }
            assert!(Instant::now() < deadline, "sendchange: {}", String::from_utf8_lossy(&sent.stderr));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    while buildbot_builds(&api).await.len() < 4 {
        let log = std::fs::read_to_string(dir.path().join("master.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "Buildbot did not run 4 builds in 120 s:\n{log}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let config = dir.path().join("buildstatus.toml");
    std::fs::write(&config, format!("[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n")).expect("write");
    let server = common::start_binary(&["serve", "--config", config.to_str().expect("path")]);
    let catch_up = || {
        Command::new(env!("CARGO_BIN_EXE_buildstatus"))
            .args(["catch-up-buildbot", "--api", &api, "--url", &server.base])
            .env("BUILDSTATUS_TOKEN", TOKEN)
            .output()
            .expect("runs")
    };
    let out = catch_up();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("caught up with Buildbot: 8 events applied, 0 already here"),
        "4 starts and 4 finishes: {text}"
    );
    for (builder, result, text) in [("tiny", 0, "build successful"), ("broken", 2, "failed 'sh -c ...' (failure)")] {
        for number in [1, 2] {
            let build = json(&server.base, &format!("/json/builders/{builder}/builds/{number}")).await.expect("build");
            assert_eq!((&build["results"], &build["text"][0]), (&Value::from(result), &Value::from(text)), "{build}");
            assert_eq!(build["sourceStamps"][0]["branch"], "main", "{build}");
        }
    }
    let again = catch_up();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success() && text.contains("0 events applied"), "{text}");
}
