//! GerritStatusPush (spec-notify-6): reviews posted on Gerrit changes when builds start, when
//! they finish, and when a buildset finishes, plus, beyond the seed, the merge-safety vote
//! (`verdict`) per patch set. Pure: the app reads the builds; this locates the patch sets
//! ([`locate`]), calls the callbacks ([`callbacks`]), and the transports spell the result
//! ([`command`]: `gerrit review` over SSH, or the REST API).
//!
//! Which callbacks are active follows the seed's table (6.1): none given means the default
//! summary alone; a review callback given alone turns the summary off. The summary collects
//! the *last* build of each request (G7) and posts one review per patch set its builds name
//! (0.8.12 used the first build's properties for all).

pub mod callbacks;
pub mod command;
pub mod locate;
pub mod review;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::model::{Build, Builder};
use crate::domain::notify::filter::BuilderFilter;
use crate::domain::notify::outbox::id_part;
use crate::domain::notify::verdict::{Requirements, Verdict};
use crate::domain::result::BuildResult;
pub use callbacks::{BuildArgs, BuildCallback, BuildInfo, ReviewTemplate, SummaryArgs, SummaryCallback};
pub use locate::{ChangeTarget, locate};
pub use review::{Reply, Review};

/// The merge-safety vote of a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSafety {
    pub requirements: Requirements,
    /// The label voted +1 (safe), −1 (not) and 0 (pending); none: a message alone.
    pub label: Option<String>,
}

/// A Gerrit target's rules. [`GerritRules::new`] gives the seed's defaults (the default
/// summary alone).
#[derive(Clone, Debug)]
pub struct GerritRules {
    pub name: String,
    pub filter: BuilderFilter,
    pub review: Option<BuildCallback>,
    pub start: Option<BuildCallback>,
    pub summary: Option<SummaryCallback>,
    /// `reviewArg`, `startArg`, `summaryArg`: what templates see as `arg`.
    pub review_arg: Value,
    pub start_arg: Value,
    pub summary_arg: Value,
    pub merge_safety: Option<MergeSafety>,
}

impl GerritRules {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            filter: BuilderFilter::default(),
            review: None,
            start: None,
            summary: Some(SummaryCallback::Default),
            review_arg: Value::Null,
            start_arg: Value::Null,
            summary_arg: Value::Null,
            merge_safety: None,
        }
    }

    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name: must not be empty".to_owned());
        }
        problems.extend(self.filter.check());
        if let Some(label) = self.merge_safety.as_ref().and_then(|m| m.label.as_ref())
            && (label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            problems.push(format!("mergeSafety.label: '{}' is not a Gerrit label name", label.escape_debug()));
        }
        problems
    }
}

/// A review to post on a patch set: what is queued and sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub target: ChangeTarget,
    pub review: Review,
}

impl Outgoing {
    /// One line for the delivery log.
    pub fn summary(&self, what: &str) -> String {
        let votes: Vec<String> = self.review.labels.iter().map(|(n, v)| format!("{n}{v:+}")).collect();
        let votes = if votes.is_empty() { String::new() } else { format!(" ({})", votes.join(", ")) };
        format!("{what} on {}{votes}", self.target.describe())
    }
}

/// A review decided, with its stable id and what it is the newest state of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub id: String,
    pub key: String,
    pub outgoing: Outgoing,
    pub summary: String,
}

/// The reviews when `build` of `builder` starts (`result` `None`) or finishes: one per patch
/// set it names, when the callback says something.
pub fn on_build(
    rules: &GerritRules,
    builder: &Builder,
    build: &Build,
    result: Option<BuildResult>,
    build_url: Option<String>,
) -> Result<Vec<Decided>, String> {
    let (callback, arg, moment) = match result {
        None => (&rules.start, &rules.start_arg, "started"),
        Some(_) => (&rules.review, &rules.review_arg, "finished"),
    };
    let Some(callback) = callback else { return Ok(Vec::new()) };
    if !rules.filter.watches(builder) {
        return Ok(Vec::new());
    }
    let targets = locate(build);
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let args = BuildArgs { builder: &builder.name, build, result, build_url, arg };
    let Some(review) = callback.review(&args)? else { return Ok(Vec::new()) };
    let what = format!("{} #{} {moment}", build.builder, build.number);
    Ok(targets
        .into_iter()
        .map(|target| {
            let id =
                format!("build.{}.{}.{moment}.{}", id_part(&build.builder), build.number, id_part(&target.key("")));
            let key = target.key(&format!("builder/{}", build.builder));
            let outgoing = Outgoing { target, review: review.clone() };
            Decided { id, key, summary: outgoing.summary(&what), outgoing }
        })
        .collect())
}

/// A finished build with the URL of its page, as a summary lists it.
pub type BuildWithUrl = (Build, Option<String>);

/// The summary reviews of finished buildset `id`: its builds (the last of each request, with
/// their URLs) grouped by the patch set they name, one review per patch set, the result the
/// worst of that group's builds.
pub fn on_buildset(rules: &GerritRules, id: u64, builds: &[BuildWithUrl]) -> Result<Vec<Decided>, String> {
    let Some(callback) = &rules.summary else { return Ok(Vec::new()) };
    let mut groups: Vec<(ChangeTarget, Vec<&BuildWithUrl>)> = Vec::new();
    for entry in builds {
        for target in locate(&entry.0) {
            match groups.iter_mut().find(|(t, _)| *t == target) {
                Some((_, members)) => members.push(entry),
                None => groups.push((target, vec![entry])),
            }
        }
    }
    let mut out = Vec::new();
    for (target, members) in groups {
        let mut infos: Vec<BuildInfo> = members.iter().map(|(b, url)| BuildInfo::new(b, url.clone())).collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        let result = members.iter().filter_map(|(b, _)| b.result).fold(BuildResult::Success, BuildResult::worst);
        let args = SummaryArgs { builds: &infos, result, arg: &rules.summary_arg };
        let Some(review) = callback.review(&args)? else { continue };
        let outgoing = Outgoing { target, review };
        out.push(Decided {
            id: format!("buildset.{id}.{}", id_part(&outgoing.target.key(""))),
            key: outgoing.target.key("buildset"),
            summary: outgoing.summary(&format!("buildset {id} summary")),
            outgoing,
        });
    }
    Ok(out)
}

/// The merge-safety review of `target`: the verdict in words, and the label's vote.
pub fn merge_safety(safety: &MergeSafety, target: &ChangeTarget, verdict: &Verdict) -> Decided {
    let vote = match verdict {
        Verdict::Pending { .. } => 0,
        Verdict::Success { .. } => 1,
        Verdict::Failure { .. } => -1,
    };
    let labels: Vec<(&str, i64)> = safety.label.as_deref().map(|l| (l, vote)).into_iter().collect();
    let outgoing = Outgoing {
        target: target.clone(),
        review: Review::new(&format!("Merge safety: {}", verdict.describe()), &labels),
    };
    Decided {
        id: format!("safety.{}.{}", id_part(&target.key("")), id_part(&verdict.fingerprint())),
        key: target.key("merge-safety"),
        summary: outgoing.summary(&format!("merge safety {}", verdict.word())),
        outgoing,
    }
}

#[cfg(test)]
mod tests;
