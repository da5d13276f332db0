//! Reading what people say to the bot: whether a channel line is addressed to it (`bb: cmd`,
//! `bb, cmd`, and — for known commands only — `bb cmd`, with the nick compared in IRC's case
//! folding, spec-notify-8 I11), shell-like words, and the grammar of every command of
//! spec-notify-3 §3.6 into a [`Command`], or the one-line usage answer that names the problem.

use super::events::EventSet;
use super::line::{fold, is_channel};
use super::replies::{FORCE_USAGE, usage_of};
use super::session::ChannelSpec;

/// A line of chat that reached the bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chat {
    /// The sender's nick.
    pub from: String,
    /// A channel, or the bot's own nick for a private message.
    pub target: String,
    pub text: String,
    /// A CTCP ACTION (`/me …`).
    pub action: bool,
}

/// How the bot was addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressed {
    /// The contact: the channel, or the sender for a private message (folded).
    pub contact: String,
    /// The command text, leading spaces removed.
    pub text: String,
    /// `bb cmd` without `:` or `,`: answered only when `cmd` is a command.
    pub loose: bool,
}

/// Whether `chat` is addressed to the bot (`nick`), and what it says.
pub fn addressed(chat: &Chat, nick: &str) -> Option<Addressed> {
    if chat.action {
        return None;
    }
    if !is_channel(&chat.target) {
        return Some(Addressed { contact: fold(&chat.from), text: chat.text.trim_start().to_owned(), loose: false });
    }
    let text = chat.text.trim_start();
    let head = text.get(..nick.len())?;
    if fold(head) != fold(nick) {
        return None;
    }
    let rest = &text[nick.len()..];
    let after = rest.trim_start_matches(' ');
    let (text, loose) = match after.chars().next() {
        Some(':' | ',') => (after[1..].trim_start(), false),
        Some(_) if after.len() < rest.len() => (after, true),
        _ => return None,
    };
    Some(Addressed { contact: fold(&chat.target), text: text.to_owned(), loose })
}

/// Shell-like words: quotes group, a backslash escapes the next character outside single
/// quotes. An unclosed quote is the tokenizer's message.
pub fn words(text: &str) -> Result<Vec<String>, String> {
    let (mut out, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err("No closing quotation".to_owned()),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => word.extend(chars.next()),
                        Some(other) => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

/// `all`, or one builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    All,
    One(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyAction {
    On(EventSet),
    Off(Option<EventSet>),
    List,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownAction {
    Check,
    Start,
    Stop,
    Now,
}

/// A `force build`, parsed and validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForceArgs {
    pub builder: String,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub properties: Vec<(String, String)>,
    pub reason: Option<String>,
}

/// One command, ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    ListBuilders,
    Status(Which),
    Last(Which),
    Watch(String),
    Notify(NotifyAction),
    Help(Vec<String>),
    Commands,
    Shutdown(ShutdownAction),
    Source,
    Version,
    Force(ForceArgs),
    /// `stop build BUILDER [#N] REASON…`: the whole remainder is the reason (I13).
    Stop {
        builder: String,
        number: Option<u32>,
        reason: String,
    },
    /// `join CHANNEL [KEY]`: only for the nicks `channelAdmins` names (the seed's page has it;
    /// anyone could send the bot elsewhere, so nobody may by default).
    Join(ChannelSpec),
    /// `leave CHANNEL`, likewise.
    Leave(String),
    Mute,
    Unmute,
    Hello,
    Dance,
    /// `/me readies phasers` unless the bot itself is named.
    Destroy(String),
    /// One of the silly prompts: its script.
    Silly(&'static [&'static str]),
}

/// What a command line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Command(Command),
    /// The answer naming what is wrong (a usage).
    Usage(String),
    /// No such command: the word.
    Unknown(String),
    /// Nothing to answer (an empty line, I8).
    Nothing,
}

/// Every command name, sorted (`commands` lists them all, the hidden ones too).
pub const COMMANDS: [&str; 19] = [
    "commands", "dance", "destroy", "force", "hello", "help", "join", "last", "leave", "list", "mute", "notify",
    "shutdown", "source", "status", "stop", "unmute", "version", "watch",
];

const SILLY: [(&str, &[&str]); 3] = [
    ("What happen ?", &["Somebody set up us the bomb."]),
    (
        "It's You !!",
        &["How are you gentlemen !!", "All your base are belong to us.", "You are on the way to destruction."],
    ),
    ("What you say !!", &["You have no chance to survive make your time.", "HA HA HA HA ...."]),
];

/// Reads a command line (the text after the bot's nick, or a private message).
pub fn parse(text: &str) -> Parsed {
    let text = text.trim_start();
    if let Some((_, script)) = SILLY.iter().find(|(prompt, _)| *prompt == text.trim_end()) {
        return Parsed::Command(Command::Silly(script));
    }
    let (name, rest) = text.split_once(' ').unwrap_or((text, ""));
    if name.is_empty() {
        return Parsed::Nothing;
    }
    let name = name.to_ascii_lowercase();
    let rest = rest.trim();
    if !COMMANDS.contains(&name.as_str()) {
        return Parsed::Unknown(name);
    }
    let args = match words(rest) {
        Ok(args) => args,
        Err(message) => return Parsed::Usage(message),
    };
    match command(&name, rest, args) {
        Ok(c) => Parsed::Command(c),
        Err(usage) => Parsed::Usage(usage),
    }
}

fn which(args: &[String], usage: &str) -> Result<Which, String> {
    match args {
        [] => Ok(Which::All),
        [one] if one == "all" => Ok(Which::All),
        [one] => Ok(Which::One(one.clone())),
        _ => Err(usage.to_owned()),
    }
}

fn command(name: &str, rest: &str, args: Vec<String>) -> Result<Command, String> {
    Ok(match name {
        "list" => match args.first().map(String::as_str) {
            Some("builders") => Command::ListBuilders,
            _ => return Err("try 'list builders'".to_owned()),
        },
        "status" => Command::Status(which(&args, "try 'status <builder>'")?),
        "last" => Command::Last(which(&args, "try 'last <builder>'")?),
        "watch" => match args.as_slice() {
            [one] => Command::Watch(one.clone()),
            _ => return Err("try 'watch <builder>'".to_owned()),
        },
        "notify" => Command::Notify(notify(&args)?),
        "help" => Command::Help(args),
        "commands" => Command::Commands,
        "shutdown" => Command::Shutdown(match rest {
            "check" => ShutdownAction::Check,
            "start" => ShutdownAction::Start,
            "stop" => ShutdownAction::Stop,
            "now" => ShutdownAction::Now,
            _ => return Err("try 'shutdown check|start|stop|now'".to_owned()),
        }),
        "source" => Command::Source,
        "version" => Command::Version,
        "force" => Command::Force(force(&args)?),
        "stop" => stop(&args)?,
        "join" => match args.as_slice() {
            [channel] => Command::Join(ChannelSpec::new(channel, None)),
            [channel, key] => Command::Join(ChannelSpec::new(channel, Some(key))),
            _ => return Err("try 'join <channel> [<key>]'".to_owned()),
        },
        "leave" => match args.as_slice() {
            [channel] => Command::Leave(ChannelSpec::new(channel, None).name),
            _ => return Err("try 'leave <channel>'".to_owned()),
        },
        "mute" => Command::Mute,
        "unmute" => Command::Unmute,
        "hello" => Command::Hello,
        "dance" => Command::Dance,
        "destroy" => Command::Destroy(rest.to_owned()),
        _ => return Err(usage_of(name).unwrap_or_default()),
    })
}

fn notify(args: &[String]) -> Result<NotifyAction, String> {
    let events = |names: &[String]| {
        EventSet::parse(names.iter().map(String::as_str)).map_err(|_| "try 'notify on|off <EVENT>'".to_owned())
    };
    match args.split_first() {
        None => Err("try 'notify on|off|list <EVENT>'".to_owned()),
        Some((on, [])) if on == "on" => {
            Ok(NotifyAction::On(EventSet::parse(["started", "finished"]).unwrap_or_default()))
        }
        Some((on, names)) if on == "on" => Ok(NotifyAction::On(events(names)?)),
        Some((off, [])) if off == "off" => Ok(NotifyAction::Off(None)),
        Some((off, names)) if off == "off" => Ok(NotifyAction::Off(Some(events(names)?))),
        Some((list, _)) if list == "list" => Ok(NotifyAction::List),
        Some(_) => Err("try 'notify on|off <EVENT>'".to_owned()),
    }
}

/// Whether every character of `text` is a word character (`[A-Za-z0-9_]`) or in `also`.
fn only(text: &str, also: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || also.contains(c))
}

fn force(args: &[String]) -> Result<ForceArgs, String> {
    let usage = || FORCE_USAGE.to_owned();
    let Some((first, rest)) = args.split_first() else { return Err(usage()) };
    if first != "build" {
        return Err(usage());
    }
    let mut force = ForceArgs::default();
    let (mut builder_opt, mut positional) = (None, Vec::new());
    let mut props = None;
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        i += 1;
        let Some(option) = arg.strip_prefix("--") else {
            positional.push(arg.clone());
            continue;
        };
        let (key, value) = match option.split_once('=') {
            Some((k, v)) => (k, v.to_owned()),
            None => {
                let Some(v) = rest.get(i) else {
                    return Err(format!("--{option} needs a value; {FORCE_USAGE}"));
                };
                i += 1;
                (option, v.clone())
            }
        };
        match key {
            "builder" => builder_opt = Some(value),
            "branch" => force.branch = Some(value),
            "revision" => force.revision = Some(value),
            "reason" => force.reason = Some(value),
            "props" => props = Some(value),
            _ => return Err(format!("no such option '--{key}'; {FORCE_USAGE}")),
        }
    }
    let mut positional = positional.into_iter();
    force.builder = match (builder_opt, positional.next()) {
        (Some(_), Some(_)) => return Err("--builder provided in two ways".to_owned()),
        (Some(b), None) | (None, Some(b)) => b,
        (None, None) => return Err(format!("you must provide a Builder, {FORCE_USAGE}")),
    };
    let words: Vec<String> = positional.collect();
    if !words.is_empty() {
        if force.reason.is_some() {
            return Err("--reason provided in two ways".to_owned());
        }
        force.reason = Some(words.join(" "));
    }
    if let Some(branch) = &force.branch
        && !only(branch, ".+/~-")
    {
        return Err(format!("sorry, bad branch '{branch}'"));
    }
    if let Some(revision) = &force.revision
        && !only(revision, " .-/")
    {
        return Err(format!("sorry, bad revision '{revision}'"));
    }
    if let Some(props) = props {
        force.properties = properties(&props)?;
    }
    Ok(force)
}

/// `--props=N1=V1,N2=V2`: later duplicates win; a piece without `=` is named.
fn properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in text.split(',') {
        let Some((name, value)) = piece.split_once('=') else {
            return Err(format!("sorry, malformed --props: '{piece}' is not NAME=VALUE"));
        };
        if name.is_empty() || !only(name, ".-/~:") || !only(value, ".-/~:") {
            return Err(format!("sorry, bad property name='{name}', value='{value}'"));
        }
        out.retain(|(n, _)| n != name);
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn stop(args: &[String]) -> Result<Command, String> {
    let usage = || "try 'stop build WHICH <REASON>'".to_owned();
    match args {
        [first, builder, rest @ ..] if first == "build" && !rest.is_empty() => {
            let (number, reason) = match rest[0].strip_prefix('#').map(str::parse::<u32>) {
                Some(Ok(n)) if rest.len() > 1 => (Some(n), &rest[1..]),
                Some(Ok(_)) => return Err(usage()),
                _ => (None, rest),
            };
            Ok(Command::Stop { builder: builder.clone(), number, reason: reason.join(" ") })
        }
        _ => Err(usage()),
    }
}

#[cfg(test)]
mod tests;
