//! The status data model: what a master reports and what every page, feed and notifier reads.
//! Plain data with serde; behaviour that needs more than a field lookup lives in the modules
//! that use it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::result::BuildResult;

/// Every time in the model is UTC; pages show UTC too, so output never depends on the host.
pub type Timestamp = DateTime<Utc>;

/// A build property value and where it came from (`"Force Build Form"`, `"Scheduler"`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub value: serde_json::Value,
    pub source: String,
}

/// Properties by name, in name order.
pub type Properties = BTreeMap<String, Property>;

/// Renders a property value the way pages and filters compare it: strings bare, the rest as JSON.
pub fn property_string(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Builder {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Tags; the first one is the builder's category.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Names of the workers that may run this builder.
    #[serde(default)]
    pub workers: Vec<String>,
}

impl Builder {
    pub fn category(&self) -> Option<&str> {
        self.tags.first().map(String::as_str)
    }

    pub fn matches_any_tag(&self, tags: &[String]) -> bool {
        self.tags.iter().any(|t| tags.contains(t))
    }
}

/// A builder's "big state".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BuilderState {
    #[default]
    Offline,
    Idle,
    Building,
}

impl BuilderState {
    /// Building when a build runs, idle when one of the builder's workers is connected (paused
    /// or not), else offline: the one rule, which the state announces (`state/derived.rs`),
    /// the stores answer and the pages show.
    pub fn of(builder: &Builder, mut connected: impl FnMut(&str) -> bool, building: bool) -> Self {
        if building {
            Self::Building
        } else if builder.workers.iter().any(|w| connected(w)) {
            Self::Idle
        } else {
            Self::Offline
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Idle => "idle",
            Self::Building => "building",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Worker {
    pub name: String,
    #[serde(default)]
    pub connected: bool,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub admin: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub access_uri: Option<String>,
    /// When the worker last connected or disconnected.
    #[serde(default)]
    pub last_heard: Option<Timestamp>,
    /// Connection times, newest last, kept for "connects per hour".
    #[serde(default)]
    pub connect_times: Vec<Timestamp>,
    /// Everything else the worker told about itself (0.8's slave info: `os`, `cpus`, …),
    /// shown on its page.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Assigned by the master; unique and increasing in arrival order.
    pub number: u64,
    pub who: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub comments: String,
    #[serde(default)]
    pub revision: Option<String>,
    pub when: Timestamp,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub revlink: Option<String>,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub codebase: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    pub level: u32,
    pub body: String,
    #[serde(default)]
    pub subdir: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// What a build builds for one codebase.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct SourceStamp {
    #[serde(default)]
    pub codebase: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub branch: Option<String>,
    /// None means "the latest revision".
    #[serde(default)]
    pub revision: Option<String>,
    /// Numbers of the changes this stamp was made from, ascending.
    #[serde(default)]
    pub changes: Vec<u64>,
    #[serde(default)]
    pub patch: Option<Patch>,
}

impl SourceStamp {
    /// True when the stamp says anything beyond "build the most recent revision".
    pub fn is_specific(&self) -> bool {
        self.branch.is_some() || self.revision.is_some() || self.patch.is_some() || !self.changes.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Buildset {
    pub id: u64,
    pub reason: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub submitted_at: Timestamp,
    #[serde(default)]
    pub sourcestamps: Vec<SourceStamp>,
    #[serde(default)]
    pub builders: Vec<String>,
    #[serde(default)]
    pub complete_at: Option<Timestamp>,
    #[serde(default)]
    pub result: Option<BuildResult>,
}

/// A buildset not finished yet, with its requests still waiting for a build, oldest first (a
/// request a build claimed is no longer one; the buildset's `builders` names them all).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenBuildset {
    pub buildset: Buildset,
    pub requests: Vec<BuildRequest>,
}

impl OpenBuildset {
    /// Each of `buildsets` (those not finished) with its requests among `pending` (oldest
    /// first), in buildset id order.
    pub fn gather(buildsets: impl IntoIterator<Item = Buildset>, pending: &[BuildRequest]) -> Vec<Self> {
        let mut open: Vec<Self> = buildsets
            .into_iter()
            .filter(|b| b.complete_at.is_none())
            .map(|buildset| {
                let mut requests: Vec<BuildRequest> =
                    pending.iter().filter(|r| r.buildset_id == Some(buildset.id)).cloned().collect();
                requests.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id)));
                Self { buildset, requests }
            })
            .collect();
        open.sort_by_key(|o| o.buildset.id);
        open
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildRequest {
    pub id: u64,
    #[serde(default)]
    pub buildset_id: Option<u64>,
    pub builder: String,
    pub submitted_at: Timestamp,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub sourcestamps: Vec<SourceStamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    #[default]
    Text,
    Html,
}

/// A log of a step. Its content lives in the log store under `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRef {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub kind: LogKind,
    /// Bytes of content (all channels) written so far.
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub finished: bool,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Step {
    /// Index within the build, from 0.
    pub number: u32,
    pub name: String,
    #[serde(default)]
    pub text: Vec<String>,
    /// The short summary this step adds to the build's text.
    #[serde(default)]
    pub text2: Vec<String>,
    #[serde(default)]
    pub result: Option<BuildResult>,
    #[serde(default)]
    pub started: Option<Timestamp>,
    #[serde(default)]
    pub finished: Option<Timestamp>,
    #[serde(default)]
    pub logs: Vec<LogRef>,
    #[serde(default)]
    pub urls: Vec<(String, String)>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub statistics: BTreeMap<String, serde_json::Value>,
    /// When the step is expected to finish, while it has not (see [`Build::eta`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<Timestamp>,
}

impl Step {
    pub fn log(&self, name: &str) -> Option<&LogRef> {
        self.logs.iter().find(|l| l.name == name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub builder: String,
    /// Per builder, from 0.
    pub number: u32,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub sourcestamps: Vec<SourceStamp>,
    /// Authors of the changes in this build, sorted and distinct.
    #[serde(default)]
    pub blamelist: Vec<String>,
    #[serde(default)]
    pub worker: String,
    pub started: Timestamp,
    #[serde(default)]
    pub finished: Option<Timestamp>,
    #[serde(default)]
    pub result: Option<BuildResult>,
    /// The build's own text; see [`Build::full_text`].
    #[serde(default)]
    pub text: Vec<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Expected finish time, while the build runs: the sender's when its start gave one, else
    /// estimated from the builder's successful builds (`domain::expectations`), when they
    /// allow it.
    #[serde(default)]
    pub eta: Option<Timestamp>,
    /// Test results the sender reported (0.8's `addTestResult`), in the order first reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResult>,
    /// The buildsets of the build requests it claimed, ascending (set when it starts, from the
    /// requests then pending: the store forgets a request once claimed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buildsets: Vec<u64>,
}

/// Serialises shared builds as the builds themselves (serde's `rc` feature is not on: one
/// field needs it, the rest of the tree does not).
pub fn serialize_shared<S: serde::Serializer>(builds: &[std::sync::Arc<Build>], to: S) -> Result<S::Ok, S::Error> {
    to.collect_seq(builds.iter().map(|b| &**b))
}

/// One test's outcome, as 0.8's `TestResult`: a dotted name, a result, words and logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The name's parts (`["unit", "parser", "test_empty"]`), shown joined by dots.
    pub name: Vec<String>,
    pub result: BuildResult,
    #[serde(default)]
    pub text: Vec<String>,
    /// Log name → its text.
    #[serde(default)]
    pub logs: BTreeMap<String, String>,
}

impl TestResult {
    /// The dotted name the test's URL uses.
    pub fn dotted_name(&self) -> String {
        self.name.join(".")
    }
}

impl Build {
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// The build's text followed by every step's text2, as pages and feeds show it.
    pub fn full_text(&self) -> Vec<String> {
        let mut text = self.text.clone();
        for step in &self.steps {
            text.extend(step.text2.iter().cloned());
        }
        text
    }

    pub fn property(&self, name: &str) -> Option<&serde_json::Value> {
        self.properties.get(name).map(|p| &p.value)
    }

    /// The branch of the first source stamp that names one.
    pub fn branch(&self) -> Option<&str> {
        self.sourcestamps.iter().find_map(|s| s.branch.as_deref())
    }

    /// The revision actually built for `codebase`: `got_revision` (a string, or a map by
    /// codebase), else the stamp's requested revision.
    pub fn got_revision(&self, codebase: &str) -> Option<String> {
        match self.property("got_revision") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Object(map)) => map.get(codebase).and_then(|v| v.as_str()).map(str::to_owned),
            _ => None,
        }
    }

    /// The revision pages show for this build: got_revision, else the first stamp's revision.
    pub fn revision(&self) -> Option<String> {
        let codebase = self.sourcestamps.first().map_or("", |s| s.codebase.as_str());
        self.got_revision(codebase).or_else(|| self.sourcestamps.iter().find_map(|s| s.revision.clone()))
    }

    /// The step now running, if any.
    pub fn current_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.started.is_some() && s.finished.is_none())
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The test whose dotted name is `dotted`.
    pub fn test(&self, dotted: &str) -> Option<&TestResult> {
        self.tests.iter().find(|t| t.dotted_name() == dotted)
    }
}

/// A person known to the master (the users pages).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub uid: u64,
    pub identifier: String,
    /// Attribute type → value (e.g. `git` → `Ann <ann@example.org>`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// The names of builds are (builder, number); this is that key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BuildKey {
    pub builder: String,
    pub number: u32,
}

impl Build {
    pub fn key(&self) -> BuildKey {
        BuildKey { builder: self.builder.clone(), number: self.number }
    }
}
