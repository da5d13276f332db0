//! The objects of `/json`'s resource tree: [`resolve`] picks the reader of a node's kind; each
//! reader makes bounded reads through the reader port and hands them to the domain's JSON
//! objects. No reader calls `resolve` again (the root reads its children directly), so no
//! node's future needs boxing.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::super::read::{
    find_build, known_worker, load_changes, named_builder, named_change, no_step, require_builder, require_worker,
    running_builds, state_of,
};
use super::super::{WebContext, WebError};
use crate::domain::machine::json as obj;
use crate::domain::machine::json_tree::{CACHED_BUILDS, Form, Json, JsonArgs, Node, StepRef};
use crate::domain::model::{Build, Builder, Change, Step, Worker};
use crate::domain::web::route::BuildNumber;
use crate::ports::{BuildQuery, ChangeQuery};

/// Changes listed by the `/json/changes` extension.
const RECENT_CHANGES: usize = 50;
/// `builders/NAME/builds` lists the numbers of the builds stored, the newest this many (a
/// builder with a million builds would otherwise answer megabytes of nulls).
const LISTED_BUILD_NUMBERS: usize = 10_000;

/// The object of `node`, in `form`.
pub(super) async fn resolve(ctx: &WebContext, node: &Node, args: &JsonArgs, form: Form) -> Result<Json, WebError> {
    match node {
        Node::Builders => every_builder(ctx, form).await,
        Node::Builder(name) => one_builder(ctx, name, form).await,
        Node::BuildsAll(name) => recent_builds(ctx, name, args.max, form).await,
        Node::Build(name, n) => one_build(ctx, name, n, form).await,
        other => Ok(Json::value(resolve_tree(ctx, other, args).await?, form)),
    }
}

/// The object of a node, as a tree: those pages ask for in bulk are written from typed
/// objects in either form ([`resolve`]); the rest are made as trees.
async fn resolve_tree(ctx: &WebContext, node: &Node, args: &JsonArgs) -> Result<Value, WebError> {
    match node {
        Node::Root => root(ctx, args).await,
        Node::Project => Ok(obj::project(&ctx.site)),
        Node::ChangeSources => Ok(obj::change_sources(&ctx.change_sources)),
        Node::Metrics => Ok(obj::metrics()),
        Node::Builders => Ok(every_builder(ctx, Form::Tree).await?.into_tree()),
        Node::Builder(name) => Ok(one_builder(ctx, name, Form::Tree).await?.into_tree()),
        Node::BuildsAll(name) => Ok(recent_builds(ctx, name, args.max, Form::Tree).await?.into_tree()),
        Node::Build(name, n) => Ok(one_build(ctx, name, n, Form::Tree).await?.into_tree()),
        Node::Builds(name) => build_numbers(ctx, name).await,
        Node::SourceStamp(name, n) => source_stamp(ctx, &find_build(ctx, name, n).await?).await,
        Node::StampChanges(name, n) => stamp_changes(ctx, &find_build(ctx, name, n).await?).await,
        Node::StampChange(name, n, id) => stamp_change(ctx, &find_build(ctx, name, n).await?, id).await,
        Node::Steps(name, n) => {
            let b = find_build(ctx, name, n).await?;
            let now = ctx.clock.now();
            Ok(Value::Object(
                b.steps.iter().map(|s| (s.number.to_string(), obj::step(&ctx.site, &b, s, now))).collect(),
            ))
        }
        Node::Step(name, n, step) => {
            let b = find_build(ctx, name, n).await?;
            Ok(obj::step(&ctx.site, &b, find_step(&b, step)?, ctx.clock.now()))
        }
        Node::BuilderSlaves(name) => builder_slaves(ctx, name, args).await,
        Node::BuilderSlave(name, w) => builder_slave(ctx, name, w, args).await,
        Node::PendingBuilds(name) => pending_builds(ctx, name).await,
        Node::Slaves => every_slave(ctx, args).await,
        Node::Slave(name) => worker(ctx, &require_worker(ctx, name).await?, &ctx.reader.builders().await?, args).await,
        Node::Changes => {
            let changes = ctx.reader.changes(&ChangeQuery { limit: RECENT_CHANGES, ..ChangeQuery::default() }).await?;
            Ok(Value::Object(changes.iter().map(|c| (c.number.to_string(), obj::change(c))).collect()))
        }
        Node::Change(id) => Ok(obj::change(&named_change(ctx, id).await?)),
    }
}

/// `/json`: builders, slaves and change sources, with the project and the metrics.
async fn root(ctx: &WebContext, args: &JsonArgs) -> Result<Value, WebError> {
    let mut root = Map::new();
    root.insert("builders".into(), every_builder(ctx, Form::Tree).await?.into_tree());
    root.insert("slaves".into(), every_slave(ctx, args).await?);
    root.insert("change_sources".into(), obj::change_sources(&ctx.change_sources));
    root.insert("project".into(), obj::project(&ctx.site));
    root.insert("metrics".into(), obj::metrics());
    Ok(Value::Object(root))
}

/// Every builder's object, by name: read first, then written into one buffer.
async fn every_builder(ctx: &WebContext, form: Form) -> Result<Json, WebError> {
    let workers = ctx.reader.workers().await?;
    let builders = ctx.reader.builders().await?;
    let mut facts = Vec::with_capacity(builders.len());
    for b in &builders {
        facts.push(builder_facts(ctx, b, &workers).await?);
    }
    let objects: BTreeMap<&str, obj::BuilderObject<'_>> =
        builders.iter().zip(&facts).map(|(b, facts)| (b.name.as_str(), obj::BuilderObject::new(b, facts))).collect();
    Ok(Json::of(&objects, form))
}

/// `builders/NAME`.
async fn one_builder(ctx: &WebContext, name: &str, form: Form) -> Result<Json, WebError> {
    let b = require_builder(ctx, name).await?;
    let facts = builder_facts(ctx, &b, &ctx.reader.workers().await?).await?;
    Ok(Json::of(&obj::BuilderObject::new(&b, &facts), form))
}

/// `builders/NAME/builds/N`.
async fn one_build(ctx: &WebContext, name: &str, n: &BuildNumber, form: Form) -> Result<Json, WebError> {
    let b = find_build(ctx, name, n).await?;
    let changes = changes_of(ctx, &b).await?;
    Ok(Json::of(&obj::BuildObject::new(&ctx.site, &b, &changes, ctx.clock.now()), form))
}

/// What one builder's object shows beyond its configuration; `workers` are every worker (read
/// once by the caller for many builders).
async fn builder_facts(ctx: &WebContext, b: &Builder, workers: &[Worker]) -> Result<obj::BuilderFacts, WebError> {
    let (state, running) = state_of(ctx, b, workers).await?;
    let running: Vec<u32> = running.iter().map(|b| b.number).collect();
    let cached_q = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(&b.name, CACHED_BUILDS) };
    let cached = ctx.reader.builds(&cached_q).await?.iter().map(|b| b.number).collect();
    let pending = ctx.reader.pending_requests(Some(&b.name)).await?.len();
    Ok(obj::BuilderFacts { state: Some(state), cached, running, pending })
}

/// `builders/NAME/builds`: the numbers stored, each mapped to null.
async fn build_numbers(ctx: &WebContext, name: &str) -> Result<Value, WebError> {
    require_builder(ctx, name).await?;
    let numbers = ctx.reader.build_numbers(name, LISTED_BUILD_NUMBERS).await?;
    Ok(Value::Object(numbers.into_iter().rev().map(|n| (n.to_string(), Value::Null)).collect()))
}

/// `builders/NAME/builds/_all`: the `max` newest builds.
async fn recent_builds(ctx: &WebContext, name: &str, max: usize, form: Form) -> Result<Json, WebError> {
    require_builder(ctx, name).await?;
    let builds = ctx.reader.builds(&BuildQuery::of_builder(name, max)).await?;
    let mut changes = Vec::with_capacity(builds.len());
    for b in &builds {
        changes.push(changes_of(ctx, b).await?);
    }
    let now = ctx.clock.now();
    let objects: BTreeMap<String, obj::BuildObject<'_>> = builds
        .iter()
        .zip(&changes)
        .map(|(b, changes)| (b.number.to_string(), obj::BuildObject::new(&ctx.site, b, changes, now)))
        .collect();
    Ok(Json::of(&objects, form))
}

/// A build's object as a tree.
async fn build(ctx: &WebContext, b: &Build) -> Result<Value, WebError> {
    Ok(obj::build(&ctx.site, b, &changes_of(ctx, b).await?, ctx.clock.now()))
}

/// The changes of every source stamp of `b` that the store knows.
async fn changes_of(ctx: &WebContext, b: &Build) -> Result<Vec<Change>, WebError> {
    load_changes(ctx, b.sourcestamps.iter().flat_map(|s| s.changes.iter())).await
}

/// A build's `source_stamp`: its first source stamp (0.8 had one per build).
async fn source_stamp(ctx: &WebContext, b: &Build) -> Result<Value, WebError> {
    let stamp = b.sourcestamps.first().cloned().unwrap_or_default();
    Ok(obj::source_stamp(&stamp, &changes_of(ctx, b).await?))
}

/// `source_stamp/changes`: the first source stamp's changes, by number.
async fn stamp_changes(ctx: &WebContext, b: &Build) -> Result<Value, WebError> {
    let stamp = b.sourcestamps.first().cloned().unwrap_or_default();
    let changes = changes_of(ctx, b).await?;
    let found = stamp.changes.iter().filter_map(|n| changes.iter().find(|c| c.number == *n));
    Ok(Value::Object(found.map(|c| (c.number.to_string(), obj::change(c))).collect()))
}

/// `source_stamp/changes/ID`: one change of the first source stamp.
async fn stamp_change(ctx: &WebContext, b: &Build, id: &str) -> Result<Value, WebError> {
    let changes = changes_of(ctx, b).await?;
    let in_stamp = b.sourcestamps.first().map(|s| s.changes.clone()).unwrap_or_default();
    let found = changes.iter().find(|c| c.number.to_string() == id && in_stamp.contains(&c.number));
    let missing = || WebError::NotFound(format!("No change '{id}' in build #{} of '{}'", b.number, b.builder));
    Ok(obj::change(found.ok_or_else(missing)?))
}

/// The step `step` names: by name, or by index (negative counts from the last).
fn find_step<'b>(b: &'b Build, step: &StepRef) -> Result<&'b Step, WebError> {
    let (found, label) = match step {
        StepRef::Name(s) => (b.step(s), s.clone()),
        StepRef::Index(i) => {
            let len = b.steps.len() as i64;
            let index = if *i < 0 { len + i } else { *i };
            (usize::try_from(index).ok().and_then(|i| b.steps.get(i)), i.to_string())
        }
    };
    found.ok_or_else(|| no_step(b, &label))
}

/// `builders/NAME/slaves`: the builder's workers, known or not.
async fn builder_slaves(ctx: &WebContext, name: &str, args: &JsonArgs) -> Result<Value, WebError> {
    let (builders, workers) = (ctx.reader.builders().await?, ctx.reader.workers().await?);
    let mut map = Map::new();
    for w in &named_builder(&builders, name)?.workers {
        map.insert(w.clone(), worker(ctx, &known_worker(&workers, w), &builders, args).await?);
    }
    Ok(Value::Object(map))
}

/// `builders/NAME/slaves/WORKER`: one of them (404 for a worker the builder does not name).
async fn builder_slave(ctx: &WebContext, name: &str, w: &str, args: &JsonArgs) -> Result<Value, WebError> {
    let builders = ctx.reader.builders().await?;
    if !named_builder(&builders, name)?.workers.iter().any(|named| named == w) {
        return Err(WebError::NotFound(format!("Builder '{name}' has no slave '{w}'")));
    }
    worker(ctx, &known_worker(&ctx.reader.workers().await?, w), &builders, args).await
}

/// `builders/NAME/pendingBuilds`: the requests waiting, with their changes.
async fn pending_builds(ctx: &WebContext, name: &str) -> Result<Value, WebError> {
    require_builder(ctx, name).await?;
    let mut list = Vec::new();
    for r in ctx.reader.pending_requests(Some(name)).await? {
        let changes = load_changes(ctx, r.sourcestamps.iter().flat_map(|s| s.changes.iter())).await?;
        list.push(obj::build_request(&r, &changes));
    }
    Ok(Value::Array(list))
}

async fn every_slave(ctx: &WebContext, args: &JsonArgs) -> Result<Value, WebError> {
    let (builders, mut map) = (ctx.reader.builders().await?, Map::new());
    for w in ctx.reader.workers().await? {
        map.insert(w.name.clone(), worker(ctx, &w, &builders, args).await?);
    }
    Ok(Value::Object(map))
}

/// One worker's object; `builders` are every builder (read once by the caller for many workers).
async fn worker(ctx: &WebContext, w: &Worker, builders: &[Builder], args: &JsonArgs) -> Result<Value, WebError> {
    let mut running = Vec::new();
    for b in running_builds(ctx, Vec::new(), Some(w.name.clone())).await? {
        running.push(build(ctx, &b).await?);
    }
    let mut of_worker = Map::new();
    for b in builders.iter().filter(|b| b.workers.contains(&w.name)) {
        let recent = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(&b.name, args.numbuilds) };
        let numbers: Vec<u32> =
            ctx.reader.builds(&recent).await?.iter().filter(|x| x.worker == w.name).map(|x| x.number).collect();
        of_worker.insert(b.name.clone(), json!(numbers));
    }
    Ok(obj::worker(w, &running, of_worker))
}
