//! GitHubStatus (spec-notify-7): a commit status per build, `pending` when it starts and its
//! result's state when it finishes, on `POST /repos/{owner}/{repo}/statuses/{sha}`. What the
//! seed left out is added as spec-notify-8 recommends: a `context` per builder (H1), a
//! configurable result → state map with cancelled in it (H2), the build's `got_revision` when
//! the source stamp names no revision (H3), descriptions cut to GitHub's 140 characters (H4),
//! and a builder/tag filter (H6). Optionally one more status per commit, the merge-safety
//! summary (`buildstatus/summary`, decided by `verdict`).
//!
//! Pure: the app reads the builds, these functions decide and encode. A status is queued as
//! the newest state of its (repository, sha, context): the target's "latest per key" delivery
//! never sends an older state after a newer one, so a retried `pending` can never land after
//! the final state.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::model::{Build, Builder};
use crate::domain::notify::filter::BuilderFilter;
use crate::domain::notify::interpolate::{Interpolate, Renderables};
use crate::domain::notify::outbox::id_part;
use crate::domain::notify::verdict::{ChangeBuild, Requirements, Verdict};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;

/// GitHub's longest description.
pub const MAX_DESCRIPTION: usize = 140;

/// The context of the merge-safety status unless the target names another.
pub const SUMMARY_CONTEXT: &str = "buildstatus/summary";

/// A commit status's state, as GitHub spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Success,
    Failure,
    Error,
}

impl State {
    pub const ALL: [State; 4] = [Self::Pending, Self::Success, Self::Failure, Self::Error];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == word)
    }
}

/// Which state a finished build's result is reported as; `None`: nothing is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateMap([Option<State>; 7]);

impl Default for StateMap {
    /// spec-notify-7.4's recommendation: warnings and skipped builds do not block (success),
    /// an interrupted build will be retried (pending), exceptions and cancellations are
    /// errors of the CI rather than of the commit.
    fn default() -> Self {
        use State::*;
        Self([Some(Success), Some(Success), Some(Failure), Some(Success), Some(Error), Some(Pending), Some(Error)])
    }
}

impl StateMap {
    pub fn of(&self, result: BuildResult) -> Option<State> {
        self.0[usize::from(result.code())]
    }

    pub fn set(&mut self, result: BuildResult, state: Option<State>) {
        self.0[usize::from(result.code())] = state;
    }
}

/// The merge-safety status of a target (`summary = true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRules {
    pub context: String,
    pub requirements: Requirements,
}

impl Default for SummaryRules {
    fn default() -> Self {
        Self { context: SUMMARY_CONTEXT.to_owned(), requirements: Requirements::default() }
    }
}

/// A GitHubStatus target's rules, with the seed's arguments as renderables. Build with
/// [`GitHubRules::new`] and set fields; [`GitHubRules::check`] says what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct GitHubRules {
    /// The target's name in the outbox and on `/notifications`.
    pub name: String,
    pub repo_owner: Interpolate,
    pub repo_name: Interpolate,
    /// The commit; `None`: the default codebase's requested revision, else the build's
    /// `got_revision` (spec-notify-8 H3).
    pub sha: Option<Interpolate>,
    pub start_description: Interpolate,
    pub end_description: Interpolate,
    /// `buildbot/%(kw:builder)s` unless set.
    pub context: Interpolate,
    pub states: StateMap,
    pub filter: BuilderFilter,
    pub summary: Option<SummaryRules>,
}

impl GitHubRules {
    pub fn new(name: &str, repo_owner: Interpolate, repo_name: Interpolate) -> Self {
        Self {
            name: name.to_owned(),
            repo_owner,
            repo_name,
            sha: None,
            start_description: Interpolate::literal("Build started."),
            end_description: Interpolate::literal("Build done."),
            context: Interpolate::parse("buildbot/%(kw:builder)s").unwrap_or_else(|_| Interpolate::literal("buildbot")),
            states: StateMap::default(),
            filter: BuilderFilter::default(),
            summary: None,
        }
    }

    /// Every problem, each naming its key.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name: must not be empty".to_owned());
        }
        problems.extend(self.filter.check());
        if let Some(summary) = &self.summary
            && !is_context(&summary.context)
        {
            problems.push(format!("summaryContext: '{}' is not a status context", summary.context.escape_debug()));
        }
        problems
    }
}

/// A commit status, as queued and sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    pub owner: String,
    pub repo: String,
    pub sha: String,
    pub state: State,
    pub target_url: Option<String>,
    pub description: String,
    pub context: String,
}

impl CommitStatus {
    /// What it is the newest state of: GitHub keeps one status per (repository, sha,
    /// context), all three without case.
    pub fn key(&self) -> String {
        format!("{}/{}@{}#{}", self.owner, self.repo, self.sha, self.context).to_lowercase()
    }

    /// The request's JSON body (`repos/create-commit-status`).
    pub fn body(&self) -> Value {
        let mut body = serde_json::json!({
            "state": self.state.name(),
            "description": self.description,
            "context": self.context,
        });
        if let Some(url) = &self.target_url {
            body["target_url"] = Value::String(url.clone());
        }
        body
    }

    /// One line for the delivery log.
    pub fn summary(&self) -> String {
        let sha: String = self.sha.chars().take(12).collect();
        format!("{} {} on {}/{}@{sha}", self.state.name(), self.context, self.owner, self.repo)
    }
}

/// What a target does about an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Send(CommitStatus),
    /// Nothing to send (the seed's silent skips): why, for the debug log.
    Skip(String),
    /// The status cannot be sent as configured (a malformed sha, owner or repository): the
    /// reason, shown on `/notifications`.
    Refuse(String),
}

/// Which event of a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Started,
    Finished(BuildResult),
}

/// The status for `build` of `builder` at `moment`.
pub fn decide(rules: &GitHubRules, builder: &Builder, build: &Build, moment: Moment, site: &Site) -> Decision {
    if !rules.filter.watches(builder) {
        return Decision::Skip(format!("builder {} is not watched", builder.name));
    }
    let state = match moment {
        Moment::Started => State::Pending,
        Moment::Finished(result) => match rules.states.of(result) {
            Some(state) => state,
            None => return Decision::Skip(format!("{} is reported as nothing", result.name())),
        },
    };
    let keywords = keywords(build, moment, state);
    let with = Renderables { build, keywords: &keywords, worker: None };
    let place = match locate(rules, &with) {
        Ok(Some(place)) => place,
        Ok(None) => return Decision::Skip("no repository or revision".to_owned()),
        Err(refused) => return Decision::Refuse(refused),
    };
    let description = match moment {
        Moment::Started => rules.start_description.render(&with),
        Moment::Finished(_) => rules.end_description.render(&with),
    };
    let context = rules.context.render(&with);
    if !is_context(&context) {
        return Decision::Refuse(format!("context '{}' is not a status context", context.escape_debug()));
    }
    Decision::Send(CommitStatus {
        owner: place.owner,
        repo: place.repo,
        sha: place.sha,
        state,
        target_url: site.build_url(&build.builder, build.number),
        description: truncate(&description, MAX_DESCRIPTION),
        context,
    })
}

/// The merge-safety status of the commit at `place` (where the change's builds report), under
/// the summary's context; `None` when the target has no summary.
pub fn summary_status(
    rules: &GitHubRules,
    place: &Place,
    verdict: &Verdict,
    link: Option<String>,
) -> Option<CommitStatus> {
    let summary = rules.summary.as_ref()?;
    let state = match verdict {
        Verdict::Pending { .. } => State::Pending,
        Verdict::Success { .. } => State::Success,
        Verdict::Failure { .. } => State::Failure,
    };
    Some(CommitStatus {
        owner: place.owner.clone(),
        repo: place.repo.clone(),
        sha: place.sha.clone(),
        state,
        target_url: link,
        description: truncate(&verdict.describe(), MAX_DESCRIPTION),
        context: summary.context.clone(),
    })
}

/// Where `build`'s statuses go (see [`locate`]), rendered as at its start.
pub fn place(rules: &GitHubRules, build: &Build) -> Result<Option<Place>, String> {
    let keywords = keywords(build, Moment::Started, State::Pending);
    locate(rules, &Renderables { build, keywords: &keywords, worker: None })
}

/// `build` as a build of the commit it reports on, for the merge-safety verdict.
pub fn change_build(build: &Build) -> ChangeBuild {
    ChangeBuild {
        builder: build.builder.clone(),
        number: build.number,
        built: build.got_revision(""),
        result: if build.is_finished() { build.result } else { None },
    }
}

/// Where a status goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub owner: String,
    pub repo: String,
    pub sha: String,
}

/// The repository and commit `with`'s build reports on: `Ok(None)` when one is empty (the
/// seed skips those), an error when one is not a name GitHub could have.
pub fn locate(rules: &GitHubRules, with: &Renderables) -> Result<Option<Place>, String> {
    let (owner, repo) = (rules.repo_owner.render(with), rules.repo_name.render(with));
    let sha = match &rules.sha {
        Some(template) => template.render(with),
        None => default_sha(with.build).unwrap_or_default(),
    };
    if owner.is_empty() || repo.is_empty() || sha.is_empty() {
        return Ok(None);
    }
    if !is_owner(&owner) {
        return Err(format!("repoOwner '{}' is not a GitHub user or organisation name", owner.escape_debug()));
    }
    if !is_repo(&repo) {
        return Err(format!("repoName '{}' is not a GitHub repository name", repo.escape_debug()));
    }
    if !is_sha(&sha) {
        return Err(format!("sha '{}' is not a commit SHA (40 or 64 hexadecimal digits)", sha.escape_debug()));
    }
    Ok(Some(Place { owner, repo, sha: sha.to_ascii_lowercase() }))
}

/// The seed's `%(src::revision)s`, or, for a build of "the latest" revision, what it got.
fn default_sha(build: &Build) -> Option<String> {
    let stamp = build.sourcestamps.iter().find(|s| s.codebase.is_empty());
    stamp.and_then(|s| s.revision.clone()).filter(|r| !r.is_empty()).or_else(|| build.got_revision(""))
}

/// The values templates may name as `%(kw:…)s`.
fn keywords(build: &Build, moment: Moment, state: State) -> Vec<(&'static str, Value)> {
    let result = match moment {
        Moment::Started => Value::Null,
        Moment::Finished(r) => Value::String(r.name().to_owned()),
    };
    vec![
        ("builder", Value::String(build.builder.clone())),
        ("buildername", Value::String(build.builder.clone())),
        ("buildnumber", Value::from(build.number)),
        ("result", result),
        ("state", Value::String(state.name().to_owned())),
    ]
}

/// The message id of a build's status at `moment`: stable, so deciding twice queues once.
pub fn message_id(build: &Build, moment: Moment) -> String {
    let when = match moment {
        Moment::Started => "started",
        Moment::Finished(_) => "finished",
    };
    format!("build.{}.{}.{when}", id_part(&build.builder), build.number)
}

/// The message id of a merge-safety status: the status's key and the verdict's fingerprint,
/// so the same verdict is queued once and a changed one (a rebuild) anew.
pub fn summary_id(status: &CommitStatus, verdict: &Verdict) -> String {
    format!("summary.{}.{}", id_part(&status.key()), id_part(&verdict.fingerprint()))
}

/// `text` cut to at most `max` characters, the last one an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A full commit SHA: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
pub fn is_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A GitHub account name: letters, digits, hyphens (and, on GitHub Enterprise, `_`), at most
/// 39, not starting with a hyphen.
fn is_owner(text: &str) -> bool {
    (1..=39).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !text.starts_with('-')
}

/// A GitHub repository name: letters, digits, `.`, `_`, `-`, at most 100, not `.` or `..`.
fn is_repo(text: &str) -> bool {
    (1..=100).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && text != "."
        && text != ".."
}

/// A status context: printable, on one line, not empty.
fn is_context(text: &str) -> bool {
    !text.trim().is_empty() && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests;
