//! Reads several handlers make the same way: the builder or build a URL names (or the error
//! that says it does not exist), a builder's running builds and state, and how deep a branch
//! filter looks. The pages, the views, `/json`, the logs and the images all use them, so they
//! live apart from each of those (which then never import one another).

use super::{WebContext, WebError};
use crate::domain::model::{Build, Builder, BuilderState, Change, Worker};
use crate::domain::web::args::BranchFilter;
use crate::domain::web::route::BuildNumber;
use crate::ports::{BuildQuery, owned};

/// Builds a page scans at most to find the ones its filters keep.
pub(super) const MAX_SEARCH: usize = 200;
/// Enough for "every running build" of one builder or worker.
const ALL_RUNNING: usize = 10_000;

/// The builder a URL names, or 404.
pub(super) async fn require_builder(ctx: &WebContext, name: &str) -> Result<Builder, WebError> {
    ctx.reader.builder(name).await?.ok_or_else(|| no_builder(name))
}

fn no_builder(name: &str) -> WebError {
    WebError::NotFound(format!("No such builder '{name}'"))
}

/// The builder `name` among `builders`, or the 404 that says it does not exist.
pub(super) fn named_builder<'a>(builders: &'a [Builder], name: &str) -> Result<&'a Builder, WebError> {
    builders.iter().find(|b| b.name == name).ok_or_else(|| no_builder(name))
}

/// The build a URL names, or the error to answer with: 400 for a number that is not one, 404
/// for a builder or build that does not exist.
pub(super) async fn find_build(ctx: &WebContext, builder: &str, number: &BuildNumber) -> Result<Build, WebError> {
    if let BuildNumber::Invalid(text) = number {
        return Err(WebError::BadRequest(format!("build number '{text}' is not a number")));
    }
    require_builder(ctx, builder).await?;
    let newest = ctx.reader.newest_build_number(builder).await?;
    let missing = || WebError::NotFound(format!("No build {} of builder '{builder}'", describe(number)));
    let n = number.resolve(newest).ok_or_else(missing)?;
    ctx.reader.build(builder, n).await?.ok_or_else(missing)
}

/// A build number as an error message names it.
fn describe(number: &BuildNumber) -> String {
    match number {
        BuildNumber::Absolute(n) => format!("#{n}"),
        BuildNumber::FromEnd(n) => format!("-{n}"),
        BuildNumber::Invalid(t) => t.clone(),
    }
}

/// The 404 for a step the build does not have.
pub(super) fn no_step(build: &Build, step: &str) -> WebError {
    WebError::NotFound(format!("No step '{step}' in build #{} of builder '{}'", build.number, build.builder))
}

/// The change a URL names (its number as written), or the error to answer with.
pub(super) async fn named_change(ctx: &WebContext, number: &str) -> Result<Change, WebError> {
    let n: u64 = number.parse().map_err(|_| WebError::BadRequest(format!("'{number}' is not a change number")))?;
    ctx.reader.change(n).await?.ok_or_else(|| WebError::NotFound(format!("No change number {n}")))
}

/// The changes numbered `numbers` that the store knows, in that order.
pub(super) async fn load_changes<'a>(
    ctx: &WebContext,
    numbers: impl Iterator<Item = &'a u64>,
) -> Result<Vec<Change>, WebError> {
    let mut changes = Vec::new();
    for n in numbers {
        changes.extend(ctx.reader.change(*n).await?);
    }
    Ok(changes)
}

/// The worker a URL names, or 404.
pub(super) async fn require_worker(ctx: &WebContext, name: &str) -> Result<Worker, WebError> {
    let found = ctx.reader.workers().await?.into_iter().find(|w| w.name == name);
    found.ok_or_else(|| WebError::NotFound(format!("No such slave '{name}'")))
}

/// The worker `name` among `workers`, or one never seen (a builder's configured worker that
/// never connected).
pub(super) fn known_worker(workers: &[Worker], name: &str) -> Worker {
    let found = workers.iter().find(|w| w.name == name).cloned();
    found.unwrap_or_else(|| Worker { name: name.to_owned(), ..Worker::default() })
}

/// The running builds of `builders` (all when empty), of `worker` when given.
pub(super) async fn running_builds(
    ctx: &WebContext,
    builders: Vec<String>,
    worker: Option<String>,
) -> Result<Vec<Build>, WebError> {
    let query = BuildQuery { builders, worker, finished: Some(false), limit: ALL_RUNNING, ..BuildQuery::default() };
    Ok(owned(ctx.reader.builds(&query).await?))
}

/// What `builder` is doing (offline, idle or building), and its running builds; `workers` are
/// every worker, read once by the caller for many builders.
pub(super) async fn state_of(
    ctx: &WebContext,
    builder: &Builder,
    workers: &[Worker],
) -> Result<(BuilderState, Vec<Build>), WebError> {
    let running = running_builds(ctx, vec![builder.name.clone()], None).await?;
    let connected = |w: &str| workers.iter().any(|x| x.name == w && x.connected);
    Ok((BuilderState::of(builder, connected, !running.is_empty()), running))
}

/// The newest finished build of `builder` on one of `branches` (the "last build" boxes).
pub(super) async fn last_finished(
    ctx: &WebContext,
    builder: &str,
    branches: &BranchFilter,
) -> Result<Option<Build>, WebError> {
    let query = BuildQuery {
        branches: branches.clone(),
        finished: Some(true),
        scan: branch_scan(branches, 1),
        ..BuildQuery::of_builder(builder, 1)
    };
    Ok(ctx.reader.builds(&query).await?.into_iter().next().map(std::sync::Arc::unwrap_or_clone))
}

/// How many of each builder's newest builds a branch-filtered listing of `rows` builds looks
/// at (0.8 scanned 200): a branch no recent build is on must not walk the whole history.
pub(super) fn branch_scan(branches: &BranchFilter, rows: usize) -> Option<usize> {
    (!branches.is_all()).then_some(MAX_SEARCH.max(rows))
}
