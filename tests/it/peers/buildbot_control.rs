//! The actions against a real Buildbot 4.3 master and worker: buildstatus follows the master
//! (its builds through `HttpStatusPush`, its builders and workers through its REST API) and
//! commands it through that API with the credentials of a user Buildbot's own authz lets
//! control it. A visitor logged in here presses Force Build: Buildbot runs the build, and it
//! shows up here as it starts; Stop: it ends cancelled, here too; Pause: the worker is paused
//! there and here; Force All: one buildset on both builders. The control password never
//! reaches buildstatus's log.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha1::Digest;

use super::buildbot_follow::{json, run};
use crate::common::buildbot::{self, free_port, start};
use crate::common::web::{csrf_of, post_form};

const TOKEN: &str = "buildbot-master-token-0123456789";
const CONTROL_PASSWORD: &str = "ctl-password-not-to-be-logged";

/// Waits up to `seconds` for `check` to give something; fails with `what` and `logs`.
async fn until<T>(what: &str, seconds: u64, logs: &dyn Fn() -> String, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s\n{}", logs());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A visitor of the buildstatus server: its session cookie, and the token of its forms.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Visitor {
    async fn log_in(base: &str, user: &str, password: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let answer = post_form(&http, &format!("{base}/login"), &[("username", user), ("passwd", password)]);
        let answer = answer.send().await.expect("login");
        let cookie = answer.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("cookie");
        assert!(cookie.starts_with("BuildBotSession="), "logged in: {cookie}");
        Self { http, base: base.to_owned(), cookie: cookie.to_owned() }
    }

    async fn page(&self, path: &str) -> String {
        let answer = self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await;
        answer.expect("page").text().await.expect("text")
    }

    /// Posts an action's form (with the token `page` carries); the alert it ends with.
    async fn act(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> String {
        let token = csrf_of(&self.page(page).await).expect("a token");
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let answer = post_form(&self.http, &format!("{}{action}", self.base), &all).header("cookie", &self.cookie);
        let answer = answer.send().await.expect("posted");
        assert_eq!(answer.status(), reqwest::StatusCode::FOUND, "{action}");
        let to = answer.headers()["location"].to_str().expect("location");
        let alert = to.split_once("alert_msg=").map_or("", |(_, a)| a);
        percent_encoding::percent_decode_str(alert).decode_utf8_lossy().into_owned()
    }
}

#[tokio::test]
async fn force_stop_pause_and_force_all_go_to_a_real_buildbot_and_come_back_through_its_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pb, www) = (free_port(), free_port());
    std::fs::write(dir.path().join("ctl.secret"), format!("{CONTROL_PASSWORD}\n")).expect("secret");
    let ann = format!("{{SHA}}{}", base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(b"ann's pw")));
    let config = format!(
        r#"
[ingest]
tokens = ["{TOKEN}"]
create_builders = true
[buildbot]
url = "http://127.0.0.1:{www}/"
user = "ctl"
password_file = "{}"
poll = 1
[authz]
forceBuild = "auth"
forceAllBuilds = "auth"
stopBuild = "auth"
pauseSlave = "auth"
[auth]
basic = {{ ann = "{ann}" }}
"#,
        dir.path().join("ctl.secret").display()
    );
    let server_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(server_dir.path().join("buildstatus.toml"), config).expect("config");
    let config = server_dir.path().join("buildstatus.toml");
    let server = crate::common::start_binary_logged(&["serve", "--config", config.to_str().expect("path")], server_dir);
    let base = server.base.clone();

    let _slot = buildbot::slot();
    let bin = buildbot::venv().join("bin");
    let (master, worker) = (dir.path().join("master"), dir.path().join("worker"));
    run(&bin.join("buildbot"), &["create-master", "-r", master.to_str().expect("path")]);
    let cfg = format!(
        r#"
from buildbot.plugins import reporters, schedulers, steps, util, worker
c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['buildbotURL'] = 'http://127.0.0.1:{www}/'
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{pb}:interface=127.0.0.1'}}}}
# Only 'ctl' may control this master (anyone may look).
c['www'] = {{'port': 'tcp:{www}:interface=127.0.0.1', 'plugins': {{}},
            'auth': util.UserPasswordAuth({{'ctl': '{CONTROL_PASSWORD}'}}),
            'authz': util.Authz(allowRules=[util.AnyControlEndpointMatcher(role='admins')],
                                roleMatchers=[util.RolesFromUsername(roles=['admins'], usernames=['ctl'])])}}
c['workers'] = [worker.Worker('w1', 'pw')]
quick = util.BuildFactory([steps.ShellCommand(name='hello', command=['sh', '-c', 'echo hello'])])
long = util.BuildFactory([steps.ShellCommand(name='wait', command=['sh', '-c', 'sleep 120'])])
c['builders'] = [util.BuilderConfig(name='quick', workernames=['w1'], factory=quick),
                 util.BuilderConfig(name='long', workernames=['w1'], factory=long)]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['quick', 'long'])]
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
    let api = format!("http://127.0.0.1:{www}/api/v2");
    let server_dir = server.dir.path().to_owned();
    let master_log = || {
        let master = std::fs::read_to_string(dir.path().join("master/twistd.log")).unwrap_or_default();
        let ours = std::fs::read_to_string(server_dir.join("stderr.log")).unwrap_or_default();
        format!("Buildbot's log:\n{master}\nbuildstatus's log:\n{ours}")
    };

    // The master's builders and worker appear here before any build ran.
    until("the builders and the connected worker here", 90, &master_log, async || {
        let w1 = json(&base, "/json/slaves/w1").await?;
        (json(&base, "/json/builders/long").await.is_some() && w1["connected"] == true).then_some(())
    })
    .await;

    let ann = Visitor::log_in(&base, "ann", "ann's pw").await;
    let page = ann.page("/builders/long").await;
    assert!(
        page.contains("class=\"command_forcebuild\"") && page.contains("name=\"forcescheduler\" value=\"force\""),
        "{page}"
    );
    let said = ann
        .act("/builders/long", "/builders/long/force", &[("forcescheduler", "force"), ("reason", "from buildstatus")])
        .await;
    assert!(said.starts_with("Build requested (request "), "{said}\n{}", master_log());

    // Buildbot runs it, and its HttpStatusPush reports it here.
    let number = until("the forced build running here", 60, &master_log, async || {
        let long = json(&base, "/json/builders/long").await?;
        long["currentBuilds"].as_array()?.first()?.as_u64()
    })
    .await;
    let build = json(&base, &format!("/json/builders/long/builds/{number}")).await.expect("build");
    let reason = build["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("from buildstatus (forced through buildstatus by ann <ann@localhost>)"), "{build}");

    let said = ann
        .act(
            &format!("/builders/long/builds/{number}"),
            &format!("/builders/long/builds/{number}/stop"),
            &[("comments", "not needed")],
        )
        .await;
    assert_eq!(said, format!("Build #{number} is being stopped."), "{}", master_log());
    let stopped = until("the stopped build finished here", 60, &master_log, async || {
        let build = json(&base, &format!("/json/builders/long/builds/{number}")).await?;
        (!build["times"][1].is_null()).then_some(build)
    })
    .await;
    assert_eq!(stopped["results"], 6, "cancelled: {stopped}");

    // Pause: the worker is paused there, and (read back) here.
    let said = ann.act("/buildslaves/w1", "/buildslaves/w1/pause", &[]).await;
    assert_eq!(said, "Worker w1 is paused: it takes no new build.", "{}", master_log());
    let there = json(&api, "/workers/w1").await.expect("Buildbot's worker");
    assert_eq!(there["workers"][0]["paused"], true, "{there}");
    until("the pause here", 30, &master_log, async || {
        (json(&base, "/json/slaves/w1").await?["paused"] == true).then_some(())
    })
    .await;
    assert!(ann.page("/buildslaves/w1").await.contains("value=\"Unpause Slave\""));
    ann.act("/buildslaves/w1", "/buildslaves/w1/unpause", &[]).await;
    until("the unpause here", 30, &master_log, async || {
        (json(&base, "/json/slaves/w1").await?["paused"] == false).then_some(())
    })
    .await;

    // Force All: one buildset, a request on each builder.
    let said =
        ann.act("/builders", "/builders/_all/forceall", &[("forcescheduler", "force"), ("reason", "both")]).await;
    assert_eq!(said, "Builds requested on 2 builders.", "{}", master_log());
    let requests: Vec<Value> = until("both requests at Buildbot", 30, &master_log, async || {
        let listed = json(&api, "/buildrequests").await?["buildrequests"].as_array()?.clone();
        let both: Vec<Value> = listed.into_iter().filter(|r| r["buildsetid"] != Value::Null).collect();
        (both.len() >= 3).then_some(both)
    })
    .await;
    let last_set = requests.iter().filter_map(|r| r["buildsetid"].as_u64()).max().expect("a buildset");
    let in_last: Vec<&Value> = requests.iter().filter(|r| r["buildsetid"] == last_set).collect();
    assert_eq!(in_last.len(), 2, "one buildset on quick and long: {requests:?}");

    let log = std::fs::read_to_string(server.dir.path().join("stderr.log")).expect("log");
    assert!(!log.contains(CONTROL_PASSWORD), "the control password is never logged: {log}");
}
