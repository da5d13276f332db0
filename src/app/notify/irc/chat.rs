//! The chat task: what people say to the bot, read by the domain's grammar and answered from
//! the status (`StatusReader`) and the master (`MasterControl`). Every answer goes to the
//! contact it came from: the channel, or the nick for a private message (a NOTICE on a
//! channel with `noticeOnChannel`); a muted contact is answered only by `unmute`.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::bot::{Bot, BotState};
use crate::adapters::irc::Incoming;
use crate::app::notify::NotifyError;
use crate::domain::auth::{Action, Subject};
use crate::domain::model::{BuildKey, Builder, BuilderState, Property, SourceStamp};
use crate::domain::notify::irc::announce::{self, BuildFacts, build_name};
use crate::domain::notify::irc::command::{
    Addressed, Chat, Command, ForceArgs, NotifyAction, Parsed, ShutdownAction, Which, addressed, parse,
};
use crate::domain::notify::irc::line::fold;
use crate::domain::notify::irc::replies::{self, BuilderStatus, RunningBuild};
use crate::domain::notify::irc::text::{Say, Voice, voice_for};
use crate::ports::{BuildQuery, ControlError, ForceRequest};

pub async fn run(bot: Arc<Bot>, mut incoming: mpsc::UnboundedReceiver<Incoming>) {
    while let Some(event) = incoming.recv().await {
        match event {
            Incoming::Registered(nick) => bot.state.lock().await.nick = nick,
            Incoming::Chat(chat) => {
                if let Err(e) = answer(&bot, &chat).await {
                    tracing::warn!("{}: a command failed: {e}", bot.queue.target());
                    let dest = reply_to(&chat);
                    bot.client.say_soon(vec![Say::new(&dest, "Something bad happened (see logs)", Voice::Privmsg)]);
                }
            }
            Incoming::Joined(channel) => {
                bot.state.lock().await.channels.insert(fold(&channel));
            }
            Incoming::Lost(_) => {}
        }
    }
}

fn reply_to(chat: &Chat) -> String {
    if crate::domain::notify::irc::line::is_channel(&chat.target) { fold(&chat.target) } else { chat.from.clone() }
}

/// What one command answers, and how.
struct Answer {
    lines: Vec<String>,
    action: bool,
}

impl Answer {
    fn say(line: impl Into<String>) -> Self {
        Self { lines: vec![line.into()], action: false }
    }
    fn lines(lines: Vec<String>) -> Self {
        Self { lines, action: false }
    }
}

async fn answer(bot: &Bot, chat: &Chat) -> Result<(), NotifyError> {
    let nick = bot.state.lock().await.nick.clone();
    if chat.action {
        return act(bot, chat, &nick);
    }
    let Some(Addressed { contact, text, loose }) = addressed(chat, &nick) else { return Ok(()) };
    // Private replies go to the nick as the server spells it.
    let dest = if contact.starts_with(['#', '&', '!', '+']) { contact.clone() } else { chat.from.clone() };
    let answer = match parse(&text) {
        Parsed::Nothing => return Ok(()),
        Parsed::Unknown(_) if loose => return Ok(()),
        Parsed::Unknown(word) => Answer::say(format!("unknown command '{word}' (try 'commands')")),
        Parsed::Usage(usage) => Answer::say(usage),
        Parsed::Command(command) => run_command(bot, &contact, &dest, &chat.from, &nick, command).await?,
    };
    let muted = {
        let mut state = bot.state.lock().await;
        let changed = bot.changed(&mut state).await?.clone();
        bot.contact(&changed, &contact).muted
    };
    if muted && answer.lines.first().is_none_or(|l| l != "I'm baaaaaaaaaaack!") {
        return Ok(());
    }
    let voice = if answer.action { Voice::Action } else { voice_for(&dest, bot.rules.style.notice_on_channel) };
    bot.client.say_soon(answer.lines.into_iter().map(|l| Say::new(&dest, l, voice)).collect());
    Ok(())
}

/// `/me kicks bb` ⇒ `/me kicks back`; `/me hugs bb` ⇒ `/me hugs alice too`.
fn act(bot: &Bot, chat: &Chat, nick: &str) -> Result<(), NotifyError> {
    let words: Vec<&str> = chat.text.split_whitespace().collect();
    let [.., verb, last] = words.as_slice() else { return Ok(()) };
    if fold(last) != fold(nick) || !verb.ends_with('s') {
        return Ok(());
    }
    let text = if *verb == "kicks" { "kicks back".to_owned() } else { format!("{verb} {} too", chat.from) };
    bot.client.say_soon(vec![Say::new(&reply_to(chat), text, Voice::Action)]);
    Ok(())
}

async fn run_command(
    bot: &Bot,
    contact: &str,
    dest: &str,
    who: &str,
    nick: &str,
    command: Command,
) -> Result<Answer, NotifyError> {
    let rules = &bot.rules;
    Ok(match command {
        Command::ListBuilders => {
            let mut list = Vec::new();
            for b in reported(bot).await? {
                let state = bot.reader.builder_state(&b.name).await?.unwrap_or_default();
                list.push((b.name, state));
            }
            Answer::say(replies::list_builders(&list))
        }
        Command::Status(which) => Answer::lines(per_builder(bot, &which, |s, _| replies::status(&s)).await?),
        Command::Last(which) => {
            Answer::lines(per_builder(bot, &which, |s, name| replies::last(name, s.last.as_ref())).await?)
        }
        Command::Watch(name) => watch(bot, contact, &name).await?,
        Command::Notify(action) => notify(bot, contact, action).await?,
        Command::Help(args) => Answer::say(replies::help(&args)),
        Command::Commands => Answer::say(replies::commands()),
        Command::Source => Answer::say(replies::source()),
        Command::Version => Answer::say(replies::version(env!("CARGO_PKG_VERSION"))),
        Command::Shutdown(action) if rules.allow_shutdown => shutdown(bot, action).await?,
        Command::Shutdown(_) => Answer::say("shutdown control is not enabled"),
        Command::Force(_) | Command::Stop { .. } if !rules.allow_force => Answer::say("builder control is not enabled"),
        Command::Force(args) => force(bot, contact, dest, who, args).await?,
        Command::Stop { builder, number, reason } => stop(bot, dest, who, &builder, number, &reason).await?,
        Command::Join(_) | Command::Leave(_) if rules.channel_admins.is_empty() => {
            Answer::say("channel control is not enabled")
        }
        Command::Join(_) | Command::Leave(_) if !rules.channel_admins.iter().any(|a| fold(a) == fold(who)) => {
            Answer::say(format!("sorry, {who} may not make me join or leave channels"))
        }
        Command::Join(channel) => {
            let name = channel.name.clone();
            bot.state.lock().await.channels.insert(fold(&name));
            bot.client.join(channel);
            Answer::say(format!("Joined {name}"))
        }
        Command::Leave(channel) => {
            bot.state.lock().await.channels.remove(&fold(&channel));
            // Said before leaving, so a channel hears why the bot goes.
            bot.client.say_soon(vec![Say::new(
                dest,
                format!("Buildbot has been told to leave {channel}"),
                voice_for(dest, rules.style.notice_on_channel),
            )]);
            bot.client.leave(&channel);
            Answer::lines(Vec::new())
        }
        Command::Mute => {
            let mut state = bot.state.lock().await;
            let changed = bot.changed(&mut state).await?.clone();
            let mut c = bot.contact(&changed, contact);
            bot.client.say_soon(vec![Say::new(
                dest,
                "Shutting up for now.",
                voice_for(dest, rules.style.notice_on_channel),
            )]);
            c.muted = true;
            bot.set_contact(&mut state, contact, c).await?;
            Answer::lines(Vec::new())
        }
        Command::Unmute => {
            let mut state = bot.state.lock().await;
            let changed = bot.changed(&mut state).await?.clone();
            let mut c = bot.contact(&changed, contact);
            if c.muted {
                c.muted = false;
                bot.set_contact(&mut state, contact, c).await?;
                Answer::say("I'm baaaaaaaaaaack!")
            } else {
                Answer::say("You hadn't told me to be quiet, but it's the thought that counts, right?")
            }
        }
        Command::Hello => Answer::say("yes?"),
        Command::Dance => {
            Answer::lines(["<(^.^<)", "<(^.^)>", "(>^.^)>", "(7^.^)7", "(>^.^<)"].map(str::to_owned).to_vec())
        }
        Command::Destroy(args) if !fold(&args).contains(&fold(nick)) => {
            Answer { lines: vec!["readies phasers".to_owned()], action: true }
        }
        Command::Destroy(_) => Answer::lines(Vec::new()),
        Command::Silly(script) => Answer::lines(script.iter().map(|s| (*s).to_owned()).collect()),
    })
}

/// The builders the bot reports on (the tag filter), in name order.
async fn reported(bot: &Bot) -> Result<Vec<Builder>, NotifyError> {
    let mut builders: Vec<Builder> = bot.reader.builders().await?.into_iter().filter(|b| bot.reports(b)).collect();
    builders.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(builders)
}

/// One line per builder `which` names (`all`: the reported ones), or `no such builder`.
async fn per_builder(
    bot: &Bot,
    which: &Which,
    line: impl Fn(BuilderStatus, &str) -> String,
) -> Result<Vec<String>, NotifyError> {
    let names: Vec<String> = match which {
        Which::All => reported(bot).await?.into_iter().map(|b| b.name).collect(),
        Which::One(name) => {
            if bot.builder(name).await?.is_none() {
                return Ok(vec![replies::no_such_builder(name)]);
            }
            vec![name.clone()]
        }
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let status = builder_status(bot, &name).await?;
        out.push(line(status, &name));
    }
    Ok(out)
}

async fn builder_status(bot: &Bot, name: &str) -> Result<BuilderStatus, NotifyError> {
    let now = bot.clock.now();
    let state = bot.reader.builder_state(name).await?.unwrap_or_default();
    let last_query = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(name, 1) };
    let last = bot.reader.builds(&last_query).await?.into_iter().next().map(std::sync::Arc::unwrap_or_clone).map(|b| {
        let ago = b.finished.map_or(0, |f| (now - f).num_seconds());
        (ago, b.text)
    });
    let running = if state == BuilderState::Building {
        let query = BuildQuery { finished: Some(false), ..BuildQuery::of_builder(name, 20) };
        bot.reader
            .builds(&query)
            .await?
            .into_iter()
            .map(|b| RunningBuild {
                step: b.current_step().map(|s| s.text.clone()),
                eta: b.eta.map(|eta| (eta - now).num_seconds().max(0)),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(BuilderStatus { name: name.to_owned(), state, last, running })
}

async fn watch(bot: &Bot, contact: &str, name: &str) -> Result<Answer, NotifyError> {
    if bot.builder(name).await?.is_none() {
        return Ok(Answer::say(replies::no_such_builder(name)));
    }
    let query = BuildQuery { finished: Some(false), ..BuildQuery::of_builder(name, 20) };
    let running = bot.reader.builds(&query).await?;
    if running.is_empty() {
        return Ok(Answer::say("there are no builds currently running"));
    }
    let now = bot.clock.now();
    let mut lines = Vec::new();
    for build in running {
        let revisions = bot.revisions(&build).await?;
        let facts = BuildFacts {
            builder: name,
            number: build.number,
            text: &[],
            revisions: &revisions,
            url: None,
            blamelist: &[],
        };
        let eta = build.eta.map(|e| (e - now).num_seconds().max(0));
        lines.push(replies::watching(name, &build_name(&facts, bot.rules.style), eta));
        let mut state = bot.state.lock().await;
        let watchers = state.watches.entry(BuildKey { builder: name.to_owned(), number: build.number }).or_default();
        if !watchers.iter().any(|w| w == contact) {
            watchers.push(contact.to_owned());
        }
    }
    Ok(Answer::lines(lines))
}

async fn notify(bot: &Bot, contact: &str, action: NotifyAction) -> Result<Answer, NotifyError> {
    let mut state = bot.state.lock().await;
    let changed = bot.changed(&mut state).await?.clone();
    let mut c = bot.contact(&changed, contact);
    match action {
        NotifyAction::List => {}
        NotifyAction::On(events) => c.notify.insert(events),
        NotifyAction::Off(None) => c.notify = Default::default(),
        NotifyAction::Off(Some(events)) => {
            if !c.notify.covers(events) {
                let mut missing = events;
                missing.remove(c.notify);
                return Ok(Answer::say(replies::not_enabled(missing)));
            }
            c.notify.remove(events);
        }
    }
    let list = replies::notify_list(c.notify);
    if !matches!(action, NotifyAction::List) {
        set(bot, &mut state, contact, c).await?;
    }
    Ok(Answer::say(list))
}

async fn set(
    bot: &Bot,
    state: &mut BotState,
    contact: &str,
    c: crate::domain::notify::irc::announce::Contact,
) -> Result<(), NotifyError> {
    bot.set_contact(state, contact, c).await
}

async fn shutdown(bot: &Bot, action: ShutdownAction) -> Result<Answer, NotifyError> {
    let stopping = bot.reader.master_stopping().await?;
    let refused = |e: ControlError| Answer::say(format!("sorry, {e}"));
    Ok(match (action, stopping) {
        (ShutdownAction::Check, true) => Answer::say("Status: buildbot is shutting down"),
        (ShutdownAction::Check, false) => Answer::say("Status: buildbot is running"),
        (ShutdownAction::Start, true) => Answer::say("Already started"),
        (ShutdownAction::Start, false) => match bot.master.get().shutdown(true).await {
            Ok(()) => Answer::say("Starting clean shutdown"),
            Err(e) => refused(e),
        },
        (ShutdownAction::Stop, false) => Answer::say("Nothing to stop"),
        (ShutdownAction::Stop, true) => match bot.master.get().cancel_shutdown().await {
            Ok(()) => Answer::say("Shutdown stopped"),
            Err(e) => refused(e),
        },
        (ShutdownAction::Now, _) => match bot.master.get().shutdown(false).await {
            Ok(()) => Answer::say("Stopping buildbot"),
            Err(e) => refused(e),
        },
    })
}

/// `IRC user <alice> on channel #proj` or `IRC user <alice> (privmsg)`.
fn who_desc(dest: &str, who: &str) -> String {
    if crate::domain::notify::irc::line::is_channel(dest) {
        format!("IRC user <{who}> on channel {dest}")
    } else {
        format!("IRC user <{who}> (privmsg)")
    }
}

async fn force(bot: &Bot, contact: &str, dest: &str, who: &str, args: ForceArgs) -> Result<Answer, NotifyError> {
    let Some(builder) = bot.builder(&args.builder).await? else {
        return Ok(Answer::say(replies::no_such_builder(&args.builder)));
    };
    if !bot.permissions.allows(Action::ForceBuild, who, &Subject::Builder(&builder)) {
        return Ok(Answer::say(replies::not_allowed(who, Action::ForceBuild, &args.builder)));
    }
    let reason = format!("forced: by {}: {}", who_desc(dest, who), args.reason.as_deref().unwrap_or("None"));
    let properties = args
        .properties
        .iter()
        .map(|(n, v)| {
            let property =
                Property { value: serde_json::Value::String(v.clone()), source: "Force Build IRC".to_owned() };
            (n.clone(), property)
        })
        .collect();
    let stamp = SourceStamp { branch: args.branch, revision: args.revision, ..SourceStamp::default() };
    let request = ForceRequest {
        scheduler: String::new(),
        builders: vec![args.builder.clone()],
        owner: who.to_owned(),
        reason,
        sourcestamps: vec![stamp],
        properties,
    };
    Ok(match bot.master.get().force(request).await {
        Ok(forced) => {
            let mut state = bot.state.lock().await;
            for id in forced.requests {
                state.forced.insert(id, contact.to_owned());
            }
            Answer::say("The build has been queued, I'll give a shout when it starts")
        }
        Err(e) => Answer::say(format!("sorry, {e}")),
    })
}

async fn stop(
    bot: &Bot,
    dest: &str,
    who: &str,
    builder: &str,
    number: Option<u32>,
    reason: &str,
) -> Result<Answer, NotifyError> {
    if bot.builder(builder).await?.is_none() {
        return Ok(Answer::say(replies::no_such_builder(builder)));
    }
    let query = BuildQuery { finished: Some(false), ..BuildQuery::of_builder(builder, 20) };
    let running: Vec<_> =
        bot.reader.builds(&query).await?.into_iter().filter(|b| number.is_none_or(|n| b.number == n)).collect();
    if running.is_empty() {
        return Ok(Answer::say("sorry, no build is currently running"));
    }
    if let Some(refused) = running.iter().find(|b| !bot.permissions.allows(Action::StopBuild, who, &Subject::Build(b)))
    {
        return Ok(Answer::say(replies::not_allowed(who, Action::StopBuild, &refused.builder)));
    }
    let reason = format!("stopped: by {}: {reason}", who_desc(dest, who));
    let mut lines = Vec::new();
    for build in running {
        lines.push(match bot.master.get().stop_build(builder, build.number, &reason).await {
            Ok(()) => {
                let revisions = bot.revisions(&build).await?;
                let facts = BuildFacts {
                    builder,
                    number: build.number,
                    text: &[],
                    revisions: &revisions,
                    url: None,
                    blamelist: &[],
                };
                announce::interrupted(&facts, bot.rules.style)
            }
            Err(e) => format!("sorry, {e}"),
        });
    }
    Ok(Answer::lines(lines))
}
