//! Build notifications (spec-notify-3 §3.7): the started, finished and watched-finished texts,
//! and which contacts are told — decided once per build for every contact, with the 60-second
//! de-duplication that `watch`, `force` and `notify` share (an entry is forgotten when it is
//! 60 seconds old, not when the next report happens to be recorded).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::{EventSet, description};
use super::text::{Say, Voice, coloured, voice_for};
use crate::domain::model::{BuildKey, Timestamp};
use crate::domain::result::BuildResult;

/// How this bot writes: `useColors`, `useRevisions`, `showBlameList`, `noticeOnChannel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub colours: bool,
    pub revisions: bool,
    pub blamelist: bool,
    pub notice_on_channel: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self { colours: true, revisions: false, blamelist: true, notice_on_channel: false }
    }
}

/// What a notification says about a build.
#[derive(Clone, Copy, Debug)]
pub struct BuildFacts<'a> {
    pub builder: &'a str,
    pub number: u32,
    /// The build's text (finished builds).
    pub text: &'a [String],
    /// The revisions of its changes, in order.
    pub revisions: &'a [String],
    pub url: Option<&'a str>,
    /// The authors of its changes.
    pub blamelist: &'a [String],
}

/// `[a1b2c3d, e4f5a6b]`'s inside: each revision cut to 7 characters.
fn short_revisions(revisions: &[String]) -> String {
    revisions.iter().map(|r| r.chars().take(7).collect::<String>()).collect::<Vec<_>>().join(", ")
}

/// `build #42 of linux started (including [1, 2] and 1 more)`.
pub fn started(f: &BuildFacts, style: Style) -> String {
    if style.revisions {
        return format!("build containing revision(s) [{}] on {} started", short_revisions(f.revisions), f.builder);
    }
    let mut text = format!("build #{} of {} started", f.number, f.builder);
    if !f.revisions.is_empty() {
        let first: Vec<&str> = f.revisions.iter().take(2).map(String::as_str).collect();
        text.push_str(&format!(" (including [{}]", first.join(", ")));
        if f.revisions.len() > 2 {
            text.push_str(&format!(" and {} more", f.revisions.len() - 2));
        }
        text.push(')');
    }
    text
}

/// `build #12 of linux is complete: Failure [failed compile]  Build details are at URL  blamelist: …`.
pub fn finished(f: &BuildFacts, result: BuildResult, style: Style) -> String {
    let mut text = if style.revisions {
        format!("build containing revision(s) [{}] on {} is complete: ", short_revisions(f.revisions), f.builder)
    } else {
        format!("build #{} of {} is complete: ", f.number, f.builder)
    };
    text.push_str(description(result));
    text.push_str(&format!(" [{}]", coloured(&f.text.join(" "), Some(result), style.colours)));
    if let Some(url) = f.url {
        text.push_str(&format!("  Build details are at {url}"));
    }
    if style.blamelist && result != BuildResult::Success && !f.blamelist.is_empty() {
        text.push_str(&format!("  blamelist: {}", f.blamelist.join(", ")));
    }
    text
}

/// A watched or forced build's end: `Hey! build linux #12 is complete: …`, then the URL apart.
pub fn watched(f: &BuildFacts, result: BuildResult, style: Style) -> Vec<String> {
    let what = if style.revisions {
        format!("containing revision(s) [{}]", short_revisions(f.revisions))
    } else {
        format!("#{}", f.number)
    };
    let coloured = coloured(&f.text.join(" "), Some(result), style.colours);
    let mut out = vec![format!("Hey! build {} {what} is complete: {} [{coloured}]", f.builder, description(result))];
    out.extend(f.url.map(|u| format!("Build details are at {u}")));
    out
}

/// A build as `watch`, `force` and `stop` name it: `#12`, or its revisions.
pub fn build_name(f: &BuildFacts, style: Style) -> String {
    if style.revisions { short_revisions(f.revisions) } else { format!("#{}", f.number) }
}

/// A forced build has started: `build #12 forced`, `build containing revision(s) [a1b2c3d]
/// forced`, or `build forced [ETA 2m05s]` when its ETA (`eta` seconds away) is known.
pub fn forced(f: &BuildFacts, eta: Option<i64>, style: Style) -> String {
    match eta {
        Some(eta) => format!("build forced [ETA {}]", super::text::duration(eta)),
        None if style.revisions => format!("build containing revision(s) [{}] forced", short_revisions(f.revisions)),
        None => format!("build #{} forced", f.number),
    }
}

/// `stop build` stopped this build: `build 12 interrupted` (no `#`, as 0.8 has it), or
/// `build containing revision(s) [a1b2c3d] interrupted`.
pub fn interrupted(f: &BuildFacts, style: Style) -> String {
    if style.revisions {
        format!("build containing revision(s) [{}] interrupted", short_revisions(f.revisions))
    } else {
        format!("build {} interrupted", f.number)
    }
}

/// One conversation partner: a channel, or a nick talking privately.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// What it is told about.
    #[serde(default)]
    pub notify: EventSet,
    /// `mute`: nothing is said to it until `unmute`.
    #[serde(default)]
    pub muted: bool,
}

/// The contacts, by folded name: what the bot keeps (in its notes) across restarts.
pub type Contacts = BTreeMap<String, Contact>;

/// How long a build reported to a contact is not reported to it again.
pub const DEDUP_SECONDS: i64 = 60;

/// What was reported to whom lately (§3.7.3's de-duplication).
#[derive(Clone, Debug, Default)]
pub struct Recent {
    entries: Vec<(String, BuildKey, Timestamp)>,
}

impl Recent {
    /// Records a report of `build` to `contact` at `now`; false when one was recorded within
    /// the last 60 seconds (then nothing is said).
    pub fn first_report(&mut self, contact: &str, build: &BuildKey, now: Timestamp) -> bool {
        self.entries.retain(|(_, _, at)| (now - *at).num_seconds() < DEDUP_SECONDS);
        if self.entries.iter().any(|(c, b, _)| c == contact && b == build) {
            return false;
        }
        self.entries.push((contact.to_owned(), build.clone(), now));
        true
    }
}

/// Who is told that `f` started: every unmuted contact with `started`.
pub fn started_says(contacts: &Contacts, f: &BuildFacts, style: Style) -> Vec<Say> {
    let mut text = None;
    contacts
        .iter()
        .filter(|(_, c)| !c.muted && c.notify.started())
        .map(|(dest, _)| {
            let text = text.get_or_insert_with(|| started(f, style)).clone();
            Say::new(dest, text, voice_for(dest, style.notice_on_channel))
        })
        .collect()
}

/// Who is told that `f` finished with `result` (after `previous`, the previous finished
/// build's result), and what: the notification to each unmuted contact whose events want
/// it, then the watched-finished message to each of `watchers`; each contact at most once a
/// minute per build.
#[allow(clippy::too_many_arguments)]
pub fn finished_says(
    contacts: &Contacts,
    watchers: &[String],
    recent: &mut Recent,
    f: &BuildFacts,
    result: BuildResult,
    previous: Option<BuildResult>,
    style: Style,
    now: Timestamp,
) -> Vec<Say> {
    let key = BuildKey { builder: f.builder.to_owned(), number: f.number };
    let mut out = Vec::new();
    let mut text = None;
    for (dest, contact) in contacts {
        if !contact.muted && contact.notify.wants_finished(previous, result) && recent.first_report(dest, &key, now) {
            let text = text.get_or_insert_with(|| finished(f, result, style)).clone();
            out.push(Say::new(dest, text, voice_for(dest, style.notice_on_channel)));
        }
    }
    for dest in watchers {
        let muted = contacts.get(dest).is_some_and(|c| c.muted);
        if !muted && recent.first_report(dest, &key, now) {
            out.extend(watched(f, result, style).into_iter().map(|t| Say::new(dest, t, Voice::Privmsg)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
