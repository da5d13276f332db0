//! Following a live Buildbot 4.3 master: a real master and a real `buildbot-worker`, both on
//! 127.0.0.1, run tiny builds (one builder that succeeds, one that fails) from a Periodic
//! scheduler, and report them with Buildbot's own `HttpStatusPush`, configured with the
//! lines the README gives, to the running `buildstatus` binary.
use crate::common;
use crate::common::buildbot;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::buildbot::{free_port, start};
use serde_json::Value;

const TOKEN: &str = "buildbot-master-token-0123456789";

/// Runs a Buildbot program; fails the test with its message when it fails.
pub(super) fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("runs");
    assert!(out.status.success(), "{} {args:?}: {}", program.display(), String::from_utf8_lossy(&out.stderr));
}

/// The JSON at `base` + `path`, if it answers 2xx with JSON.
pub(super) async fn json(base: &str, path: &str) -> Option<Value> {
    let response = reqwest::get(format!("{base}{path}")).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test]
async fn builds_of_a_live_buildbot_master_arrive_as_they_start_and_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ingesting_server(dir.path(), "");
    let base = server.base.clone();

    let _slot = buildbot::slot();
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
ok = util.BuildFactory([steps.ShellCommand(name='hello', command=['sh', '-c', 'echo hello; sleep 2']),
                        steps.SetProperty(property='deployed_to', value='staging')])
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
    // Set by the build's last step: only the finish report has it.
    let properties = first["properties"].as_array().expect("properties");
    assert!(properties.iter().any(|p| p[0] == "deployed_to" && p[1] == "staging"), "{first}");
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

/// A Buildbot master with a REST API and a worker, building each change on `tiny` (which
/// succeeds) and `broken` (which fails); no reporter: buildstatus is away.
struct QuietMaster {
    _master: buildbot::Peer,
    _worker: buildbot::Peer,
    _slot: buildbot::Slot,
    api: String,
    pb: u16,
    log: std::path::PathBuf,
}

impl QuietMaster {
    fn start(dir: &Path) -> Self {
        let _slot = buildbot::slot();
        let bin = buildbot::venv().join("bin");
        let (master, worker) = (dir.join("master"), dir.join("worker"));
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
        let log = dir.join("master.log");
        let _master = start(&bin.join("buildbot"), &master, &log);
        let _worker = start(&bin.join("buildbot-worker"), &worker, &dir.join("worker.log"));
        Self { _master, _worker, _slot, api: format!("http://127.0.0.1:{www}/api/v2"), pb, log }
    }

    /// Pushes one change per revision and waits until both builders have built each.
    async fn build(&self, revisions: &[&str]) {
        let bin = buildbot::venv().join("bin");
        let deadline = Instant::now() + Duration::from_secs(150);
        for revision in revisions {
            loop {
                let sent = Command::new(bin.join("buildbot"))
                    .args(["sendchange", "--master", &format!("127.0.0.1:{}", self.pb)])
                    .args(["--who", "Alice <a@example.org>", "--branch", "main", "--revision", revision, "src/lib.rs"])
                    .output()
                    .expect("sendchange runs");
                if sent.status.success() {
                    break;
                }
                assert!(Instant::now() < deadline, "sendchange: {}", String::from_utf8_lossy(&sent.stderr));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        while buildbot_builds(&self.api).await.len() < revisions.len() * 2 {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            assert!(Instant::now() < deadline, "Buildbot did not run {} builds in time:\n{log}", revisions.len() * 2);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// `buildstatus catch-up-buildbot` against `server`, with the token.
fn catch_up_cli(api: &str, server: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["catch-up-buildbot", "--api", api, "--url", server])
        .env("BUILDSTATUS_TOKEN", TOKEN)
        .output()
        .expect("runs")
}

/// A `buildstatus serve` with the ingest API on and `extra` config lines.
/// Posts `report` to the server's `HttpStatusPush` endpoint, as Buildbot would; it must be taken.
async fn push(base: &str, report: &Value) {
    let posted = reqwest::Client::new().post(format!("{base}/api/v1/buildbot")).bearer_auth(TOKEN).json(report);
    let answer = posted.send().await.expect("posted");
    let status = answer.status();
    assert!(status.is_success(), "{status}: {}", answer.text().await.unwrap_or_default());
}

fn ingesting_server(dir: &Path, extra: &str) -> common::Binary {
    let config = dir.join("buildstatus.toml");
    let text = format!("{extra}\n[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n");
    std::fs::write(&config, text).expect("write");
    common::start_binary(&["serve", "--config", config.to_str().expect("path")])
}

#[tokio::test]
async fn catch_up_posts_what_a_master_ran_while_buildstatus_was_away_and_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two pushes, built by both builders while no buildstatus runs.
    let master = QuietMaster::start(dir.path());
    master.build(&["r1", "r2"]).await;
    let api = master.api.clone();

    let server = ingesting_server(dir.path(), "");
    let catch_up = || catch_up_cli(&api, &server.base);
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

/// Buildstatus had `tiny` #1, was away while #2 ran, and `HttpStatusPush` reported #3 once it
/// was back: catch-up finds the gap, posts #2, and lists it as refused with the reason (a
/// builder's build numbers only grow), instead of saying nothing about it.
#[tokio::test]
async fn catch_up_lists_a_build_missed_below_the_newest_as_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master = QuietMaster::start(dir.path());
    master.build(&["r1", "r2", "r3"]).await;
    let server = ingesting_server(dir.path(), "");
    // What the reporter delivered: tiny #1 before the outage, tiny #3 after it.
    let builds = buildbot_builds(&master.api).await;
    let client = reqwest::Client::new();
    let tiny_id = {
        let builders = client.get(format!("{}/builders", master.api)).send().await.expect("builders");
        let builders: Value = builders.json().await.expect("json");
        builders["builders"].as_array().expect("list").iter().find(|b| b["name"] == "tiny").expect("tiny")["builderid"]
            .clone()
    };
    for number in [1, 3] {
        let found = builds.iter().find(|b| b["builderid"] == tiny_id && b["number"] == number);
        let mut report = found.expect("tiny build").clone();
        report["builder"] = serde_json::json!({ "builderid": tiny_id, "name": "tiny" });
        push(&server.base, &report).await;
    }

    let out = catch_up_cli(&master.api, &server.base);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("caught up with Buildbot: 6 events applied, 0 already here"), "broken #1 to #3: {text}");
    let refused: Vec<&str> = text.lines().filter(|l| l.contains("refused:")).collect();
    assert_eq!(refused.len(), 1, "{text}");
    assert!(
        refused[0].starts_with("  refused: tiny #2: it ran while buildstatus was away, but #3 is newer here")
            && refused[0].contains("build numbers only grow")
            && refused[0].contains("is not newer than #3"),
        "{text}"
    );
    let tiny = json(&server.base, "/json/builders/tiny").await.expect("tiny");
    assert_eq!(tiny["cachedBuilds"], serde_json::json!([1, 3]), "{tiny}");
}

/// A stand-in for a Buildbot REST API with one builder, `big`, whose builds list is `builds`:
/// for answers no real master gives.
async fn fake_rest(builds: &'static str) -> String {
    fake_rest_with(r#"{"builders": [{"builderid": 1, "name": "big"}]}"#, builds).await
}

async fn fake_rest_with(builders: &'static str, builds: &'static str) -> String {
    use axum::http::header::CONTENT_TYPE;
    let answer = |body: &'static str| move || async move { ([(CONTENT_TYPE, "application/json")], body) };
    let app = axum::Router::new()
        .route("/api/v2/builders", axum::routing::get(answer(builders)))
        .route("/api/v2/builders/1/builds", axum::routing::get(answer(builds)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/api/v2")
}

#[tokio::test]
async fn a_malformed_rest_answer_is_an_error_naming_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ingesting_server(dir.path(), "");
    let api = fake_rest(r#"{"builds": [1]}"#).await;
    let error = buildstatus::app::catch_up::catch_up(&api, &server.base, TOKEN).await.expect_err("not a build");
    assert!(error.contains("build entry 0 (1): not an object with a build number"), "{error}");
    // A builder without a name is not skipped in silence (its builds would never be fetched).
    let api = fake_rest_with(r#"{"builders": [{"builderid": 1}]}"#, r#"{"builds": []}"#).await;
    let error = buildstatus::app::catch_up::catch_up(&api, &server.base, TOKEN).await.expect_err("no name");
    assert!(error.contains(r#"builder entry 0 ({"builderid":1}): no builderid and name"#), "{error}");
}

/// A build numbered 4294967295 (the highest number there is) here: no build can be newer, so
/// catch-up asks for none, instead of overflowing to "everything from #0".
#[tokio::test]
async fn a_build_with_the_highest_number_is_not_an_overflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ingesting_server(dir.path(), "");
    let report = serde_json::json!({
        "number": u32::MAX, "complete": true, "started_at": 1_795_617_240, "complete_at": 1_795_617_250,
        "results": 0, "state_string": "build successful", "builder": { "builderid": 1, "name": "big" },
    });
    push(&server.base, &report).await;
    let api = fake_rest(r#"{"builds": [{"number": 0, "complete": true}]}"#).await;
    let done = buildstatus::app::catch_up::catch_up(&api, &server.base, TOKEN).await.expect("caught up");
    assert_eq!((done.applied, done.repeated, done.refused.len()), (0, 0, 0), "{done}");
}

/// With `/json` turned off nothing tells what the server has (a 404 for `/json/builders/big`
/// is not "big is unknown here"): catch-up says so and posts nothing, instead of every build.
#[tokio::test]
async fn catch_up_needs_the_servers_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ingesting_server(dir.path(), "provide_feeds = [\"atom\", \"rss\"]");
    let api = fake_rest(
        r#"{"builds": [{"number": 1, "complete": true, "started_at": 1795617240, "complete_at": 1795617250,
            "results": 0, "state_string": "build successful"}]}"#,
    )
    .await;
    let error = buildstatus::app::catch_up::catch_up(&api, &server.base, TOKEN).await.expect_err("no /json");
    assert!(error.contains("/json/builders answered 404") && error.contains("provide_feeds"), "{error}");
    let page = reqwest::get(format!("{}/builders/big", server.base)).await.expect("page");
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND, "nothing was posted");
}

/// A gap far below the newest build (out of the 15 that `cachedBuilds` lists) is found too:
/// the server names every build number it stores.
#[tokio::test]
async fn catch_up_sees_a_gap_far_below_the_newest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ingesting_server(dir.path(), "");
    let build = |number: u32| {
        serde_json::json!({
            "number": number, "complete": true, "started_at": 1_795_617_240 + i64::from(number) * 60,
            "complete_at": 1_795_617_250 + i64::from(number) * 60, "results": 0,
            "state_string": "build successful", "builder": { "builderid": 1, "name": "big" },
        })
    };
    for number in (1..=20).filter(|n| *n != 2) {
        push(&server.base, &build(number)).await;
    }
    let builds: Vec<serde_json::Value> = (1..=20).map(build).collect();
    let api = fake_rest(Box::leak(serde_json::json!({ "builds": builds }).to_string().into_boxed_str())).await;
    let done = buildstatus::app::catch_up::catch_up(&api, &server.base, TOKEN).await.expect("caught up");
    assert_eq!(done.refused.len(), 1, "{done}");
    assert!(done.refused[0].starts_with("big #2: it ran while buildstatus was away, but #20 is newer here"), "{done}");
}
