//! The IRC bot against real IRC servers on loopback: ngircd for the classic path (commands,
//! notifications, reconnecting with what was queued meanwhile, channel keys, a fake NickServ,
//! nick collisions, a server password), InspIRCd linked to Atheme for SASL, NickServ
//! identification, TLS and flood control. A second client (`user.rs`) plays the user.
//!
//! Needs Debian's `ngircd`, `inspircd` and `atheme-services` (scripts/test installs them).

mod control;
mod flood;
mod inspircd;
mod ngircd;
pub mod servers;
pub mod user;

use std::sync::Arc;
use std::time::{Duration, Instant};

use buildstatus::adapters::http::auth::AuthSettings;
use buildstatus::adapters::irc::IrcSettings;
use buildstatus::app::notify::{BotRules, IrcTarget, Notifiers, Target, WorkerOptions};
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::auth::{Action, Authz, Identity as AuthIdentity, Subject};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, SourceStamp, Worker};
use buildstatus::domain::notify::irc::session::{ChannelSpec, Identity};
use buildstatus::domain::notify::outbox::RetryPolicy;
use buildstatus::domain::result::BuildResult;

/// A bot called `nick` on 127.0.0.1:`port` in `channels`, reconnecting quickly.
pub fn bot(name: &str, port: u16, nick: &str, channels: &[(&str, Option<&str>)]) -> IrcTarget {
    let identity = Identity {
        nick: nick.to_owned(),
        channels: channels.iter().map(|(c, k)| ChannelSpec::new(c, *k)).collect(),
        ..Identity::default()
    };
    let settings = IrcSettings {
        host: "127.0.0.1".to_owned(),
        port,
        identity,
        lost_delay: Some(Duration::from_millis(300)),
        failed_delay: Some(Duration::from_millis(300)),
        max_delay: Duration::from_secs(1),
        ..IrcSettings::default()
    };
    IrcTarget::new(name, settings, BotRules::default())
}

pub fn worker_options() -> WorkerOptions {
    WorkerOptions {
        retry: RetryPolicy {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(800),
            max_attempts: 1000,
        },
        idle: Duration::from_millis(100),
        ..WorkerOptions::default()
    }
}

/// A server for `targets`, whose `[authz]` lets the nick `alice` (and nobody else) force
/// and stop builds.
pub async fn server(targets: Vec<IrcTarget>, storage: Storage) -> StatusServer {
    let targets = targets.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>).collect();
    let notifiers = Notifiers { targets, worker: worker_options() };
    let alice = |who: &AuthIdentity, _: &Subject<'_>| who.user == "alice";
    let authz = Authz::builder().check(Action::ForceBuild, alice).check(Action::StopBuild, alice).build();
    let auth = AuthSettings { authz: Arc::new(authz), ..AuthSettings::default() };
    StatusServer::start(Setup { storage, notifiers, auth, ..Setup::default() }).await.expect("server starts")
}

/// Builders `names`, each with a connected worker of its own (so idle, not offline) unless
/// its name starts with `off`; tagged `docs` when their name starts with it, else `os`.
pub async fn builders(server: &StatusServer, names: &[&str]) {
    let sink = server.sink();
    let mut events = Vec::new();
    for name in names {
        let worker = format!("w-{name}");
        let tag = if name.starts_with("docs") { "docs" } else { "os" };
        events.push(StatusEvent::BuilderAdded {
            builder: Builder {
                name: (*name).into(),
                workers: vec![worker.clone()],
                tags: vec![tag.into()],
                ..Builder::default()
            },
        });
        if !name.starts_with("off") {
            let w = Worker { name: worker, ..Worker::default() };
            events.push(StatusEvent::WorkerConnected { worker: w, at: chrono::Utc::now() });
        }
    }
    sink.record_all(events).await.expect("builders");
}

/// Starts build `number` of `builder` now.
pub async fn start_build(server: &StatusServer, builder: &str, number: u32) {
    start_build_for(server, builder, number, &[], None).await;
}

/// Starts build `number` of `builder` now, for build requests `requests`, of `revision`.
pub async fn start_build_for(
    server: &StatusServer,
    builder: &str,
    number: u32,
    requests: &[u64],
    revision: Option<&str>,
) {
    let stamp = |revision: &str| SourceStamp { revision: Some(revision.into()), ..SourceStamp::default() };
    let build = Build {
        builder: builder.into(),
        number,
        sourcestamps: revision.map(stamp).into_iter().collect(),
        blamelist: vec!["Ann <ann@example.org>".into()],
        worker: format!("w-{builder}"),
        started: chrono::Utc::now(),
        ..Build::default()
    };
    server.sink().record(StatusEvent::BuildStarted { build, requests: requests.to_vec() }).await.expect("started");
}

pub async fn finish_build(server: &StatusServer, builder: &str, number: u32, result: BuildResult) {
    let text = if result == BuildResult::Success {
        vec!["build".into(), "successful".into()]
    } else {
        vec!["failed".into(), "test".into()]
    };
    let event = StatusEvent::BuildFinished {
        builder: builder.into(),
        number,
        result,
        text,
        at: chrono::Utc::now(),
        properties: Default::default(),
    };
    server.sink().record(event).await.expect("finished");
}

/// The page at `uri` once it contains `what`.
pub async fn page_until(server: &StatusServer, uri: &str, what: &str) -> String {
    let start = Instant::now();
    loop {
        let (_, body, _) = crate::common::get(server, uri).await;
        if body.contains(what) {
            return body;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{uri} never said {what:?}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `line` says that `nick` joined `channel`.
fn joins(nick: &str, channel: &str) -> impl Fn(&str) -> bool {
    let (who, channel) = (format!(":{nick}!"), channel.to_lowercase());
    move |l: &str| l.starts_with(&who) && l.contains(" JOIN ") && l.to_lowercase().contains(&channel)
}

/// Waits until the user sees `nick` join `channel` (the bot is there).
pub async fn sees_join(user: &mut user::User, nick: &str, channel: &str) {
    user.wait_other(joins(nick, channel), Duration::from_secs(20)).await;
}

/// Whether the user has seen `nick` join `channel`, at any time so far (or waits for it).
pub async fn has_joined(user: &mut user::User, nick: &str, channel: &str) {
    user.seen_or_wait(joins(nick, channel), Duration::from_secs(20)).await;
}
