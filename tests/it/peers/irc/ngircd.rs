//! The classic path against ngircd: every command answered in a channel and in private,
//! notifications after builds, `watch`, force and shutdown through the master, settings kept
//! across a restart; then reconnecting after the server restarts (what was queued meanwhile
//! arrives), a channel key, a fake NickServ, a nick collision and a server password.

use std::sync::Arc;
use std::time::Duration;

use super::servers::{Ngircd, free_port};
use super::user::User;
use super::{bot, builders, finish_build, page_until, sees_join, server, start_build, start_build_for};
use buildstatus::adapters::memory::master::{Action, MemoryMaster};
use buildstatus::app::Storage;
use buildstatus::domain::notify::irc::events::EventSet;
use buildstatus::domain::result::BuildResult;

const URL: &str = "http://localhost:8010/builders";

#[tokio::test]
async fn every_command_and_notification_against_ngircd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ngircd = Ngircd::start(dir.path(), free_port(), None);
    let mut alice = User::connect(ngircd.port, "alice", &[("#builds", None)], None).await;
    let master = Arc::new(MemoryMaster::new());
    let data = dir.path().join("data");
    let make_bot = || {
        let mut b = bot("ngircd", ngircd.port, "bb", &[("builds", None)]);
        b.rules.notify_events = EventSet::parse(["started", "failure"]).expect("events");
        b.rules.allow_force = true;
        b.rules.allow_shutdown = true;
        b.connection.rejoin_after_kick = Some(Duration::from_millis(500));
        b.master = Some(master.clone());
        b
    };
    let server = server(vec![make_bot()], Storage::Directory(data.clone())).await;
    builders(&server, &["docs", "linux", "offline-win"]).await;
    sees_join(&mut alice, "bb", "#builds").await;

    // Commands in the channel, each with the answer of the spec.
    assert_eq!(
        alice.ask("#builds", "bb: list builders", "bb", 1).await,
        ["Configured builders: docs linux offline-win [offline]"],
        "the trailing space of 0.8 is trimmed on the wire"
    );
    assert_eq!(alice.ask("#builds", "BB, status linux", "bb", 1).await, ["linux: idle"]);
    assert_eq!(
        alice.ask("#builds", "bb: status", "bb", 3).await,
        ["docs: idle", "linux: idle", "offline-win: offline"]
    );
    assert_eq!(alice.ask("#builds", "bb: status nope", "bb", 1).await, ["no such builder 'nope'"]);
    assert_eq!(
        alice.ask("#builds", "bb: last linux", "bb", 1).await,
        ["last build [linux]: (no builds run since last restart)"]
    );
    assert_eq!(
        alice.ask("#builds", "bb: help list", "bb", 1).await,
        ["Usage: list builders - List configured builders"]
    );
    assert_eq!(alice.ask("#builds", "bb: list workers", "bb", 1).await, ["try 'list builders'"]);
    assert!(alice.ask("#builds", "bb: commands", "bb", 1).await[0].starts_with("buildbot commands: commands, dance"));
    assert_eq!(
        alice.ask("#builds", "bb: source", "bb", 1).await,
        ["My source can be found at https://github.com/buildbot/buildbot"]
    );
    assert!(alice.ask("#builds", "bb: version", "bb", 1).await[0].ends_with("at your service"));
    assert_eq!(
        alice.ask("#builds", "bb: notify list", "bb", 1).await,
        ["The following events are being notified: ['started', 'failure']"]
    );
    assert_eq!(alice.ask("#builds", "bb: notify off success", "bb", 1).await, ["not enabled: success"]);
    assert_eq!(
        alice.ask("#builds", "bb: frobnicate", "bb", 1).await,
        ["unknown command 'frobnicate' (try 'commands')"]
    );
    alice.say("#builds", "bb is broken again");
    alice.say("#builds", "bb:");
    alice.silent("bb", Duration::from_millis(800)).await;
    assert_eq!(
        alice.ask("#builds", "bb: force build --props=a linux retry", "bb", 1).await,
        ["sorry, malformed --props: 'a' is not NAME=VALUE"]
    );
    assert_eq!(alice.ask("#builds", "bb: force build nope why", "bb", 1).await, ["no such builder 'nope'"]);
    assert_eq!(
        alice.ask("#builds", "bb: stop build linux because", "bb", 1).await,
        ["sorry, no build is currently running"]
    );
    assert_eq!(alice.ask("#builds", "bb: shutdown check", "bb", 1).await, ["Status: buildbot is running"]);
    assert_eq!(alice.ask("#builds", "bb: shutdown start", "bb", 1).await, ["Starting clean shutdown"]);
    assert_eq!(
        alice.ask("#builds", "bb: force build --branch=main --props=a=1 linux \"try again\"", "bb", 1).await,
        ["The build has been queued, I'll give a shout when it starts"]
    );
    let actions = master.actions();
    assert_eq!(actions[0], Action::Shutdown { clean: true });
    let Action::Force(forced) = &actions[1] else { panic!("{actions:?}") };
    assert_eq!(
        (forced.builders.as_slice(), forced.sourcestamps[0].branch.as_deref()),
        (&["linux".to_owned()][..], Some("main"))
    );
    assert_eq!(forced.reason, "forced: by IRC user <alice> on channel #builds: try again");
    assert_eq!(forced.properties["a"].value, serde_json::json!("1"));
    // In private: the answer comes privately.
    alice.say("bb", "status docs");
    let private = alice.hear("bb", 1, Duration::from_secs(10)).await;
    assert_eq!((private[0].target.as_str(), private[0].text.as_str()), ("alice", "docs: idle"));

    // Notifications: started (the channel has `started`), failure with its colour and link.
    // The build is the one forced: whoever forced it hears it started, and its end.
    start_build_for(&server, "linux", 0, &[1], None).await;
    assert_eq!(
        alice.expect_texts("bb", 3).await,
        ["build #0 forced", "I'll give a shout when the build finishes", "build #0 of linux started"]
    );
    assert_eq!(alice.ask("#builds", "bb: status linux", "bb", 1).await, ["linux: building(no current step)"]);
    assert_eq!(alice.ask("#builds", "bb: watch linux", "bb", 1).await, ["watching build linux #0 until it finishes.."]);
    finish_build(&server, "linux", 0, BuildResult::Failure).await;
    assert_eq!(
        alice.expect_texts("bb", 1).await,
        [format!(
            "build #0 of linux is complete: Failure [\x0304failed test\x03]  Build details are at {URL}/linux/builds/0  blamelist: Ann <ann@example.org>"
        )],
        "told once: the watch and the force are not repeated within the minute"
    );
    start_build(&server, "docs", 0).await;
    assert_eq!(alice.expect_texts("bb", 1).await, ["build #0 of docs started"]);
    assert_eq!(alice.ask("#builds", "bb: watch docs", "bb", 1).await, ["watching build docs #0 until it finishes.."]);
    finish_build(&server, "docs", 0, BuildResult::Success).await;
    assert_eq!(
        alice.expect_texts("bb", 2).await,
        [
            "Hey! build docs #0 is complete: Success [\x0303build successful\x03]",
            &format!("Build details are at {URL}/docs/builds/0")
        ]
    );
    assert!(alice.ask("#builds", "bb: last docs", "bb", 1).await[0].starts_with("last build [docs]: "));

    // Settings survive a restart; the goodbye is a QUIT.
    assert_eq!(
        alice.ask("#builds", "bb: notify on successToFailure", "bb", 1).await,
        ["The following events are being notified: ['started', 'failure', 'successToFailure']"]
    );
    assert_eq!(alice.ask("#builds", "bb: mute", "bb", 1).await, ["Shutting up for now."]);
    assert!(alice.ask("#builds", "bb: hello", "bb", 0).await.is_empty());
    alice.silent("bb", Duration::from_millis(500)).await;
    server.stop_notifiers().await;
    let quit = alice.wait_other(|l| l.starts_with(":bb!") && l.contains("QUIT"), Duration::from_secs(10)).await;
    assert!(quit.contains("buildmaster reconfigured: bot disconnecting"), "{quit}");
    drop(server);
    let server = super::server(vec![make_bot()], Storage::Directory(data)).await;
    sees_join(&mut alice, "bb", "#builds").await;
    assert_eq!(alice.ask("#builds", "bb: unmute", "bb", 1).await, ["I'm baaaaaaaaaaack!"]);
    assert_eq!(
        alice.ask("#builds", "bb: notify list", "bb", 1).await,
        ["The following events are being notified: ['started', 'failure', 'successToFailure']"]
    );
    // Kicked (alice is the channel's operator), the bot comes back as configured.
    alice.send_raw("KICK #builds bb :out");
    alice.wait_other(|l| l.contains(" KICK #builds bb"), Duration::from_secs(10)).await;
    sees_join(&mut alice, "bb", "#builds").await;
    page_until(&server, "/notifications", "kicked from #builds by alice: out").await;
    drop(server);
}

#[tokio::test]
async fn reconnects_with_what_was_queued_and_joins_with_keys_nickserv_and_a_server_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ngircd = Ngircd::start(dir.path(), free_port(), Some("srvpw"));
    let port = ngircd.port;
    // The bot's nick is taken: it becomes bb_. A fake NickServ hears its IDENTIFY.
    let mut nickserv = User::connect(port, "NickServ", &[], Some("srvpw")).await;
    let _holder = User::connect(port, "bb", &[], Some("srvpw")).await;
    let mut alice = User::connect(port, "alice", &[("#secret", Some("k3y"))], Some("srvpw")).await;
    let mut b = bot("ngircd", port, "bb", &[("#secret", Some("k3y"))]);
    b.connection.identity.server_password = Some("srvpw".into());
    b.connection.identity.nickserv_password = Some("ns secret".into());
    b.rules.notify_events = EventSet::parse(["finished"]).expect("events");
    b.rules.tags = Some(vec!["os".into()]);
    b.rules.pm_to_nicks = vec!["carol".into()];
    // Slow to come back, so that the users are in before it (and hear what it queued).
    b.connection.failed_delay = Some(Duration::from_secs(3));
    b.connection.max_delay = Duration::from_secs(4);
    let server = server(vec![b], buildstatus::app::Storage::Memory).await;
    builders(&server, &["linux", "docs"]).await;
    sees_join(&mut alice, "bb_", "#secret").await;
    let identify = nickserv.hear("bb_", 1, Duration::from_secs(10)).await;
    assert_eq!(identify[0].text, "IDENTIFY ns secret");
    page_until(&server, "/notifications", &format!("Up: connected to 127.0.0.1:{port} as bb_")).await;
    let metrics = page_until(&server, "/notifications/metrics", "buildstatus_target_up").await;
    assert!(metrics.contains("buildstatus_target_up{kind=\"irc\",target=\"irc/ngircd\"} 1"), "{metrics}");
    assert_eq!(alice.ask("#secret", "bb_: list builders", "bb_", 1).await, ["Configured builders: linux"], "tags");
    assert_eq!(alice.ask("#secret", "bb_: status", "bb_", 1).await, ["linux: idle"]);
    assert_eq!(alice.ask("#secret", "bb_: status docs", "bb_", 1).await, ["docs: idle"], "named, any builder");
    // A build of long ago (as a late sender records it) is not announced.
    let old = crate::common::whole_build("linux", 0, 0, "main", BuildResult::Failure, None);
    server.sink().record_all(old).await.expect("old build");

    // The server goes away; builds finish meanwhile; it comes back.
    ngircd.kill();
    page_until(&server, "/notifications", "Down: ").await;
    start_build(&server, "linux", 1).await;
    finish_build(&server, "linux", 1, BuildResult::Success).await;
    start_build(&server, "docs", 0).await;
    finish_build(&server, "docs", 0, BuildResult::Failure).await;
    let (_, metrics, _) = crate::common::get(&server, "/notifications/metrics").await;
    assert!(metrics.contains("target=\"irc/ngircd\"} 0"), "{metrics}");
    page_until(&server, "/notifications", "linux #1 success to #secret, carol").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ngircd.restart();
    let mut carol = User::connect(port, "carol", &[], Some("srvpw")).await;
    let mut alice = User::connect(port, "alice", &[("#secret", Some("k3y"))], Some("srvpw")).await;
    // The nick is free now.
    sees_join(&mut alice, "bb", "#secret").await;
    let told = format!(
        "build #1 of linux is complete: Success [\x0303build successful\x03]  Build details are at {URL}/linux/builds/1"
    );
    assert_eq!(alice.expect_texts("bb", 1).await, [told.as_str()], "not the old build, not docs (tags)");
    let private = carol.hear("bb", 1, Duration::from_secs(20)).await;
    assert_eq!((private[0].target.as_str(), private[0].text.as_str()), ("carol", told.as_str()), "pm_to_nicks");
    alice.silent("bb", Duration::from_secs(1)).await;
    page_until(&server, "/notifications", "1 sent").await;
    drop(server);
}

/// A server that stops answering (SIGSTOP: the connection stays open, nothing comes back) is
/// pinged, then counted lost after twice the keep-alive period, shown down on
/// `/notifications`; once it answers again the bot is back in its channel and says what was
/// queued meanwhile.
#[tokio::test]
async fn a_server_that_stops_answering_is_left_after_the_keepalive_and_rejoined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ngircd = Ngircd::start(dir.path(), free_port(), None);
    let mut alice = User::connect(ngircd.port, "alice", &[("#builds", None)], None).await;
    let mut b = bot("ngircd", ngircd.port, "bb", &[("#builds", None)]);
    b.connection.keepalive = Duration::from_secs(1);
    b.rules.notify_events = EventSet::parse(["finished"]).expect("events");
    let server = server(vec![b], Storage::Memory).await;
    builders(&server, &["linux"]).await;
    sees_join(&mut alice, "bb", "#builds").await;
    page_until(&server, "/notifications", "Up: connected").await;

    ngircd.process.signal("STOP");
    let page = page_until(&server, "/notifications", "nothing heard from the server").await;
    assert!(page.contains("Down: "), "{page}");
    start_build(&server, "linux", 0).await;
    finish_build(&server, "linux", 0, BuildResult::Success).await;
    ngircd.process.signal("CONT");
    // alice's own connection lived through the pause; the bot comes back to her channel (as
    // bb_ if the server reads its new connection before it sees the old one closed).
    let join = alice
        .wait_other(|l| l.starts_with(":bb") && l.contains(" JOIN ") && l.contains("#builds"), Duration::from_secs(20))
        .await;
    let nick = join[1..].split('!').next().unwrap_or_default().to_owned();
    assert_eq!(
        alice.expect_texts(&nick, 1).await,
        [format!(
            "build #0 of linux is complete: Success [\x0303build successful\x03]  Build details are at {URL}/linux/builds/0"
        )]
    );
    page_until(&server, "/notifications", "Up: connected").await;
    drop(server);
}
