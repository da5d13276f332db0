//! Following a live Buildbot 4.3 master: a real master and a real `buildbot-worker`, both on
//! 127.0.0.1, run tiny builds (one builder that succeeds, one that fails) from a Periodic
//! scheduler, and report them with Buildbot's own `HttpStatusPush`, configured with the
//! lines the README gives, to the running `buildstatus` binary.

#[path = "buildbot/mod.rs"]
mod buildbot;
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOKEN: &str = "buildbot-master-token-0123456789";

/// A peer process; stopped (killed and reaped) when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("address").port()
}

fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("runs");
    assert!(out.status.success(), "{} {args:?}: {}", program.display(), String::from_utf8_lossy(&out.stderr));
}

fn start(program: &Path, dir: &Path, log: &Path) -> Peer {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(program)
        .args(["start", "--nodaemon", "."])
        .current_dir(dir)
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("starts");
    Peer(child)
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
