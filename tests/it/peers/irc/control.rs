//! The commands that act on the master, against ngircd: `force`, `stop` and `shutdown` through a
//! master that accepts them, through the standalone server's (none: each answers that the
//! master does not support it), on a bot that does not allow them, and for a nick the
//! server's `[authz]` does not name; with `useRevisions`, `showBlameList = false`, `useColors = false` and
//! `noticeOnChannel` on the bots that say so; a nick's private `notify`; `join` and `leave`
//! for the nicks `channelAdmins` names; a reply wider than the width rule; and the hidden
//! commands (`dance`, `destroy`, a silly prompt, a `/me` at the bot).

use std::sync::Arc;
use std::time::Duration;

use super::servers::{Ngircd, free_port};
use super::user::User;
use super::{bot, builders, finish_build, has_joined, server, start_build, start_build_for};
use buildstatus::adapters::memory::master::{Action, MemoryMaster};
use buildstatus::app::Storage;
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::notify::irc::events::EventSet;
use buildstatus::domain::result::BuildResult;

const URL: &str = "http://localhost:8010/builders";

#[tokio::test]
async fn force_stop_and_shutdown_through_a_master_through_none_and_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ngircd = Ngircd::start(dir.path(), free_port(), None);
    let mut alice = User::connect(ngircd.port, "alice", &[("#builds", None)], None).await;
    let master = Arc::new(MemoryMaster::new());
    // bb: a master that accepts; builds named by revision, plain text, no blamelist.
    let mut bb = bot("bb", ngircd.port, "bb", &[("#builds", None)]);
    bb.master = Some(master.clone());
    bb.rules.allow_force = true;
    bb.rules.allow_shutdown = true;
    bb.rules.notify_events = EventSet::parse(["started", "finished"]).expect("events");
    bb.rules.style.revisions = true;
    bb.rules.style.blamelist = false;
    bb.rules.style.colours = false;
    bb.rules.channel_admins = vec!["Alice".into()];
    // bn: allowed, but the standalone server's master (none); answers as NOTICEs.
    let mut bn = bot("bn", ngircd.port, "bn", &[("#builds", None)]);
    bn.rules.allow_force = true;
    bn.rules.allow_shutdown = true;
    bn.rules.style.notice_on_channel = true;
    // bl: neither allowForce nor allowShutdown.
    let bl = bot("bl", ngircd.port, "bl", &[("#builds", None)]);
    let server = server(vec![bb, bn, bl], Storage::Memory).await;
    builders(&server, &["linux", "docs"]).await;
    for nick in ["bb", "bn", "bl"] {
        has_joined(&mut alice, nick, "#builds").await;
    }

    // Not allowed: one line naming why, and nothing reaches the master.
    assert_eq!(alice.ask("#builds", "bl: force build linux now", "bl", 1).await, ["builder control is not enabled"]);
    assert_eq!(alice.ask("#builds", "bl: stop build linux oops", "bl", 1).await, ["builder control is not enabled"]);
    assert_eq!(alice.ask("#builds", "bl: shutdown now", "bl", 1).await, ["shutdown control is not enabled"]);
    assert_eq!(alice.ask("#builds", "bl: shutdown later", "bl", 1).await, ["try 'shutdown check|start|stop|now'"]);

    // No master behind the server: it says so, as a NOTICE (noticeOnChannel), like every
    // answer in the channel, the unknown command's too.
    alice.say("#builds", "bn: force build linux now");
    let heard = alice.hear("bn", 1, Duration::from_secs(10)).await;
    assert_eq!(heard[0].text, "sorry, this server has no master that can force builds");
    assert!(heard[0].notice, "{heard:?}");
    assert_eq!(
        alice.ask("#builds", "bn: shutdown start", "bn", 1).await,
        ["sorry, this server has no master that can shut down"]
    );
    alice.say("#builds", "bn: frobnicate");
    let heard = alice.hear("bn", 1, Duration::from_secs(10)).await;
    assert!(heard[0].notice && heard[0].text == "unknown command 'frobnicate' (try 'commands')", "{heard:?}");

    // A nick opts in privately; the channel has its defaults.
    alice.say("bb", "notify on exception");
    let private = alice.hear("bb", 1, Duration::from_secs(10)).await;
    assert_eq!(
        (private[0].target.as_str(), private[0].text.as_str()),
        ("alice", "The following events are being notified: ['exception']")
    );

    // A running build, named by its revision (useRevisions), stopped through the master.
    start_build_for(&server, "linux", 3, &[], Some("0123456789abcdef")).await;
    assert_eq!(alice.expect_texts("bb", 1).await, ["build containing revision(s) [0123456] on linux started"]);
    assert_eq!(
        alice.ask("#builds", "bn: stop build linux wrong", "bn", 1).await,
        ["sorry, this server has no master that can stop builds"]
    );
    assert_eq!(
        alice.ask("#builds", "bb: stop build linux #4 wrong", "bb", 1).await,
        ["sorry, no build is currently running"]
    );
    assert_eq!(
        alice.ask("#builds", "bb: stop build linux #3 wrong branch", "bb", 1).await,
        ["build containing revision(s) [0123456] interrupted"]
    );
    assert_eq!(
        master.actions(),
        [Action::Stop {
            builder: "linux".into(),
            number: 3,
            reason: "stopped: by IRC user <alice> on channel #builds: wrong branch".into()
        }]
    );
    finish_build(&server, "linux", 3, BuildResult::Exception).await;
    let told = format!(
        "build containing revision(s) [0123456] on linux is complete: Exception [failed test]  Build details are at {URL}/linux/builds/3"
    );
    let mut heard: Vec<(String, String)> =
        alice.hear("bb", 2, Duration::from_secs(20)).await.into_iter().map(|h| (h.target, h.text)).collect();
    heard.sort();
    assert_eq!(
        heard,
        [("#builds".to_owned(), told.clone()), ("alice".to_owned(), told)],
        "the channel (finished) and alice (exception, privately); no blamelist, no colours"
    );
    alice.say("bb", "notify off");
    let private = alice.hear("bb", 1, Duration::from_secs(10)).await;
    assert_eq!(private[0].text, "The following events are being notified: []");

    // Shutdown through the master; once the master is stopping, `check` says so.
    assert_eq!(alice.ask("#builds", "bb: shutdown now", "bb", 1).await, ["Stopping buildbot"]);
    assert_eq!(master.actions()[1], Action::Shutdown { clean: false });
    server.sink().record(StatusEvent::MasterStopping { at: chrono::Utc::now() }).await.expect("stopping");
    assert_eq!(alice.ask("#builds", "bb: shutdown check", "bb", 1).await, ["Status: buildbot is shutting down"]);
    assert_eq!(alice.ask("#builds", "bb: shutdown start", "bb", 1).await, ["Already started"]);
    assert_eq!(alice.ask("#builds", "bb: shutdown stop", "bb", 1).await, ["Shutdown stopped"]);
    assert_eq!(master.actions()[2], Action::CancelShutdown);

    // A nick the server's [authz] does not name: refused, naming the rule, before the master.
    let mut bob = User::connect(ngircd.port, "bob", &[("#builds", None)], None).await;
    assert_eq!(
        bob.ask("#builds", "bb: force build linux mine", "bb", 1).await,
        ["sorry, bob may not force builds on 'linux' ([authz] forceBuild)"]
    );
    alice.expect_texts("bb", 1).await; // the same answer, heard in the channel
    start_build_for(&server, "linux", 4, &[], Some("fedcba9876543210")).await;
    assert_eq!(alice.expect_texts("bb", 1).await, ["build containing revision(s) [fedcba9] on linux started"]);
    bob.expect_texts("bb", 1).await; // bob is in the channel too
    assert_eq!(
        bob.ask("#builds", "bb: stop build linux mine", "bb", 1).await,
        ["sorry, bob may not stop builds on 'linux' ([authz] stopBuild)"]
    );
    alice.expect_texts("bb", 1).await;
    assert_eq!(master.actions().len(), 3, "{:?}", master.actions());
    finish_build(&server, "linux", 4, BuildResult::Success).await;
    alice.hear("bb", 1, Duration::from_secs(20)).await;
    bob.hear("bb", 1, Duration::from_secs(20)).await;

    // join and leave: for the nicks channelAdmins names (in any case), nobody by default.
    assert_eq!(alice.ask("#builds", "bl: join #other", "bl", 1).await, ["channel control is not enabled"]);
    assert_eq!(
        bob.ask("#builds", "bb: join #other", "bb", 1).await,
        ["sorry, bob may not make me join or leave channels"]
    );
    alice.join("#other", None).await;
    assert_eq!(alice.ask("#builds", "bb: join other", "bb", 1).await, ["Joined #other"]);
    has_joined(&mut alice, "bb", "#other").await;
    start_build(&server, "docs", 0).await;
    let mut heard: Vec<(String, String)> =
        alice.hear("bb", 2, Duration::from_secs(20)).await.into_iter().map(|h| (h.target, h.text)).collect();
    heard.sort();
    let started = "build containing revision(s) [] on docs started".to_owned();
    assert_eq!(heard, [("#builds".to_owned(), started.clone()), ("#other".to_owned(), started)], "told in both");
    assert_eq!(alice.ask("#other", "bb: leave #other", "bb", 1).await, ["Buildbot has been told to leave #other"]);
    alice.seen_or_wait(|l| l.starts_with(":bb!") && l.contains(" PART #other"), Duration::from_secs(10)).await;
    finish_build(&server, "docs", 0, BuildResult::Success).await;
    let heard = alice.hear("bb", 1, Duration::from_secs(20)).await;
    assert_eq!(heard[0].target, "#builds", "{heard:?}");
    alice.silent("bb", Duration::from_millis(500)).await;
    drop(bob);

    // The hidden commands.
    assert_eq!(
        alice.ask("#builds", "bb: dance", "bb", 5).await,
        ["<(^.^<)", "<(^.^)>", "(>^.^)>", "(7^.^)7", "(>^.^<)"]
    );
    assert_eq!(alice.ask("#builds", "bb: destroy everything", "bb", 1).await, ["\x01ACTION readies phasers\x01"]);
    assert_eq!(alice.ask("#builds", "\x01ACTION hugs bb\x01", "bb", 1).await, ["\x01ACTION hugs alice too\x01"]);
    assert_eq!(alice.ask("#builds", "bb: What happen ?", "bb", 1).await, ["Somebody set up us the bomb."]);
    assert_eq!(
        alice.ask("#builds", "bb: help force", "bb", 1).await,
        [
            "Usage: force build [--branch=branch] [--revision=revision] [--props=prop1=val1,prop2=val2...] <which> <reason> - Force a build"
        ]
    );

    // A reply longer than the width rule allows (403 − NICKLEN − 2 × len("#builds") = 359
    // bytes here: this ngircd says NICKLEN=30) comes in pieces, each cut between UTF-8
    // characters, that read back whole.
    let name = "é".repeat(200);
    let pieces = alice.ask("#builds", &format!("bb: status {name}"), "bb", 3).await;
    assert!(pieces.iter().all(|p| p.len() <= 359), "{pieces:?}");
    assert_eq!(pieces[0], "no such builder", "wrapped at the space");
    assert!(pieces[1].len() >= 358, "the long word cut as late as a whole character allows: {pieces:?}");
    assert_eq!(pieces[1..].concat(), format!("'{name}'"));
    alice.silent("bb", Duration::from_millis(500)).await;
    drop(server);
}
