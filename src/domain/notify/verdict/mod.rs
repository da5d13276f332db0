//! Merge safety: one verdict per change (a commit of a repository, a Gerrit patch set) that no
//! peer offers by itself. GitHub shows one status per builder and Gerrit one vote per review,
//! so "may this be merged?" is left to whoever reads them all; this decides it once:
//!
//! - **pending** while any build of the change runs, waits for a worker, or was interrupted
//!   for a retry (so a rebuild flips a decided change back to pending as soon as it starts);
//! - **success** only when every required builder's newest build of the change passed, on
//!   that exact revision;
//! - **failure** otherwise, naming each required builder that did not pass and why (its
//!   result, no build at all, or a build of another revision).
//!
//! "Newest" is the highest build number of a builder (numbers grow in start order), so an
//! older build can never decide over a rebuild. Required builders are the target's list, or,
//! when it names none, every builder that built the change or waits to. Pure and cheap: a
//! change of 50 builds is decided in microseconds (`benches/verdict.rs`).

use std::collections::BTreeMap;

use crate::domain::result::BuildResult;

/// One build of the change, as the verdict needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeBuild {
    pub builder: String,
    pub number: u32,
    /// The revision the build reports it built, once it says (`got_revision`, or where the
    /// target locates the change); `None`: not known, taken as the change's.
    pub built: Option<String>,
    /// `None` while it runs.
    pub result: Option<BuildResult>,
}

/// What a target requires of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// The builders that must pass; empty: every builder that built the change or waits to.
    pub required: Vec<String>,
    /// The results that count as passing.
    pub passing: Vec<BuildResult>,
}

impl Default for Requirements {
    fn default() -> Self {
        Self { required: Vec::new(), passing: vec![BuildResult::Success] }
    }
}

/// Why a required builder keeps a change from being safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// Its newest build ended so.
    Result(BuildResult),
    /// It has no build of the change.
    NotBuilt,
    /// Its newest build built this revision instead.
    OtherRevision(String),
}

/// A builder that is still at work on the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub builder: String,
    /// Its running (or interrupted) build; `None` when it waits for a worker.
    pub number: Option<u32>,
}

/// A required builder that did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub builder: String,
    /// Its newest build, if it has one.
    pub number: Option<u32>,
    pub why: Shortfall,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Builds run or wait, in builder order (nothing built yet, nothing waiting: empty).
    Pending { busy: Vec<Busy> },
    /// Every required builder passed: the builders with the build that passed, in order.
    Success { passed: Vec<(String, u32)> },
    /// Required builders that did not pass, in builder order.
    Failure { failed: Vec<Failed> },
}

/// The verdict on the change at `revision`, given its builds (in any order, any number per
/// builder) and the builders whose build requests for it still wait for a worker.
pub fn verdict(revision: &str, builds: &[ChangeBuild], waiting: &[String], rules: &Requirements) -> Verdict {
    let mut newest: BTreeMap<&str, &ChangeBuild> = BTreeMap::new();
    for build in builds {
        let slot = newest.entry(build.builder.as_str()).or_insert(build);
        if build.number > slot.number {
            *slot = build;
        }
    }
    let mut busy: BTreeMap<&str, Option<u32>> = BTreeMap::new();
    for build in newest.values().filter(|b| matches!(b.result, None | Some(BuildResult::Retry))) {
        busy.insert(&build.builder, Some(build.number));
    }
    for builder in waiting {
        busy.entry(builder.as_str()).or_insert(None);
    }
    if !busy.is_empty() || (newest.is_empty() && rules.required.is_empty()) {
        let busy = busy.into_iter().map(|(b, number)| Busy { builder: b.to_owned(), number }).collect();
        return Verdict::Pending { busy };
    }
    let mut required: Vec<&str> = if rules.required.is_empty() {
        newest.keys().copied().collect()
    } else {
        rules.required.iter().map(String::as_str).collect()
    };
    required.sort_unstable();
    required.dedup();
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    for builder in required {
        let Some(build) = newest.get(builder) else {
            failed.push(Failed { builder: builder.to_owned(), number: None, why: Shortfall::NotBuilt });
            continue;
        };
        let why = match (&build.built, build.result) {
            (Some(other), _) if !same_revision(other, revision) => Some(Shortfall::OtherRevision(other.clone())),
            (_, Some(result)) if !rules.passing.contains(&result) => Some(Shortfall::Result(result)),
            _ => None,
        };
        match why {
            Some(why) => failed.push(Failed { builder: builder.to_owned(), number: Some(build.number), why }),
            None => passed.push((builder.to_owned(), build.number)),
        }
    }
    if failed.is_empty() { Verdict::Success { passed } } else { Verdict::Failure { failed } }
}

/// Revisions compare without case (hexadecimal SHAs are written either way).
fn same_revision(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Verdict {
    /// The verdict's word: `pending`, `success` or `failure`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Pending { .. } => "pending",
            Self::Success { .. } => "success",
            Self::Failure { .. } => "failure",
        }
    }

    /// One line for people, naming what is busy or what failed.
    pub fn describe(&self) -> String {
        let list = |items: Vec<String>| items.join(", ");
        match self {
            Self::Pending { busy } if busy.is_empty() => "Waiting for builds".to_owned(),
            Self::Pending { busy } => {
                let (running, waiting): (Vec<&Busy>, Vec<&Busy>) = busy.iter().partition(|b| b.number.is_some());
                let mut parts = Vec::new();
                if !running.is_empty() {
                    parts.push(format!("building: {}", list(running.iter().map(|b| b.builder.clone()).collect())));
                }
                if !waiting.is_empty() {
                    parts.push(format!("waiting: {}", list(waiting.iter().map(|b| b.builder.clone()).collect())));
                }
                format!("Pending ({})", parts.join("; "))
            }
            Self::Success { passed } if passed.len() == 1 => format!("Safe to merge: {} passed", passed[0].0),
            Self::Success { passed } => format!("Safe to merge: all {} required builders passed", passed.len()),
            Self::Failure { failed } => {
                let each = failed.iter().map(|f| match &f.why {
                    Shortfall::Result(r) => format!("{} ({})", f.builder, r.name()),
                    Shortfall::NotBuilt => format!("{} (not built)", f.builder),
                    Shortfall::OtherRevision(r) => format!("{} (built {})", f.builder, short(r)),
                });
                format!("Failed: {}", list(each.collect()))
            }
        }
    }

    /// What the verdict is about, for a stable message id: the word and every build number
    /// it rests on, so the same state decides the same id and a rebuild a new one.
    pub fn fingerprint(&self) -> String {
        let number = |n: Option<u32>| n.map_or("-".to_owned(), |n| n.to_string());
        let parts: Vec<String> = match self {
            Self::Pending { busy } => busy.iter().map(|b| format!("{}#{}", b.builder, number(b.number))).collect(),
            Self::Success { passed } => passed.iter().map(|(b, n)| format!("{b}#{n}")).collect(),
            Self::Failure { failed } => failed.iter().map(|f| format!("{}#{}", f.builder, number(f.number))).collect(),
        };
        format!("{}:{}", self.word(), parts.join(","))
    }
}

/// A revision as people read it: its first 12 characters.
fn short(revision: &str) -> &str {
    revision.char_indices().nth(12).map_or(revision, |(i, _)| &revision[..i])
}

#[cfg(test)]
mod tests;
