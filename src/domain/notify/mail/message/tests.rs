//! Composed mails: the default bodies (snapshots), subjects, threading, attachments.

use super::*;
use crate::domain::model::{Patch, Property, SourceStamp, Step};
use crate::domain::notify::mail::{AddLogs, Lookup, Modes};

fn snapshot(name: &str, body: &str) {
    insta::with_settings!({ snapshot_path => "../../../../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, body);
    });
}

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000 + minute * 60, 0).unwrap()
}

fn site() -> Site {
    Site { title: "MyProj".into(), buildbot_url: "http://bb.example.org/".into(), ..Site::default() }
}

fn build(number: u32, result: BuildResult) -> Build {
    let mut properties = crate::domain::model::Properties::new();
    properties.insert("owners".into(), Property { value: serde_json::json!(["carol"]), source: "Build".into() });
    properties.insert("ticket".into(), Property { value: serde_json::json!(42), source: "Build".into() });
    Build {
        builder: "linux".into(),
        number,
        reason: "The SingleBranchScheduler scheduler named 'all' triggered this build".into(),
        properties,
        sourcestamps: vec![SourceStamp {
            branch: Some("master".into()),
            revision: Some("4f3c2a1".into()),
            ..SourceStamp::default()
        }],
        blamelist: vec!["Alice <alice@example.org>".into()],
        worker: "slave1".into(),
        started: at(0),
        finished: Some(at(5)),
        result: Some(result),
        text: vec!["failed".into()],
        steps: vec![Step { number: 0, name: "compile".into(), text2: vec!["compile".into()], ..Step::default() }],
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

fn rules() -> MailRules {
    let mut r = MailRules::new("mail", "buildbot@example.org");
    r.lookup = Lookup::domain("example.org").unwrap();
    r.extra_recipients = vec!["list@example.org".into()];
    r
}

fn mail<'a>(builder: &'a Builder, build: &'a Build, prev: Option<&'a Build>, site: &'a Site) -> BuildMail<'a> {
    let (logs, changes, users) = (&[][..], &[][..], &[][..]);
    BuildMail {
        builder,
        build,
        prev,
        broken_since: None,
        failing_since: None,
        logs,
        changes,
        users,
        worker: None,
        site,
        now: at(6),
    }
}

#[test]
fn the_default_plain_message_is_the_seed_text() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let (b, prev) = (build(12, BuildResult::Failure), build(11, BuildResult::Success));
    let m = compose(&rules(), &mail(&builder, &b, Some(&prev), &site)).unwrap();
    assert!(m.body.starts_with(
        "The Buildbot has detected a failed build on builder linux while building MyProj. Full details are available at:\n    http://bb.example.org/builders/linux/builds/12\n\nBuildbot URL: http://bb.example.org/\n\nBuildslave for this Build: slave1\n"
    ));
    assert!(m.body.ends_with("BUILD FAILED: failed compile\n\nSincerely,\n -The Buildbot\n\n\n\n"));
    assert_eq!(m.subject, "buildbot failure in MyProj on linux");
    assert_eq!(m.to, ["Alice <alice@example.org>", "carol@example.org"]);
    assert_eq!(m.cc, ["list@example.org"]);
    assert_eq!(m.id, "build.12.linux.mail@example.org");
    snapshot("mail_default_plain", &m.body);
}

#[test]
fn the_default_html_message_escapes_and_says_the_same() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let mut b = build(12, BuildResult::Warnings);
    b.reason = "<script>alert('x')</script>".into();
    let mut r = rules();
    r.formatter = Formatter::Html;
    let m = compose(&r, &mail(&builder, &b, None, &site)).unwrap();
    assert_eq!(m.kind, BodyKind::Html);
    assert!(!m.body.contains("<script>"));
    assert!(m.body.contains("The Buildbot has detected a problem in the build"));
    snapshot("mail_default_html", &m.body);
}

#[test]
fn a_fixing_build_names_the_breaking_one_and_answers_its_mail() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let (b, prev) = (build(15, BuildResult::Success), build(14, BuildResult::Failure));
    let mut r = rules();
    r.mode = Modes::from_word("change").unwrap();
    let fixing = BuildMail { broken_since: Some(12), ..mail(&builder, &b, Some(&prev), &site) };
    let m = compose(&r, &fixing).unwrap();
    assert!(m.body.starts_with("The Buildbot has detected a restored build"));
    assert!(m.body.contains("Build succeeded!\n\nSincerely"), "0.8's body, to the byte: {}", m.body);
    r.streak_line = true;
    let m = compose(&r, &fixing).unwrap();
    assert!(m.body.contains("Build succeeded!\nBroken since build #12; fixed by build #15.\n"));
    assert_eq!(m.in_reply_to.as_deref(), Some("build.12.linux.mail@example.org"));
    assert_eq!(m.references, ["thread.linux.master.mail@example.org", "build.12.linux.mail@example.org"]);
    // A first failure starts the thread: it refers to the builder's thread only.
    let failed = build(12, BuildResult::Failure);
    let first =
        compose(&r, &BuildMail { failing_since: Some(12), ..mail(&builder, &failed, Some(&prev), &site) }).unwrap();
    assert_eq!(first.in_reply_to.as_deref(), Some("thread.linux.master.mail@example.org"));
}

#[test]
fn headers_patches_and_cut_logs() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let mut b = build(3, BuildResult::Failure);
    b.sourcestamps[0].patch =
        Some(Patch { level: 1, body: "--- a\n+++ b\n".into(), subdir: None, author: None, comment: None });
    let mut r = rules();
    r.add_logs = AddLogs::Named(vec!["compile.stdio".into()]);
    r.extra_headers = vec![
        ("X-Ticket".into(), "T-%(prop:ticket)s%(prop:missing)s".into()),
        // A property cannot turn a header into one of the message's own, or into no header.
        ("%(prop:who)s".into(), "spy@example.org".into()),
        ("X-%(prop:odd)s".into(), "v".into()),
    ];
    b.properties.insert("who".into(), Property { value: "Bcc".into(), source: "force".into() });
    b.properties.insert("odd".into(), Property { value: "a: b".into(), source: "force".into() });
    let logs = [
        LogText { step: "compile".into(), name: "stdio".into(), text: "tail\n".into(), cut: 100 },
        LogText { step: "test".into(), name: "stdio".into(), text: "x".into(), cut: 0 },
    ];
    let m = compose(&r, &BuildMail { logs: &logs, ..mail(&builder, &b, None, &site) }).unwrap();
    assert_eq!(m.headers, [("X-Ticket".to_owned(), "T-42".to_owned())]);
    let names: Vec<&str> = m.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["source patch 0", "compile.stdio"]);
    assert!(m.attachments[1].text.starts_with("[the first 100 bytes of this log are left out; the whole log is at http://bb.example.org/builders/linux/builds/3/steps/compile/logs/stdio]\ntail"));
    assert!(m.body.contains("Build Source Stamp: [branch master] 4f3c2a1 (plus patch)"));
    // A name that is not a URL path segment as it is, is quoted in the link.
    r.add_logs = AddLogs::All;
    let odd = [LogText { step: "unit tests".into(), name: "a/b".into(), text: "t\n".into(), cut: 1 }];
    let m = compose(&r, &BuildMail { logs: &odd, ..mail(&builder, &b, None, &site) }).unwrap();
    let link = "/builds/3/steps/unit%20tests/logs/a%2Fb]";
    assert!(m.attachments.iter().any(|a| a.text.contains(link)), "{:?}", m.attachments);
}

#[test]
fn unbuildable_messages_say_why() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let b = build(3, BuildResult::Failure);
    let mut r = rules();
    r.formatter = Formatter::Custom(std::sync::Arc::new(|_| Err("template error".into())));
    assert_eq!(
        compose(&r, &mail(&builder, &b, None, &site)).unwrap_err(),
        "the message formatter failed: template error"
    );
    let mut r = rules();
    r.send_to_interested_users = false;
    r.extra_recipients.clear();
    assert!(compose(&r, &mail(&builder, &b, None, &site)).unwrap_err().starts_with("no recipients"));
}

#[test]
fn filters_and_rules_are_checked_together() {
    let mut r = rules();
    r.fromaddr = "nobody".into();
    r.builders = Some(vec!["linux".into()]);
    r.tags = Some(vec!["fast".into()]);
    r.extra_recipients = vec!["bad".into()];
    r.extra_headers = vec![("To".into(), "x@example.org".into()), ("X-A".into(), "a\nb".into())];
    assert_eq!(r.check().len(), 5, "{:?}", r.check());
    let mut r = rules();
    r.tags = Some(vec!["fast".into()]);
    assert!(!r.watches(&Builder { name: "linux".into(), ..Builder::default() }));
    assert!(r.watches(&Builder { name: "linux".into(), tags: vec!["fast".into()], ..Builder::default() }));
}

mod hostile_input {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the master reports (names, reasons, properties, blamelist), no header of
        /// the composed mail spans two lines, and every recipient is an address.
        #[test]
        fn no_input_breaks_a_header_or_smuggles_a_recipient(
            builder in ".{0,20}",
            title in ".{0,20}",
            reason in ".{0,40}",
            ticket in ".{0,20}",
            blame in proptest::collection::vec(".{0,30}", 0..4),
            template in "[a-z %()]{0,30}",
        ) {
            let site = Site { title, ..site() };
            let info = Builder { name: builder.clone(), ..Builder::default() };
            let mut b = build(1, BuildResult::Failure);
            b.builder = builder;
            b.reason = reason;
            b.blamelist = blame;
            b.properties.insert("ticket".into(), Property { value: serde_json::json!(ticket), source: "x".into() });
            let mut r = rules();
            r.extra_headers = vec![("X-Ticket".into(), "%(prop:ticket)s".into())];
            if let Ok(subject) = crate::domain::notify::mail::SubjectTemplate::parse(&template) {
                r.subject = subject;
            }
            let m = compose(&r, &mail(&info, &b, None, &site)).expect("composed");
            let one_line = |s: &str| !s.contains(['\r', '\n']);
            prop_assert!(one_line(&m.subject) && one_line(&m.id) && !m.id.contains(".."));
            prop_assert!(m.headers.iter().all(|(k, v)| one_line(k) && one_line(v)));
            prop_assert!(m.references.iter().chain(m.in_reply_to.iter()).all(|r| one_line(r) && !r.contains(['<', '>', ' '])));
            prop_assert!(m.to.iter().chain(&m.cc).all(|a| crate::domain::notify::mail::address::is_valid(a)));
            prop_assert!(m.envelope.iter().all(|a| one_line(a) && !a.contains(char::is_whitespace)));
        }
    }
}

#[test]
fn a_buildset_summary_joins_the_parts_and_names_logs_by_builder() {
    let (site, linux, macos) = (
        site(),
        Builder { name: "linux".into(), ..Builder::default() },
        Builder { name: "macos".into(), ..Builder::default() },
    );
    let a = build(1, BuildResult::Failure);
    let mut b = build(4, BuildResult::Success);
    b.builder = "macos".into();
    let mut r = rules();
    r.add_logs = AddLogs::All;
    let logs = [LogText { step: "compile".into(), name: "stdio".into(), text: "ok\n".into(), cut: 0 }];
    let mails = [
        BuildMail { logs: &logs, ..mail(&linux, &a, None, &site) },
        BuildMail { logs: &logs, ..mail(&macos, &b, None, &site) },
    ];
    let m = compose_summary(&r, 9, BuildResult::Failure, &mails).unwrap();
    assert_eq!(m.id, "buildset.9.mail@example.org");
    assert_eq!(m.subject, "buildbot failure in MyProj on (whole buildset)");
    assert_eq!(m.body.matches("\n -The Buildbot\n\n\n\n").count(), 2, "each part ends with two more newlines");
    let names: Vec<&str> = m.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["linux.compile.stdio", "macos.compile.stdio"]);
    assert_eq!(m.in_reply_to, None);
    assert!(compose_summary(&r, 9, BuildResult::Failure, &[]).is_err());
}

#[test]
fn extra_headers_read_keywords_and_the_worker() {
    let (builder, site) = (Builder { name: "linux".into(), ..Builder::default() }, site());
    let b = build(3, BuildResult::Failure);
    let worker = Worker { name: "slave1".into(), host: Some("rack-4".into()), ..Worker::default() };
    let mut r = rules();
    r.extra_headers = vec![
        ("X-Build".into(), "%(kw:builder)s #%(kw:buildnumber)s: %(kw:result)s".into()),
        ("X-Url".into(), "%(kw:url)s".into()),
        ("X-Host".into(), "%(worker:host)s (%(slave:name)s) for %(kw:title)s".into()),
    ];
    let m = compose(&r, &BuildMail { worker: Some(&worker), ..mail(&builder, &b, None, &site) }).unwrap();
    let header = |name: &str| m.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(header("X-Build"), Some("linux #3: failure"));
    assert_eq!(header("X-Url"), Some("http://bb.example.org/builders/linux/builds/3"));
    assert_eq!(header("X-Host"), Some("rack-4 (slave1) for MyProj"));
}
