//! `/waterfall` and `/waterfall/help` (spec-web-displays §2): reads the column heads, the
//! changes and the builder events, then each column's builds, deeper only for the columns the
//! layout says ran short, and renders the layout `domain::views::waterfall` computes.

use std::sync::Arc;

use chrono::{DateTime, Duration};
use maud::Markup;

use super::super::html::{self, ser};
use super::super::read::{last_finished, state_of};
use super::super::{WebContext, WebError};
use crate::domain::model::{Build, Builder, BuilderState, Change, Timestamp, property_string};
use crate::domain::views::waterfall::{
    BuilderEvent, WaterfallColumn, WaterfallOptions, builder_events, is_failing, waterfall as waterfall_layout,
};
use crate::domain::web::args::{ArgError, Args, BranchFilter, named_and_tagged};
use crate::domain::web::layout::{Page, Site};
use crate::domain::web::pages::{self, ColumnHead, WaterfallPage};
use crate::domain::web::text::natural_cmp;
use crate::ports::{BuildQuery, ChangeQuery};
use minijinja::context;

/// The changes column holds this many of the newest changes (spec §2.2).
const WATERFALL_CHANGES: usize = 40;
/// Builder events read for the waterfall (Buildbot's `eventHorizon` is 50 per builder).
const ACTIVITY_READ: usize = 500;
/// Rounds of reading deeper history for waterfall columns that ran short.
const WATERFALL_ROUNDS: usize = 6;
/// The most builds a waterfall column reads when builds are filtered by committer or project.
const FILTERED_READ: usize = 256;
/// Builds each column reads first: with many builders, a page of rows spans few builds of each.
const FIRST_READ: usize = 4;

/// `/waterfall`.
pub(super) async fn render(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let all_builders = ctx.reader.builders().await?;
    let query = WaterfallQuery::parse(args, &ctx.site, page.now)?;
    let chosen = named_and_tagged(all_builders.clone(), &query.named, &args.tags());
    let heads = column_heads(ctx, chosen, &query).await?;
    let activity = if query.opts.show_events { ctx.reader.activity(ACTIVITY_READ).await? } else { Vec::new() };
    let events: Vec<Vec<BuilderEvent>> = heads.iter().map(|h| builder_events(&activity, &h.builder)).collect();
    let changes = changes_column(ctx, &query).await?;

    let mut builds = ColumnBuilds::new(heads.len());
    let mut stale: Vec<usize> = (0..heads.len()).collect();
    let mut round = 1;
    let layout = loop {
        builds.read(ctx, &query, &heads, &stale).await?;
        let layout = waterfall_layout(&changes, &columns(&heads, &builds, &events), &query.opts);
        if layout.needs_more.is_empty() || round == WATERFALL_ROUNDS {
            break layout;
        }
        stale = layout.needs_more;
        builds.deepen(&stale, query.filters_builds());
        round += 1;
    };

    let data = WaterfallPage {
        layout: &layout,
        heads: heads.iter().map(Column::head).collect(),
        tags: all_tags(&all_builders),
        args,
        empty_because: empty_because(&heads, &all_builders),
    };
    html::drawn(ctx, page, "waterfall.html", || ser(&data), || pages::waterfall_page(page, &data))
}

/// `/waterfall/help`.
pub(super) async fn render_help(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
    let mut builders = ctx.reader.builders().await?;
    builders.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let tags = all_tags(&builders);
    let data = || context! { builders => ser(&builders), tags => ser(&tags) };
    html::drawn(ctx, page, "waterfallhelp.html", data, || pages::waterfall_help(page, args, &builders, &tags))
}

/// What the waterfall's arguments ask for (spec §2.2–2.4).
struct WaterfallQuery {
    /// The builders named by `builder=` and `show=` (none: all).
    named: Vec<String>,
    /// `category=`: builders with none of these tags show no builds, changes without one of
    /// these categories are left out.
    categories: Vec<String>,
    branches: BranchFilter,
    committers: Vec<String>,
    projects: Vec<String>,
    failures_only: bool,
    opts: WaterfallOptions,
}

impl WaterfallQuery {
    /// Reads the arguments at the page's time `now`. The time window: `show_time=` seconds back
    /// from `last_time=` (or now), else from `first_time=`, else one day when a branch or
    /// committer filter would otherwise search all history, else unbounded. `num_events=` is at
    /// least 1 and at most the site's `num_events_max`.
    fn parse(args: &Args, site: &Site, now: Timestamp) -> Result<Self, ArgError> {
        let mut named = args.all("builder");
        named.extend(args.all("show"));
        let branches = args.branches();
        let committers = args.all("committer");
        let last_time = epoch(args, "last_time")?;
        let first_time = epoch(args, "first_time")?;
        let show_time =
            args.first("show_time").filter(|v| !v.is_empty()).map(|_| args.count("show_time", 0)).transpose()?;
        let mut num_events = args.count("num_events", site.num_events)?.max(1);
        if let Some(max) = site.num_events_max {
            num_events = num_events.min(max);
        }
        let nobubble = args.count("nobubble", 0)? != 0;
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
        let show_events = args.flag("show_events", true);
        let opts = WaterfallOptions { now, last_time, lower_bound, num_events, show_events, nobubble };
        Ok(Self {
            named,
            categories: args.all("category"),
            branches,
            committers,
            projects: args.all("project"),
            failures_only: args.flag("failures_only", false),
            opts,
        })
    }

    /// Whether builds may be left out by what they are (committer, project) rather than by
    /// builder: a column then cannot know how deep to read, and stops at [`FILTERED_READ`].
    fn filters_builds(&self) -> bool {
        !self.committers.is_empty() || !self.projects.is_empty()
    }

    /// Whether `builder`'s column shows builds at all (`category=`).
    fn shows_builder(&self, builder: &Builder) -> bool {
        self.categories.is_empty() || builder.matches_any_tag(&self.categories)
    }

    /// Whether build `b` of `builder` is shown.
    fn keeps(&self, b: &Build, builder: &Builder) -> bool {
        self.shows_builder(builder)
            && (self.committers.is_empty() || b.blamelist.iter().any(|a| self.committers.contains(a)))
            && (self.projects.is_empty()
                || b.property("project").is_some_and(|p| self.projects.contains(&property_string(p))))
    }

    /// Whether change `c` is in the changes column.
    fn keeps_change(&self, c: &Change) -> bool {
        (self.categories.is_empty() || c.category.as_ref().is_some_and(|cat| self.categories.contains(cat)))
            && (self.committers.is_empty() || self.committers.contains(&c.who))
    }
}

/// A whole number of seconds since the epoch, or an error naming the argument.
fn epoch(args: &Args, name: &str) -> Result<Option<Timestamp>, ArgError> {
    let Some(v) = args.first(name).filter(|v| !v.is_empty()) else { return Ok(None) };
    let bad =
        || ArgError { name: name.to_owned(), value: v.to_owned(), expected: "a time in whole seconds since 1970" };
    let secs: i64 = v.trim().parse().map_err(|_| bad())?;
    DateTime::from_timestamp(secs, 0).map(Some).ok_or_else(bad)
}

/// A builder's column: its head (last build, current activity) above its boxes.
struct Column {
    builder: Builder,
    state: BuilderState,
    running: Vec<Build>,
    /// The newest finished build on the branches asked for.
    last: Option<Build>,
    pending: usize,
}

impl Column {
    fn head(&self) -> ColumnHead<'_> {
        ColumnHead {
            builder: &self.builder,
            last: self.last.as_ref(),
            state: self.state,
            running: &self.running,
            pending: self.pending,
        }
    }
}

/// The heads of the `chosen` builders' columns; with `failures_only=`, only the builders that
/// are failing (offline, or their newest build, running or finished, failed).
async fn column_heads(ctx: &WebContext, chosen: Vec<Builder>, query: &WaterfallQuery) -> Result<Vec<Column>, WebError> {
    let workers = ctx.reader.workers().await?;
    let mut heads = Vec::new();
    for builder in chosen {
        let (state, running) = state_of(ctx, &builder, &workers).await?;
        let last = last_finished(ctx, &builder.name, &query.branches).await?;
        if query.failures_only {
            let mut recent: Vec<Build> = running.clone();
            recent.extend(last.clone());
            if !is_failing(state == BuilderState::Offline, &recent) {
                continue;
            }
        }
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        heads.push(Column { builder, state, running, last, pending });
    }
    Ok(heads)
}

/// The changes column: the newest changes on the branches asked for, of the categories and
/// committers asked for.
async fn changes_column(ctx: &WebContext, query: &WaterfallQuery) -> Result<Vec<Change>, WebError> {
    let recent = ChangeQuery { branches: query.branches.clone(), limit: WATERFALL_CHANGES, ..ChangeQuery::default() };
    let mut changes = ctx.reader.changes(&recent).await?;
    changes.retain(|c| query.keeps_change(c));
    Ok(changes)
}

/// Each column's builds as read so far, and how many builds its next read asks for.
struct ColumnBuilds {
    /// The builds a column shows, and whether its history is all read (no older build).
    read: Vec<(Vec<Arc<Build>>, bool)>,
    depth: Vec<usize>,
}

impl ColumnBuilds {
    fn new(columns: usize) -> Self {
        Self { read: vec![(Vec::new(), false); columns], depth: vec![FIRST_READ; columns] }
    }

    /// Reads the builds of the `stale` columns, each as deep as its depth, within the query's
    /// time window. A builder outside the categories reads nothing and is complete; with
    /// builds filtered by committer or project, a column is complete once it read
    /// [`FILTERED_READ`] builds, however few of them it shows.
    async fn read(
        &mut self,
        ctx: &WebContext,
        query: &WaterfallQuery,
        heads: &[Column],
        stale: &[usize],
    ) -> Result<(), WebError> {
        for &i in stale {
            let builder = &heads[i].builder;
            if !query.shows_builder(builder) {
                self.read[i] = (Vec::new(), true);
                continue;
            }
            let wanted = BuildQuery {
                branches: query.branches.clone(),
                started_before: query.opts.last_time.and_then(|t| t.checked_add_signed(Duration::seconds(1))),
                started_after: query.opts.lower_bound,
                ..BuildQuery::of_builder(&builder.name, self.depth[i])
            };
            let found = ctx.reader.builds(&wanted).await?;
            let complete = found.len() < self.depth[i] || (query.filters_builds() && self.depth[i] >= FILTERED_READ);
            let shown = found.into_iter().filter(|b| query.keeps(b, builder)).collect();
            self.read[i] = (shown, complete);
        }
        Ok(())
    }

    /// The `stale` columns read four times deeper next time (at most [`FILTERED_READ`] when
    /// builds are filtered by what they are).
    fn deepen(&mut self, stale: &[usize], filtered: bool) {
        for &i in stale {
            self.depth[i] = self.depth[i].saturating_mul(4);
            if filtered {
                self.depth[i] = self.depth[i].min(FILTERED_READ);
            }
        }
    }
}

/// The layout's input: each column's builder, builds and events.
fn columns<'a>(
    heads: &'a [Column],
    builds: &'a ColumnBuilds,
    events: &'a [Vec<BuilderEvent>],
) -> Vec<WaterfallColumn<'a>> {
    heads
        .iter()
        .zip(&builds.read)
        .zip(events)
        .map(|((head, (builds, complete)), events)| WaterfallColumn {
            builder: &head.builder,
            builds,
            complete: *complete,
            events,
        })
        .collect()
}

/// Why the waterfall has no column, when it has none.
fn empty_because(heads: &[Column], all_builders: &[Builder]) -> Option<String> {
    heads.is_empty().then(|| {
        if all_builders.is_empty() {
            "No builders are configured.".to_owned()
        } else {
            "No builder matches these filters (builder=, tag=, category=, failures_only=).".to_owned()
        }
    })
}

/// Every tag of every builder, sorted and distinct.
fn all_tags(builders: &[Builder]) -> Vec<String> {
    let mut tags: Vec<String> = builders.iter().flat_map(|b| b.tags.iter().cloned()).collect();
    tags.sort();
    tags.dedup();
    tags
}
