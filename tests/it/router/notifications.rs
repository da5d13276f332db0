//! The notification machinery through the public API with the in-memory transport: the
//! delivery log page (snapshot), a message that cannot be built, a transport that is down,
//! and a restart that resumes from the saved cursor without queuing anything twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{HOSTILE, at, get, snapshot, whole_build};
use axum::http::StatusCode;
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::adapters::memory::MemoryMail;
use buildstatus::app::notify::{MailTarget, MailTransportChoice, Notifiers, Overrides, Target};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{BuildRequest, Builder, Buildset, Change};
use buildstatus::domain::notify::mail::{BodyKind, Formatter, MailRules, Modes, PreviousBuild};
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::{MailError, TargetCounts};

fn target(name: &str, mailer: &Arc<MemoryMail>) -> MailTarget {
    let mut rules = MailRules::new(name, "buildbot@example.org");
    rules.extra_recipients = vec!["builds@example.org".into()];
    MailTarget { rules, transport: MailTransportChoice::Custom(mailer.clone()), delivery: Overrides::default() }
}

async fn start(storage: Storage, targets: Vec<MailTarget>) -> StatusServer {
    let targets = targets.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>).collect();
    let setup = Setup { storage, notifiers: Notifiers::new(targets), ..Setup::default() };
    StatusServer::start_with_clock(setup, Arc::new(MemoryClock::new(at(60)))).await.expect("server starts")
}

async fn record(server: &StatusServer, builder: &str, results: &[(u32, BuildResult)]) {
    let sink = server.sink();
    let b = Builder { name: builder.into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder: b }).await.expect("builder");
    for (n, result) in results {
        sink.record_all(whole_build(builder, *n, i64::from(*n) * 5, "main", *result, None)).await.expect("build");
    }
}

async fn until(server: &StatusServer, done: impl Fn(&[TargetCounts]) -> bool) -> Vec<TargetCounts> {
    let start = Instant::now();
    loop {
        let counts = server.outbox().counts().await.expect("counts");
        if done(&counts) || start.elapsed() > Duration::from_secs(20) {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_delivery_log_shows_each_target_with_its_errors_in_words() {
    let ok = Arc::new(MemoryMail::new());
    let down = Arc::new(MemoryMail::new());
    down.fail_with(Some(MailError::Temporary("connection refused by 127.0.0.1:25".into())));
    let mut broken = target("broken", &ok);
    broken.rules.formatter = Formatter::Custom(Arc::new(|_| Err("template error: unknown variable 'x'".into())));
    let server = start(Storage::Memory, vec![target("mail", &ok), broken, target("down", &down)]).await;
    record(&server, HOSTILE, &[(0, BuildResult::Failure), (1, BuildResult::Success)]).await;

    let counts = until(&server, |c| {
        c.iter().map(|t| (t.target.as_str(), t.pending, t.sent, t.failed)).collect::<Vec<_>>()
            == [("mail/broken", 0, 0, 2), ("mail/down", 2, 0, 0), ("mail/mail", 0, 2, 0)]
    })
    .await;
    assert_eq!(counts.len(), 3, "{counts:?}");
    let down_log = server.outbox().log("mail/down", None, 5).await.expect("log");
    assert!(down_log.iter().all(|m| m.attempts == 1), "{down_log:?}");
    assert_eq!(ok.sent().len(), 2);

    let (status, page, _) = get(&server, "/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(HOSTILE), "the builder's name is escaped");
    assert!(page.contains("not sent: the message could not be built"));
    assert!(page.contains("the message formatter failed: template error: unknown variable 'x'"));
    assert!(page.contains("connection refused by 127.0.0.1:25"));
    snapshot("notifications_page", &page);

    let (_, metrics, _) = get(&server, "/notifications/metrics").await;
    for line in [
        r#"buildstatus_notifications{kind="mail",target="mail/broken",state="failed"} 2"#,
        r#"buildstatus_notifications{kind="mail",target="mail/down",state="pending"} 2"#,
        r#"buildstatus_notifications{kind="mail",target="mail/mail",state="sent"} 2"#,
        r#"buildstatus_notifications{kind="mail",target="mail/mail",state="failed"} 0"#,
        r#"buildstatus_notifications{kind="mail",target="mail/mail",state="superseded"} 0"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }

    assert_eq!(get(&server, "/notifications?limit=x").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_restart_resumes_from_the_cursor_and_queues_nothing_twice() {
    let data = tempfile::tempdir().expect("tempdir");
    let mailer = Arc::new(MemoryMail::new());
    {
        let server = start(Storage::Directory(data.path().into()), vec![target("mail", &mailer)]).await;
        record(&server, "linux", &[(0, BuildResult::Failure), (1, BuildResult::Success)]).await;
        until(&server, |c| c.first().is_some_and(|t| t.sent == 2)).await;
    }
    // Builds finish while no notifier runs (a server without targets), then it comes back.
    {
        let server = start(Storage::Directory(data.path().into()), vec![]).await;
        let sink = server.sink();
        sink.record_all(whole_build("linux", 2, 20, "main", BuildResult::Failure, None)).await.expect("build");
    }
    let server = start(Storage::Directory(data.path().into()), vec![target("mail", &mailer)]).await;
    let counts = until(&server, |c| c.first().is_some_and(|t| t.sent == 3)).await;
    assert_eq!(counts[0].sent, 3, "the build finished while the notifier was away is mailed: {counts:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ids: Vec<String> = mailer.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        ["build.0.linux.mail@example.org", "build.1.linux.mail@example.org", "build.2.linux.mail@example.org"]
    );
}

#[tokio::test]
async fn a_new_target_does_not_mail_about_the_past() {
    let data = tempfile::tempdir().expect("tempdir");
    {
        let server = start(Storage::Directory(data.path().into()), vec![]).await;
        record(&server, "linux", &[(0, BuildResult::Failure)]).await;
    }
    let mailer = Arc::new(MemoryMail::new());
    let server = start(Storage::Directory(data.path().into()), vec![target("mail", &mailer)]).await;
    server.sink().record_all(whole_build("linux", 1, 20, "main", BuildResult::Failure, None)).await.expect("build");
    until(&server, |c| c.first().is_some_and(|t| t.sent == 1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids: Vec<String> = mailer.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["build.1.linux.mail@example.org"]);
}

/// `previousBuildGetter`: here "the previous build on the same branch". With it, builds on two
/// branches do not count as changes of each other; without it they do.
#[tokio::test]
async fn a_previous_build_getter_decides_what_counts_as_a_change() {
    let mut results = Vec::new();
    for same_branch in [false, true] {
        let mailer = Arc::new(MemoryMail::new());
        let mut mail = target("mail", &mailer);
        mail.rules.mode = Modes::from_word("change").expect("mode");
        mail.rules.send_to_interested_users = false;
        if same_branch {
            let getter: PreviousBuild =
                Arc::new(|build, recent| recent.iter().find(|b| b.branch() == build.branch()).cloned());
            mail.rules.previous_build = Some(getter);
        }
        let server = start(Storage::Memory, vec![mail]).await;
        let sink = server.sink();
        let b = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
        sink.record(StatusEvent::BuilderAdded { builder: b }).await.expect("builder");
        for (n, branch, result) in
            [(0, "main", BuildResult::Success), (1, "topic", BuildResult::Failure), (2, "main", BuildResult::Success)]
        {
            sink.record_all(whole_build("linux", n, i64::from(n) * 5, branch, result, None)).await.expect("build");
        }
        // A last build that mails in both cases, to know the others were decided.
        sink.record_all(whole_build("linux", 3, 20, "main", BuildResult::Failure, None)).await.expect("build");
        until(&server, |c| c.first().is_some_and(|t| t.sent >= 1 && t.pending == 0)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut ids: Vec<String> = mailer.sent().into_iter().map(|m| m.id).collect();
        ids.sort();
        results.push(ids);
    }
    assert_eq!(
        results[0],
        ["build.1.linux.mail@example.org", "build.2.linux.mail@example.org", "build.3.linux.mail@example.org"]
    );
    assert_eq!(results[1], ["build.3.linux.mail@example.org"], "only main's own failure is a change on main");
}

/// `buildSetSummary`: one mail when the buildset is done, made of the parts of its builds
/// (the last build of each request: a retried attempt is left out), and no mail per build.
#[tokio::test]
async fn a_buildset_summary_is_one_mail_with_the_last_build_of_each_request() {
    let mailer = Arc::new(MemoryMail::new());
    let mut mail = target("mail", &mailer);
    mail.rules.build_set_summary = true;
    let server = start(Storage::Memory, vec![mail]).await;
    let sink = server.sink();
    for name in ["linux", "macos"] {
        let b = Builder { name: name.into(), workers: vec!["w1".into()], ..Builder::default() };
        sink.record(StatusEvent::BuilderAdded { builder: b }).await.expect("builder");
    }
    let buildset = Buildset {
        id: 1,
        reason: "scheduler".into(),
        external_id: None,
        submitted_at: at(0),
        sourcestamps: vec![],
        builders: vec!["linux".into(), "macos".into()],
        complete_at: None,
        result: None,
    };
    sink.record(StatusEvent::BuildsetSubmitted { buildset }).await.expect("buildset");
    for (id, builder) in [(10, "linux"), (11, "macos")] {
        let request = BuildRequest {
            id,
            buildset_id: Some(1),
            builder: builder.into(),
            submitted_at: at(0),
            reason: "scheduler".into(),
            properties: Default::default(),
            sourcestamps: vec![],
        };
        sink.record(StatusEvent::BuildRequestSubmitted { request }).await.expect("request");
    }
    let claiming = |mut events: Vec<StatusEvent>, request: u64| {
        if let Some(StatusEvent::BuildStarted { requests, .. }) = events.first_mut() {
            requests.push(request);
        }
        events
    };
    for (builder, number, result, request) in [
        ("linux", 0, BuildResult::Failure, 10),
        ("macos", 0, BuildResult::Retry, 11),
        ("macos", 1, BuildResult::Success, 11),
    ] {
        let events = claiming(whole_build(builder, number, i64::from(number) * 5, "main", result, None), request);
        sink.record_all(events).await.expect("build");
    }
    sink.record(StatusEvent::BuildsetFinished { id: 1, result: BuildResult::Failure, at: at(30) })
        .await
        .expect("finished");

    until(&server, |c| c.first().is_some_and(|t| t.sent == 1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "one mail for the buildset, none per build: {sent:?}");
    let m = &sent[0];
    assert_eq!(m.id, "buildset.1.mail@example.org");
    assert_eq!(m.subject, "buildbot failure in Buildbot on (whole buildset)");
    let parts: Vec<&str> = m.body.matches("The Buildbot has detected a ").collect();
    assert_eq!(parts.len(), 2, "{}", m.body);
    assert!(m.body.contains("failed build on builder linux"), "{}", m.body);
    assert!(m.body.contains("passing build on builder macos"), "{}", m.body);
    assert!(!m.body.contains("retried build"), "the retried attempt is not reported: {}", m.body);
}

/// A notifier that falls behind the hub's buffer during a long log catches up and goes on
/// mailing (log chunks are not in the journal: the event feed steps over them).
// Several threads: a notifier stuck in a loop must not stop this test from failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_behind_a_long_log_catches_up() {
    let mailer = Arc::new(MemoryMail::new());
    let server = start(Storage::Memory, vec![target("mail", &mailer)]).await;
    let sink = server.sink();
    let mut events = whole_build("linux", 0, 0, "main", BuildResult::Failure, None);
    let finish = events.split_off(events.len() - 1);
    record(&server, "linux", &[]).await;
    sink.record_all(events.clone()).await.expect("started");
    // 40,000 chunks in one batch: far more than the hub's buffer holds.
    let chunk = StatusEvent::LogChunk {
        builder: "linux".into(),
        number: 0,
        step: 1,
        log: "stdio".into(),
        channel: buildstatus::domain::event::Channel::Stdout,
        text: "x\n".into(),
    };
    let reopen = StatusEvent::StepStarted {
        builder: "linux".into(),
        number: 0,
        step: buildstatus::domain::model::Step {
            number: 2,
            name: "more".into(),
            started: Some(at(9)),
            ..Default::default()
        },
    };
    let log = StatusEvent::LogStarted {
        builder: "linux".into(),
        number: 0,
        step: 2,
        log: "stdio".into(),
        kind: Default::default(),
    };
    let mut chunks = vec![reopen, log];
    chunks.extend(std::iter::repeat_n(
        match chunk {
            StatusEvent::LogChunk { builder, number, log, channel, text, .. } => {
                StatusEvent::LogChunk { builder, number, step: 2, log, channel, text }
            }
            other => other,
        },
        40_000,
    ));
    sink.record_all(chunks).await.expect("chunks");
    // The event after the chunks is the next the notifier sees, soon: it is not stuck behind them.
    let finished = sink.record_all(finish).await.expect("finished");
    let start = Instant::now();
    while server.outbox().cursor("mail/mail").await.expect("cursor") < Some(finished) {
        assert!(start.elapsed() < Duration::from_secs(10), "the notifier is stuck behind the log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = until(&server, |c| c.first().is_some_and(|t| t.sent == 1)).await;
    assert_eq!(counts.first().map(|c| c.sent), Some(1), "{counts:?}");
}

/// A formatter of the user's own reads the build's changes and the text of every log, as the
/// seed's `html_message_formatter` does with `ss.changes` and `build.getLogs()`.
#[tokio::test]
async fn a_users_formatter_reads_the_changes_and_every_log() {
    let mailer = Arc::new(MemoryMail::new());
    let mut t = target("mail", &mailer);
    t.rules.formatter = Formatter::Custom(Arc::new(|args| {
        let changes: Vec<String> = args.changes.iter().map(|c| format!("{}: {}", c.who, c.comments)).collect();
        let logs: Vec<String> = args.logs.iter().map(|l| format!("{}.{} {}", l.step, l.name, l.text.len())).collect();
        let body = format!("changes [{}] logs [{}]", changes.join("; "), logs.join("; "));
        Ok(buildstatus::domain::notify::mail::Formatted { body, kind: BodyKind::Plain, subject: None })
    }));
    let server = start(Storage::Memory, vec![t]).await;
    let sink = server.sink();
    let b = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder: b }).await.expect("builder");
    let change =
        Change { number: 1, who: "ann".into(), comments: "fix the parser".into(), when: at(0), ..Change::default() };
    sink.record(StatusEvent::ChangeAdded { change }).await.expect("change");
    sink.record_all(whole_build("linux", 0, 1, "main", BuildResult::Failure, Some(1))).await.expect("build");
    until(&server, |c| c.first().is_some_and(|t| t.sent == 1)).await;
    let body = &mailer.sent()[0].body;
    assert!(body.starts_with("changes [ann: fix the parser] logs [compile.stdio "), "{body}");
    assert!(body.contains("; test.stdio "), "every log, not only attached ones: {body}");
}
