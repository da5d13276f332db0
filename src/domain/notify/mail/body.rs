//! The default message formatter (spec-notify-2 §2.7): the plain text, kept byte-compatible
//! with Buildbot's because people grep their mailboxes for it, and an HTML rendering of the
//! same facts (maud). Every result has an intro (spec-notify-8 M4), and the intro uses the
//! same previous build as the decision (M15). A build that ends a failure streak says which
//! build broke the builder and which fixed it: in the HTML message, and in the plain one when
//! asked (`addStreakLine`), which otherwise stays 0.8's to the byte.

use maud::{DOCTYPE, html};

use super::message::LogText;
use super::mode::{Mode, Modes};
use crate::domain::model::{Build, Change};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;

/// What a formatter is given: the seed's `(mode, name, build, results, master_status)`, and
/// the previous build and failure streak the notifier found.
pub struct FormatterArgs<'a> {
    pub mode: &'a Modes,
    pub name: &'a str,
    pub build: &'a Build,
    pub result: BuildResult,
    pub site: &'a Site,
    /// The previous finished build the decision used.
    pub prev: Option<&'a Build>,
    /// When this build ends a run of failures: the number of the first failed build of it.
    pub broken_since: Option<u32>,
    /// The build's changes (what the seed's formatters read through `ss.changes`).
    pub changes: &'a [Change],
    /// The build's logs, each its last part (what they read through `build.getLogs()`).
    pub logs: &'a [LogText],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    Plain,
    Html,
}

/// A formatter's answer: the body, its type, and a subject that replaces the template's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formatted {
    pub body: String,
    pub kind: BodyKind,
    pub subject: Option<String>,
}

/// The build's page, or none when the site has no URL.
pub fn build_url(site: &Site, build: &Build) -> Option<String> {
    site.build_url(&build.builder, build.number)
}

/// The first words of the default message ("The Buildbot has detected a new failure").
pub fn intro(args: &FormatterArgs) -> &'static str {
    let prev = args.prev.and_then(|p| p.result);
    let changed = |from_not: BuildResult| prev.is_some_and(|p| p != from_not);
    match args.result {
        BuildResult::Failure
            if (args.mode.contains(Mode::Change) || args.mode.contains(Mode::Problem))
                && changed(BuildResult::Failure) =>
        {
            "The Buildbot has detected a new failure"
        }
        BuildResult::Failure => "The Buildbot has detected a failed build",
        BuildResult::Warnings => "The Buildbot has detected a problem in the build",
        BuildResult::Success if args.mode.contains(Mode::Change) && changed(BuildResult::Success) => {
            "The Buildbot has detected a restored build"
        }
        BuildResult::Success => "The Buildbot has detected a passing build",
        BuildResult::Exception => "The Buildbot has detected a build exception",
        BuildResult::Skipped => "The Buildbot has detected a skipped build",
        BuildResult::Retry => "The Buildbot has detected a retried build",
        BuildResult::Cancelled => "The Buildbot has detected a cancelled build",
    }
}

/// The projects of the build's source stamps, or the site's title.
pub fn projects(args: &FormatterArgs) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for p in args.build.sourcestamps.iter().map(|s| s.project.as_str()).filter(|p| !p.is_empty()) {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    if seen.is_empty() { args.site.title.clone() } else { seen.join(", ") }
}

fn source_lines(build: &Build) -> Vec<String> {
    build
        .sourcestamps
        .iter()
        .map(|ss| {
            let mut line = String::from("Build Source Stamp");
            if !ss.codebase.is_empty() {
                line.push_str(&format!(" '{}'", ss.codebase));
            }
            line.push_str(": ");
            if let Some(branch) = ss.branch.as_deref().filter(|b| !b.is_empty()) {
                line.push_str(&format!("[branch {branch}] "));
            }
            line.push_str(ss.revision.as_deref().unwrap_or("HEAD"));
            if ss.patch.is_some() {
                line.push_str(" (plus patch)");
            }
            line
        })
        .collect()
}

/// `Build succeeded!`, `Build Had Warnings: …` or `BUILD FAILED: …`.
pub fn summary(args: &FormatterArgs) -> String {
    let text = args.build.full_text();
    let t = if text.is_empty() { String::new() } else { format!(": {}", text.join(" ")) };
    match args.result {
        BuildResult::Success => "Build succeeded!".to_owned(),
        BuildResult::Warnings => format!("Build Had Warnings{t}"),
        _ => format!("BUILD FAILED{t}"),
    }
}

/// "Broken since build #N; fixed by build #M." when this build ends a failure streak.
fn fixed_line(args: &FormatterArgs) -> Option<String> {
    let since = args.broken_since?;
    let fixing = matches!(args.result, BuildResult::Success | BuildResult::Warnings);
    (fixing && (args.mode.contains(Mode::Change) || args.mode.contains(Mode::Problem)))
        .then(|| format!("Broken since build #{since}; fixed by build #{}.", args.build.number))
}

/// The default plain-text message.
/// 0.8's plain message, byte for byte; `streak_line` adds "Broken since build #N; fixed by
/// build #M." after the summary (`addStreakLine`).
pub fn default_plain(args: &FormatterArgs, streak_line: bool) -> Formatted {
    let build = args.build;
    let mut text = format!("{} on builder {} while building {}.", intro(args), args.name, projects(args));
    if let Some(url) = build_url(args.site, build) {
        text.push_str(&format!(" Full details are available at:\n    {url}\n"));
    }
    text.push('\n');
    if !args.site.buildbot_url.is_empty() {
        text.push_str(&format!("Buildbot URL: {}\n\n", args.site.buildbot_url));
    }
    let worker = if build.worker.is_empty() { "???" } else { &build.worker };
    text.push_str(&format!("Buildslave for this Build: {worker}\n\n"));
    text.push_str(&format!("Build Reason: {}\n", build.reason));
    for line in source_lines(build) {
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&format!("Blamelist: {}\n\n", build.blamelist.join(",")));
    text.push_str(&summary(args));
    text.push('\n');
    if let Some(fixed) = fixed_line(args).filter(|_| streak_line) {
        text.push_str(&fixed);
        text.push('\n');
    }
    text.push_str("\nSincerely,\n -The Buildbot\n\n");
    Formatted { body: text, kind: BodyKind::Plain, subject: None }
}

/// Each revision the build built that the site links to a commit page, with that page.
fn revision_links(site: &Site, build: &Build) -> Vec<(String, String)> {
    let revisions = build.sourcestamps.iter().filter_map(|s| {
        let rev = build.got_revision(&s.codebase).or_else(|| s.revision.clone())?;
        let url = site.decorations.revision_url(&rev, &s.repository)?;
        Some((rev, url))
    });
    revisions.collect()
}

/// The default HTML message: the same facts as the plain one, escaped by maud.
pub fn default_html(args: &FormatterArgs) -> Formatted {
    let build = args.build;
    let url = build_url(args.site, build);
    let worker = if build.worker.is_empty() { "???" } else { &build.worker };
    let markup = html! {
        (DOCTYPE)
        html {
            head { meta charset="utf-8"; title { (summary(args)) } }
            body {
                p { (intro(args)) " on builder " b { (args.name) } " while building " (projects(args)) "." }
                @if let Some(url) = &url { p { "Full details are available at: " a href=(url) { (url) } } }
                table cellspacing="10" {
                    tr { td { "Buildslave for this Build:" } td { b { (worker) } } }
                    tr { td { "Build Reason:" } td { (build.reason) } }
                    @for line in source_lines(build) {
                        @if let Some((label, value)) = line.split_once(": ") {
                            tr { td { (label) ":" } td { b { (value) } } }
                        }
                    }
                    @for (rev, url) in revision_links(args.site, build) {
                        tr { td { "Revision:" } td { a href=(url) { (rev) } } }
                    }
                    tr { td { "Blamelist:" } td { (build.blamelist.join(",")) } }
                }
                h4 { (summary(args)) }
                @if let Some(fixed) = fixed_line(args) { p { (fixed) } }
                @if !args.site.buildbot_url.is_empty() {
                    p { "Buildbot URL: " a href=(args.site.buildbot_url) { (args.site.buildbot_url) } }
                }
                p { b { "-The Buildbot" } }
            }
        }
    };
    Formatted { body: markup.into_string(), kind: BodyKind::Html, subject: None }
}
