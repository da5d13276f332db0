//! The objects of the `/json` API (spec-web-machine §7.5), with Buildbot 0.8's exact keys so
//! existing consumers keep working. Times are float epoch seconds, results integer codes
//! (SUCCESS is `0`), and map keys that are numbers are strings.

use serde_json::{Map, Value, json};

use crate::domain::model::{
    Build, BuildRequest, Builder, BuilderState, Buildset, Change, Properties, SourceStamp, Step, Timestamp, Worker,
};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::domain::web::text::path;

fn epoch(t: Timestamp) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn opt_epoch(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, epoch)
}

fn result(r: Option<BuildResult>) -> Value {
    r.map_or(Value::Null, |r| json!(r.code()))
}

/// `[[name, value, source], ...]`, sorted by name.
pub fn properties(props: &Properties) -> Value {
    Value::Array(props.iter().map(|(k, p)| json!([k, p.value, p.source])).collect())
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
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

pub fn builder(b: &Builder, facts: &BuilderFacts) -> Value {
    let mut cached = facts.cached.clone();
    cached.extend(facts.running.iter().copied());
    cached.sort_unstable();
    cached.dedup();
    json!({
        "basedir": basedir(&b.name),
        "tags": if b.tags.is_empty() { Value::Null } else { json!(b.tags) },
        "category": b.category(),
        "slaves": b.workers,
        "schedulers": Vec::<String>::new(),
        "cachedBuilds": cached,
        "currentBuilds": facts.running,
        "state": facts.state.unwrap_or_default().name(),
        "pendingBuilds": facts.pending,
    })
}

/// The absolute URL of a step's log, from the site's `buildbotURL`.
fn log_url(site: &Site, build: &Build, step: &Step, log: &str) -> String {
    path::log(&site.buildbot_url, &build.builder, build.number, &step.name, log)
}

fn step_logs(site: &Site, build: &Build, s: &Step) -> Vec<Value> {
    s.logs.iter().map(|l| json!([l.name, log_url(site, build, s, &l.name)])).collect()
}

/// A step; `now` gives `eta` (seconds to its expected finish, while it has one).
pub fn step(site: &Site, build: &Build, s: &Step, now: Timestamp) -> Value {
    let urls: Map<String, Value> = s.urls.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "name": s.name,
        "text": s.text,
        "results": [result(s.result), s.text2],
        "isStarted": s.started.is_some(),
        "isFinished": s.finished.is_some(),
        "statistics": s.statistics,
        "times": [opt_epoch(s.started), opt_epoch(s.finished)],
        "expectations": Vec::<Value>::new(),
        "eta": seconds_until(s.finished.is_none().then_some(s.eta).flatten(), now),
        "urls": urls,
        "step_number": s.number,
        "hidden": s.hidden,
        "logs": step_logs(site, build, s),
    })
}

/// `at` of a change: `Www DD Mon YYYY HH:MM:SS` (UTC, as every time here).
pub fn change(c: &Change) -> Value {
    json!({
        "number": c.number,
        "branch": c.branch,
        "category": c.category,
        "who": c.who,
        "comments": c.comments,
        "revision": c.revision,
        "rev": c.revision,
        "when": c.when.timestamp(),
        "at": crate::domain::web::text::long_time(c.when),
        "files": c.files.iter().map(|f| json!({ "name": f })).collect::<Vec<_>>(),
        "revlink": c.revlink,
        "properties": properties(&c.properties),
        "repository": c.repository,
        "codebase": c.codebase,
        "project": c.project,
    })
}

/// A source stamp with its changes (those of `changes` it names, in its order).
pub fn source_stamp(s: &SourceStamp, changes: &[Change]) -> Value {
    let mut obj = json!({
        "revision": s.revision,
        "hasPatch": s.patch.is_some(),
        "branch": s.branch,
        "changes": s.changes.iter().filter_map(|n| changes.iter().find(|c| c.number == *n)).map(change).collect::<Vec<_>>(),
        "project": s.project,
        "repository": s.repository,
        "codebase": s.codebase,
    });
    if let (Some(p), Value::Object(map)) = (&s.patch, &mut obj) {
        map.insert("patch_level".into(), json!(p.level));
        map.insert("patch_body".into(), json!(p.body));
        for (key, value) in [("patch_subdir", &p.subdir), ("patch_author", &p.author), ("patch_comment", &p.comment)] {
            if let Some(v) = value {
                map.insert(key.into(), json!(v));
            }
        }
    }
    obj
}

/// A build; `changes` holds (at least) the changes its source stamps name; `now` gives `eta`.
pub fn build(site: &Site, b: &Build, changes: &[Change], now: Timestamp) -> Value {
    let logs: Vec<Value> = b.steps.iter().flat_map(|s| step_logs(site, b, s)).collect();
    let eta = seconds_until(b.finished.is_none().then_some(b.eta).flatten(), now);
    json!({
        "builderName": b.builder,
        "number": b.number,
        "sourceStamps": b.sourcestamps.iter().map(|s| source_stamp(s, changes)).collect::<Vec<_>>(),
        "reason": b.reason,
        "blame": b.blamelist,
        "properties": properties(&b.properties),
        "times": [epoch(b.started), opt_epoch(b.finished)],
        "text": b.full_text(),
        "results": result(b.result),
        "slave": if b.worker.is_empty() { "???" } else { b.worker.as_str() },
        "logs": logs,
        "eta": eta,
        "steps": b.steps.iter().map(|s| step(site, b, s, now)).collect::<Vec<_>>(),
        "currentStep": b.current_step().map_or(Value::Null, |s| step(site, b, s, now)),
    })
}

/// Seconds from `now` to `eta` (none in the past), as 0.8's `eta` fields count; null without one.
fn seconds_until(eta: Option<Timestamp>, now: Timestamp) -> Value {
    eta.map_or(Value::Null, |eta| json!(((eta - now).num_milliseconds() as f64 / 1000.0).max(0.0)))
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
