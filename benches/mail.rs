//! Mail performance (issue 6):
//! - `mail/decide_and_render`: the pure decision and the default message of one finished build
//!   (target: at least 10,000 builds per second per core);
//! - `mail_burst/*`: 1,000 finished builds, each mailing 3 recipients, from the moment they
//!   are recorded until aiosmtpd (on loopback) has accepted every mail, against lettre alone
//!   sending the same 1,000 messages with the same pool (target: at least half its rate). The
//!   resident memory before and after each burst is printed, to check it stays flat.
//!
//! `cargo bench --bench mail` (needs python3 with aiosmtpd, like the tests).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use buildstatus::adapters::mail::{SmtpSettings, TlsMode, to_lettre};
use buildstatus::app::notify::{MailTarget, MailTransportChoice, Notifiers, Overrides, WorkerOptions};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, SourceStamp, Step};
use buildstatus::domain::notify::mail::{self, BuildMail, Lookup, MailRules};
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::web::layout::Site;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

const BURST: u32 = 1_000;
const POOL: u32 = 4;

fn at(second: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000 + second, 0).unwrap_or_default()
}

fn build(number: u32, result: BuildResult) -> Build {
    Build {
        builder: "linux".into(),
        number,
        reason: "The SingleBranchScheduler scheduler named 'all' triggered this build".into(),
        properties: Default::default(),
        sourcestamps: vec![SourceStamp {
            branch: Some("main".into()),
            revision: Some(format!("{:040x}", number)),
            ..SourceStamp::default()
        }],
        blamelist: vec!["alice".into(), "Bob <bob@example.org>".into()],
        worker: "w1".into(),
        started: at(i64::from(number) * 60),
        finished: Some(at(i64::from(number) * 60 + 30)),
        result: Some(result),
        text: vec!["failed".into()],
        steps: vec![Step { number: 0, name: "compile".into(), text2: vec!["compile".into()], ..Step::default() }],
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

fn rules() -> MailRules {
    let mut rules = MailRules::new("mail", "buildbot@example.org");
    rules.lookup = Lookup::domain("example.org").unwrap_or_default();
    rules.extra_recipients = vec!["builds@example.org".into()];
    rules
}

fn decide_and_render(c: &mut Criterion) {
    let rules = rules();
    let site = Site::default();
    let builder = Builder { name: "linux".into(), ..Builder::default() };
    let results = [BuildResult::Failure, BuildResult::Success, BuildResult::Warnings, BuildResult::Failure];
    let builds: Vec<Build> = (0..64).map(|n| build(n + 1, results[n as usize % 4])).collect();
    let prev = build(0, BuildResult::Success);
    let mut group = c.benchmark_group("mail");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("decide_and_render", |b| {
        b.iter(|| {
            i = (i + 1) % builds.len();
            let input = BuildMail {
                builder: &builder,
                build: &builds[i],
                prev: Some(&prev),
                broken_since: None,
                failing_since: None,
                logs: &[],
                changes: &[],
                users: &[],
                worker: None,
                site: &site,
                now: at(0),
            };
            mail::wants(&rules, &input).then(|| mail::compose(&rules, &input))
        })
    });
    group.finish();
}

/// The server process, and the directory it writes to (kept until it is stopped).
struct Sink {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sink(port: u16) -> Sink {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("readable");
    assert_eq!(line.trim(), "ready", "aiosmtpd is needed: python3 -m pip install aiosmtpd");
    Sink { child, _dir: dir }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings { relayhost: "127.0.0.1".into(), port, tls: TlsMode::None, pool_size: POOL, ..SmtpSettings::default() }
}

/// lettre alone: the same 1,000 messages through one pooled transport, `POOL` at a time.
async fn lettre_alone(port: u16) -> Duration {
    let rules = rules();
    let (site, builder) = (Site::default(), Builder { name: "linux".into(), ..Builder::default() });
    let messages: Vec<lettre::Message> = (0..BURST)
        .filter_map(|n| {
            let b = build(n, BuildResult::Failure);
            let input = BuildMail {
                builder: &builder,
                build: &b,
                prev: None,
                broken_since: None,
                failing_since: None,
                logs: &[],
                changes: &[],
                users: &[],
                worker: None,
                site: &site,
                now: at(0),
            };
            mail::compose(&rules, &input).ok().and_then(|m| to_lettre(&m).ok())
        })
        .collect();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(PoolConfig::new().max_size(POOL))
        .build();
    let start = Instant::now();
    futures_util::stream::iter(messages)
        .for_each_concurrent(POOL as usize, |m| {
            let t = &transport;
            async move {
                t.send(m).await.expect("accepted");
            }
        })
        .await;
    start.elapsed()
}

/// buildstatus: 1,000 builds finish; every mail is decided, queued in SQLite and delivered.
async fn through_buildstatus(port: u16) -> Duration {
    let data = tempfile::tempdir().expect("tempdir");
    let target = MailTarget {
        rules: rules(),
        transport: MailTransportChoice::Smtp(settings(port)),
        delivery: Overrides::default(),
    };
    let worker = WorkerOptions { concurrency: POOL as usize, ..WorkerOptions::default() };
    let notifiers = Notifiers { targets: vec![Arc::new(target)], worker };
    let setup = Setup { storage: Storage::Directory(data.path().into()), notifiers, ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    let sink = server.sink();
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    let before = rss_kib();
    let start = Instant::now();
    for n in 0..BURST {
        let mut b = build(n, BuildResult::Failure);
        let finished = b.finished.take().unwrap_or_default();
        b.result = None;
        let events = vec![
            StatusEvent::BuildStarted { build: b, requests: vec![] },
            StatusEvent::BuildFinished {
                builder: "linux".into(),
                number: n,
                result: BuildResult::Failure,
                text: vec!["failed".into()],
                at: finished,
                properties: Default::default(),
            },
        ];
        sink.record_all(events).await.expect("recorded");
    }
    loop {
        let counts = server.outbox().counts().await.expect("counts");
        if counts.first().is_some_and(|c| c.sent == u64::from(BURST)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed();
    eprintln!("resident memory: {before} KiB before the burst, {} KiB after it drained", rss_kib());
    elapsed
}

fn burst(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
    let port = port.expect("a free port");
    let _sink = sink(port);
    let mut group = c.benchmark_group("mail_burst");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(BURST)));
    group.bench_function("lettre_alone/1000", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| runtime.block_on(lettre_alone(port))).sum())
    });
    group.bench_function("buildstatus/1000", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| runtime.block_on(through_buildstatus(port))).sum())
    });
    group.finish();
}

criterion_group!(benches, decide_and_render, burst);
criterion_main!(benches);
