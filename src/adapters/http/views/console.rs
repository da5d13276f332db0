//! `/console` (spec-web-displays §4): the newest changes, and each chosen builder's builds deep
//! enough to cover them.

use std::sync::Arc;

use maud::Markup;

use super::super::html::{self, ser};
use super::super::read::state_of;
use super::super::{WebContext, WebError};
use super::MAX_WIDTH;
use crate::domain::model::{Build, Builder, BuilderState};
use crate::domain::views::console::{ConsoleBuilder, ConsoleFilter, ConsoleInput, console as console_layout};
use crate::domain::web::args::{Args, named_and_tagged};
use crate::domain::web::layout::Page;
use crate::domain::web::pages::{self, ConsoleHeading};
use crate::ports::{BuildQuery, ChangeQuery};
use minijinja::context;

pub(super) async fn render(ctx: &WebContext, page: &Page<'_>, args: &Args) -> Result<Markup, WebError> {
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
        lists.push((state == BuilderState::Offline, builds_covering(ctx, builder, revs).await?));
    }
    let console_builders: Vec<ConsoleBuilder> = builders
        .iter()
        .zip(&lists)
        .map(|(builder, (offline, builds))| ConsoleBuilder { builder, offline: *offline, builds })
        .collect();
    let heading = heading(args, &filter);
    let input = ConsoleInput {
        changes: &changes,
        builders: console_builders.clone(),
        filter,
        by_time: ctx.site.order_console_by_time,
        revs,
    };
    let layout = console_layout(&input);
    let data = || context! { builders => ser(&console_builders), console => ser(&layout), heading => ser(&heading) };
    html::drawn(ctx, page, "console.html", data, || pages::console_page(page, &console_builders, &layout, &heading))
}

/// The newest builds of `builder`, enough of them to hold `revs` builds made of changes.
///
/// Builds without changes (forced ones) are walked over and not counted, so the read starts at
/// `revs + 8` and doubles until `revs` builds with changes are in hand, the history ends, or it
/// reaches `8 × revs` (a builder that is mostly forced must not walk its whole history).
async fn builds_covering(ctx: &WebContext, builder: &Builder, revs: usize) -> Result<Vec<Arc<Build>>, WebError> {
    let mut depth = revs + 8;
    loop {
        let builds = ctx.reader.builds(&BuildQuery::of_builder(&builder.name, depth)).await?;
        let with_changes = builds.iter().filter(|b| b.sourcestamps.iter().any(|s| !s.changes.is_empty())).count();
        if with_changes >= revs || builds.len() < depth || depth >= revs * 8 {
            return Ok(builds);
        }
        depth *= 2;
    }
}

/// The filters the top bar lists, and the arguments "Personalized for…" keeps (all but `name=`).
fn heading(args: &Args, filter: &ConsoleFilter) -> ConsoleHeading {
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
    heading
}
