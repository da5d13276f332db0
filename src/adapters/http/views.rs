//! The four views' HTTP side: parses their arguments, reads what they show through the
//! reader (bounded queries only), and hands it to the pure computations of `domain::views`.
//! Each is served as a [`Frame::VIEW`]: live, and kept in the view cache.

use chrono::{DateTime, Duration};
use maud::Markup;

use super::call::{Answer, Call};
use super::html::{self, Frame};
use super::read::{branch_scan, last_finished, state_of};
use super::{WebContext, WebError};
use crate::domain::model::{Build, Builder, BuilderState, Change, Timestamp};
use crate::domain::views::console::{ConsoleBuilder, ConsoleFilter, ConsoleInput, console as console_layout};
use crate::domain::views::grid::{GridBuilder, grid as grid_layout};
use crate::domain::views::waterfall::{
    WaterfallColumn, WaterfallOptions, builder_events, is_failing, waterfall as waterfall_layout,
};
use crate::domain::web::args::{ArgError, Args, BranchFilter, named_and_tagged};
use crate::domain::web::layout::Page;
use crate::domain::web::pages::{self, ColumnHead, ConsoleHeading, GridFilters, WaterfallPage};
use crate::domain::web::text::natural_cmp;
use crate::ports::{BuildQuery, ChangeQuery};

/// The changes column holds this many of the newest changes (spec §2.2).
const WATERFALL_CHANGES: usize = 40;
/// Builder events read for the waterfall (Buildbot's `eventHorizon` is 50 per builder).
const ACTIVITY_READ: usize = 500;
/// Rounds of reading deeper history for waterfall columns that ran short.
const WATERFALL_ROUNDS: usize = 6;
/// The most builds a waterfall column reads when builds are filtered by committer or project.
const FILTERED_READ: usize = 256;
/// The largest grid and console: more would not fit a screen, and each costs a read per builder.
const MAX_WIDTH: usize = 200;

/// `/waterfall`: every builder's builds and steps over time.
pub async fn waterfall(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, render_waterfall).await
}

/// `/waterfall/help`: a form that sets the waterfall's arguments.
pub async fn waterfall_help(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, render_waterfall_help).await
}

/// `/grid`: builders down, revisions across.
pub async fn grid(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, async |ctx, page, args| render_grid(ctx, page, args, false).await).await
}

/// `/tgrid`: the grid transposed, revisions down.
pub async fn transposed_grid(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, async |ctx, page, args| render_grid(ctx, page, args, true).await).await
}

/// `/console`: each recent change and how every builder did with it.
pub async fn console(ctx: &WebContext, call: Call) -> Answer {
    // The console reloads every minute unless told otherwise (spec §4).
    html::page(ctx, &call, Frame::VIEW.reload_by_default(60), render_console).await
}

/// A whole number of seconds since the epoch, or an error naming the argument.
fn epoch(args: &Args, name: &str) -> Result<Option<Timestamp>, ArgError> {
    let Some(v) = args.first(name).filter(|v| !v.is_empty()) else { return Ok(None) };
    let bad =
        || ArgError { name: name.to_owned(), value: v.to_owned(), expected: "a time in whole seconds since 1970" };
    let secs: i64 = v.trim().parse().map_err(|_| bad())?;
    DateTime::from_timestamp(secs, 0).map(Some).ok_or_else(bad)
}

/// Every tag of every builder, sorted and distinct.
fn all_tags(builders: &[Builder]) -> Vec<String> {
    let mut tags: Vec<String> = builders.iter().flat_map(|b| b.tags.iter().cloned()).collect();
    tags.sort();
    tags.dedup();
    tags
}

async fn render_waterfall(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    // The builders named (`builder=` or `show=`), else all, narrowed by tags, in natural order.
    let all_builders = ctx.reader.builders().await?;
    let mut named = args.all("builder");
    named.extend(args.all("show"));
    let chosen = named_and_tagged(all_builders.clone(), &named, &args.tags());
    let categories = args.all("category");
    let branches = args.branches();
    let committers = args.all("committer");
    let projects = args.all("project");
    let last_time = epoch(args, "last_time")?;
    let first_time = epoch(args, "first_time")?;
    let show_time =
        args.first("show_time").filter(|v| !v.is_empty()).map(|_| args.count("show_time", 0)).transpose()?;
    let mut num_events = args.count("num_events", ctx.site.num_events)?.max(1);
    if let Some(max) = ctx.site.num_events_max {
        num_events = num_events.min(max);
    }
    let nobubble = args.count("nobubble", 0)? != 0;
    let now = page.now;
    let lower_bound = match (show_time, first_time) {
        // A span reaching before the earliest representable time shows everything.
        (Some(secs), _) => i64::try_from(secs)
            .ok()
            .and_then(Duration::try_seconds)
            .and_then(|span| last_time.unwrap_or(now).checked_sub_signed(span)),
        (None, Some(first)) => Some(first),
        _ if !branches.is_all() || !committers.is_empty() => Some(now - Duration::days(1)),
        _ => None,
    };
    let opts = WaterfallOptions {
        now,
        last_time,
        lower_bound,
        num_events,
        show_events: args.flag("show_events", true),
        nobubble,
    };

    let workers = ctx.reader.workers().await?;
    let mut heads = Vec::new();
    for builder in chosen {
        let (state, running) = state_of(ctx, &builder, &workers).await?;
        let last = last_finished(ctx, &builder.name, &branches).await?;
        if args.flag("failures_only", false) {
            let mut recent: Vec<Build> = running.clone();
            recent.extend(last.clone());
            if !is_failing(state == BuilderState::Offline, &recent) {
                continue;
            }
        }
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        heads.push((builder, state, running, last, pending));
    }

    // Builds of each column, read deeper only for the columns that run short.
    let keep = |b: &Build, builder: &Builder| {
        (categories.is_empty() || builder.matches_any_tag(&categories))
            && (committers.is_empty() || b.blamelist.iter().any(|a| committers.contains(a)))
            && (projects.is_empty()
                || b.property("project").is_some_and(|p| projects.contains(&crate::domain::model::property_string(p))))
    };
    let filtered = !committers.is_empty() || !projects.is_empty();
    // Start shallow: with many builders, a page of rows spans few builds of each.
    let mut reads: Vec<usize> = vec![4; heads.len()];
    let mut columns_builds: Vec<(Vec<Build>, bool)> = vec![(Vec::new(), false); heads.len()];
    let activity = if opts.show_events { ctx.reader.activity(ACTIVITY_READ).await? } else { Vec::new() };
    let events: Vec<_> = heads.iter().map(|h| builder_events(&activity, &h.0)).collect();
    let mut changes: Vec<Change> = ctx
        .reader
        .changes(&ChangeQuery { branches: branches.clone(), limit: WATERFALL_CHANGES, ..ChangeQuery::default() })
        .await?;
    changes.retain(|c| {
        (categories.is_empty() || c.category.as_ref().is_some_and(|cat| categories.contains(cat)))
            && (committers.is_empty() || committers.contains(&c.who))
    });
    let mut stale: Vec<usize> = (0..heads.len()).collect();
    let mut round = 1;
    let layout = loop {
        for &i in &stale {
            // A builder outside the categories shows no build: nothing to read.
            if !categories.is_empty() && !heads[i].0.matches_any_tag(&categories) {
                columns_builds[i] = (Vec::new(), true);
                continue;
            }
            let name = &heads[i].0.name;
            let query = BuildQuery {
                branches: branches.clone(),
                started_before: last_time.and_then(|t| t.checked_add_signed(Duration::seconds(1))),
                started_after: lower_bound,
                ..BuildQuery::of_builder(name, reads[i])
            };
            let read = ctx.reader.builds(&query).await?;
            // With filters that builds may fail (committer, project), a column stops looking
            // after FILTERED_READ builds, however few of them it shows.
            let complete = read.len() < reads[i] || (filtered && reads[i] >= FILTERED_READ);
            let builds = read.into_iter().filter(|b| keep(b, &heads[i].0)).collect();
            columns_builds[i] = (builds, complete);
        }
        let layout = waterfall_layout(&changes, &columns(&heads, &columns_builds, &events), &opts);
        if layout.needs_more.is_empty() || round == WATERFALL_ROUNDS {
            break layout;
        }
        stale = layout.needs_more;
        for &i in &stale {
            reads[i] = reads[i].saturating_mul(4);
            if filtered {
                reads[i] = reads[i].min(FILTERED_READ);
            }
        }
        round += 1;
    };
    let empty_because = heads.is_empty().then(|| {
        if all_builders.is_empty() {
            "No builders are configured.".to_owned()
        } else {
            "No builder matches these filters (builder=, tag=, category=, failures_only=).".to_owned()
        }
    });
    let data = WaterfallPage {
        layout: &layout,
        heads: heads
            .iter()
            .map(|(builder, state, running, last, pending)| ColumnHead {
                builder,
                last: last.as_ref(),
                state: *state,
                running,
                pending: *pending,
            })
            .collect(),
        tags: all_tags(&all_builders),
        args,
        empty_because,
    };
    Ok(pages::waterfall_page(page, &data))
}

type Head = (Builder, BuilderState, Vec<Build>, Option<Build>, usize);

fn columns<'a>(
    heads: &'a [Head],
    builds: &'a [(Vec<Build>, bool)],
    events: &'a [Vec<crate::domain::views::waterfall::BuilderEvent>],
) -> Vec<WaterfallColumn<'a>> {
    heads
        .iter()
        .zip(builds)
        .zip(events)
        .map(|((head, (builds, complete)), events)| WaterfallColumn {
            builder: &head.0,
            builds,
            complete: *complete,
            events,
        })
        .collect()
}

async fn render_waterfall_help(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let mut builders = ctx.reader.builders().await?;
    builders.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let tags = all_tags(&builders);
    Ok(pages::waterfall_help(page, args, &builders, &tags))
}

/// `/grid` (`transposed` false) and `/tgrid`.
async fn render_grid(ctx: &WebContext, page: &Page<'_>, args: &Args, transposed: bool) -> Result<Markup, WebError> {
    let width = if transposed { args.count("length", 5)? } else { args.count("width", 5)? }.min(MAX_WIDTH);
    let newest_first = transposed && args.first("rev_order").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let tags = args.all("tag");
    let categories = args.all("category");
    let branch = args.all("branch").into_iter().next();
    let branches = BranchFilter(branch.iter().cloned().collect());
    let workers = ctx.reader.workers().await?;
    let mut builders = ctx.reader.builders().await?;
    builders.retain(|b| tags.is_empty() || b.matches_any_tag(&tags));
    // With a category filter, read deeper so that filtered-out builds still leave `width`.
    let depth = if categories.is_empty() { width } else { (width * 4).min(MAX_WIDTH) };
    let mut rows = Vec::new();
    let mut wanted = std::collections::BTreeSet::new();
    for builder in &builders {
        let (state, _) = state_of(ctx, builder, &workers).await?;
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        let query = BuildQuery {
            branches: branches.clone(),
            scan: branch_scan(&branches, depth),
            ..BuildQuery::of_builder(&builder.name, depth)
        };
        let builds = ctx.reader.builds(&query).await?;
        if !categories.is_empty() {
            wanted.extend(builds.iter().flat_map(|b| b.sourcestamps.iter().flat_map(|s| s.changes.iter().copied())));
        }
        rows.push((state, pending, builds));
    }
    let mut category_of = std::collections::BTreeMap::new();
    for n in wanted {
        if let Some(c) = ctx.reader.change(n).await? {
            category_of.insert(n, c.category);
        }
    }
    let keep = |b: &Build| {
        categories.is_empty()
            || b.sourcestamps
                .iter()
                .flat_map(|s| &s.changes)
                .any(|n| category_of.get(n).and_then(|c| c.as_ref()).is_some_and(|c| categories.contains(c)))
    };
    let grid_builders: Vec<GridBuilder> = builders
        .iter()
        .zip(&rows)
        .map(|(builder, (state, pending, builds))| GridBuilder { builder, state: *state, pending: *pending, builds })
        .collect();
    let layout = grid_layout(&grid_builders, width, keep);
    let filters = GridFilters { tags, categories, branch };
    Ok(pages::grid_page(page, &layout, &filters, transposed, newest_first))
}

async fn render_console(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let revs = args.count("revs", 40)?.clamp(1, MAX_WIDTH);
    let filter = ConsoleFilter {
        branches: args.all("branch"),
        repository: args.first("repository").map(str::to_owned),
        project: args.first("project").map(str::to_owned),
        codebase: args.first("codebase").map(str::to_owned),
        names: args.all("name"),
    };
    // "Restricted to the given Builders. In addition, … category= … will limit the display":
    // both filters, in natural order.
    let builders = named_and_tagged(ctx.reader.builders().await?, &args.all("builder"), &args.tags());
    let workers = ctx.reader.workers().await?;
    let changes = ctx.reader.changes(&ChangeQuery { limit: revs, ..ChangeQuery::default() }).await?;
    let mut lists = Vec::new();
    for builder in &builders {
        let (state, _) = state_of(ctx, builder, &workers).await?;
        // Builds without changes (forced ones) are walked over and not counted: read deeper
        // until `revs` builds with changes are in hand or the history ends.
        let mut depth = revs + 8;
        let builds = loop {
            let builds = ctx.reader.builds(&BuildQuery::of_builder(&builder.name, depth)).await?;
            let with_changes = builds.iter().filter(|b| b.sourcestamps.iter().any(|s| !s.changes.is_empty())).count();
            if with_changes >= revs || builds.len() < depth || depth >= revs * 8 {
                break builds;
            }
            depth *= 2;
        };
        lists.push((state == BuilderState::Offline, builds));
    }
    let console_builders: Vec<ConsoleBuilder> = builders
        .iter()
        .zip(&lists)
        .map(|(builder, (offline, builds))| ConsoleBuilder { builder, offline: *offline, builds })
        .collect();
    let kept = args.pairs().filter(|(k, _)| *k != "name").map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let mut heading =
        ConsoleHeading { tags: args.tags(), names: filter.names.clone(), kept, ..ConsoleHeading::default() };
    for (label, value) in
        [("Codebase", &filter.codebase), ("Repository", &filter.repository), ("Project", &filter.project)]
    {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            heading.filters.push((label, v.clone()));
        }
    }
    if !filter.branches.is_empty() {
        heading.filters.push(("Branch", filter.branches.join(", ")));
    }
    let input = ConsoleInput {
        changes: &changes,
        builders: console_builders.clone(),
        filter,
        by_time: ctx.site.order_console_by_time,
        revs,
    };
    let layout = console_layout(&input);
    Ok(pages::console_page(page, &console_builders, &layout, &heading))
}
