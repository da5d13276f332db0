//! `/json`: fetches what a node shows through the reader and answers with the domain's JSON
//! objects. Errors are JSON too, with the status that fits; only `help` pages are HTML.

use std::future::Future;
use std::pin::Pin;

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::pages::{find_build, named_builder, no_step, require_builder, running_builds};
use super::{WebContext, WebError};
use crate::domain::machine::json as obj;
use crate::domain::machine::json_help::{Examples, help_page};
use crate::domain::machine::json_tree::{
    JsonArgs, Node, StepRef, escape_markup, merge_at, render, select_segments, split_help,
};
use crate::domain::model::{Build, Builder, BuilderState, Change, Worker};
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::text::natural_cmp;
use crate::ports::{BuildQuery, ChangeQuery};

/// Changes listed by the `/json/changes` extension.
const RECENT_CHANGES: usize = 50;
/// `builders/NAME/builds` lists the numbers of the builds stored, the newest this many (a
/// builder with a million builds would otherwise answer megabytes of nulls).
const LISTED_BUILD_NUMBERS: usize = 10_000;

/// Answers `/json/...`; `segments` are the decoded path segments after `json`.
pub async fn answer(ctx: &WebContext, uri: &Uri, segments: &[String]) -> Response {
    if !ctx.site.provides("json") {
        return error(WebError::NotFound("/json is not provided on this server (provide_feeds)".to_owned()));
    }
    let (node_path, wants_help) = split_help(segments);
    let node = Node::parse(node_path);
    if wants_help {
        return match node {
            Some(_) => help(ctx, uri, node_path).await,
            None => error(WebError::NotFound(format!("No JSON resource /json/{}", node_path.join("/")))),
        };
    }
    let Some(node) = node else {
        return error(WebError::NotFound(format!("No JSON resource /json/{}", node_path.join("/"))));
    };
    let args = match JsonArgs::parse(&Args::parse(uri.query().unwrap_or(""))) {
        Ok(args) => args,
        Err(e) => return error(WebError::BadRequest(e.to_string())),
    };
    let value = match &args.select {
        None => resolve(ctx, &node, &args).await,
        Some(selects) => select(ctx, node_path, &node, selects, &args).await,
    };
    match value {
        Ok(value) => reply(ctx, uri, &args, render(value, &args)),
        Err(e) => error(e),
    }
}

async fn select(
    ctx: &WebContext,
    node_path: &[String],
    node: &Node,
    selects: &[String],
    args: &JsonArgs,
) -> Result<Value, WebError> {
    let mut result = Map::new();
    for select in selects {
        let sub = select_segments(select);
        let value = if sub.is_empty() {
            resolve(ctx, node, args).await?
        } else {
            let full: Vec<String> = node_path.iter().chain(sub.iter()).cloned().collect();
            match Node::parse(&full) {
                Some(child) => match resolve(ctx, &child, args).await {
                    Ok(v) => v,
                    Err(WebError::NotFound(_) | WebError::BadRequest(_)) => json!({ "error": "Not available" }),
                    Err(e) => return Err(e),
                },
                None => json!({ "error": "Not available" }),
            }
        };
        merge_at(&mut result, &sub, value);
    }
    Ok(Value::Object(result))
}

fn reply(ctx: &WebContext, uri: &Uri, args: &JsonArgs, body: String) -> Response {
    let content_type = match (&args.callback, args.as_text) {
        (Some(_), _) => "application/javascript; charset=utf-8",
        (None, true) => "text/plain; charset=utf-8",
        (None, false) => "application/json",
    };
    let expires = (ctx.clock.now() + chrono::Duration::seconds(60)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&expires) {
        headers.insert(header::EXPIRES, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !args.as_text {
        let path = uri.path().trim_end_matches('/');
        let name = if path == "/json" { "buildbot.json".to_owned() } else { format!("{path}.json") };
        // The path is still percent-encoded, so it holds no quote or line break.
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// A JSON error: `{"error": MESSAGE}` with its status.
fn error(e: WebError) -> Response {
    let (status, message) = match e {
        WebError::NotFound(m) => (StatusCode::NOT_FOUND, m),
        WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        WebError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
        WebError::Internal(m) => {
            tracing::error!("json request failed: {m}");
            (StatusCode::INTERNAL_SERVER_ERROR, "The server failed to answer; the details are in its log.".to_owned())
        }
    };
    let body = escape_markup(&json!({ "error": message }).to_string());
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn help(ctx: &WebContext, uri: &Uri, node_path: &[String]) -> Response {
    let page = Page::plain(&ctx.site, uri.path(), ctx.clock.now());
    let builders = ctx.reader.builders().await.unwrap_or_default();
    let workers = ctx.reader.workers().await.unwrap_or_default();
    let examples = Examples {
        builder: builders.iter().map(|b| b.name.clone()).min_by(|a, b| natural_cmp(a, b)),
        worker: workers.iter().map(|w| w.name.clone()).min_by(|a, b| natural_cmp(a, b)),
    };
    let markup = help_page(&page, node_path, &examples);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

type Resolved<'a> = Pin<Box<dyn Future<Output = Result<Value, WebError>> + Send + 'a>>;

/// The object of `node`.
fn resolve<'a>(ctx: &'a WebContext, node: &'a Node, args: &'a JsonArgs) -> Resolved<'a> {
    Box::pin(async move {
        Ok(match node {
            Node::Root => {
                let mut root = Map::new();
                for (key, child) in
                    [("builders", Node::Builders), ("slaves", Node::Slaves), ("change_sources", Node::ChangeSources)]
                {
                    root.insert(key.into(), resolve(ctx, &child, args).await?);
                }
                root.insert("project".into(), obj::project(&ctx.site));
                root.insert("metrics".into(), obj::metrics());
                Value::Object(root)
            }
            Node::Builders => {
                let workers = ctx.reader.workers().await?;
                let mut map = Map::new();
                for b in ctx.reader.builders().await? {
                    map.insert(b.name.clone(), builder(ctx, &b, &workers).await?);
                }
                Value::Object(map)
            }
            Node::Builder(name) => {
                let b = require_builder(ctx, name).await?;
                builder(ctx, &b, &ctx.reader.workers().await?).await?
            }
            Node::Builds(name) => {
                require_builder(ctx, name).await?;
                let numbers = ctx.reader.build_numbers(name, LISTED_BUILD_NUMBERS).await?;
                Value::Object(numbers.into_iter().rev().map(|n| (n.to_string(), Value::Null)).collect())
            }
            Node::BuildsAll(name) => {
                require_builder(ctx, name).await?;
                let builds = ctx.reader.builds(&BuildQuery::of_builder(name, args.max)).await?;
                let mut map = Map::new();
                for b in &builds {
                    map.insert(b.number.to_string(), build(ctx, b).await?);
                }
                Value::Object(map)
            }
            Node::Build(name, n) => build(ctx, &find_build(ctx, name, n).await?).await?,
            Node::SourceStamp(name, n) => {
                let b = find_build(ctx, name, n).await?;
                let stamp = b.sourcestamps.first().cloned().unwrap_or_default();
                obj::source_stamp(&stamp, &changes_of(ctx, &b).await?)
            }
            Node::StampChanges(name, n) => {
                let b = find_build(ctx, name, n).await?;
                let stamp = b.sourcestamps.first().cloned().unwrap_or_default();
                let changes = changes_of(ctx, &b).await?;
                let found = stamp.changes.iter().filter_map(|n| changes.iter().find(|c| c.number == *n));
                Value::Object(found.map(|c| (c.number.to_string(), obj::change(c))).collect())
            }
            Node::StampChange(name, n, id) => {
                let b = find_build(ctx, name, n).await?;
                let changes = changes_of(ctx, &b).await?;
                let in_stamp = b.sourcestamps.first().map(|s| s.changes.clone()).unwrap_or_default();
                let c =
                    changes.iter().find(|c| c.number.to_string() == *id && in_stamp.contains(&c.number)).ok_or_else(
                        || WebError::NotFound(format!("No change '{id}' in build #{} of '{name}'", b.number)),
                    )?;
                obj::change(c)
            }
            Node::Steps(name, n) => {
                let b = find_build(ctx, name, n).await?;
                Value::Object(
                    b.steps
                        .iter()
                        .map(|s| (s.number.to_string(), obj::step(&ctx.site, &b, s, ctx.clock.now())))
                        .collect(),
                )
            }
            Node::Step(name, n, step) => {
                let b = find_build(ctx, name, n).await?;
                let found = match step {
                    StepRef::Name(s) => b.step(s),
                    StepRef::Index(i) => {
                        let len = b.steps.len() as i64;
                        let i = if *i < 0 { len + i } else { *i };
                        usize::try_from(i).ok().and_then(|i| b.steps.get(i))
                    }
                };
                let label = match step {
                    StepRef::Name(s) => s.clone(),
                    StepRef::Index(i) => i.to_string(),
                };
                obj::step(&ctx.site, &b, found.ok_or_else(|| no_step(&b, &label))?, ctx.clock.now())
            }
            Node::BuilderSlaves(name) => {
                let (builders, workers) = (ctx.reader.builders().await?, ctx.reader.workers().await?);
                let mut map = Map::new();
                for w in &named_builder(&builders, name)?.workers {
                    map.insert(w.clone(), worker(ctx, &known_worker(&workers, w), &builders, args).await?);
                }
                Value::Object(map)
            }
            Node::BuilderSlave(name, w) => {
                let builders = ctx.reader.builders().await?;
                if !named_builder(&builders, name)?.workers.contains(w) {
                    return Err(WebError::NotFound(format!("Builder '{name}' has no slave '{w}'")));
                }
                worker(ctx, &known_worker(&ctx.reader.workers().await?, w), &builders, args).await?
            }
            Node::PendingBuilds(name) => {
                require_builder(ctx, name).await?;
                let mut list = Vec::new();
                for r in ctx.reader.pending_requests(Some(name)).await? {
                    let changes = load_changes(ctx, r.sourcestamps.iter().flat_map(|s| s.changes.iter())).await?;
                    list.push(obj::build_request(&r, &changes));
                }
                Value::Array(list)
            }
            Node::Slaves => {
                let (builders, mut map) = (ctx.reader.builders().await?, Map::new());
                for w in ctx.reader.workers().await? {
                    map.insert(w.name.clone(), worker(ctx, &w, &builders, args).await?);
                }
                Value::Object(map)
            }
            Node::Slave(name) => {
                let w = ctx.reader.workers().await?.into_iter().find(|w| &w.name == name);
                let w = w.ok_or_else(|| WebError::NotFound(format!("No such slave '{name}'")))?;
                worker(ctx, &w, &ctx.reader.builders().await?, args).await?
            }
            Node::Project => obj::project(&ctx.site),
            Node::ChangeSources => obj::change_sources(&ctx.change_sources),
            Node::Metrics => obj::metrics(),
            Node::Changes => {
                let changes =
                    ctx.reader.changes(&ChangeQuery { limit: RECENT_CHANGES, ..ChangeQuery::default() }).await?;
                Value::Object(changes.iter().map(|c| (c.number.to_string(), obj::change(c))).collect())
            }
            Node::Change(id) => {
                let n: u64 = id.parse().map_err(|_| WebError::BadRequest(format!("'{id}' is not a change number")))?;
                let c =
                    ctx.reader.change(n).await?.ok_or_else(|| WebError::NotFound(format!("No change number {n}")))?;
                obj::change(&c)
            }
        })
    })
}

/// A worker a builder names, or a disconnected one if the master never reported it.
/// The worker `name` as known, or one never seen (configured, not connected).
fn known_worker(workers: &[Worker], name: &str) -> Worker {
    let found = workers.iter().find(|w| w.name == name).cloned();
    found.unwrap_or_else(|| Worker { name: name.to_owned(), ..Worker::default() })
}

async fn builder(ctx: &WebContext, b: &Builder, workers: &[Worker]) -> Result<Value, WebError> {
    let running: Vec<u32> = running_builds(ctx, vec![b.name.clone()], None).await?.iter().map(|b| b.number).collect();
    let cached_q = BuildQuery {
        finished: Some(true),
        ..BuildQuery::of_builder(&b.name, crate::domain::machine::json_tree::CACHED_BUILDS)
    };
    let cached = ctx.reader.builds(&cached_q).await?.iter().map(|b| b.number).collect();
    let pending = ctx.reader.pending_requests(Some(&b.name)).await?.len();
    let connected = |name: &str| workers.iter().any(|w| w.name == name && w.connected);
    let state = BuilderState::of(b, connected, !running.is_empty());
    Ok(obj::builder(b, &obj::BuilderFacts { state: Some(state), cached, running, pending }))
}

async fn load_changes<'a>(ctx: &WebContext, numbers: impl Iterator<Item = &'a u64>) -> Result<Vec<Change>, WebError> {
    let mut changes = Vec::new();
    for n in numbers {
        changes.extend(ctx.reader.change(*n).await?);
    }
    Ok(changes)
}

async fn changes_of(ctx: &WebContext, b: &Build) -> Result<Vec<Change>, WebError> {
    load_changes(ctx, b.sourcestamps.iter().flat_map(|s| s.changes.iter())).await
}

async fn build(ctx: &WebContext, b: &Build) -> Result<Value, WebError> {
    Ok(obj::build(&ctx.site, b, &changes_of(ctx, b).await?, ctx.clock.now()))
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
