use super::*;
use crate::domain::model::BuilderState;
use crate::domain::notify::irc::command::{self, Command, Parsed};
use crate::domain::notify::irc::replies;

fn at(s: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time")
}

fn facts<'a>(text: &'a [String], revisions: &'a [String], blamelist: &'a [String]) -> BuildFacts<'a> {
    BuildFacts {
        builder: "linux",
        number: 12,
        text,
        revisions,
        url: Some("http://bb/builders/linux/builds/12"),
        blamelist,
    }
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../../../../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

/// Every reply text and notification of the bot, one per line: reviewed as a whole.
#[test]
fn every_reply_text() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let (text, revs, blame) =
        (s(&["failed", "compile"]), s(&["a1b2c3d4e5f6", "0123456789", "f00"]), s(&["Alice <a@x>", "bob"]));
    let f = facts(&text, &revs, &blame);
    let plain = Style { colours: false, ..Style::default() };
    let revisions = Style { revisions: true, ..Style::default() };
    let mut out = vec![
        format!("started: {}", started(&f, Style::default())),
        format!("started, two changes: {}", started(&BuildFacts { revisions: &revs[..2], ..f }, Style::default())),
        format!("started, no changes: {}", started(&BuildFacts { revisions: &[], ..f }, Style::default())),
        format!("started, useRevisions: {}", started(&f, revisions)),
    ];
    for result in crate::domain::result::BuildResult::ALL {
        out.push(format!("finished {}: {:?}", result.name(), finished(&f, result, Style::default())));
    }
    out.push(format!("finished, no colours: {}", finished(&f, BuildResult::Failure, plain)));
    out.push(format!("finished, useRevisions: {:?}", finished(&f, BuildResult::Warnings, revisions)));
    out.push(format!(
        "finished, no blamelist: {}",
        finished(&f, BuildResult::Failure, Style { blamelist: false, ..plain })
    ));
    out.push(format!("finished, no url: {}", finished(&BuildFacts { url: None, ..f }, BuildResult::Failure, plain)));
    out.push(format!("watched: {:?}", watched(&f, BuildResult::Success, plain)));
    out.push(format!(
        "watched, useRevisions: {:?}",
        watched(&f, BuildResult::Exception, Style { revisions: true, ..plain })
    ));
    out.push(format!("forced: {}", forced(&f, None, plain)));
    out.push(format!("forced, useRevisions: {}", forced(&f, None, revisions)));
    out.push(format!("forced, ETA: {}", forced(&f, Some(125), revisions)));
    out.push(format!("interrupted: {}", interrupted(&f, plain)));
    out.push(format!("interrupted, useRevisions: {}", interrupted(&f, revisions)));
    out.push(format!("watching: {}", replies::watching("linux", "#12", Some(125))));
    out.push(format!("watching, revisions: {}", replies::watching("linux", "a1b2c3d", None)));
    let idle = replies::BuilderStatus {
        name: "linux".into(),
        state: BuilderState::Idle,
        last: Some((125, s(&["build", "successful"]))),
        running: vec![],
    };
    out.push(format!("status idle: {}", replies::status(&idle)));
    out.push(format!(
        "status offline: {}",
        replies::status(&replies::BuilderStatus { state: BuilderState::Offline, ..idle.clone() })
    ));
    let building = replies::BuilderStatus {
        state: BuilderState::Building,
        running: vec![
            replies::RunningBuild { step: Some(s(&["compile"])), eta: Some(125) },
            replies::RunningBuild { step: None, eta: None },
        ],
        ..idle.clone()
    };
    out.push(format!("status building: {}", replies::status(&building)));
    out.push(format!("last: {}", replies::last("linux", idle.last.as_ref())));
    out.push(format!("last, none: {}", replies::last("linux", None)));
    let builders = [("a".to_owned(), BuilderState::Idle), ("b".to_owned(), BuilderState::Offline)];
    out.push(format!("list: {:?}", replies::list_builders(&builders)));
    out.push(format!(
        "notify list: {}",
        replies::notify_list(
            crate::domain::notify::irc::events::EventSet::parse(["started", "failureToSuccess"]).unwrap()
        )
    ));
    out.push(format!("commands: {}", replies::commands()));
    out.push(format!("source: {}", replies::source()));
    out.push(format!("version: {}", replies::version("0.1.0")));
    for c in command::COMMANDS {
        out.push(format!("help {c}: {}", replies::help(&[c.to_owned()])));
    }
    for t in ["list", "status a b", "force build", "stop build x", "notify"] {
        if let Parsed::Usage(u) = command::parse(t) {
            out.push(format!("usage of {t:?}: {u}"));
        }
    }
    if let Parsed::Command(Command::Silly(lines)) = command::parse("What you say !!") {
        out.push(format!("silly: {lines:?}"));
    }
    snapshot("irc_replies", &out.join("\n"));
}

#[test]
fn each_contact_is_told_once_a_minute_and_muted_ones_never() {
    let text = vec!["failed".to_owned()];
    let f = facts(&text, &[], &[]);
    let failure = crate::domain::notify::irc::events::EventSet::parse(["failure"]).unwrap();
    let mut contacts = Contacts::new();
    contacts.insert("#a".into(), Contact { notify: failure, muted: false });
    contacts.insert("#m".into(), Contact { notify: failure, muted: true });
    contacts.insert("#quiet".into(), Contact::default());
    let mut recent = Recent::default();
    let watchers = vec!["#a".to_owned(), "#quiet".to_owned()];
    let said =
        finished_says(&contacts, &watchers, &mut recent, &f, BuildResult::Failure, None, Style::default(), at(0));
    let dests: Vec<&str> = said.iter().map(|s| s.dest.as_str()).collect();
    assert_eq!(dests, ["#a", "#quiet", "#quiet"], "#a told once (notify, not watch too); #quiet watched: text and URL");
    let again =
        finished_says(&contacts, &watchers, &mut recent, &f, BuildResult::Failure, None, Style::default(), at(30));
    assert!(again.is_empty(), "{again:?}");
    let later = finished_says(&contacts, &[], &mut recent, &f, BuildResult::Failure, None, Style::default(), at(61));
    assert_eq!(later.len(), 1);
}

#[test]
fn started_goes_to_contacts_with_started_in_their_voice() {
    let mut contacts = Contacts::new();
    let started_set = crate::domain::notify::irc::events::EventSet::parse(["started"]).unwrap();
    contacts.insert("#a".into(), Contact { notify: started_set, muted: false });
    contacts.insert("bob".into(), Contact { notify: started_set, muted: false });
    let f = facts(&[], &[], &[]);
    let said = started_says(&contacts, &f, Style { notice_on_channel: true, ..Style::default() });
    assert_eq!(said.iter().map(|s| s.voice).collect::<Vec<_>>(), [Voice::Notice, Voice::Privmsg]);
}
