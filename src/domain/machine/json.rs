//! The objects of the `/json` API (spec-web-machine §7.5), with Buildbot 0.8's exact keys so
//! existing consumers keep working. Times are float epoch seconds, results integer codes
//! (SUCCESS is `0`), and map keys that are numbers are strings.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::domain::model::{
    Build, BuildRequest, Builder, BuilderState, Buildset, Change, Properties, SourceStamp, Step, Timestamp, Worker,
};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::domain::web::text::path;

fn epoch(t: Timestamp) -> Value {
    json!(seconds(t))
}

/// A time as 0.8's float epoch seconds.
fn seconds(t: Timestamp) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// `[[name, value, source], ...]`, sorted by name.
pub fn properties(props: &Properties) -> Value {
    Value::Array(props.iter().map(|(k, p)| json!([k, p.value, p.source])).collect())
}

// The objects the pages of many builds and builders answer with are serde structs written
// straight into the answer's buffer (no tree of maps per object). Each struct's fields are in
// the order of its keys' bytes, which is the order a `Value` map writes them in, so the text
// is the same either way (`typed_objects_write_what_their_trees_write` checks it); the
// functions returning a `Value` (push payloads, the tree a `filter=` or a merging `select=`
// works on) are these structs made a tree.

/// `properties` as a list, written from the map without copying it.
struct PropertyList<'a>(&'a Properties);

impl Serialize for PropertyList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(k, p)| (k, &p.value, &p.source)))
    }
}

/// A build's `text`: its own, then each step's summary ([`Build::full_text`]), uncopied.
struct FullText<'a>(&'a Build);

impl Serialize for FullText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.text.iter().chain(self.0.steps.iter().flat_map(|step| step.text2.iter())))
    }
}

/// A change's `files`: `{"name": file}` each.
struct Files<'a>(&'a [String]);

impl Serialize for Files<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|name| FileObject { name }))
    }
}

#[derive(Serialize)]
struct FileObject<'a> {
    name: &'a str,
}

/// What a builder's object shows beyond its configuration.
#[derive(Clone, Debug, Default)]
pub struct BuilderFacts {
    pub state: Option<BuilderState>,
    /// Numbers of the builds served from memory, running ones included.
    pub cached: Vec<u32>,
    pub running: Vec<u32>,
    pub pending: usize,
}

/// The directory name Buildbot derives from a builder name: unsafe characters become `_`.
pub fn basedir(name: &str) -> String {
    Basedir(name).to_string()
}

/// [`basedir`], written where it goes.
struct Basedir<'a>(&'a str);

impl std::fmt::Display for Basedir<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for c in self.0.chars() {
            f.write_char(if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })?;
        }
        Ok(())
    }
}

impl Serialize for Basedir<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A builder's object (see [`builder`]).
#[derive(Serialize)]
pub struct BuilderObject<'a> {
    basedir: Basedir<'a>,
    #[serde(rename = "cachedBuilds")]
    cached: Vec<u32>,
    category: Option<&'a str>,
    #[serde(rename = "currentBuilds")]
    current: &'a [u32],
    #[serde(rename = "pendingBuilds")]
    pending: usize,
    schedulers: [u8; 0],
    slaves: &'a [String],
    state: &'static str,
    tags: Option<&'a [String]>,
}

impl<'a> BuilderObject<'a> {
    pub fn new(b: &'a Builder, facts: &'a BuilderFacts) -> Self {
        let mut cached = Vec::with_capacity(facts.cached.len() + facts.running.len());
        cached.extend_from_slice(&facts.cached);
        cached.extend_from_slice(&facts.running);
        cached.sort_unstable();
        cached.dedup();
        Self {
            basedir: Basedir(&b.name),
            cached,
            category: b.category(),
            current: &facts.running,
            pending: facts.pending,
            schedulers: [],
            slaves: &b.workers,
            state: facts.state.unwrap_or_default().name(),
            tags: (!b.tags.is_empty()).then_some(b.tags.as_slice()),
        }
    }
}

pub fn builder(b: &Builder, facts: &BuilderFacts) -> Value {
    tree(&BuilderObject::new(b, facts))
}

/// A typed object as a tree (its maps sorted by key, as every `Value` map is).
fn tree(object: &impl Serialize) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// The absolute URL of a step's log, from the site's `buildbotURL`.
fn log_url(site: &Site, build: &Build, step: &Step, log: &str) -> String {
    path::log(&site.buildbot_url, &build.builder, build.number, &step.name, log)
}

/// A step's `[name, url]` pairs.
fn step_logs<'a>(site: &'a Site, build: &'a Build, s: &'a Step) -> impl Iterator<Item = (&'a str, String)> + 'a {
    s.logs.iter().map(move |l| (l.name.as_str(), log_url(site, build, s, &l.name)))
}

/// A step's `urls` as a map: sorted, the last of a repeated name kept (as a `Value` map keeps it).
struct Urls<'a>(&'a [(String, String)]);

impl Serialize for Urls<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<&str, &str> = self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        s.collect_map(sorted)
    }
}

/// A step's object (see [`step`]).
#[derive(Serialize)]
pub struct StepObject<'a> {
    eta: Option<f64>,
    expectations: [u8; 0],
    hidden: bool,
    #[serde(rename = "isFinished")]
    is_finished: bool,
    #[serde(rename = "isStarted")]
    is_started: bool,
    logs: Vec<(&'a str, String)>,
    name: &'a str,
    results: (Option<u8>, &'a [String]),
    statistics: &'a BTreeMap<String, Value>,
    step_number: u32,
    text: &'a [String],
    times: (Option<f64>, Option<f64>),
    urls: Urls<'a>,
}

impl<'a> StepObject<'a> {
    pub fn new(site: &'a Site, build: &'a Build, s: &'a Step, now: Timestamp) -> Self {
        Self {
            eta: seconds_until(s.finished.is_none().then_some(s.eta).flatten(), now),
            expectations: [],
            hidden: s.hidden,
            is_finished: s.finished.is_some(),
            is_started: s.started.is_some(),
            logs: step_logs(site, build, s).collect(),
            name: &s.name,
            results: (s.result.map(BuildResult::code), &s.text2),
            statistics: &s.statistics,
            step_number: s.number,
            text: &s.text,
            times: (s.started.map(seconds), s.finished.map(seconds)),
            urls: Urls(&s.urls),
        }
    }
}

/// A step; `now` gives `eta` (seconds to its expected finish, while it has one).
pub fn step(site: &Site, build: &Build, s: &Step, now: Timestamp) -> Value {
    tree(&StepObject::new(site, build, s, now))
}

/// A change's object (see [`change`]).
#[derive(Serialize)]
pub struct ChangeObject<'a> {
    at: String,
    branch: &'a Option<String>,
    category: &'a Option<String>,
    codebase: &'a str,
    comments: &'a str,
    files: Files<'a>,
    number: u64,
    project: &'a str,
    properties: PropertyList<'a>,
    repository: &'a str,
    rev: &'a Option<String>,
    revision: &'a Option<String>,
    revlink: &'a Option<String>,
    when: i64,
    who: &'a str,
}

impl<'a> ChangeObject<'a> {
    pub fn new(c: &'a Change) -> Self {
        Self {
            at: crate::domain::web::text::long_time(c.when),
            branch: &c.branch,
            category: &c.category,
            codebase: &c.codebase,
            comments: &c.comments,
            files: Files(&c.files),
            number: c.number,
            project: &c.project,
            properties: PropertyList(&c.properties),
            repository: &c.repository,
            rev: &c.revision,
            revision: &c.revision,
            revlink: &c.revlink,
            when: c.when.timestamp(),
            who: &c.who,
        }
    }
}

/// `at` of a change: `Www DD Mon YYYY HH:MM:SS` (UTC, as every time here).
pub fn change(c: &Change) -> Value {
    tree(&ChangeObject::new(c))
}

/// A source stamp's object (see [`source_stamp`]).
#[derive(Serialize)]
pub struct SourceStampObject<'a> {
    branch: &'a Option<String>,
    changes: Vec<ChangeObject<'a>>,
    codebase: &'a str,
    #[serde(rename = "hasPatch")]
    has_patch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_level: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_subdir: Option<&'a str>,
    project: &'a str,
    repository: &'a str,
    revision: &'a Option<String>,
}

impl<'a> SourceStampObject<'a> {
    /// `s` with those of `changes` it names, in its order.
    pub fn new(s: &'a SourceStamp, changes: &'a [Change]) -> Self {
        let patch = s.patch.as_ref();
        Self {
            branch: &s.branch,
            changes: s
                .changes
                .iter()
                .filter_map(|n| changes.iter().find(|c| c.number == *n))
                .map(ChangeObject::new)
                .collect(),
            codebase: &s.codebase,
            has_patch: patch.is_some(),
            patch_author: patch.and_then(|p| p.author.as_deref()),
            patch_body: patch.map(|p| p.body.as_str()),
            patch_comment: patch.and_then(|p| p.comment.as_deref()),
            patch_level: patch.map(|p| p.level),
            patch_subdir: patch.and_then(|p| p.subdir.as_deref()),
            project: &s.project,
            repository: &s.repository,
            revision: &s.revision,
        }
    }
}

/// A source stamp with its changes (those of `changes` it names, in its order).
pub fn source_stamp(s: &SourceStamp, changes: &[Change]) -> Value {
    tree(&SourceStampObject::new(s, changes))
}

/// A build's object (see [`build`]).
#[derive(Serialize)]
pub struct BuildObject<'a> {
    blame: &'a [String],
    #[serde(rename = "builderName")]
    builder_name: &'a str,
    #[serde(rename = "currentStep")]
    current_step: Option<StepObject<'a>>,
    eta: Option<f64>,
    logs: Vec<(&'a str, String)>,
    number: u32,
    properties: PropertyList<'a>,
    reason: &'a str,
    results: Option<u8>,
    slave: &'a str,
    #[serde(rename = "sourceStamps")]
    source_stamps: Vec<SourceStampObject<'a>>,
    steps: Vec<StepObject<'a>>,
    text: FullText<'a>,
    times: (f64, Option<f64>),
}

impl<'a> BuildObject<'a> {
    /// `changes` holds (at least) the changes `b`'s source stamps name; `now` gives `eta`.
    pub fn new(site: &'a Site, b: &'a Build, changes: &'a [Change], now: Timestamp) -> Self {
        Self {
            blame: &b.blamelist,
            builder_name: &b.builder,
            current_step: b.current_step().map(|s| StepObject::new(site, b, s, now)),
            eta: seconds_until(b.finished.is_none().then_some(b.eta).flatten(), now),
            logs: b.steps.iter().flat_map(|s| step_logs(site, b, s)).collect(),
            number: b.number,
            properties: PropertyList(&b.properties),
            reason: &b.reason,
            results: b.result.map(BuildResult::code),
            slave: if b.worker.is_empty() { "???" } else { b.worker.as_str() },
            source_stamps: b.sourcestamps.iter().map(|s| SourceStampObject::new(s, changes)).collect(),
            steps: b.steps.iter().map(|s| StepObject::new(site, b, s, now)).collect(),
            text: FullText(b),
            times: (seconds(b.started), b.finished.map(seconds)),
        }
    }
}

/// A build; `changes` holds (at least) the changes its source stamps name; `now` gives `eta`.
pub fn build(site: &Site, b: &Build, changes: &[Change], now: Timestamp) -> Value {
    tree(&BuildObject::new(site, b, changes, now))
}

/// Seconds from `now` to `eta` (none in the past), as 0.8's `eta` fields count; none without one.
fn seconds_until(eta: Option<Timestamp>, now: Timestamp) -> Option<f64> {
    eta.map(|eta| ((eta - now).num_milliseconds() as f64 / 1000.0).max(0.0))
}

/// A worker; `running` are its running builds, `builders` maps each builder that may use it
/// to the numbers of its recent finished builds run on this worker.
pub fn worker(w: &Worker, running: &[Value], builders: Map<String, Value>) -> Value {
    let mut info = Map::new();
    for (key, value) in [("admin", &w.admin), ("host", &w.host), ("version", &w.version), ("access_uri", &w.access_uri)]
    {
        if let Some(v) = value {
            info.insert(key.into(), json!(v));
        }
    }
    json!({
        "name": w.name,
        "access_uri": w.access_uri,
        "host": w.host,
        "admin": w.admin,
        "version": w.version,
        "connected": w.connected,
        "paused": w.paused,
        "runningBuilds": running,
        "info": info,
        "builders": builders,
    })
}

pub fn build_request(r: &BuildRequest, changes: &[Change]) -> Value {
    let source = r.sourcestamps.first().cloned().unwrap_or_default();
    json!({
        "source": source_stamp(&source, changes),
        "properties": properties(&r.properties),
        "builderName": r.builder,
        "submittedAt": epoch(r.submitted_at),
        "builds": Vec::<Value>::new(),
    })
}

/// A buildset as 0.8's `BuildSetStatus.asDict()` gave it (its database row: `submitted_at` and
/// `complete_at` as Python wrote a UTC datetime, `results` -1 until it completes; a buildset's
/// source stamps were a set of their own, here its id is the buildset's), with its source
/// stamps and builders, which 0.8 left to further queries. `/json` has no buildsets: push
/// packets carry this.
pub fn buildset(b: &Buildset, changes: &[Change]) -> Value {
    let python = |t: Timestamp| {
        let micros = t.timestamp_subsec_micros();
        let fraction = if micros == 0 { String::new() } else { format!(".{micros:06}") };
        format!("{}{fraction}+00:00", t.format("%Y-%m-%d %H:%M:%S"))
    };
    json!({
        "bsid": b.id,
        "external_idstring": b.external_id,
        "reason": b.reason,
        "sourcestampsetid": b.id,
        "submitted_at": python(b.submitted_at),
        "complete": b.complete_at.is_some(),
        "complete_at": b.complete_at.map(python),
        "results": b.result.map_or(-1, |r| i32::from(r.code())),
        "sourceStamps": b.sourcestamps.iter().map(|s| source_stamp(s, changes)).collect::<Vec<_>>(),
        "builderNames": b.builders,
    })
}

pub fn project(site: &Site) -> Value {
    json!({ "title": site.title, "titleURL": site.title_url, "buildbotURL": site.buildbot_url })
}

/// Metrics are not collected, so every map is empty (as in 0.8 with metrics off).
pub fn metrics() -> Value {
    json!({ "alarms": {}, "counters": {}, "timers": {} })
}

pub fn change_sources(descriptions: &[String]) -> Value {
    let map: Map<String, Value> =
        descriptions.iter().enumerate().map(|(i, d)| (i.to_string(), json!({ "description": d }))).collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{LogRef, Patch, Property};

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_600_000_000 + s, 123_000_000).unwrap_or_default()
    }

    /// Written straight, each object is the text of its tree: its fields are in key order.
    fn same_as_tree(object: &impl Serialize) {
        let text = serde_json::to_string(object).unwrap();
        assert_eq!(text, tree(object).to_string());
    }

    #[test]
    fn typed_objects_write_what_their_trees_write() {
        let props: Properties = [("b", json!(1)), ("a", json!({"z": [1, "x"], "y": null}))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Property { value: v, source: "Build".into() }))
            .collect();
        let change = Change {
            number: 7,
            who: "Ann <a&b>".into(),
            files: vec!["a.c".into(), "b/\"c\".h".into()],
            revision: Some("abc".into()),
            when: at(0),
            branch: Some("main".into()),
            properties: props.clone(),
            ..Change::default()
        };
        let stamp = SourceStamp {
            changes: vec![7, 8],
            patch: Some(Patch {
                level: 1,
                body: "diff".into(),
                subdir: None,
                author: Some("me".into()),
                comment: None,
            }),
            ..SourceStamp::default()
        };
        let step = |number: u32, finished: Option<Timestamp>| Step {
            number,
            name: format!("step {number}"),
            text: vec!["compile".into()],
            text2: vec![format!("summary {number}")],
            result: finished.map(|_| BuildResult::Warnings),
            started: Some(at(1)),
            finished,
            eta: Some(at(90)),
            logs: vec![LogRef { id: 1, name: "stdio".into(), kind: Default::default(), size: 0, finished: false }],
            urls: vec![("z".into(), "1".into()), ("a".into(), "2".into()), ("z".into(), "3".into())],
            statistics: [("warnings".to_owned(), json!(3))].into_iter().collect(),
            ..Step::default()
        };
        let build = Build {
            builder: "full <name>".into(),
            number: 3,
            properties: props,
            sourcestamps: vec![stamp.clone(), SourceStamp::default()],
            blamelist: vec!["Ann".into()],
            started: at(0),
            eta: Some(at(100)),
            text: vec!["building".into()],
            steps: vec![step(0, Some(at(5))), step(1, None)],
            ..Build::default()
        };
        let site = Site::default();
        let changes = [change.clone()];
        same_as_tree(&BuildObject::new(&site, &build, &changes, at(10)));
        same_as_tree(&StepObject::new(&site, &build, &build.steps[1], at(10)));
        same_as_tree(&ChangeObject::new(&change));
        same_as_tree(&SourceStampObject::new(&stamp, &changes));
        let builder =
            Builder { name: "a b/c".into(), tags: vec!["t".into()], workers: vec!["w".into()], ..Builder::default() };
        let facts =
            BuilderFacts { state: Some(BuilderState::Building), cached: vec![1, 2], running: vec![3], pending: 2 };
        same_as_tree(&BuilderObject::new(&builder, &facts));
        let tree = build_tree(&site, &build, &changes);
        assert_eq!(tree["text"], json!(["building", "summary 0", "summary 1"]));
        assert_eq!(tree["steps"][0]["urls"], json!({"a": "2", "z": "3"}));
        assert_eq!(tree["currentStep"]["step_number"], json!(1));
        assert_eq!(tree["sourceStamps"][0]["patch_author"], json!("me"));
        assert_eq!(basedir("a b/c.d-e_f"), "a_b_c.d-e_f");
    }

    fn build_tree(site: &Site, b: &Build, changes: &[Change]) -> Value {
        build(site, b, changes, at(10))
    }
}
