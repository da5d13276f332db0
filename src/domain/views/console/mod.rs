//! The console (spec-web-displays §4): one row per recent revision, newest first, and for each
//! builder a box coloured by the first build that contained it.
//!
//! Where the old code ordered revisions as strings, rows here follow arrival (change number)
//! or, with `order_console_by_time`, the change's time then arrival: never the revision text.
//! Builds of a revision that no listed change names (a forced build of some commit) get a row
//! of their own, placed by start time, instead of vanishing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::domain::model::{Build, Builder, Change, Timestamp};
use crate::domain::result::BuildResult;

/// The colour of a console box: a total function of what the spec's table looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ConsoleClass {
    Running,
    NotStarted,
    NotInBuilder,
    Success,
    Warnings,
    Failure,
    FailureAgain,
    Exception,
    Offline,
}

impl ConsoleClass {
    /// The spec's §4.4 table: this build's result, the previous build's, whether it runs, and
    /// whether the builder builds the revision's codebase at all.
    pub fn of(result: Option<BuildResult>, previous: Option<BuildResult>, running: bool, in_builder: bool) -> Self {
        match result {
            _ if running => Self::Running,
            None if in_builder => Self::NotStarted,
            None => Self::NotInBuilder,
            Some(BuildResult::Success) => Self::Success,
            Some(BuildResult::Warnings) => Self::Warnings,
            Some(BuildResult::Failure) if previous == Some(BuildResult::Failure) => Self::FailureAgain,
            Some(BuildResult::Failure) => Self::Failure,
            Some(_) => Self::Exception,
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::NotStarted => "notstarted",
            Self::NotInBuilder => "notinbuilder",
            Self::Success => "success",
            Self::Warnings => "warnings",
            Self::Failure => "failure",
            Self::FailureAgain => "failure-again",
            Self::Exception => "exception",
            Self::Offline => "offline",
        }
    }

    /// The legend: (class, label, tooltip), in the page's order.
    pub const LEGEND: [(Self, &'static str, &'static str); 8] = [
        (Self::Success, "Passed", "all tests passed"),
        (Self::Failure, "Failed", "there is a new failure"),
        (Self::Warnings, "Warnings", "it passed with warnings"),
        (Self::FailureAgain, "Failed Again", "it failed, and it was failing before"),
        (Self::Running, "Running", "the build is still running"),
        (Self::Exception, "Exception", "an internal error happened"),
        (Self::Offline, "Offline", "the builder is offline"),
        (Self::NotStarted, "No data", "no build has this revision yet"),
    ];
}

/// Which changes the console shows (spec §4.1); every field narrows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleFilter {
    /// Exact branch names (no trunk mapping); empty: any.
    pub branches: Vec<String>,
    pub repository: Option<String>,
    pub project: Option<String>,
    /// Applied whenever given, even empty.
    pub codebase: Option<String>,
    /// Authors, exactly as written; empty: any.
    pub names: Vec<String>,
}

impl ConsoleFilter {
    pub fn keeps(&self, change: &Change) -> bool {
        let branch = change.branch.as_deref().unwrap_or("");
        (self.branches.is_empty() || self.branches.iter().any(|b| b == branch))
            && self.repository.as_ref().is_none_or(|r| r.is_empty() || *r == change.repository)
            && self.project.as_ref().is_none_or(|p| p.is_empty() || *p == change.project)
            && self.codebase.as_ref().is_none_or(|c| *c == change.codebase)
            && (self.names.is_empty() || self.names.contains(&change.who))
    }

    /// Whether a build's own stamp passes the filters that apply to it (orphan rows).
    fn keeps_build(&self, build: &Build) -> bool {
        let Some(stamp) = build.sourcestamps.first() else { return self.is_empty() };
        let branch = stamp.branch.as_deref().unwrap_or("");
        self.names.is_empty()
            && (self.branches.is_empty() || self.branches.iter().any(|b| b == branch))
            && self.repository.as_ref().is_none_or(|r| r.is_empty() || *r == stamp.repository)
            && self.project.as_ref().is_none_or(|p| p.is_empty() || *p == stamp.project)
            && self.codebase.as_ref().is_none_or(|c| *c == stamp.codebase)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A builder with its recent builds, newest first.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ConsoleBuilder<'a> {
    pub builder: &'a Builder,
    pub offline: bool,
    #[serde(serialize_with = "crate::domain::model::serialize_shared")]
    pub builds: &'a [Arc<Build>],
}

/// What the console is computed from.
#[derive(Clone, Debug)]
pub struct ConsoleInput<'a> {
    /// The most recent changes (any order).
    pub changes: &'a [Change],
    /// Builders in display order, already narrowed by `builder=` and tags.
    pub builders: Vec<ConsoleBuilder<'a>>,
    pub filter: ConsoleFilter,
    pub by_time: bool,
    /// Rows shown, and builds (with changes) kept per builder.
    pub revs: usize,
}

/// What a row stands for: a change, or a revision built without any listed change.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum RowSubject<'a> {
    Change(&'a Change),
    Orphan { revision: String, repository: String, codebase: String, started: Timestamp, reason: String },
}

impl RowSubject<'_> {
    pub fn revision(&self) -> Option<&str> {
        match self {
            Self::Change(c) => c.revision.as_deref(),
            Self::Orphan { revision, .. } => Some(revision),
        }
    }

    pub fn repository(&self) -> &str {
        match self {
            Self::Change(c) => &c.repository,
            Self::Orphan { repository, .. } => repository,
        }
    }

    fn codebase(&self) -> &str {
        match self {
            Self::Change(c) => &c.codebase,
            Self::Orphan { codebase, .. } => codebase,
        }
    }
}

/// One box: its colour and the build it stands for.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ConsoleBox<'a> {
    pub class: ConsoleClass,
    pub build: Option<&'a Build>,
}

/// The failing step of a build that introduced a failure, with its logs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FailureDetail<'a> {
    pub builder: &'a str,
    pub build: &'a Build,
    pub step: &'a str,
    pub text: String,
    pub logs: Vec<&'a str>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConsoleRow<'a> {
    pub subject: RowSubject<'a>,
    /// One per builder, in the input's order.
    pub boxes: Vec<ConsoleBox<'a>>,
    pub details: Vec<FailureDetail<'a>>,
}

/// A group of builders sharing a tag (`default` for builders without one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConsoleGroup {
    pub name: String,
    /// Indexes into the input's builders.
    pub members: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Console<'a> {
    pub groups: Vec<ConsoleGroup>,
    /// The builder status line (§4.5), one per builder.
    pub status: Vec<ConsoleBox<'a>>,
    /// Newest first.
    pub rows: Vec<ConsoleRow<'a>>,
}

/// Computes the console.
pub fn console<'a>(input: &ConsoleInput<'a>) -> Console<'a> {
    let subjects = subjects(input);
    // Per builder, once: the builds a change row looks at, and all of them (orphan rows).
    let builds: Vec<Vec<&'a Build>> = input.builders.iter().map(|b| with_changes(b.builds, input.revs)).collect();
    let all: Vec<Vec<&'a Build>> = input.builders.iter().map(|b| b.builds.iter().map(|b| &**b).collect()).collect();
    let indexes: Vec<ChangeIndex> = builds.iter().map(|list| ChangeIndex::of(list)).collect();
    let mut rows = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let mut boxes = Vec::with_capacity(input.builders.len());
        let mut details = Vec::new();
        for (i, builder) in input.builders.iter().enumerate() {
            let cell = match &subject {
                RowSubject::Change(change) => indexes[i].box_for(change, &builds[i]),
                RowSubject::Orphan { .. } => box_for(&subject, &all[i]),
            };
            if cell.class == ConsoleClass::Failure
                && let Some(detail) = cell.build.and_then(|b| failure_detail(&builder.builder.name, b))
            {
                details.push(detail);
            }
            boxes.push(cell);
        }
        rows.push(ConsoleRow { subject, boxes, details });
    }
    let status = input.builders.iter().map(status_box).collect();
    Console { groups: groups(&input.builders), status, rows }
}

/// The rows' subjects, newest first: filtered changes without repeated revisions, and orphan
/// revisions merged in by time.
fn subjects<'a>(input: &ConsoleInput<'a>) -> Vec<RowSubject<'a>> {
    let mut changes: Vec<&Change> = input.changes.iter().collect();
    if input.by_time {
        changes.sort_by(|a, b| a.when.cmp(&b.when).then(a.number.cmp(&b.number)));
    } else {
        changes.sort_by_key(|c| c.number);
    }
    // A revision seen again (same repository and codebase) is the same row; the first
    // arrival stands for it. Changes without a revision are each their own row.
    let mut seen = BTreeSet::new();
    changes.retain(|c| match &c.revision {
        Some(rev) => seen.insert((c.repository.as_str(), c.codebase.as_str(), rev.as_str())),
        None => true,
    });
    let mut kept: Vec<&Change> =
        changes.iter().rev().take(input.revs).filter(|c| input.filter.keeps(c)).copied().collect();
    kept.reverse(); // oldest first again, for the merge below

    // Revisions built without a listed change (forced builds), newest start first per builder.
    let known: BTreeSet<&str> = input.changes.iter().filter_map(|c| c.revision.as_deref()).collect();
    let mut orphans: Vec<RowSubject<'a>> = Vec::new();
    let mut orphan_revs = BTreeSet::new();
    let oldest_change = kept.first().map(|c| c.when);
    for builder in &input.builders {
        for build in builder.builds.iter().take(input.revs) {
            let has_changes = build.sourcestamps.iter().any(|s| !s.changes.is_empty());
            let Some(revision) = build.revision() else { continue };
            if has_changes || known.contains(revision.as_str()) || !input.filter.keeps_build(build) {
                continue;
            }
            if oldest_change.is_some_and(|t| build.started < t) || !orphan_revs.insert(revision.clone()) {
                continue;
            }
            let stamp = build.sourcestamps.first();
            orphans.push(RowSubject::Orphan {
                revision,
                repository: stamp.map(|s| s.repository.clone()).unwrap_or_default(),
                codebase: stamp.map(|s| s.codebase.clone()).unwrap_or_default(),
                started: build.started,
                reason: build.reason.clone(),
            });
        }
    }
    let started = |s: &RowSubject| match s {
        RowSubject::Orphan { started, .. } => *started,
        RowSubject::Change(c) => c.when,
    };
    orphans.sort_by_key(|o| started(o));

    // Merge, oldest first: an orphan goes before the first change that came after it.
    let mut merged: Vec<RowSubject<'a>> = Vec::with_capacity(kept.len() + orphans.len());
    let mut orphans = orphans.into_iter().peekable();
    for change in kept {
        while orphans.peek().is_some_and(|o| started(o) < change.when) {
            merged.extend(orphans.next());
        }
        merged.push(RowSubject::Change(change));
    }
    merged.extend(orphans);
    merged.reverse();
    merged.truncate(input.revs.max(1));
    merged
}

/// The builder's build list (§4.3): newest first, only builds with changes, at most `revs`.
fn with_changes(builds: &[Arc<Build>], revs: usize) -> Vec<&Build> {
    builds.iter().map(|b| &**b).filter(|b| b.sourcestamps.iter().any(|s| !s.changes.is_empty())).take(revs).collect()
}

/// Where a builder's build list first holds each change and each codebase, so that a row of
/// a change finds its box at once instead of walking the list ([`box_for`], which says the
/// same: rows × builders × builds was most of a big console's time).
struct ChangeIndex<'a> {
    /// (codebase, change number) → the newest build whose stamp of that codebase names it.
    first: HashMap<(&'a str, u64), usize>,
    /// Codebases some build of the list builds.
    codebases: HashSet<&'a str>,
}

impl<'a> ChangeIndex<'a> {
    fn of(builds: &[&'a Build]) -> Self {
        let mut first = HashMap::new();
        let mut codebases = HashSet::new();
        for (i, build) in builds.iter().enumerate() {
            for stamp in &build.sourcestamps {
                codebases.insert(stamp.codebase.as_str());
                for n in &stamp.changes {
                    first.entry((stamp.codebase.as_str(), *n)).or_insert(i);
                }
            }
        }
        Self { first, codebases }
    }

    /// [`box_for`] of `change` over `builds`, the list this index was made of.
    fn box_for<'b>(&self, change: &Change, builds: &[&'b Build]) -> ConsoleBox<'b> {
        let hit = self.first.get(&(change.codebase.as_str(), change.number)).copied();
        // A hit's own stamp is of the codebase; without one, any build of the list may be.
        let in_builder = builds.is_empty() || hit.is_some() || self.codebases.contains(change.codebase.as_str());
        let introduced = hit.map(|i| builds[i]);
        let previous = hit.and_then(|i| builds.get(i + 1).copied());
        let result = introduced.and_then(|b| b.result);
        let running = introduced.is_some_and(|b| !b.is_finished());
        let class = ConsoleClass::of(result, previous.and_then(|b| b.result), running, in_builder);
        ConsoleBox { class, build: introduced }
    }
}

/// Whether `build` built the row's subject, and whether it builds its codebase at all.
fn contains(build: &Build, subject: &RowSubject) -> (bool, bool) {
    let mut same_codebase = false;
    for stamp in &build.sourcestamps {
        if stamp.codebase != subject.codebase() {
            continue;
        }
        same_codebase = true;
        let hit = match subject {
            RowSubject::Change(c) => stamp.changes.contains(&c.number),
            RowSubject::Orphan { revision, .. } => {
                build.got_revision(&stamp.codebase).or_else(|| stamp.revision.clone()).as_ref() == Some(revision)
            }
        };
        if hit {
            return (true, true);
        }
    }
    (false, same_codebase)
}

/// §4.4: the newest build containing the subject, coloured against the next older build.
fn box_for<'a>(subject: &RowSubject, builds: &[&'a Build]) -> ConsoleBox<'a> {
    let mut in_builder = builds.is_empty();
    let mut introduced: Option<&'a Build> = None;
    let mut previous: Option<&'a Build> = None;
    for build in builds {
        if introduced.is_some() {
            previous = Some(build);
            break;
        }
        let (hit, same_codebase) = contains(build, subject);
        in_builder |= same_codebase;
        if hit {
            introduced = Some(build);
        }
    }
    let result = introduced.and_then(|b| b.result);
    let running = introduced.is_some_and(|b| !b.is_finished());
    let class = ConsoleClass::of(result, previous.and_then(|b| b.result), running, in_builder);
    ConsoleBox { class, build: introduced }
}

/// §4.6: the last failing step of a build that has logs.
fn failure_detail<'a>(builder: &'a str, build: &'a Build) -> Option<FailureDetail<'a>> {
    if build.steps.iter().all(|s| s.logs.is_empty()) {
        return None;
    }
    let step = build.steps.iter().rev().find(|s| s.result == Some(BuildResult::Failure))?;
    Some(FailureDetail {
        builder,
        build,
        step: &step.name,
        text: step.text.join(" "),
        logs: step.logs.iter().map(|l| l.name.as_str()).collect(),
    })
}

/// §4.5: offline, else the newest finished build's class without a previous result.
fn status_box<'a>(builder: &ConsoleBuilder<'a>) -> ConsoleBox<'a> {
    if builder.offline {
        return ConsoleBox { class: ConsoleClass::Offline, build: None };
    }
    let last = builder.builds.iter().map(|b| &**b).find(|b| b.is_finished());
    let class = ConsoleClass::of(last.and_then(|b| b.result), None, false, true);
    ConsoleBox { class, build: last }
}

/// One group per tag, alphabetically; builders without tags in `default`.
fn groups(builders: &[ConsoleBuilder]) -> Vec<ConsoleGroup> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for b in builders {
        if b.builder.tags.is_empty() {
            names.insert("default");
        }
        names.extend(b.builder.tags.iter().map(String::as_str));
    }
    names
        .into_iter()
        .map(|name| ConsoleGroup {
            name: name.to_owned(),
            members: (0..builders.len())
                .filter(|&i| {
                    let tags = &builders[i].builder.tags;
                    tags.iter().any(|t| t == name) || (tags.is_empty() && name == "default")
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
