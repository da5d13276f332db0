//! The HTML pages: gathers what each page shows through the reader, then renders it.

use axum::http::{Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;

use bytes::Bytes;

use super::read::{
    MAX_SEARCH, branch_scan, find_build, last_finished, no_step, require_builder, running_builds, state_of,
};
use super::view_cache::ViewKey;
use super::{WebContext, WebError, views};
use crate::domain::model::{Worker, property_string};
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::pages::{self, BuilderPage, BuilderRow, WorkerPage, WorkerRow};
use crate::domain::web::route::Route;
use crate::domain::web::text::{natural_cmp, path_to_root};
use crate::ports::{BuildOrder, BuildQuery, ChangeQuery};

/// Changes listed on `/changes` and at most loaded for a build page.
const CHANGES_SHOWN: usize = 50;

pub async fn page(ctx: &WebContext, uri: &Uri, route: Route) -> Result<Response, WebError> {
    let args = Args::parse(uri.query().unwrap_or(""));
    let reload = match (&route, args.first("reload")) {
        // The console reloads every minute unless told otherwise; `0` turns that off.
        (Route::Console, None) => Some(60),
        (_, r) => r.and_then(|r| r.parse().ok()).filter(|r| *r > 0),
    };
    // Read before the page's data, so that the stream repeats rather than misses an event.
    let seq = ctx.feed.last_seq();
    let live = matches!(
        route,
        Route::Builders
            | Route::Builder(_)
            | Route::Builds(_)
            | Route::Build(..)
            | Route::Waterfall
            | Route::Grid
            | Route::TransposedGrid
            | Route::Console
    )
    .then_some(seq);
    // Pages show time to the second; a view cached for this second is exactly this view.
    let now = ctx.clock.now();
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let is_view = matches!(route, Route::Waterfall | Route::Grid | Route::TransposedGrid | Route::Console);
    let key = is_view.then(|| ViewKey { uri: uri.to_string(), seq, second: now.timestamp() });
    if let Some(cached) = key.as_ref().and_then(|k| ctx.views.get(k)) {
        return Ok(cached);
    }
    let page = Page {
        site: &ctx.site,
        root: path_to_root(uri.path()),
        now,
        reload,
        alert: args.first("alert_msg").map(str::to_owned),
        live,
    };
    let (markup, no_cache): (Markup, bool) = match route {
        Route::Root => (pages::home_page(&page), false),
        Route::About => (pages::about_page(&page, &libraries()), false),
        Route::Builders => (builders(ctx, &page, &args).await?, false),
        Route::Waterfall => (views::waterfall_page(ctx, &page, &args).await?, true),
        Route::WaterfallHelp => (views::waterfall_help(ctx, &page, &args).await?, false),
        Route::Grid => (views::grid_page(ctx, &page, &args, false).await?, true),
        Route::TransposedGrid => (views::grid_page(ctx, &page, &args, true).await?, true),
        Route::Console => (views::console_page(ctx, &page, &args).await?, true),
        Route::OneBoxPerBuilder => {
            // Relative to the root, so that `/one_box_per_builder/` (and a proxy's prefix) lands too.
            return Ok(Redirect::to(&format!("{}builders", page.root)).into_response());
        }
        Route::Builder(name) | Route::Builds(name) => (builder(ctx, &page, &args, &name).await?, true),
        Route::Build(name, number) => {
            let build = find_build(ctx, &name, &number).await?;
            let mut changes = Vec::new();
            for n in build.sourcestamps.iter().flat_map(|s| s.changes.iter()).take(CHANGES_SHOWN) {
                changes.extend(ctx.reader.change(*n).await?);
            }
            let worker_known = ctx.reader.workers().await?.iter().any(|w| w.name == build.worker);
            (pages::build_page(&page, &build, &changes, worker_known), true)
        }
        Route::Steps(name, number) => {
            let build = find_build(ctx, &name, &number).await?;
            let to = format!("{}/builds/{}", crate::domain::web::text::path::builder(&page.root, &name), build.number);
            return Ok(Redirect::to(&to).into_response());
        }
        Route::Step(name, number, step) | Route::Logs(name, number, step) => {
            let build = find_build(ctx, &name, &number).await?;
            let found = build.step(&step).ok_or_else(|| no_step(&build, &step))?;
            (pages::step_page(&page, &build, found), true)
        }
        Route::OneLinePerBuild => (one_line_per_build(ctx, &page, &args).await?, false),
        Route::OneLinePerBuildOf(name) => {
            require_builder(ctx, &name).await?;
            let numbuilds = args.rows("numbuilds", ctx.site.numbuilds)?;
            let branches = args.branches();
            let query = BuildQuery {
                branches: branches.clone(),
                finished: Some(true),
                scan: branch_scan(&branches, numbuilds),
                ..BuildQuery::of_builder(&name, numbuilds)
            };
            let builds = ctx.reader.builds(&query).await?;
            (pages::one_line_per_builder(&page, &name, &builds, &branches.describe()), false)
        }
        Route::Changes => {
            let recent = ctx.reader.changes(&ChangeQuery { limit: CHANGES_SHOWN, ..ChangeQuery::default() }).await?;
            (pages::changes_page(&page, &ctx.change_sources, &recent), false)
        }
        Route::Change(number) => {
            let n: u64 =
                number.parse().map_err(|_| WebError::BadRequest(format!("'{number}' is not a change number")))?;
            let change =
                ctx.reader.change(n).await?.ok_or_else(|| WebError::NotFound(format!("No change number {n}")))?;
            (pages::change_page(&page, &change), false)
        }
        Route::Workers => (workers(ctx, &page, &args).await?, false),
        Route::Worker(name) => (worker(ctx, &page, &args, &name).await?, true),
        Route::Static(_)
        | Route::Log(..)
        | Route::LogText(..)
        | Route::Json(_)
        | Route::Rss
        | Route::Atom
        | Route::Png
        | Route::Badge(_)
        | Route::CcTray
        | Route::BuildStatus
        | Route::Users
        | Route::User(_)
        | Route::Events => {
            return Err(WebError::Internal("route dispatched to the wrong handler".to_owned()));
        }
    };
    let response = html(Bytes::from(markup.into_string()), no_cache);
    match key {
        Some(key) => Ok(ctx.views.keep(key, response).await),
        None => Ok(response),
    }
}

fn html(body: Bytes, no_cache: bool) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    if no_cache {
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    }
    response
}

fn libraries() -> Vec<(&'static str, &'static str)> {
    env!("BUILDSTATUS_LIBRARIES").split(',').filter_map(|p| p.split_once('=')).collect()
}

/// The builders a page lists: `builder=` names in order (unknown ones dropped), else all in
/// natural order, narrowed by `tag=`/`category=`.
pub(super) async fn chosen_builders(
    ctx: &WebContext,
    args: &Args,
) -> Result<Vec<crate::domain::model::Builder>, WebError> {
    let mut all = ctx.reader.builders().await?;
    let named = args.all("builder");
    if !named.is_empty() {
        return Ok(named.iter().filter_map(|n| all.iter().find(|b| &b.name == n).cloned()).collect());
    }
    all.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let tags = args.tags();
    Ok(all.into_iter().filter(|b| tags.is_empty() || b.matches_any_tag(&tags)).collect())
}

async fn builders(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let branches = args.branches();
    let workers = ctx.reader.workers().await?;
    let mut rows = Vec::new();
    for builder in chosen_builders(ctx, args).await? {
        let last = last_finished(ctx, &builder.name, &branches).await?;
        let (state, running) = state_of(ctx, &builder, &workers).await?;
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        rows.push(BuilderRow { builder, state, last, running, pending });
    }
    Ok(pages::builders_page(page, &rows, &branches.describe()))
}

async fn builder(ctx: &WebContext, page: &Page<'_>, args: &Args, name: &str) -> Result<Markup, WebError> {
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
    let known = ctx.reader.workers().await?;
    let workers = builder
        .workers
        .iter()
        .map(|w| {
            known
                .iter()
                .find(|k| &k.name == w)
                .cloned()
                .unwrap_or_else(|| Worker { name: w.clone(), ..Worker::default() })
        })
        .collect();
    let data = BuilderPage { builder, running, pending, recent, workers, numbuilds };
    Ok(pages::builder_page(page, &data))
}

async fn one_line_per_build(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
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
    let builds = ctx.reader.builds(&query).await?;
    Ok(pages::one_line_per_build(page, &builds, &branches.describe(), &builders))
}

async fn workers(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
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
    Ok(pages::workers_page(page, &rows, args.first("no_builders") != Some("1")))
}

async fn worker(ctx: &WebContext, page: &Page<'_>, args: &Args, name: &str) -> Result<Markup, WebError> {
    let worker = ctx.reader.workers().await?.into_iter().find(|w| w.name == name);
    let worker = worker.ok_or_else(|| WebError::NotFound(format!("No such slave '{name}'")))?;
    let numbuilds = args.rows("numbuilds", 10)?;
    let running = running_builds(ctx, Vec::new(), Some(name.to_owned())).await?;
    let query = BuildQuery {
        worker: Some(name.to_owned()),
        finished: Some(true),
        order: BuildOrder::FinishedDesc,
        limit: numbuilds,
        ..BuildQuery::default()
    };
    let recent = ctx.reader.builds(&query).await?;
    Ok(pages::worker_page(page, &WorkerPage { worker, running, recent }))
}
