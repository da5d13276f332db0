//! The HTML pages other than the views: each route's handler says how its page is framed
//! ([`Frame`]) and which reader renders it; each reader gathers what its page shows through the
//! reader port, then hands it to the page's pure renderer in `domain::web::pages`.

use axum::response::{IntoResponse, Redirect};
use maud::Markup;
use minijinja::context;

use super::call::{Answer, Call};
use super::html::{self, Frame, ser};
use super::read::{
    MAX_SEARCH, branch_scan, find_build, known_worker, last_finished, load_changes, named_change, no_step,
    require_builder, require_worker, running_builds, state_of,
};
use super::{WebContext, WebError};
use crate::domain::model::property_string;
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::pages::{self, BuilderPage, BuilderRow, WorkerPage, WorkerRow};
use crate::domain::web::route::BuildNumber;
use crate::domain::web::text::{self, natural_cmp, path_to_root};
use crate::ports::{BuildOrder, BuildQuery, ChangeQuery, owned};

/// Changes listed on `/changes` and at most loaded for a build page.
const CHANGES_SHOWN: usize = 50;

/// `/`: the welcome page.
pub async fn home(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, async |ctx, page, _| {
        let shutting_down = ctx.master.get().shutting_down().await;
        html::drawn(ctx, page, "root.html", || context! { shutting_down }, || pages::home_page(page, shutting_down))
    })
    .await
}

/// `/about`: versions of the server and its libraries.
pub async fn about(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, async |ctx, page, _| {
        let libraries = libraries();
        let data =
            || context! { libraries => ser(&libraries.iter().copied().collect::<std::collections::BTreeMap<_, _>>()) };
        html::drawn(ctx, page, "about.html", data, || pages::about_page(page, &libraries))
    })
    .await
}

/// `/builders`: every builder's last build and what it does now.
pub async fn builders(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN.live(), render_builders).await
}

/// `/builders/NAME` and `/builders/NAME/builds`: one builder's builds, requests and workers.
pub async fn builder(ctx: &WebContext, call: Call) -> Answer {
    let name = call.param("builder")?;
    let frame = Frame::PLAIN.live().no_cache();
    html::page(ctx, &call, frame, async |ctx, page, args| render_builder(ctx, page, args, name).await).await
}

/// `/builders/NAME/builds/N`.
pub async fn build(ctx: &WebContext, call: Call) -> Answer {
    let (name, number) = (call.param("builder")?, call.build_number("number")?);
    let frame = Frame::PLAIN.live().no_cache();
    html::page(ctx, &call, frame, async |ctx, page, _| render_build(ctx, page, name, &number).await).await
}

/// `/builders/NAME/builds/N/steps`: no page of its own; the build's page lists the steps.
pub async fn steps(ctx: &WebContext, call: Call) -> Answer {
    let build = find_build(ctx, call.param("builder")?, &call.build_number("number")?).await?;
    let to = format!("{}/builds/{}", text::path::builder(&path_to_root(call.path()), &build.builder), build.number);
    Ok(Redirect::to(&to).into_response())
}

/// `/builders/NAME/builds/N/steps/STEP` (and `…/logs`, which names the same page).
pub async fn step(ctx: &WebContext, call: Call) -> Answer {
    let (name, number, step) = (call.param("builder")?, call.build_number("number")?, call.param("step")?);
    let frame = Frame::PLAIN.no_cache();
    html::page(ctx, &call, frame, async |ctx, page, _| {
        let build = find_build(ctx, name, &number).await?;
        let found = build.step(step).ok_or_else(|| no_step(&build, step))?;
        html::drawn(
            ctx,
            page,
            "buildstep.html",
            || context! { build => ser(&build), step => ser(found) },
            || pages::step_page(page, &build, found),
        )
    })
    .await
}

/// `/builders/NAME/builds/N/tests`: no page of its own, as in 0.8 (the build page lists them).
pub async fn tests(ctx: &WebContext, call: Call) -> Answer {
    find_build(ctx, call.param("builder")?, &call.build_number("number")?).await?;
    Ok("subpages show data for each test".into_response())
}

/// `/builders/NAME/builds/N/tests/A.B.C`: one test result.
pub async fn test(ctx: &WebContext, call: Call) -> Answer {
    let (name, number, test) = (call.param("builder")?, call.build_number("number")?, call.param("test")?);
    html::page(ctx, &call, Frame::PLAIN.no_cache(), async |ctx, page, _| {
        let build = find_build(ctx, name, &number).await?;
        let found = build.test(test).ok_or_else(|| {
            WebError::NotFound(format!("No test '{test}' in build #{} of builder '{}'", build.number, build.builder))
        })?;
        html::drawn(
            ctx,
            page,
            "testresult.html",
            || context! { build => ser(&build), test => ser(found) },
            || pages::test_page(page, &build, found),
        )
    })
    .await
}

/// `/one_line_per_build`: the newest finished builds of every builder.
pub async fn one_line_per_build(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, render_one_line_per_build).await
}

/// `/one_line_per_build/NAME`: the newest finished builds of one builder.
pub async fn one_line_per_builder(ctx: &WebContext, call: Call) -> Answer {
    let name = call.param("builder")?;
    html::page(ctx, &call, Frame::PLAIN, async |ctx, page, args| {
        render_one_line_per_builder(ctx, page, args, name).await
    })
    .await
}

/// `/one_box_per_builder`: 0.8's old name of `/builders`.
pub async fn one_box_per_builder(_: &WebContext, call: Call) -> Answer {
    // Relative to the root, so that `/one_box_per_builder/` (and a proxy's prefix) lands too.
    Ok(Redirect::to(&format!("{}builders", path_to_root(call.path()))).into_response())
}

/// `/changes`: the change sources and the newest changes.
pub async fn changes(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, async |ctx, page, _| {
        let recent = ctx.reader.changes(&ChangeQuery { limit: CHANGES_SHOWN, ..ChangeQuery::default() }).await?;
        let data = || context! { sources => ser(&ctx.change_sources), changes => ser(&recent) };
        html::drawn(ctx, page, "changes.html", data, || pages::changes_page(page, &ctx.change_sources, &recent))
    })
    .await
}

/// `/changes/N`.
pub async fn change(ctx: &WebContext, call: Call) -> Answer {
    let number = call.param("number")?;
    html::page(ctx, &call, Frame::PLAIN, async |ctx, page, _| {
        let change = named_change(ctx, number).await?;
        html::drawn(
            ctx,
            page,
            "change.html",
            || context! { change => ser(&change) },
            || pages::change_page(page, &change),
        )
    })
    .await
}

/// `/buildslaves`: every worker.
pub async fn workers(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, render_workers).await
}

/// `/buildslaves/NAME`.
pub async fn worker(ctx: &WebContext, call: Call) -> Answer {
    let name = call.param("worker")?;
    let frame = Frame::PLAIN.no_cache();
    html::page(ctx, &call, frame, async |ctx, page, args| render_worker(ctx, page, args, name).await).await
}

/// `/buildslaves/NAME/anything`: 0.8 sent every other child of a worker to its page.
/// (The worker's page says whether it exists.)
pub async fn worker_child(_: &WebContext, call: Call) -> Answer {
    Ok(Redirect::to(&text::path::worker(&path_to_root(call.path()), call.param("worker")?)).into_response())
}

fn libraries() -> Vec<(&'static str, &'static str)> {
    env!("BUILDSTATUS_LIBRARIES").split(',').filter_map(|p| p.split_once('=')).collect()
}

async fn render_build(ctx: &WebContext, page: &Page<'_>, name: &str, number: &BuildNumber) -> Result<Markup, WebError> {
    let build = find_build(ctx, name, number).await?;
    let changes =
        load_changes(ctx, build.sourcestamps.iter().flat_map(|s| s.changes.iter()).take(CHANGES_SHOWN)).await?;
    let worker_known = ctx.reader.workers().await?.iter().any(|w| w.name == build.worker);
    let builder = require_builder(ctx, &build.builder).await?;
    let data = || context! { builder => ser(&builder), build => ser(&build), changes => ser(&changes), worker_known };
    html::drawn(ctx, page, "build.html", data, || pages::build_page(page, &builder, &build, &changes, worker_known))
}

/// The builders a page lists: `builder=` names in order (unknown ones dropped), else all in
/// natural order, narrowed by `tag=`/`category=`.
async fn chosen_builders(ctx: &WebContext, args: &Args) -> Result<Vec<crate::domain::model::Builder>, WebError> {
    let mut all = ctx.reader.builders().await?;
    let named = args.all("builder");
    if !named.is_empty() {
        return Ok(named.iter().filter_map(|n| all.iter().find(|b| &b.name == n).cloned()).collect());
    }
    all.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let tags = args.tags();
    Ok(all.into_iter().filter(|b| tags.is_empty() || b.matches_any_tag(&tags)).collect())
}

async fn render_builders(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let branches = args.branches();
    let workers = ctx.reader.workers().await?;
    let mut rows = Vec::new();
    for builder in chosen_builders(ctx, args).await? {
        let last = last_finished(ctx, &builder.name, &branches).await?;
        let (state, running) = state_of(ctx, &builder, &workers).await?;
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        rows.push(BuilderRow { builder, state, last, running, pending });
    }
    let schedulers = ctx.master.get().force_schedulers().await;
    let branches = branches.describe();
    let data = || context! { rows => ser(&rows), branches => &branches };
    html::drawn(ctx, page, "builders.html", data, || pages::builders_page(page, &rows, &branches, &schedulers, args))
}

async fn render_builder(ctx: &WebContext, page: &Page<'_>, args: &Args, name: &str) -> Result<Markup, WebError> {
    let builder = require_builder(ctx, name).await?;
    let numbuilds = args.rows("numbuilds", ctx.site.builder_numbuilds)?;
    let maxsearch = args.rows("maxsearch", MAX_SEARCH)?;
    let filters = args.property_filters();
    let keep = |props: &crate::domain::model::Properties| {
        filters.iter().all(|(k, v)| props.get(k).is_some_and(|p| &property_string(&p.value) == v))
    };
    let mut running = running_builds(ctx, vec![name.to_owned()], None).await?;
    running.retain(|b| keep(&b.properties));
    let mut pending = ctx.reader.pending_requests(Some(name)).await?;
    pending.retain(|r| keep(&r.properties));
    let scan = if filters.is_empty() { numbuilds } else { maxsearch.max(numbuilds) };
    let mut recent =
        ctx.reader.builds(&BuildQuery { finished: Some(true), ..BuildQuery::of_builder(name, scan) }).await?;
    recent.retain(|b| keep(&b.properties));
    recent.truncate(numbuilds);
    let recent = owned(recent);
    let known = ctx.reader.workers().await?;
    let workers = builder.workers.iter().map(|w| known_worker(&known, w)).collect();
    let mut schedulers = ctx.master.get().force_schedulers().await;
    schedulers.retain(|s| s.builders.iter().any(|b| b == name));
    schedulers.sort_by(|a, b| a.name.cmp(&b.name));
    let args = args.clone();
    let data = BuilderPage { builder, running, pending, recent, workers, numbuilds, schedulers, args };
    html::drawn(ctx, page, "builder.html", || ser(&data), || pages::builder_page(page, &data))
}

async fn render_one_line_per_build(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let numbuilds = args.rows("numbuilds", ctx.site.numbuilds)?;
    let branches = args.branches();
    let named = args.all("builder");
    let builders: Vec<String> = if named.is_empty() {
        Vec::new()
    } else {
        chosen_builders(ctx, args).await?.into_iter().map(|b| b.name).collect()
    };
    if !named.is_empty() && builders.is_empty() {
        return Err(WebError::NotFound(format!("No such builder: {}", named.join(", "))));
    }
    // A scan applies per builder named: a branch filter names them all.
    let scan = branch_scan(&branches, numbuilds);
    let listed = match scan {
        Some(_) if builders.is_empty() => ctx.reader.builders().await?.into_iter().map(|b| b.name).collect(),
        _ => builders.clone(),
    };
    let query = BuildQuery {
        builders: listed,
        branches: branches.clone(),
        finished: Some(true),
        order: BuildOrder::FinishedDesc,
        scan,
        limit: numbuilds,
        ..BuildQuery::default()
    };
    let builds = owned(ctx.reader.builds(&query).await?);
    let branches = branches.describe();
    let data = || context! { builds => ser(&builds), branches => &branches, builders => ser(&builders) };
    html::drawn(ctx, page, "onelineperbuild.html", data, || {
        pages::one_line_per_build(page, &builds, &branches, &builders)
    })
}

async fn render_workers(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let mut workers = ctx.reader.workers().await?;
    workers.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let mut builders = ctx.reader.builders().await?;
    builders.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let running = running_builds(ctx, Vec::new(), None).await?;
    let rows: Vec<WorkerRow> = workers
        .into_iter()
        .map(|w| WorkerRow {
            builders: builders.iter().filter(|b| b.workers.contains(&w.name)).map(|b| b.name.clone()).collect(),
            running: running.iter().filter(|b| b.worker == w.name).count(),
            worker: w,
        })
        .collect();
    let show_builders = args.first("no_builders") != Some("1");
    let data = || context! { rows => ser(&rows), show_builders };
    html::drawn(ctx, page, "buildslaves.html", data, || pages::workers_page(page, &rows, show_builders))
}

async fn render_worker(ctx: &WebContext, page: &Page<'_>, args: &Args, name: &str) -> Result<Markup, WebError> {
    let worker = require_worker(ctx, name).await?;
    let numbuilds = args.rows("numbuilds", 10)?;
    let running = running_builds(ctx, Vec::new(), Some(name.to_owned())).await?;
    let query = BuildQuery {
        worker: Some(name.to_owned()),
        finished: Some(true),
        order: BuildOrder::FinishedDesc,
        limit: numbuilds,
        ..BuildQuery::default()
    };
    let recent = owned(ctx.reader.builds(&query).await?);
    let data = WorkerPage { worker, running, recent };
    html::drawn(ctx, page, "buildslave.html", || ser(&data), || pages::worker_page(page, &data))
}

async fn render_one_line_per_builder(
    ctx: &WebContext,
    page: &Page<'_>,
    args: &Args,
    name: &str,
) -> Result<Markup, WebError> {
    require_builder(ctx, name).await?;
    let numbuilds = args.rows("numbuilds", ctx.site.numbuilds)?;
    let branches = args.branches();
    let query = BuildQuery {
        branches: branches.clone(),
        finished: Some(true),
        scan: branch_scan(&branches, numbuilds),
        ..BuildQuery::of_builder(name, numbuilds)
    };
    let builds = owned(ctx.reader.builds(&query).await?);
    let branches = branches.describe();
    let data = || context! { builder => name, builds => ser(&builds), branches => &branches };
    html::drawn(ctx, page, "onelineperbuildonebuilder.html", data, || {
        pages::one_line_per_builder(page, name, &builds, &branches)
    })
}
