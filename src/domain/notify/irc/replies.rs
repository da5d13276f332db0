//! The bot's answers, word for word as spec-notify-3 §3.6 has them (people have scripts and
//! muscle memory), with the fixes spec-notify-8 asks for: `list <other>` answers its usage
//! (I17), removing an event that is not on says so (I6), and a `force` or `stop` the master
//! cannot do names why.

use super::command::{COMMANDS, Which};
use super::events::EventSet;
use super::text::duration;
use crate::domain::auth::Action;
use crate::domain::model::BuilderState;

pub const FORCE_USAGE: &str = "try 'force build [--branch=BRANCH] [--revision=REVISION] \
                               [--props=PROP1=VAL1,PROP2=VAL2...]  <WHICH> <REASON>'";

const NOTIFY_USAGE: &str = "notify on|off|list [<EVENT>] ... - Notify me about build events.  event should be \
    one or more of: 'started', 'finished', 'failure', 'success', 'exception' or 'xToY' (where x and Y are one \
    of success, warnings, failure, exception, but Y is capitalized)";

/// The usage text of a command, for `help`.
pub fn usage_of(command: &str) -> Option<String> {
    let text = match command {
        "list" => "list builders - List configured builders",
        "status" => "status [<which>] - List status of a builder (or all builders)",
        "notify" => NOTIFY_USAGE,
        "watch" => "watch <which> - announce the completion of an active build",
        "force" => {
            "force build [--branch=branch] [--revision=revision] [--props=prop1=val1,prop2=val2...] <which> <reason> \
             - Force a build"
        }
        "stop" => "stop build <which> [#<number>] <reason> - Stop a running build",
        "last" => "last <which> - list last build status for builder <which>",
        "join" => "join <channel> [<key>] - Join another channel",
        "leave" => "leave <channel> - Leave a channel",
        "mute" => "mute - suppress all messages until a corresponding 'unmute' is issued",
        "unmute" => "unmute - disable a previous 'mute'",
        "help" => "help <command> [<arg> [<subarg> ...]] - Give help for <command> or one of it's arguments",
        "source" => "source - the source code for Buildbot",
        "commands" => "commands - List available commands",
        "shutdown" => "shutdown check|start|stop|now - shutdown the buildbot master",
        _ => return None,
    };
    Some(text.to_owned())
}

/// `help [COMMAND [ARG…]]`.
pub fn help(args: &[String]) -> String {
    let Some((command, more)) = args.split_first() else {
        return "Get help on what? (try 'help <foo>', 'help <foo> <bar>, or 'commands' for a command list)".to_owned();
    };
    let command = command.to_ascii_lowercase();
    if !COMMANDS.contains(&command.as_str()) {
        return format!("no such command '{command}'");
    }
    let shutdown = match (command.as_str(), more.first().map(String::as_str)) {
        ("shutdown", Some("check")) => {
            Some("shutdown check - check if the buildbot master is running or shutting down")
        }
        ("shutdown", Some("start")) => Some("shutdown start - start a clean shutdown"),
        ("shutdown", Some("stop")) => Some("shutdown cancel - stop the clean shutdown"),
        ("shutdown", Some("now")) => {
            Some("shutdown now - shutdown immediately without waiting for the builders to finish")
        }
        _ => None,
    };
    match (shutdown, more.is_empty().then(|| usage_of(&command)).flatten()) {
        (Some(text), _) => format!("Usage: {text}"),
        (None, Some(text)) => format!("Usage: {text}"),
        (None, None) => {
            let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
            format!("No usage info for {}", quoted.join(" "))
        }
    }
}

pub fn commands() -> String {
    format!("buildbot commands: {}", COMMANDS.join(", "))
}

pub fn source() -> String {
    "My source can be found at https://github.com/buildbot/buildbot".to_owned()
}

pub fn version(version: &str) -> String {
    format!("buildstatus-{version} at your service")
}

/// `Configured builders: a b [offline] c ` (each name followed by a space, as 0.8 has it).
pub fn list_builders(builders: &[(String, BuilderState)]) -> String {
    let mut text = "Configured builders: ".to_owned();
    for (name, state) in builders {
        text.push_str(name);
        if *state == BuilderState::Offline {
            text.push_str(" [offline]");
        }
        text.push(' ');
    }
    text
}

/// A running build as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningBuild {
    /// The current step's text (words), if a step runs.
    pub step: Option<Vec<String>>,
    /// Seconds to its ETA, when known.
    pub eta: Option<i64>,
}

/// A builder as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuilderStatus {
    pub name: String,
    pub state: BuilderState,
    /// Seconds since the last finished build ended, and its text.
    pub last: Option<(i64, Vec<String>)>,
    pub running: Vec<RunningBuild>,
}

/// `linux: idle, last build 2m05s ago: build successful`, `linux: building(compile) [ETA 1m]`.
pub fn status(b: &BuilderStatus) -> String {
    let mut text = format!("{}: {}", b.name, b.state.name());
    match b.state {
        BuilderState::Idle => {
            if let Some((ago, words)) = &b.last {
                text.push_str(&format!(", last build {} ago: {}", duration(*ago), words.join(" ")));
            }
        }
        BuilderState::Building => {
            let builds: Vec<String> = b
                .running
                .iter()
                .map(|r| {
                    let mut s = match &r.step {
                        Some(words) => format!("({})", words.join(" ")),
                        None => "(no current step)".to_owned(),
                    };
                    if let Some(eta) = r.eta {
                        s.push_str(&format!(" [ETA {}]", duration(eta)));
                    }
                    s
                })
                .collect();
            text.push_str(&builds.join(", "));
        }
        BuilderState::Offline => {}
    }
    text
}

/// `last build [linux]: 2m05s ago: build successful`.
pub fn last(name: &str, last: Option<&(i64, Vec<String>)>) -> String {
    match last {
        Some((ago, words)) => format!("last build [{name}]: {} ago: {}", duration(*ago), words.join(" ")),
        None => format!("last build [{name}]: (no builds run since last restart)"),
    }
}

/// The builders a `status`/`last` answers for: `all` is the filtered list.
pub fn which_names(which: &Which, filtered: &[String]) -> Vec<String> {
    match which {
        Which::All => filtered.to_vec(),
        Which::One(name) => vec![name.clone()],
    }
}

pub fn no_such_builder(name: &str) -> String {
    format!("no such builder '{name}'")
}

/// The answer to a `force build` or `stop build` the server's `[authz]` refuses `nick`.
pub fn not_allowed(nick: &str, action: Action, builder: &str) -> String {
    let what = match action {
        Action::ForceBuild => "force builds",
        Action::StopBuild => "stop builds",
        other => other.name(),
    };
    format!("sorry, {nick} may not {what} on '{builder}' ([authz] {})", action.name())
}

/// `The following events are being notified: ['started', 'finished']`.
pub fn notify_list(set: EventSet) -> String {
    let names: Vec<String> = set.names().iter().map(|n| format!("'{n}'")).collect();
    format!("The following events are being notified: [{}]", names.join(", "))
}

/// `notify off EVENT` for events that were not on (I6).
pub fn not_enabled(set: EventSet) -> String {
    format!("not enabled: {}", set.names().join(", "))
}

pub fn watching(builder: &str, what: &str, eta: Option<i64>) -> String {
    let eta = eta.map(|s| format!(" [{}]", duration(s))).unwrap_or_default();
    match what.strip_prefix('#') {
        Some(_) => format!("watching build {builder} {what} until it finishes{eta}.."),
        None => format!("watching build {builder} containing revision(s) [{what}] until it finishes{eta}.."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_answers_each_form() {
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(help(&[]).starts_with("Get help on what?"));
        assert_eq!(help(&w(&["list"])), "Usage: list builders - List configured builders");
        assert_eq!(help(&w(&["nope"])), "no such command 'nope'");
        assert_eq!(help(&w(&["hello"])), "No usage info for 'hello'");
        assert_eq!(help(&w(&["list", "x"])), "No usage info for 'list' 'x'");
        assert_eq!(
            help(&w(&["shutdown", "now"])),
            "Usage: shutdown now - shutdown immediately without waiting for the builders to finish"
        );
    }
}
