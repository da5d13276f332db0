//! GerritStatusPush end to end against a real OpenSSH `sshd` (Debian `openssh-server`),
//! started on a free loopback port with a host key and a client key made by `ssh-keygen`. The
//! client key's forced command (`tests/fixtures/fake_gerrit.py`) plays Gerrit's SSH commands:
//! it splits each command line as Gerrit's daemon does, records it, answers `gerrit version`,
//! and checks `gerrit review`'s options as Gerrit would. The target runs the real `ssh` client.
//!
//! Gerrit's REST transport is checked against a loopback server that accepts exactly the
//! request Gerrit's REST API documents (no Gerrit runs here: it is a Java web application).
//!
//! Needs `sshd`, `ssh`, `ssh-keygen` and Python 3; a test fails, never skips, without them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use buildstatus::adapters::gerrit::{RestSettings, SshSettings};
use buildstatus::app::notify::{GerritTarget, GerritTransportChoice, Notifiers, Overrides, Target, WorkerOptions};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, BuildRequest, Builder, Buildset, Properties, SourceStamp};
use buildstatus::domain::notify::gerrit::{
    BuildArgs, BuildCallback, GerritRules, MergeSafety, Reply, ReviewTemplate, SummaryCallback,
};
use buildstatus::domain::notify::outbox::RetryPolicy;
use buildstatus::domain::notify::verdict::Requirements;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::secret::Secret;
use serde_json::{Value, json};

use super::github::{finish, finish_with, props, start, wait_for_page};
use crate::common::buildbot::{Peer, free_port, python};

const REV: &str = "4f3c2a1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";
const TARGET: &str = "gerrit/review";

/// What no comment should be able to do to a command line: quotes of both kinds, a
/// backslash, shell syntax, options, newlines and a tab.
const HOSTILE: &str = "it's \"done\" \\o/ $(id) `id` ; rm -rf / && echo '--label Verified=+2'\n--verified 2\tend";

/// The sshd playing Gerrit; stopped when dropped.
struct Sshd {
    _peer: Peer,
    port: u16,
    dir: tempfile::TempDir,
    user: String,
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Sshd {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name).display().to_string();
        for key in ["host_key", "client_key", "other_host_key"] {
            run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", &path(key)]);
        }
        let user = run("id", &["-un"]);
        let client = std::fs::read_to_string(path("client_key.pub")).expect("client key");
        let forced = format!(
            "{} {} {} {} {}",
            python().display(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_gerrit.py"),
            path("log"),
            path("version"),
            path("fail")
        );
        std::fs::write(path("authorized_keys"), format!("command=\"{forced}\",restrict {client}")).expect("keys");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
             StrictModes no\nPermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel VERBOSE\nPrintMotd no\n",
            path("host_key"),
            path("sshd.pid"),
            path("authorized_keys"),
        );
        std::fs::write(path("sshd_config"), config).expect("config");
        // sshd run by root needs its privilege separation directory.
        if user == "root" {
            std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        }
        let log = std::fs::File::create(path("sshd.log")).expect("log");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f", &path("sshd_config")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("/usr/sbin/sshd runs (apt-get install openssh-server)");
        let peer = Peer(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not listen: {}",
                std::fs::read_to_string(path("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let host = std::fs::read_to_string(path("host_key.pub")).expect("host key");
        std::fs::write(path("known_hosts"), format!("[127.0.0.1]:{port} {host}")).expect("known_hosts");
        let other = std::fs::read_to_string(path("other_host_key.pub")).expect("host key");
        std::fs::write(path("wrong_known_hosts"), format!("[127.0.0.1]:{port} {other}")).expect("known_hosts");
        Self { _peer: peer, port, dir, user }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn settings(&self) -> SshSettings {
        let mut s = SshSettings::new("127.0.0.1", &self.user);
        s.port = self.port;
        s.identity_file = Some(self.path("client_key"));
        s.known_hosts = Some(self.path("known_hosts"));
        s.timeout = Duration::from_secs(10);
        s
    }

    /// The commands received, each as Gerrit's splitter read it.
    fn commands(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(self.path("log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let entry: Value = serde_json::from_str(l).expect("a log line");
                entry["argv"].as_array().expect("argv").iter().map(|a| a.as_str().expect("text").to_owned()).collect()
            })
            .collect()
    }

    /// The review commands (not the version probes).
    fn reviews(&self) -> Vec<Vec<String>> {
        self.commands().into_iter().filter(|c| c.get(1).is_some_and(|w| w == "review")).collect()
    }

    async fn wait_for_reviews(&self, n: usize) -> Vec<Vec<String>> {
        let start = Instant::now();
        loop {
            let seen = self.reviews();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} reviews of {n}: {seen:#?}\nsshd: {}",
                seen.len(),
                std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn fast() -> WorkerOptions {
    WorkerOptions {
        retry: RetryPolicy {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(400),
            max_attempts: 3,
        },
        idle: Duration::from_millis(100),
        ..WorkerOptions::default()
    }
}

async fn server(rules: GerritRules, transport: GerritTransportChoice) -> StatusServer {
    let target = GerritTarget { rules, transport, concurrency: 2, delivery: Overrides::default() };
    let notifiers = Notifiers { targets: vec![Arc::new(target) as Arc<dyn Target>], worker: fast() };
    let server = StatusServer::start(Setup { notifiers, ..Setup::default() }).await.expect("server starts");
    for name in ["linux", "win"] {
        let builder = Builder { name: name.into(), workers: vec!["w1".into()], ..Builder::default() };
        server.sink().record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    }
    server
}

/// Build `number` of `builder` for patch set 2 of change 1234 of `tools/bb`, as Gerrit's
/// change source sets its properties.
fn build(builder: &str, number: u32) -> Build {
    let mut b = super::github::build(builder, number, REV);
    b.properties = props(&[
        ("event.change.id", json!("I8473b95934b5732ac55d26311a706c9c2bde9940")),
        ("event.change.number", json!("1234")),
        ("event.change.branch", json!("main")),
        ("event.patchSet.number", json!("2")),
        ("event.patchSet.revision", json!(REV)),
        ("project", json!("tools/bb")),
    ]);
    b
}

fn review(message: &str, labels: &[&str]) -> Vec<String> {
    let mut argv = words(&["gerrit", "review", "--project", "tools/bb"]);
    if !message.is_empty() {
        argv.extend(words(&["--message", message]));
    }
    argv.extend(words(labels));
    argv.push(REV.to_owned());
    argv
}

async fn buildset(server: &StatusServer, id: u64, requests: &[(u64, &str)]) {
    let stamp = SourceStamp { revision: Some(REV.into()), ..SourceStamp::default() };
    let now = chrono::Utc::now();
    let mut events = vec![StatusEvent::BuildsetSubmitted {
        buildset: Buildset {
            id,
            reason: "patchset-created".into(),
            external_id: None,
            submitted_at: now,
            sourcestamps: vec![stamp.clone()],
            builders: requests.iter().map(|(_, b)| (*b).to_owned()).collect(),
            complete_at: None,
            result: None,
        },
    }];
    for (request, builder) in requests {
        events.push(StatusEvent::BuildRequestSubmitted {
            request: BuildRequest {
                id: *request,
                buildset_id: Some(id),
                builder: (*builder).into(),
                submitted_at: now,
                reason: "patchset-created".into(),
                properties: Properties::new(),
                sourcestamps: vec![stamp.clone()],
            },
        });
    }
    server.sink().record_all(events).await.expect("buildset");
}

/// The start callback (a template), the review callback (a closure returning the seed's
/// legacy tuple with hostile text) and the default summary reach Gerrit as `gerrit review`
/// commands whose arguments Gerrit reads back exactly, the version probed once.
#[tokio::test]
async fn start_review_and_summary_commands_reach_gerrit_and_survive_any_comment() {
    let sshd = Sshd::start();
    let mut rules = GerritRules::new("review");
    let start_template = ReviewTemplate::new(
        "Build {{ build.number }} of {{ builder }} started: {{ build_url }} {{ arg.note }}",
        &[("Code-Review".into(), "0".into())],
        None,
    )
    .expect("template");
    rules.start = Some(BuildCallback::Template(Arc::new(start_template)));
    rules.start_arg = json!({"note": HOSTILE});
    rules.review = Some(BuildCallback::Closure(Arc::new(|a: &BuildArgs| {
        let verified = if a.result == Some(BuildResult::Success) { 1 } else { -1 };
        Reply::from((Some(format!("{} {HOSTILE}", a.builder)), verified, 0))
    })));
    rules.summary = Some(SummaryCallback::Default);
    let server = server(rules, GerritTransportChoice::Ssh(sshd.settings())).await;
    buildset(&server, 1, &[(1, "linux")]).await;
    start(&server, build("linux", 0), vec![1]).await;
    sshd.wait_for_reviews(1).await;
    finish(&server, "linux", 0, BuildResult::Failure).await;
    sshd.wait_for_reviews(2).await;
    let done = StatusEvent::BuildsetFinished { id: 1, result: BuildResult::Failure, at: chrono::Utc::now() };
    server.sink().record(done).await.expect("buildset finished");
    let reviews = sshd.wait_for_reviews(3).await;
    assert_eq!(
        reviews,
        [
            review(
                &format!("Build 0 of linux started: http://localhost:8010/builders/linux/builds/0 {HOSTILE}"),
                &["--label", "Code-Review=0"]
            ),
            review(&format!("linux {HOSTILE}"), &["--label", "Code-Review=0", "--label", "Verified=-1"]),
            review(
                "Builder linux failed (failure) - http://localhost:8010/builders/linux/builds/0",
                &["--label", "Verified=-1"]
            ),
        ]
    );
    let versions = sshd.commands().iter().filter(|c| c.get(1).is_some_and(|w| w == "version")).count();
    assert_eq!(versions, 1, "the version is asked once: {:#?}", sshd.commands());
}

/// The callbacks as minijinja templates in buildstatus.toml, with hostile `reviewArg` and
/// `summaryArg`, through the real sshd: the review of each build and the buildset's summary,
/// each read back by Gerrit exactly as rendered.
#[tokio::test]
async fn toml_templates_make_the_review_and_summary_commands() {
    let sshd = Sshd::start();
    let hostile = serde_json::to_string(HOSTILE).expect("a TOML basic string");
    let text = format!(
        r#"
        [[gerrit]]
        server = "127.0.0.1"
        port = {port}
        username = "{user}"
        identity_file = "client_key"
        knownHostsFile = "known_hosts"
        reviewCB = {{ message = "{{{{ builder }}}}: {{{{ result|upper }}}} {{{{ arg }}}}", labels = {{ Verified = "{{{{ 1 if result == 'success' else -1 }}}}" }} }}
        reviewArg = {hostile}
        summaryCB = {{ message = "{{% for b in builds %}}{{{{ b.name }}}} {{{{ b.resultText }}}}: {{{{ arg }}}}\n{{% endfor %}}", labels = {{ Verified = "{{{{ 1 if result == 'success' else -1 }}}}", Code-Review = "" }} }}
        summaryArg = {hostile}
        "#,
        port = sshd.port,
        user = sshd.user,
    );
    let mut config = buildstatus::app::Config::parse(&text, sshd.dir.path()).expect("a valid file");
    config.server.notifiers.worker = fast();
    let server = StatusServer::start(config.server).await.expect("server starts");
    for name in ["linux", "win"] {
        let builder = Builder { name: name.into(), workers: vec!["w1".into()], ..Builder::default() };
        server.sink().record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    }
    buildset(&server, 1, &[(1, "linux"), (2, "win")]).await;
    start(&server, build("linux", 0), vec![1]).await;
    finish(&server, "linux", 0, BuildResult::Success).await;
    sshd.wait_for_reviews(1).await;
    start(&server, build("win", 0), vec![2]).await;
    finish(&server, "win", 0, BuildResult::Failure).await;
    sshd.wait_for_reviews(2).await;
    let done = StatusEvent::BuildsetFinished { id: 1, result: BuildResult::Failure, at: chrono::Utc::now() };
    server.sink().record(done).await.expect("buildset finished");
    let reviews = sshd.wait_for_reviews(3).await;
    assert_eq!(
        reviews,
        [
            review(&format!("linux: SUCCESS {HOSTILE}"), &["--label", "Verified=1"]),
            review(&format!("win: FAILURE {HOSTILE}"), &["--label", "Verified=-1"]),
            review(&format!("linux succeeded: {HOSTILE}\nwin failed: {HOSTILE}\n"), &["--label", "Verified=-1"]),
        ]
    );
}

/// A Gerrit older than 2.6 gets `--verified` / `--code-review`; other labels are left out.
#[tokio::test]
async fn an_old_gerrit_gets_verified_and_code_review_options() {
    let sshd = Sshd::start();
    std::fs::write(sshd.path("version"), "2.5.2").expect("version");
    let mut rules = GerritRules::new("review");
    rules.review = Some(BuildCallback::Default);
    rules.summary = None;
    rules.merge_safety = Some(MergeSafety { requirements: Requirements::default(), label: Some("Merge-Safe".into()) });
    let server = server(rules, GerritTransportChoice::Ssh(sshd.settings())).await;
    start(&server, build("linux", 0), vec![]).await;
    sshd.wait_for_reviews(1).await;
    finish(&server, "linux", 0, BuildResult::Success).await;
    let reviews = sshd.wait_for_reviews(3).await;
    assert!(
        reviews.contains(&review(
            "Buildbot finished compiling your patchset\non configuration: linux\nThe result is: SUCCESS\n",
            &["--verified", "1"]
        )),
        "{reviews:#?}"
    );
    assert!(reviews.contains(&review("Merge safety: Safe to merge: linux passed", &[])), "{reviews:#?}");
}

/// The patch set is read from the build's final properties: a build that learns its change,
/// patch set and revision only as it finishes is reviewed on the patch set's own commit, not
/// on the `got_revision` it merged to (spec-notify-8 G8).
#[tokio::test]
async fn the_final_properties_name_the_patch_set() {
    let sshd = Sshd::start();
    let mut rules = GerritRules::new("review");
    rules.review = Some(BuildCallback::Default);
    rules.summary = None;
    let server = server(rules, GerritTransportChoice::Ssh(sshd.settings())).await;
    let mut early = build("linux", 0);
    early.properties = props(&[("project", json!("tools/bb"))]);
    start(&server, early, vec![]).await;
    let learnt = props(&[
        ("event.change.id", json!("I8473b95934b5732ac55d26311a706c9c2bde9940")),
        ("event.change.number", json!("1234")),
        ("event.patchSet.number", json!("2")),
        ("event.patchSet.revision", json!(REV)),
        ("got_revision", json!("0123456789012345678901234567890123456789")),
    ]);
    finish_with(&server, "linux", 0, BuildResult::Success, learnt).await;
    let reviews = sshd.wait_for_reviews(1).await;
    assert_eq!(
        reviews,
        [review(
            "Buildbot finished compiling your patchset\non configuration: linux\nThe result is: SUCCESS\n",
            &["--label", "Verified=1"]
        )]
    );
}

/// The merge-safety vote over SSH: 0 while linux and win build, −1 naming win when it fails,
/// 0 again when win is rebuilt, +1 when the rebuild passes.
#[tokio::test]
async fn the_merge_safety_vote_follows_the_patch_sets_builds() {
    let sshd = Sshd::start();
    let mut rules = GerritRules::new("review");
    rules.summary = None;
    rules.merge_safety = Some(MergeSafety { requirements: Requirements::default(), label: Some("Merge-Safe".into()) });
    let server = server(rules, GerritTransportChoice::Ssh(sshd.settings())).await;
    buildset(&server, 1, &[(1, "linux"), (2, "win")]).await;
    let steps: [(&str, u32, Option<BuildResult>, Vec<u64>); 6] = [
        ("linux", 0, None, vec![1]),
        ("win", 0, None, vec![2]),
        ("linux", 0, Some(BuildResult::Success), vec![]),
        ("win", 0, Some(BuildResult::Failure), vec![]),
        ("win", 1, None, vec![]),
        ("win", 1, Some(BuildResult::Success), vec![]),
    ];
    for (n, (builder, number, result, requests)) in steps.into_iter().enumerate() {
        match result {
            None => start(&server, build(builder, number), requests).await,
            Some(r) => finish(&server, builder, number, r).await,
        }
        sshd.wait_for_reviews(n + 1).await;
    }
    let votes: Vec<(String, String)> = sshd.reviews().iter().map(|argv| (argv[5].clone(), argv[7].clone())).collect();
    let expected = [
        ("Merge safety: Pending (building: linux; waiting: win)", "Merge-Safe=0"),
        ("Merge safety: Pending (building: linux, win)", "Merge-Safe=0"),
        ("Merge safety: Pending (building: win)", "Merge-Safe=0"),
        ("Merge safety: Failed: win (failure)", "Merge-Safe=-1"),
        ("Merge safety: Pending (building: win)", "Merge-Safe=0"),
        ("Merge safety: Safe to merge: all 2 required builders passed", "Merge-Safe=1"),
    ];
    assert_eq!(votes, expected.map(|(m, v)| (m.to_owned(), v.to_owned())));
}

/// An unknown host key, a key the server refuses, and Gerrit's own refusal are given up at
/// once, each said in words on `/notifications`.
#[tokio::test]
async fn refusals_are_given_up_and_said_in_words() {
    let logs = crate::common::logs::capture();
    let sshd = Sshd::start();
    let mut rules = GerritRules::new("review");
    rules.review = Some(BuildCallback::Default);
    rules.summary = None;

    let mut wrong_host = sshd.settings();
    wrong_host.known_hosts = Some(sshd.path("wrong_known_hosts"));
    let server_1 = server(rules.clone(), GerritTransportChoice::Ssh(wrong_host)).await;
    start(&server_1, build("linux", 0), vec![]).await;
    finish(&server_1, "linux", 0, BuildResult::Success).await;
    let page = wait_for_page(&server_1, TARGET, |p| p.contains("given up after")).await;
    assert!(
        page.contains("the server&#39;s host key is not the known one")
            || page.contains("the server's host key is not the known one"),
        "{page}"
    );

    let mut wrong_key = sshd.settings();
    wrong_key.identity_file = Some(sshd.path("other_host_key"));
    let server_2 = server(rules.clone(), GerritTransportChoice::Ssh(wrong_key)).await;
    start(&server_2, build("linux", 0), vec![]).await;
    finish(&server_2, "linux", 0, BuildResult::Success).await;
    let page = wait_for_page(&server_2, TARGET, |p| p.contains("given up after")).await;
    assert!(page.contains("the server refused the user or key"), "{page}");
    assert!(sshd.commands().is_empty(), "nothing reached Gerrit: {:#?}", sshd.commands());

    std::fs::write(sshd.path("fail"), "change 1234 is closed").expect("fail");
    let server_3 = server(rules, GerritTransportChoice::Ssh(sshd.settings())).await;
    start(&server_3, build("linux", 0), vec![]).await;
    finish(&server_3, "linux", 0, BuildResult::Success).await;
    let page = wait_for_page(&server_3, TARGET, |p| p.contains("given up after")).await;
    assert!(page.contains("fatal: change 1234 is closed"), "{page}");
    // The keys' paths may be logged, never what is in them.
    let logged = logs.text();
    assert!(
        logged.contains("gerrit/review: ") && logged.contains("not delivered"),
        "the refusals are logged: {logged}"
    );
    for key in ["other_host_key", "client_key"] {
        let text = std::fs::read_to_string(sshd.path(key)).expect("a key file");
        for line in text.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!logged.contains(line), "{key} is logged: {logged}");
        }
    }
}

/// A loopback server taking `POST /a/changes/{id}/revisions/{rev}/review` as Gerrit's REST
/// API documents it: basic auth, a JSON `ReviewInput`; answers with Gerrit's `)]}'` prefix.
async fn rest_gerrit(seen: Arc<Mutex<Vec<(String, String, Value)>>>) -> u16 {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let seen = seen.clone();
        async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            if auth != format!("Basic {}", base64_encode("bb:s3cret-http-pw")) {
                return (StatusCode::UNAUTHORIZED, "Unauthorized".to_owned());
            }
            let input: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return (StatusCode::BAD_REQUEST, format!("bad json: {e}")),
            };
            let known = ["message", "labels", "tag", "comments", "notify", "drafts", "omit_duplicate_comments"];
            if let Some(extra) = input.as_object().and_then(|o| o.keys().find(|k| !known.contains(&k.as_str()))) {
                return (StatusCode::BAD_REQUEST, format!("unknown field {extra}"));
            }
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            seen.lock().expect("seen").push((uri.path().to_owned(), ct, input.clone()));
            if !uri.path().starts_with("/a/changes/tools%2Fbb~1234/revisions/") {
                return (StatusCode::NOT_FOUND, "Not found: tools/bb~999".to_owned());
            }
            (StatusCode::OK, format!(")]}}'\n{{\"labels\": {}}}", input.get("labels").cloned().unwrap_or(json!({}))))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    port
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The REST transport posts the same review as a `ReviewInput`, with the account's HTTP
/// password, which shows nowhere: not on a page, not in a log line at any level.
#[tokio::test]
async fn the_rest_transport_posts_review_inputs() {
    let logs = crate::common::logs::capture();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = rest_gerrit(seen.clone()).await;
    let mut rules = GerritRules::new("review");
    rules.review = Some(BuildCallback::Default);
    rules.summary = None;
    let settings = RestSettings {
        url: format!("http://127.0.0.1:{port}/"),
        user: "bb".into(),
        password: Secret::new("s3cret-http-pw"),
        timeout: Duration::from_secs(5),
    };
    let server = server(rules, GerritTransportChoice::Rest(settings.clone())).await;
    start(&server, build("linux", 0), vec![]).await;
    finish(&server, "linux", 0, BuildResult::Warnings).await;
    let page = wait_for_page(&server, TARGET, |p| p.contains("after 1 attempt")).await;
    let got = seen.lock().expect("seen").clone();
    assert_eq!(
        got,
        [(
            format!("/a/changes/tools%2Fbb~1234/revisions/{REV}/review"),
            "application/json".to_owned(),
            json!({
                "message": "Buildbot finished compiling your patchset\non configuration: linux\nThe result is: WARNINGS\n",
                "labels": {"Verified": -1},
                "tag": "autogenerated:buildstatus"
            })
        )]
    );
    assert!(!page.contains("s3cret-http-pw"));

    let wrong = RestSettings { password: Secret::new("wr0ng-http-pw"), ..settings };
    let server = server_for_rest_refusal(wrong).await;
    start(&server, build("linux", 0), vec![]).await;
    finish(&server, "linux", 0, BuildResult::Success).await;
    let page = wait_for_page(&server, TARGET, |p| p.contains("given up after")).await;
    assert!(
        page.contains(
            "Gerrit answered 401 Unauthorized: Unauthorized (the account bb or its HTTP password was refused"
        ),
        "{page}"
    );
    let logged = logs.text();
    assert!(logged.contains("gerrit/review: ") && logged.contains("not delivered"), "the refusal is logged: {logged}");
    for secret in
        ["s3cret-http-pw", "wr0ng-http-pw", &base64_encode("bb:s3cret-http-pw"), &base64_encode("bb:wr0ng-http-pw")]
    {
        assert!(!logged.contains(secret) && !page.contains(secret), "{secret} is shown: {logged}");
    }
}

async fn server_for_rest_refusal(settings: RestSettings) -> StatusServer {
    let mut rules = GerritRules::new("review");
    rules.review = Some(BuildCallback::Default);
    rules.summary = None;
    server(rules, GerritTransportChoice::Rest(settings)).await
}
