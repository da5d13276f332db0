//! Mail end to end against a real SMTP server: aiosmtpd (`tests/fixtures/smtp_sink.py`),
//! started on a free loopback port, writing what it receives to files the tests read.
//! Plain SMTP; an outage while builds finish (every mail arrives once it is back, exactly
//! once); STARTTLS with AUTH and implicit TLS, with a test CA and a separate server
//! certificate made by the `openssl` command.
//!
//! Needs `python3` with aiosmtpd (`python3 -m pip install aiosmtpd`), `openssl`, and `msmtp`
//! (the sendmail-compatible program of the sendmail test); a test fails, never skips, when
//! they are missing.
use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::whole_build;
use buildstatus::adapters::mail::{SmtpSettings, TlsMode};
use buildstatus::app::notify::{MailTarget, MailTransportChoice, Notifiers, Overrides, Target, WorkerOptions};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::Builder;
use buildstatus::domain::notify::mail::{AddLogs, Lookup, MailRules, Mode, Modes};
use buildstatus::domain::notify::outbox::{DeliveryState, RetryPolicy};
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::Outbox;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_sink.py");

/// The aiosmtpd process; killed when dropped.
pub(super) struct Smtp {
    child: Child,
}

impl Smtp {
    pub(super) fn start(port: u16, dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(SINK)
            .arg(port.to_string())
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        BufReader::new(stdout).read_line(&mut line).expect("readable");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start: is aiosmtpd installed (python3 -m pip install aiosmtpd)?"
        );
        Self { child }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One received message: its headers (unfolded), decoded subject and parts, and envelope.
#[derive(Debug)]
pub(crate) struct Received {
    headers: Vec<(String, String)>,
    /// The decoded subject.
    subject: String,
    /// (content type, attachment file name, decoded text).
    parts: Vec<(String, Option<String>, String)>,
    rcpt: Vec<String>,
    tls: bool,
    authenticated: bool,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub(crate) fn received(dir: &Path) -> Vec<Received> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("sink dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let raw = std::fs::read_to_string(path).expect("message");
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).expect("meta"))
                    .expect("json");
            let head = raw.split("\r\n\r\n").next().expect("headers");
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in head.split("\r\n") {
                if line.starts_with([' ', '\t']) {
                    if let Some(last) = headers.last_mut() {
                        last.1.push(' ');
                        last.1.push_str(line.trim());
                    }
                } else if let Some((n, v)) = line.split_once(':') {
                    headers.push((n.to_owned(), v.trim().to_owned()));
                }
            }
            let rcpt =
                meta["rcpt_tos"].as_array().expect("rcpts").iter().map(|r| r.as_str().expect("str").into()).collect();
            let parts = meta["parts"]
                .as_array()
                .expect("parts")
                .iter()
                .map(|p| {
                    let text = |k: &str| p[k].as_str().map(str::to_owned);
                    // Line ends as a mail client shows them.
                    let body = text("text").expect("text").replace("\r\n", "\n");
                    (text("type").expect("type"), text("filename"), body)
                })
                .collect();
            Received {
                headers,
                subject: meta["subject"].as_str().expect("subject").to_owned(),
                parts,
                rcpt,
                tls: meta["tls"].as_bool().expect("tls"),
                authenticated: meta["authenticated"].as_bool().expect("auth"),
            }
        })
        .collect()
}

async fn wait_for(dir: &Path, count: usize) -> Vec<Received> {
    let start = Instant::now();
    loop {
        let got = received(dir);
        if got.len() >= count || start.elapsed() > Duration::from_secs(30) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rules() -> MailRules {
    let mut rules = MailRules::new("mail", "Buildbot <buildbot@example.org>");
    rules.mode = Modes::new([Mode::Change, Mode::Failing]);
    rules.lookup = Lookup::domain("example.org").expect("domain");
    rules.extra_recipients = vec!["builds@example.org".into()];
    rules.add_logs = AddLogs::Named(vec!["test.stdio".into()]);
    rules.extra_headers = vec![("X-Builder-Branch".into(), "%(prop:branch)s".into())];
    rules.streak_line = true;
    rules
}

fn fast_worker() -> WorkerOptions {
    WorkerOptions {
        retry: RetryPolicy {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(800),
            max_attempts: 100,
        },
        idle: Duration::from_millis(200),
        ..WorkerOptions::default()
    }
}

fn smtp(port: u16, tls: TlsMode) -> SmtpSettings {
    SmtpSettings {
        relayhost: "127.0.0.1".into(),
        port,
        tls,
        timeout: Duration::from_secs(5),
        ..SmtpSettings::default()
    }
}

async fn server(storage: Storage, settings: SmtpSettings) -> StatusServer {
    let target =
        MailTarget { rules: rules(), transport: MailTransportChoice::Smtp(settings), delivery: Overrides::default() };
    let notifiers = Notifiers { targets: vec![Arc::new(target)], worker: fast_worker() };
    StatusServer::start(Setup { storage, notifiers, ..Setup::default() }).await.expect("server starts")
}

/// linux #0 passes, #1 and #2 fail, #3 passes again.
async fn record_builds(server: &StatusServer, results: &[BuildResult]) {
    let sink = server.sink();
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    for (n, result) in results.iter().enumerate() {
        let n = u32::try_from(n).expect("small");
        sink.record_all(whole_build("linux", n, i64::from(n) * 10, "main", *result, None)).await.expect("build");
    }
}

async fn page(server: &StatusServer, uri: &str) -> String {
    let (status, body, _) = common::get(server, uri).await;
    assert!(status.is_success(), "{uri}: {status}");
    body
}

/// The page at `uri` once it says `what` (or as it is after 30 s, for the assertion's message).
async fn page_until(server: &StatusServer, uri: &str, what: &str) -> String {
    let start = Instant::now();
    loop {
        let body = page(server, uri).await;
        if body.contains(what) {
            return body;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{uri} never said '{what}': {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const RESULTS: [BuildResult; 4] =
    [BuildResult::Success, BuildResult::Failure, BuildResult::Failure, BuildResult::Success];

#[tokio::test]
async fn finished_builds_mail_the_right_people_with_threading_and_attachments() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &[]);
    let server = server(Storage::Memory, smtp(port, TlsMode::None)).await;
    record_builds(&server, &RESULTS).await;

    let mut mails = wait_for(inbox.path(), 3).await;
    assert_eq!(mails.len(), 3, "a first success is not a change; the failures and the fix mail");
    // Several are sent at once, so they may arrive in any order.
    mails.sort_by(|a, b| a.header("Message-ID").cmp(&b.header("Message-ID")));
    let ids: Vec<&str> = mails.iter().map(|m| m.header("Message-ID").expect("id")).collect();
    assert_eq!(
        ids,
        ["<build.1.linux.mail@example.org>", "<build.2.linux.mail@example.org>", "<build.3.linux.mail@example.org>"]
    );
    let thread = "<thread.linux.main.mail@example.org>";
    assert_eq!(mails[0].header("In-Reply-To"), Some(thread));
    assert_eq!(mails[1].header("In-Reply-To"), Some("<build.1.linux.mail@example.org>"));
    assert_eq!(mails[2].header("In-Reply-To"), Some("<build.1.linux.mail@example.org>"));
    assert_eq!(mails[2].header("References"), Some(format!("{thread} <build.1.linux.mail@example.org>").as_str()));

    let first = &mails[0];
    assert_eq!(first.subject, "buildbot failure in Buildbot on linux");
    assert_eq!(first.header("From"), Some("Buildbot <buildbot@example.org>"));
    assert_eq!(first.header("To"), Some("\"Ann Lee\" <ann@example.org>"), "blamelist and owners are one mailbox");
    assert_eq!(first.header("Cc"), Some("builds@example.org"));
    assert_eq!(first.header("X-Builder-Branch"), Some(""), "an unset property renders empty");
    assert_eq!(first.rcpt, ["ann@example.org", "builds@example.org"]);
    let (kind, _, body) = &first.parts[0];
    assert_eq!(kind, "text/plain");
    assert!(
        body.starts_with("The Buildbot has detected a new failure on builder linux while building Buildbot."),
        "{body}"
    );
    assert!(body.contains("BUILD FAILED: failed test\n\nSincerely,\n -The Buildbot\n"), "{body}");
    assert_eq!(first.parts.len(), 2, "the body and only the named log");
    let (kind, name, log) = &first.parts[1];
    assert_eq!((kind.as_str(), name.as_deref()), ("text/plain", Some("test.stdio")));
    assert!(log.starts_with("cc -c main.c\n"), "the log's output is attached, without its header lines: {log}");
    assert!(log.contains("warning: <b>unused</b>"), "stderr too: {log}");

    let fixed = &mails[2];
    assert_eq!(fixed.subject, "buildbot success in Buildbot on linux");
    assert!(fixed.parts[0].2.starts_with("The Buildbot has detected a restored build"));
    assert!(fixed.parts[0].2.contains("Build succeeded!\nBroken since build #1; fixed by build #3.\n"));

    // The server marks a message sent once the SMTP server has accepted it: a moment after it arrived.
    let log = page_until(&server, "/notifications", "0 waiting, 3 sent, 0 given up").await;
    assert!(log.contains("buildbot success in Buildbot on linux"));
}

#[tokio::test]
async fn mail_queued_while_the_server_is_down_arrives_exactly_once_when_it_is_back() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let server = server(Storage::Directory(data.path().into()), smtp(port, TlsMode::None)).await;
    record_builds(&server, &RESULTS).await;

    // Nobody listens: the attempts fail and are recorded, in words.
    let outbox = server.outbox();
    let start = Instant::now();
    loop {
        let log = outbox.log("mail/mail", None, 10).await.expect("log");
        if log.len() == 3 && log.iter().all(|m| m.attempts >= 2 && m.state == DeliveryState::Pending) {
            assert!(log[0].last_error.as_deref().unwrap_or("").to_lowercase().contains("connect"), "{:?}", log[0]);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "attempts were not retried: {log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page_text = page(&server, "/notifications").await;
    assert!(page_text.contains("3 waiting, 0 sent, 0 given up"), "{page_text}");
    assert!(page_text.contains("next attempt at") || page_text.contains("being retried"), "{page_text}");

    let _smtp = Smtp::start(port, inbox.path(), &[]);
    let mails = wait_for(inbox.path(), 3).await;
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails_after = received(inbox.path());
    assert_eq!(mails.len(), 3);
    assert_eq!(mails_after.len(), 3, "nothing is sent twice");
    let ids: BTreeSet<&str> = mails_after.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), 3);
    let log = outbox.log("mail/mail", None, 10).await.expect("log");
    assert!(log.iter().all(|m| m.state == DeliveryState::Sent), "{log:?}");
}

fn secure(port: u16, tls: TlsMode, ca: &Path) -> SmtpSettings {
    SmtpSettings {
        tls,
        user: Some("buildbot".into()),
        password: Some("s3cret".into()),
        ca_pem: vec![std::fs::read(ca).expect("ca")],
        tls_name: Some("localhost".into()),
        ..smtp(port, tls)
    }
}

#[tokio::test]
async fn starttls_with_auth_and_implicit_tls_deliver_over_verified_tls() {
    let certs = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = common::tls::certificates(certs.path());
    let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
    for (flag, tls) in [("--starttls", TlsMode::Required), ("--implicit", TlsMode::Implicit)] {
        let inbox = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let _smtp = Smtp::start(port, inbox.path(), &[flag, cert, key, "--auth", "buildbot:s3cret"]);
        let server = server(Storage::Memory, secure(port, tls, &ca)).await;
        record_builds(&server, &[BuildResult::Failure]).await;
        let mails = wait_for(inbox.path(), 1).await;
        assert_eq!(mails.len(), 1, "{flag}: {:?}", server.outbox().log("mail/mail", None, 5).await);
        assert!(mails[0].tls, "{flag}: over TLS");
        assert!(mails[0].authenticated, "{flag}: authenticated");
        assert_eq!(mails[0].subject, "buildbot failure in Buildbot on linux");
    }
}

/// The default, opportunistic STARTTLS, reaches a relay whose certificate nobody vouches for
/// (a self-signed one, as on many internal relays) encrypted, as MTAs do; the verifying
/// modes refuse it (next test).
#[tokio::test]
async fn opportunistic_starttls_encrypts_to_a_relay_with_an_unverifiable_certificate() {
    let certs = tempfile::tempdir().expect("tempdir");
    let (_ca, cert, key) = common::tls::certificates(certs.path());
    let inbox = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
    let _smtp = Smtp::start(port, inbox.path(), &["--starttls", cert, key]);
    let server = server(Storage::Memory, smtp(port, TlsMode::Opportunistic)).await;
    record_builds(&server, &[BuildResult::Failure]).await;
    let mails = wait_for(inbox.path(), 1).await;
    assert!(mails[0].tls, "sent over TLS");
}

#[tokio::test]
async fn a_wrong_password_or_an_untrusted_certificate_is_recorded_not_sent() {
    let certs = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = common::tls::certificates(certs.path());
    let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
    let inbox = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &["--starttls", cert, key, "--auth", "buildbot:other"]);
    let mut settings = secure(port, TlsMode::Required, &ca);
    let server = server(Storage::Memory, settings.clone()).await;
    record_builds(&server, &[BuildResult::Failure]).await;
    let outbox = server.outbox();
    let start = Instant::now();
    let failed = loop {
        let log = outbox.log("mail/mail", None, 5).await.expect("log");
        if let Some(m) = log.iter().find(|m| m.state == DeliveryState::Failed) {
            break m.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no failure recorded: {log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(failed.last_error.as_deref().unwrap_or("").contains("not retried"), "{failed:?}");
    drop(server);

    // Without the test CA, the server's certificate is not trusted.
    settings.ca_pem.clear();
    settings.password = Some("other".into());
    let server = self::server(Storage::Memory, settings).await;
    record_builds(&server, &[BuildResult::Failure]).await;
    let start = Instant::now();
    loop {
        let log = server.outbox().log("mail/mail", None, 5).await.expect("log");
        if let Some(error) = log.first().and_then(|m| m.last_error.clone()) {
            assert!(error.to_lowercase().contains("certificate"), "{error}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no failure recorded: {log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(received(inbox.path()).is_empty());
}

/// The binary, killed with SIGKILL while mails wait in its outbox (the SMTP server is down),
/// delivers every one of them after a restart, none twice.
#[tokio::test]
async fn mail_in_the_outbox_of_a_killed_process_is_delivered_after_a_restart_once() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("buildstatus.toml");
    std::fs::write(
        &config,
        format!(
            "[[mail]]\nfromaddr = \"bb@example.org\"\nmode = \"all\"\nsendToInterestedUsers = false\n\
             extraRecipients = [\"list@example.org\"]\nrelayhost = \"127.0.0.1\"\nsmtpPort = {port}\n\
             smtpTimeout = 2\nretryDelay = 1\nretryMaxDelay = 2\nmaxAttempts = 1000\n"
        ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let config = config.to_str().expect("path");
    let args = ["demo", "--history", "40", "--config", config];

    let mut first = common::start_binary_with_data(&args, &data);
    // Read the outbox as the process writes it (SQLite in WAL mode allows it).
    let store = buildstatus::adapters::sqlite::SqliteStore::open(&data.join("buildstatus.sqlite")).await.expect("db");
    let outbox = store.outbox();
    let start = Instant::now();
    let queued = loop {
        let log = outbox.log("mail/mail", None, 1000).await.expect("log");
        if log.len() >= 10 && log.iter().filter(|m| m.attempts >= 1).count() >= 5 {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the outbox did not fill: {} messages", log.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    assert!(queued.iter().all(|m| m.state.is_open()), "nothing could be sent yet");
    let ids: BTreeSet<String> = queued.iter().map(|m| format!("<{}>", m.id)).collect();

    let inbox = tempfile::tempdir().expect("tempdir");
    let _smtp = Smtp::start(port, inbox.path(), &[]);
    let _second = common::start_binary_with_data(&args, &data);
    let start = Instant::now();
    loop {
        let got: BTreeSet<String> =
            received(inbox.path()).iter().filter_map(|m| m.header("Message-ID").map(str::to_owned)).collect();
        if ids.is_subset(&got) {
            break;
        }
        let missing: Vec<&String> = ids.difference(&got).collect();
        assert!(start.elapsed() < Duration::from_secs(60), "not delivered after the restart: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = received(inbox.path());
    let distinct: BTreeSet<&str> = all.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(distinct.len(), all.len(), "a mail was sent twice");
}

/// The sendmail transport through a real sendmail-compatible program (msmtp), which relays
/// to aiosmtpd: the message and its recipients go through the program's argv and stdin.
#[tokio::test]
async fn the_sendmail_transport_hands_mail_to_the_local_program() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &[]);
    let bin = tempfile::tempdir().expect("tempdir");
    let program = bin.path().join("sendmail");
    // msmtp in its sendmail role, told where the relay is (its usual config file would say).
    std::fs::write(
        &program,
        format!("#!/bin/sh\nexec msmtp --host=127.0.0.1 --port={port} --auth=off --tls=off \"$@\"\n"),
    )
    .expect("script");
    let mut permissions = std::fs::metadata(&program).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&program, permissions).expect("chmod");

    let target = MailTarget {
        rules: rules(),
        transport: MailTransportChoice::Sendmail(program),
        delivery: Overrides::default(),
    };
    let notifiers = Notifiers { targets: vec![Arc::new(target)], worker: fast_worker() };
    let server = StatusServer::start(Setup { notifiers, ..Setup::default() }).await.expect("server starts");
    record_builds(&server, &[BuildResult::Failure]).await;
    let mails = wait_for(inbox.path(), 1).await;
    assert_eq!(mails.len(), 1, "{:?}", server.outbox().log("mail/mail", None, 5).await);
    assert_eq!(mails[0].subject, "buildbot failure in Buildbot on linux");
    assert_eq!(mails[0].rcpt, ["ann@example.org", "builds@example.org"]);
    assert_eq!(mails[0].header("Message-ID"), Some("<build.0.linux.mail@example.org>"));
}

/// A `sendmail` that never finishes is given up after the transport's timeout, as a failure
/// worth trying again, instead of holding its target's mail for good.
#[tokio::test]
async fn a_hanging_sendmail_is_a_temporary_failure() {
    use buildstatus::adapters::mail::SendmailTransport;
    use buildstatus::domain::notify::mail::{BodyKind, MailMessage};
    use buildstatus::ports::{MailError, MailTransport};

    let bin = tempfile::tempdir().expect("tempdir");
    let program = bin.path().join("sendmail");
    std::fs::write(&program, "#!/bin/sh\nexec sleep 30\n").expect("script");
    let mut permissions = std::fs::metadata(&program).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&program, permissions).expect("chmod");
    let transport = SendmailTransport::new(&program).with_timeout(Duration::from_millis(300));
    let message = MailMessage {
        id: "m1@example.org".into(),
        from: "ci@example.org".into(),
        to: vec!["ann@example.org".into()],
        cc: vec![],
        envelope: vec!["ann@example.org".into()],
        subject: "s".into(),
        date: common::at(0),
        in_reply_to: None,
        references: vec![],
        headers: vec![],
        body: "b".into(),
        kind: BodyKind::Plain,
        attachments: vec![],
    };
    match transport.send(&message).await {
        Err(MailError::Temporary(why)) => assert!(why.contains("did not finish within 300ms"), "{why}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

/// A refused recipient (550) is permanent: the mail is given up at once, with the server's
/// words; a server without STARTTLS fails a target that requires it; a subject that is not
/// ASCII arrives intact (RFC 2047).
#[tokio::test]
async fn refusals_and_missing_tls_are_recorded_and_unicode_subjects_survive() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &["--reject", "nobody@example.org"]);

    let mut refused = rules();
    refused.name = "refused".into();
    refused.send_to_interested_users = false;
    refused.extra_recipients = vec!["nobody@example.org".into()];
    let mut tls = rules();
    tls.name = "tls".into();
    let mut unicode = rules();
    unicode.name = "unicode".into();
    unicode.subject =
        buildstatus::domain::notify::mail::SubjectTemplate::parse("Échec sur %(builder)s — ✗").expect("template");
    // One recipient refused among others: the others get the mail (a display name with a
    // comma is quoted, not an error).
    let mut partly = rules();
    partly.name = "partly".into();
    partly.send_to_interested_users = false;
    partly.extra_recipients = vec!["nobody@example.org".into(), "Doe, John <john@example.org>".into()];
    let targets =
        [(refused, TlsMode::None), (tls, TlsMode::Required), (unicode, TlsMode::None), (partly, TlsMode::None)];
    let notifiers = Notifiers {
        targets: targets
            .into_iter()
            .map(|(rules, mode)| {
                let transport = MailTransportChoice::Smtp(smtp(port, mode));
                Arc::new(MailTarget { rules, transport, delivery: Overrides::default() }) as Arc<dyn Target>
            })
            .collect(),
        worker: fast_worker(),
    };
    let server = StatusServer::start(Setup { notifiers, ..Setup::default() }).await.expect("server starts");
    record_builds(&server, &[BuildResult::Failure]).await;

    let outbox = server.outbox();
    let start = Instant::now();
    let (refusal, no_tls) = loop {
        let refused = outbox.log("mail/refused", None, 1).await.expect("log");
        let tls = outbox.log("mail/tls", None, 1).await.expect("log");
        match (refused.first(), tls.first()) {
            (Some(r), Some(t)) if r.state == DeliveryState::Failed && t.last_error.is_some() => {
                break (r.clone(), t.clone());
            }
            _ => assert!(start.elapsed() < Duration::from_secs(30), "{refused:?} {tls:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refusal.attempts, 1, "a permanent refusal is not retried");
    let error = refusal.last_error.unwrap_or_default();
    assert!(error.contains("550") && error.contains("no such user here") && error.contains("not retried"), "{error}");
    assert!(no_tls.state.is_open(), "a missing STARTTLS may be fixed: retried, not given up");

    let mails = wait_for(inbox.path(), 2).await;
    assert_eq!(mails.len(), 2, "the unicode target's mail and the partly refused one arrive");
    let john = mails.iter().find(|m| m.rcpt == ["john@example.org"]).expect("the mail to John");
    let unicode = mails.iter().find(|m| m.rcpt != ["john@example.org"]).expect("the unicode mail");
    assert_eq!(unicode.subject, "Échec sur linux — ✗");
    assert!(unicode.header("Subject").is_some_and(|s| s.starts_with("=?utf-8?")), "{:?}", unicode.header("Subject"));
    assert_eq!(john.rcpt, ["john@example.org"]);
    // "Doe, John", encoded (RFC 2047) as the comma needs.
    assert_eq!(john.header("To"), Some("=?utf-8?b?RG9lLCBKb2hu?= <john@example.org>, nobody@example.org"));
    // The mail reaches the server before the worker records it as sent.
    let start = Instant::now();
    loop {
        let partly = outbox.log("mail/partly", None, 1).await.expect("log");
        if partly[0].state == DeliveryState::Sent {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{partly:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page_text = page(&server, "/notifications").await;
    assert!(page_text.contains("given up after 1 attempt"), "{page_text}");
}

/// A server with no notifier, on `data`: builds finish while the mail target is away.
async fn without_mail(data: &Path) -> StatusServer {
    let setup = Setup { storage: Storage::Directory(data.into()), ..Setup::default() };
    StatusServer::start(setup).await.expect("server starts")
}

/// Damages every stored log under `logs`: packs cut to one byte, each log file's first record
/// given a channel that does not exist. Returns how many files it damaged.
fn damage_logs(logs: &Path) -> usize {
    let mut damaged = 0;
    for bucket in std::fs::read_dir(logs).expect("logs dir") {
        for file in std::fs::read_dir(bucket.expect("bucket").path()).expect("bucket dir") {
            let path = file.expect("file").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name == "pack" {
                std::fs::OpenOptions::new().write(true).open(&path).expect("pack").set_len(1).expect("truncated");
            } else if name.ends_with(".log") {
                let mut bytes = std::fs::read(&path).expect("log");
                bytes[0] = 0xEE;
                std::fs::write(&path, bytes).expect("damaged");
            } else {
                continue;
            }
            damaged += 1;
        }
    }
    damaged
}

/// A finished build whose log cannot be read is mailed with a line saying so instead of the
/// log, and the target goes on to the next builds (it used to retry that build forever).
#[tokio::test]
async fn an_unreadable_log_is_named_in_its_mail_and_later_builds_still_mail() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &[]);
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    without_mail(data.path()).await.sink().record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    // The target starts once, then builds finish while it is away, and their logs get damaged.
    drop(server(Storage::Directory(data.path().into()), smtp(port, TlsMode::None)).await);
    {
        let away = without_mail(data.path()).await;
        for (n, result) in [(0, BuildResult::Success), (1, BuildResult::Failure)] {
            let build = whole_build("linux", n, i64::from(n) * 10, "main", result, None);
            away.sink().record_all(build).await.expect("build");
        }
    }
    assert!(damage_logs(&data.path().join("logs")) > 0, "logs were stored on disk");

    let server = server(Storage::Directory(data.path().into()), smtp(port, TlsMode::None)).await;
    server.sink().record_all(whole_build("linux", 2, 20, "main", BuildResult::Failure, None)).await.expect("build");
    let mut mails = wait_for(inbox.path(), 2).await;
    assert_eq!(mails.len(), 2, "the build with the damaged log and the one after it");
    mails.sort_by(|a, b| a.header("Message-ID").cmp(&b.header("Message-ID")));
    assert_eq!(mails[0].header("Message-ID"), Some("<build.1.linux.mail@example.org>"));
    let (_, name, text) = &mails[0].parts[1];
    assert_eq!(name.as_deref(), Some("test.stdio"));
    assert!(text.starts_with("[this log could not be read: log "), "{text}");
    assert!(!text.contains("cc -c main.c"), "{text}");
    assert_eq!(mails[1].header("Message-ID"), Some("<build.2.linux.mail@example.org>"));
    let (_, _, text) = &mails[1].parts[1];
    assert!(text.starts_with("cc -c main.c\n"), "a log stored after the damage is read: {text}");
}

/// A target started on a fresh data directory has the cursor 0. If the process stops before
/// that cursor moves, the builds journaled meanwhile are still mailed after a restart: the
/// target has run before, so it resumes at 0 instead of skipping to the newest event.
#[tokio::test]
async fn a_target_whose_cursor_is_still_zero_resumes_there_after_a_restart() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _smtp = Smtp::start(port, inbox.path(), &[]);
    drop(server(Storage::Directory(data.path().into()), smtp(port, TlsMode::None)).await);
    record_builds(&without_mail(data.path()).await, &[BuildResult::Success, BuildResult::Failure]).await;

    let _server = server(Storage::Directory(data.path().into()), smtp(port, TlsMode::None)).await;
    let mails = wait_for(inbox.path(), 1).await;
    let ids: Vec<&str> = mails.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids, ["<build.1.linux.mail@example.org>"]);
}
