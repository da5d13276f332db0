//! What authentication and authorisation cost (issue 13): reading who a request comes from
//! (a signed session cookie checked and looked up) with the authz questions a builder page
//! asks; a builder page for a logged-in user with forms against the same page for a visitor
//! on a server without [auth]; and a bcrypt login of a known user with a wrong password
//! against one of an unknown user (the same work, so the same time); and `/builders` over TCP
//! while nobody logs in against while 20 clients log in over and over with bcrypt (cost 10),
//! with the p50 and p99 of every request timed printed after each (criterion's estimates are
//! means; the issue asks for the p99 under load within 2× of idle).
//!
//! `cargo bench --bench auth` (`cargo bench --bench auth -- login_load` for the load alone)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

use buildstatus::adapters::http::{AuthSettings, Login, Peer, WebAuth};
use buildstatus::adapters::memory::{MemoryMaster, MemoryUsers};
use buildstatus::adapters::passwords::HtpasswdAuth;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::auth::{Action, Authz, Identity, SessionKey, Subject};
use buildstatus::domain::control::ForceScheduler;
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, Worker};
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::Authenticator;

/// The authz of a busy site: rules that look at the user and the builder.
fn authz() -> Authz {
    Authz::builder()
        .authenticated(Action::PingBuilder)
        .check(Action::ForceBuild, |user, subject| {
            user.groups.iter().any(|g| g == "releng") || subject.builder_name() == Some("builder-3")
        })
        .check(Action::StopBuild, |user, _| user.user == "bob")
        .authenticated(Action::CancelPendingBuild)
        .build()
}

fn check(c: &mut Criterion) {
    let settings = AuthSettings {
        authz: Arc::new(authz()),
        login: Login::Password(Arc::new(MemoryUsers::new([("bob", "pw")]))),
        ..AuthSettings::default()
    };
    let web = WebAuth::new(settings, SessionKey::new([7; 32]));
    let now = chrono::Utc::now();
    let id = "0123456789abcdef0123456789abcdef";
    web.sessions.insert(id.into(), Identity::new("bob"), now + chrono::Duration::hours(1), now);
    let mut headers = axum::http::HeaderMap::new();
    let cookie = format!("BuildBotSession={}", web.key.sign(id, now + chrono::Duration::hours(1)));
    headers.insert("cookie", cookie.parse().expect("header"));
    let builder = Builder { name: "builder-3".into(), ..Builder::default() };
    let mut group = c.benchmark_group("auth");
    group.bench_function("session_and_authz_check", |b| {
        b.iter(|| {
            let visit = web.visit(&headers, Peer::default(), now);
            let viewer = &visit.viewer;
            let subject = Subject::Builder(&builder);
            let asked =
                [Action::View, Action::ForceBuild, Action::PingBuilder, Action::StopBuild, Action::CancelPendingBuild];
            asked.iter().filter(|a| viewer.may(**a, &subject)).count()
        })
    });
    group.bench_function("anonymous_check", |b| {
        let empty = axum::http::HeaderMap::new();
        b.iter(|| web.visit(&empty, Peer::default(), now).viewer.may(Action::View, &Subject::Nothing))
    });
    group.finish();
}

async fn server(auth: AuthSettings) -> StatusServer {
    let master = Arc::new(MemoryMaster::with_schedulers(vec![ForceScheduler::new(
        "force",
        (0..20).map(|b| format!("builder-{b}")).collect(),
    )]));
    let server = StatusServer::start(Setup { auth, master: Some(master), ..Setup::default() }).await.expect("server");
    let sink = server.sink();
    let now = chrono::Utc::now();
    let mut events =
        vec![StatusEvent::WorkerConnected { worker: Worker { name: "w1".into(), ..Worker::default() }, at: now }];
    for b in 0..20 {
        let builder = Builder { name: format!("builder-{b}"), workers: vec!["w1".into()], ..Builder::default() };
        events.push(StatusEvent::BuilderAdded { builder });
    }
    sink.record_all(events).await.expect("builders");
    for n in 0..5 {
        let build =
            Build { builder: "builder-3".into(), number: n, worker: "w1".into(), started: now, ..Build::default() };
        let done = StatusEvent::BuildFinished {
            builder: "builder-3".into(),
            number: n,
            result: BuildResult::Success,
            text: vec![],
            at: now,
            properties: Default::default(),
        };
        sink.record_all(vec![StatusEvent::BuildStarted { build, requests: vec![] }, done]).await.expect("build");
    }
    server
}

async fn fetch(server: &StatusServer, uri: &str, cookie: Option<&str>) -> usize {
    let mut request = Request::builder().uri(uri);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = server.router().oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
    assert!(response.status().is_success());
    to_bytes(response.into_body(), usize::MAX).await.expect("body").len()
}

fn page(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let plain = runtime.block_on(server(AuthSettings::default()));
    let settings = AuthSettings {
        authz: Arc::new(authz()),
        login: Login::Password(Arc::new(MemoryUsers::new([("bob", "pw")]))),
        ..AuthSettings::default()
    };
    let guarded = runtime.block_on(server(settings));
    let cookie = runtime.block_on(async {
        let form = "username=bob&passwd=pw";
        let request =
            Request::post("/login").header("content-type", "application/x-www-form-urlencoded").body(Body::from(form));
        let response = guarded.router().oneshot(request.expect("request")).await.expect("login");
        let set = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        set.split(';').next().expect("cookie").to_owned()
    });
    let mut group = c.benchmark_group("auth_page");
    group.sample_size(50);
    group.bench_function("builder_page_visitor_without_auth", |b| {
        b.to_async(&runtime).iter(|| fetch(&plain, "/builders/builder-3", None))
    });
    group.bench_function("builder_page_logged_in_with_forms", |b| {
        b.to_async(&runtime).iter(|| fetch(&guarded, "/builders/builder-3", Some(&cookie)))
    });
    group.finish();
}

const BCRYPT_10: &str = "bob:$2y$10$u0HccKXr/f7wC9MbrWyhV./liiePbzSe5ovtzd1nrNv/zFC6MIJy2\n";

fn login(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = std::env::temp_dir().join(format!("buildstatus-bench-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("users.htpasswd");
    std::fs::write(&file, BCRYPT_10).expect("file");
    let auth = HtpasswdAuth::new(vec![file]).expect("valid");
    let mut group = c.benchmark_group("auth_login_bcrypt10");
    group.sample_size(20);
    group.bench_function("known_user_wrong_password", |b| {
        b.to_async(&runtime)
            .iter(|| async { assert!(auth.authenticate("bob", "wrong").await.expect("answers").is_none()) })
    });
    group.bench_function("unknown_user", |b| {
        b.to_async(&runtime)
            .iter(|| async { assert!(auth.authenticate("nobody", "wrong").await.expect("answers").is_none()) })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

mod support;

criterion_group!(benches, check, page, login, login_load);
criterion_main!(benches);

/// Logins running at once during the load measurement.
const PARALLEL_LOGINS: usize = 20;

/// Logs bob in over and over, counting each login.
async fn log_in_forever(http: reqwest::Client, url: String, logins: Arc<AtomicU64>) {
    loop {
        let response = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=bob&passwd=pw")
            .send()
            .await;
        let response = response.expect("login answer");
        assert_eq!(response.headers()["location"], "./", "the login succeeds");
        logins.fetch_add(1, Ordering::Relaxed);
    }
}

fn login_load(c: &mut Criterion) {
    let runtime = support::server_runtime();
    let dir = std::env::temp_dir().join(format!("buildstatus-bench-login-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("users.htpasswd");
    std::fs::write(&file, format!("bob:{}\n", bcrypt::hash("pw", 10).expect("hash"))).expect("file");
    let settings = AuthSettings {
        authz: Arc::new(authz()),
        login: Login::Password(Arc::new(HtpasswdAuth::new(vec![file]).expect("valid"))),
        ..AuthSettings::default()
    };
    let base = runtime.block_on(async { format!("http://{}", support::serve_tcp(server(settings).await).await) });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let mut group = c.benchmark_group("login_load");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    let logins = Arc::new(AtomicU64::new(0));
    let started = std::cell::Cell::new(Instant::now());
    let names = ("builders_idle", "builders_during_20_logins");
    let measured =
        support::idle_then_loaded(&mut group, &runtime, &http, &format!("{base}/builders"), names, |clients| {
            started.set(Instant::now());
            (0..PARALLEL_LOGINS)
                .map(|_| clients.spawn(log_in_forever(http.clone(), format!("{base}/login"), logins.clone())))
                .collect()
        });
    let logins_per_second = logins.load(Ordering::Relaxed) as f64 / started.get().elapsed().as_secs_f64();
    group.finish();
    let load = format!("{PARALLEL_LOGINS} parallel logins ({logins_per_second:.1} logins/s)");
    println!("login_load: /builders {}", measured.summary(&load));
    let _ = std::fs::remove_dir_all(dir);
}
