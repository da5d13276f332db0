//! GitHubStatus end to end against a local api.github.com (`tests/fixtures/fake_github.py`):
//! every request it receives is checked against GitHub's OpenAPI description (npm
//! `@octokit/openapi`, which `scripts/test` installs) and recorded; the tests script its
//! answers (rate limits, 5xx) and assert what a GitHub user would see, status by status.
//!
//! Needs the Buildbot virtualenv's Python (it has jsonschema) and the npm package installed
//! under `/var/tmp/buildstatus-octokit-openapi` (or `BUILDSTATUS_OCTOKIT_DIR`); a test fails,
//! never skips, when they are missing.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use buildstatus::adapters::github::GitHubSettings;
use buildstatus::app::notify::{GitHubApiChoice, GitHubTarget, Notifiers, Overrides, Target, WorkerOptions};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{
    Build, BuildRequest, Builder, Buildset, Properties, Property, SourceStamp, Timestamp,
};
use buildstatus::domain::notify::github::{GitHubRules, SummaryRules};
use buildstatus::domain::notify::interpolate::Interpolate;
use buildstatus::domain::notify::outbox::RetryPolicy;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::secret::Secret;
use serde_json::{Value, json};

use crate::common::buildbot::{Peer, free_port, python};
use crate::common::get;

pub const TOKEN: &str = "ghp_TestTokenThatMustNeverBeShown";
const OWNER: &str = "buildbot";
const REPO: &str = "bbtools";

/// A commit SHA of the fake repository.
pub fn sha(n: u32) -> String {
    format!("{:040x}", 0x5eed_0000 + u64::from(n))
}

/// The OpenAPI description of api.github.com, from the npm package `scripts/test` installs.
fn openapi() -> PathBuf {
    let dir = std::env::var_os("BUILDSTATUS_OCTOKIT_DIR")
        .map_or_else(|| PathBuf::from("/var/tmp/buildstatus-octokit-openapi"), PathBuf::from);
    let path = dir.join("node_modules/@octokit/openapi/generated/api.github.com.json");
    assert!(path.exists(), "{} is missing: run scripts/test (npm install @octokit/openapi)", path.display());
    path
}

/// The fake api.github.com; stopped when dropped.
pub struct FakeGitHub {
    _peer: Peer,
    port: u16,
    http: reqwest::Client,
}

impl FakeGitHub {
    /// Starts it, knowing `tokens` and the repository with commits 0..20.
    pub async fn start(tokens: &[&str]) -> Self {
        let port = free_port();
        let mut child = Command::new(python())
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_github.py"))
            .arg(port.to_string())
            .arg(openapi())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("readable");
        assert_eq!(line.trim(), "ready", "the fake GitHub did not start");
        let fake = Self { _peer: Peer(child), port, http: reqwest::Client::new() };
        let commits: Vec<String> = (0..20).map(sha).collect();
        fake.control("setup", &json!({"tokens": tokens, "repos": {format!("{OWNER}/{REPO}"): commits}})).await;
        fake
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    async fn control(&self, what: &str, body: &Value) {
        let answer = self.http.post(format!("{}_fake/{what}", self.url())).json(body).send().await.expect("control");
        assert!(answer.status().is_success());
    }

    /// The next API requests get these answers, in order.
    pub async fn script(&self, answers: Value) {
        self.control("script", &answers).await;
    }

    /// What the fake has recorded: its requests and the most it had in flight.
    async fn record(&self) -> Value {
        let url = format!("{}_fake/requests", self.url());
        self.http.get(url).send().await.expect("requests").json().await.expect("json")
    }

    /// Every API request so far, in the order they arrived.
    pub async fn requests(&self) -> Vec<Value> {
        self.record().await["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The most requests it had in flight at once.
    pub async fn most_in_flight(&self) -> u64 {
        self.record().await["most_in_flight"].as_u64().unwrap_or_default()
    }

    /// Waits until `enough` holds of the requests (at most 20 s); them.
    pub async fn wait_for(&self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let seen = self.requests().await;
            if enough(&seen) {
                return seen;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "timed out; the fake received {seen:#?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// `(sha, context, state, description)` of each status request, in arrival order.
fn statuses(requests: &[Value]) -> Vec<(String, String, String, String)> {
    requests
        .iter()
        .map(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            let sha = path.rsplit('/').next().unwrap_or_default().to_owned();
            let text = |k: &str| r["body"][k].as_str().unwrap_or_default().to_owned();
            (sha, text("context"), text("state"), text("description"))
        })
        .collect()
}

fn with_context<'a>(requests: &'a [Value], context: &str) -> Vec<&'a Value> {
    requests.iter().filter(|r| r["body"]["context"] == context).collect()
}

/// Every request was one GitHub's OpenAPI description allows, and carried the token.
fn all_valid(requests: &[Value]) {
    for r in requests {
        assert_eq!(r["valid"], true, "{r:#}");
        assert_eq!(r["authorised"], true, "{r:#}");
        assert!(r["user_agent"].as_str().is_some_and(|ua| ua.starts_with("buildstatus/")), "{r:#}");
    }
}

pub fn rules(summary: bool) -> GitHubRules {
    let template = |t: &str| Interpolate::parse(t).expect("template");
    let mut rules =
        GitHubRules::new("gh", template("%(prop:github_repo_owner)s"), template("%(prop:github_repo_name)s"));
    rules.summary = summary.then(SummaryRules::default);
    rules
}

pub fn fast(attempts: u32) -> WorkerOptions {
    WorkerOptions {
        retry: RetryPolicy {
            first_delay: Duration::from_millis(300),
            max_delay: Duration::from_millis(600),
            max_attempts: attempts,
        },
        idle: Duration::from_millis(100),
        ..WorkerOptions::default()
    }
}

pub async fn server_with(fake: &FakeGitHub, rules: GitHubRules, token: &str, worker: WorkerOptions) -> StatusServer {
    let mut settings = GitHubSettings::new(Secret::new(token));
    settings.base_url = fake.url();
    settings.timeout = Duration::from_secs(10);
    let target =
        GitHubTarget { rules, api: GitHubApiChoice::Http(settings), concurrency: 4, delivery: Overrides::default() };
    let notifiers = Notifiers { targets: vec![Arc::new(target) as Arc<dyn Target>], worker };
    let server = StatusServer::start(Setup { notifiers, ..Setup::default() }).await.expect("server starts");
    for name in ["linux", "win", "mac"] {
        let builder = Builder { name: name.into(), workers: vec!["w1".into()], ..Builder::default() };
        server.sink().record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    }
    server
}

fn at(second: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000 + second, 0).expect("time")
}

pub fn props(pairs: &[(&str, Value)]) -> Properties {
    pairs.iter().map(|(n, v)| ((*n).to_owned(), Property { value: v.clone(), source: "test".into() })).collect()
}

/// Build `number` of `builder` on commit `revision` of the fake repository.
pub fn build(builder: &str, number: u32, revision: &str) -> Build {
    Build {
        builder: builder.into(),
        number,
        reason: "test".into(),
        properties: props(&[("github_repo_owner", json!(OWNER)), ("github_repo_name", json!(REPO))]),
        sourcestamps: vec![SourceStamp { revision: Some(revision.into()), ..SourceStamp::default() }],
        blamelist: Vec::new(),
        worker: "w1".into(),
        started: at(i64::from(number)),
        finished: None,
        result: None,
        text: Vec::new(),
        steps: Vec::new(),
        eta: None,
        buildsets: Vec::new(),
        tests: Vec::new(),
    }
}

pub async fn start(server: &StatusServer, build: Build, requests: Vec<u64>) {
    server.sink().record(StatusEvent::BuildStarted { build, requests }).await.expect("started");
}

pub async fn finish(server: &StatusServer, builder: &str, number: u32, result: BuildResult) {
    finish_with(server, builder, number, result, Properties::new()).await;
}

/// The build finishes, setting `properties` as it does (`got_revision`, …).
pub async fn finish_with(
    server: &StatusServer,
    builder: &str,
    number: u32,
    result: BuildResult,
    properties: Properties,
) {
    let event = StatusEvent::BuildFinished {
        builder: builder.into(),
        number,
        result,
        text: vec![result.name().into()],
        at: at(i64::from(number) + 1),
        properties,
    };
    server.sink().record(event).await.expect("finished");
}

#[tokio::test]
async fn passing_failing_retried_and_cancelled_builds_set_these_statuses_in_this_order() {
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(false), TOKEN, fast(5)).await;
    let plan: [(u32, &str, BuildResult); 5] = [
        (0, "linux", BuildResult::Success),
        (1, "linux", BuildResult::Failure),
        (2, "linux", BuildResult::Retry),
        (3, "linux", BuildResult::Success),
        (4, "linux", BuildResult::Cancelled),
    ];
    let commit = |n: u32| if n == 3 { sha(2) } else { sha(n) };
    let mut sent = 0;
    for (number, builder, result) in plan {
        start(&server, build(builder, number, &commit(number)), vec![]).await;
        sent += 1;
        fake.wait_for(|r| r.len() >= sent).await;
        finish(&server, builder, number, result).await;
        sent += 1;
        fake.wait_for(|r| r.len() >= sent).await;
    }
    let requests = fake.requests().await;
    all_valid(&requests);
    let expected: Vec<(String, String, String, String)> = [
        (sha(0), "pending", "Build started."),
        (sha(0), "success", "Build done."),
        (sha(1), "pending", "Build started."),
        (sha(1), "failure", "Build done."),
        (sha(2), "pending", "Build started."),
        (sha(2), "pending", "Build done."),
        (sha(2), "pending", "Build started."),
        (sha(2), "success", "Build done."),
        (sha(4), "pending", "Build started."),
        (sha(4), "error", "Build done."),
    ]
    .into_iter()
    .map(|(s, state, d)| (s, "buildbot/linux".to_owned(), state.to_owned(), d.to_owned()))
    .collect();
    assert_eq!(statuses(&requests), expected);
    assert!(requests.iter().all(|r| r["answered"] == 201));
    assert_eq!(requests[1]["body"]["target_url"], "http://localhost:8010/builders/linux/builds/0");
    assert!(fake.most_in_flight().await <= 4, "no more requests at once than the configured concurrency");
}

/// A `pending` that fails while its build finishes is never sent after the final state: the
/// final waits for the attempt in flight, and the retry of the older state is dropped.
#[tokio::test]
async fn a_retried_pending_never_lands_after_the_final_state() {
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(false), TOKEN, fast(5)).await;
    // The pending of #0 is answered 502 slowly: the build finishes while it is in flight.
    fake.script(json!([{"status": 502, "body": {"message": "Server Error"}, "delay": 0.6}])).await;
    start(&server, build("linux", 0, &sha(0)), vec![]).await;
    fake.wait_for(|_| true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    finish(&server, "linux", 0, BuildResult::Success).await;
    // The pending of #1 is answered 502 at once; the build finishes before its retry is due.
    fake.wait_for(|r| r.len() >= 2).await;
    fake.script(json!([{"status": 503, "body": {"message": "Service Unavailable"}}])).await;
    start(&server, build("linux", 1, &sha(1)), vec![]).await;
    fake.wait_for(|r| r.iter().any(|q| q["answered"] == 503)).await;
    finish(&server, "linux", 1, BuildResult::Failure).await;
    fake.wait_for(|r| r.len() >= 4).await;
    // Well past every retry delay: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let requests = fake.requests().await;
    all_valid(&requests);
    let seen: Vec<(String, String, u64)> = requests
        .iter()
        .map(|r| {
            let sha = r["path"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
            (
                sha,
                r["body"]["state"].as_str().unwrap_or_default().to_owned(),
                r["answered"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (sha(0), "pending".to_owned(), 502),
            (sha(0), "success".to_owned(), 201),
            (sha(1), "pending".to_owned(), 503),
            (sha(1), "failure".to_owned(), 201)
        ]
    );
    let (_, page, _) = get(&server, "/notifications?target=github/gh").await;
    assert!(page.contains("not sent: a newer message replaced it"), "{page}");
}

/// A rate limit (403 with `X-RateLimit-Remaining: 0`, then 429 with `Retry-After`) holds the
/// whole target back until the reset, and does not use up the attempts: with one attempt
/// allowed, every status still arrives.
#[tokio::test]
async fn rate_limits_delay_the_target_without_burning_attempts() {
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(false), TOKEN, fast(1)).await;
    let reset = chrono::Utc::now().timestamp() + 2;
    fake.script(json!([
        {"status": 403, "headers": {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Reset": reset.to_string(), "X-RateLimit-Resource": "core"},
         "body": {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}},
    ]))
    .await;
    start(&server, build("linux", 0, &sha(0)), vec![]).await;
    fake.wait_for(|r| !r.is_empty()).await;
    start(&server, build("win", 0, &sha(1)), vec![]).await;
    wait_for_page(&server, "github/gh", |p| p.contains("held back by the peer until")).await;
    let requests = fake.wait_for(|r| r.iter().filter(|q| q["answered"] == 201).count() >= 2).await;
    let first = &requests[0];
    assert_eq!(first["answered"], 403);
    for later in &requests[1..] {
        let started = later["started"].as_f64().unwrap_or_default();
        assert!(started >= reset as f64, "a request at {started}, before the reset at {reset}: {requests:#?}");
    }
    assert_eq!(requests.len(), 3, "the two statuses once each after the reset: {requests:#?}");

    // A secondary limit: 429 with Retry-After, in seconds.
    fake.script(json!([{"status": 429, "headers": {"Retry-After": "1"}, "body": {"message": "You have exceeded a secondary rate limit."}}]))
        .await;
    let asked = Instant::now();
    finish(&server, "linux", 0, BuildResult::Success).await;
    let requests = fake.wait_for(|r| r.len() >= 5).await;
    assert!(asked.elapsed() >= Duration::from_secs(1), "Retry-After was not waited for");
    assert_eq!((requests[3]["answered"].as_u64(), requests[4]["answered"].as_u64()), (Some(429), Some(201)));
    assert_eq!(requests[4]["body"]["state"], "success");
    all_valid(&requests);
}

/// 5xx are retried until GitHub takes the status; the delivery log says after how many.
#[tokio::test]
async fn server_errors_are_retried() {
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(false), TOKEN, fast(5)).await;
    fake.script(json!([{"status": 502, "body": null}, {"status": 500, "body": {"message": "Server Error"}}])).await;
    start(&server, build("linux", 0, &sha(0)), vec![]).await;
    let requests = fake.wait_for(|r| r.len() >= 3).await;
    let answers: Vec<u64> = requests.iter().filter_map(|r| r["answered"].as_u64()).collect();
    assert_eq!(answers, [502, 500, 201]);
    all_valid(&requests);
    wait_for_page(&server, "github/gh", |p| p.contains("after 3 attempts")).await;
}

/// A bad token, an unknown repository, a commit GitHub does not have and a malformed sha are
/// each said in words on `/notifications`, and the token is shown nowhere: not on a page, not
/// in a log line at any level.
#[tokio::test]
async fn bad_input_is_said_in_words_and_the_token_never_shown() {
    let logs = crate::common::logs::capture();
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(false), TOKEN, fast(3)).await;
    let mut unknown_repo = build("linux", 0, &sha(0));
    unknown_repo.properties.extend(props(&[("github_repo_name", json!("no-such-repo"))]));
    start(&server, unknown_repo, vec![]).await;
    start(&server, build("win", 0, &format!("{:040x}", 7)), vec![]).await;
    start(&server, build("mac", 0, "not-a-sha; rm -rf /"), vec![]).await;
    fake.wait_for(|r| r.len() >= 2).await;
    let page = wait_for_page(&server, "github/gh", |p| {
        p.matches("given up after").count() >= 2 && p.contains("could not be built")
    })
    .await;
    assert!(page.contains("GitHub answered 404 Not Found: Not Found (no repository buildbot/no-such-repo that the token may write statuses to"), "{page}");
    assert!(page.contains("GitHub answered 422 Unprocessable Entity: No commit found for SHA: 0000000000000000000000000000000000000007"), "{page}");
    assert!(
        page.contains("sha &#39;not-a-sha; rm -rf /&#39; is not a commit SHA")
            || page.contains("sha 'not-a-sha; rm -rf /' is not a commit SHA"),
        "{page}"
    );
    assert_eq!(fake.requests().await.len(), 2, "nothing was sent for the malformed sha");

    let wrong = server_with(&fake, rules(false), "ghp_WrongTokenAlsoNeverShown", fast(3)).await;
    start(&wrong, build("linux", 0, &sha(3)), vec![]).await;
    let page = wait_for_page(&wrong, "github/gh", |p| p.contains("given up after")).await;
    assert!(
        page.contains("GitHub answered 401 Unauthorized: Bad credentials (the token is not valid: check `token`)"),
        "{page}"
    );
    let (_, metrics, _) = get(&wrong, "/notifications/metrics").await;
    let logged = logs.text();
    assert!(logged.contains("github/gh: ") && logged.contains("not delivered"), "the failures are logged: {logged}");
    for text in [&page, &metrics, &logged] {
        assert!(!text.contains("ghp_"), "a token is shown: {text}");
    }
}

/// `/notifications` of `target`, once `done` holds of it (at most 20 s).
pub async fn wait_for_page(server: &StatusServer, target: &str, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let (_, page, _) = get(server, &format!("/notifications?target={target}")).await;
        if done(&page) {
            return page;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The merge-safety status of a commit built by linux and win: pending while either runs or
/// waits, failure naming win when it fails, pending again when win is rebuilt, success when
/// the rebuild passes.
#[tokio::test]
async fn the_summary_status_follows_every_build_of_the_commit() {
    let fake = FakeGitHub::start(&[TOKEN]).await;
    let server = server_with(&fake, rules(true), TOKEN, fast(5)).await;
    let sink = server.sink();
    let submitted = chrono::Utc::now();
    let stamp = SourceStamp { revision: Some(sha(5)), ..SourceStamp::default() };
    let buildset = |id: u64, builders: &[&str]| StatusEvent::BuildsetSubmitted {
        buildset: Buildset {
            id,
            reason: "change".into(),
            external_id: None,
            submitted_at: submitted,
            sourcestamps: vec![stamp.clone()],
            builders: builders.iter().map(|b| (*b).to_owned()).collect(),
            complete_at: None,
            result: None,
        },
    };
    let request = |id: u64, buildset: u64, builder: &str| StatusEvent::BuildRequestSubmitted {
        request: BuildRequest {
            id,
            buildset_id: Some(buildset),
            builder: builder.into(),
            submitted_at: submitted,
            reason: "change".into(),
            properties: Properties::new(),
            sourcestamps: vec![stamp.clone()],
        },
    };
    sink.record_all(vec![buildset(1, &["linux", "win"]), request(1, 1, "linux"), request(2, 1, "win")])
        .await
        .expect("buildset");
    let summaries = |n: usize| move |r: &[Value]| with_context(r, "buildstatus/summary").len() >= n;
    start(&server, build("linux", 0, &sha(5)), vec![1]).await;
    fake.wait_for(summaries(1)).await;
    finish(&server, "linux", 0, BuildResult::Success).await;
    fake.wait_for(summaries(2)).await;
    start(&server, build("win", 0, &sha(5)), vec![2]).await;
    fake.wait_for(summaries(3)).await;
    finish(&server, "win", 0, BuildResult::Failure).await;
    fake.wait_for(summaries(4)).await;
    sink.record_all(vec![StatusEvent::BuildsetFinished { id: 1, result: BuildResult::Failure, at: at(9) }])
        .await
        .expect("done");
    sink.record_all(vec![buildset(2, &["win"]), request(3, 2, "win")]).await.expect("rebuild");
    start(&server, build("win", 1, &sha(5)), vec![3]).await;
    fake.wait_for(summaries(5)).await;
    finish(&server, "win", 1, BuildResult::Success).await;
    let requests = fake.wait_for(summaries(6)).await;
    all_valid(&requests);
    let seen: Vec<(String, String)> = with_context(&requests, "buildstatus/summary")
        .iter()
        .map(|r| {
            (
                r["body"]["state"].as_str().unwrap_or_default().into(),
                r["body"]["description"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    let expected = [
        ("pending", "Pending (building: linux; waiting: win)"),
        ("pending", "Pending (waiting: win)"),
        ("pending", "Pending (building: win)"),
        ("failure", "Failed: win (failure)"),
        ("pending", "Pending (building: win)"),
        ("success", "Safe to merge: all 2 required builders passed"),
    ];
    assert_eq!(seen, expected.map(|(s, d)| (s.to_owned(), d.to_owned())));
    let failure = &with_context(&requests, "buildstatus/summary")[3];
    assert_eq!(
        failure["body"]["target_url"], "http://localhost:8010/builders/win/builds/0",
        "it links the failed build"
    );
    assert!(requests.iter().all(|r| r["path"].as_str().is_some_and(|p| p.ends_with(&sha(5)))));
}
