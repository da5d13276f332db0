//! `/grid` and `/tgrid` (spec-web-displays §3): each chosen builder's newest builds on the
//! branch asked for, and, with a `category=` filter, the categories of their changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use maud::Markup;

use super::super::html::{self, ser};
use super::super::read::{branch_scan, state_of};
use super::super::{WebContext, WebError};
use super::MAX_WIDTH;
use crate::domain::model::{Build, BuilderState};
use crate::domain::views::grid::{GridBuilder, grid as grid_layout};
use crate::domain::web::args::{Args, BranchFilter};
use crate::domain::web::layout::Page;
use crate::domain::web::pages::{self, GridFilters};
use crate::ports::BuildQuery;
use minijinja::context;

/// One builder's row: what it does now, its requests waiting, its newest builds.
type Row = (BuilderState, usize, Vec<Arc<Build>>);

/// `/grid` (`transposed` false) and `/tgrid`.
pub(super) async fn render(
    ctx: &WebContext,
    page: &Page<'_>,
    args: &Args,
    transposed: bool,
) -> Result<Markup, WebError> {
    let width = if transposed { args.count("length", 5)? } else { args.count("width", 5)? }.min(MAX_WIDTH);
    let newest_first = transposed && args.first("rev_order").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let tags = args.all("tag");
    let categories = args.all("category");
    // The grid shows one branch: the first `branch=`.
    let branch = args.all("branch").into_iter().next();
    let branches = BranchFilter(branch.iter().cloned().collect());
    let workers = ctx.reader.workers().await?;
    let mut builders = ctx.reader.builders().await?;
    builders.retain(|b| tags.is_empty() || b.matches_any_tag(&tags));
    // With a category filter, read deeper so that filtered-out builds still leave `width`.
    let depth = if categories.is_empty() { width } else { (width * 4).min(MAX_WIDTH) };
    let mut rows: Vec<Row> = Vec::new();
    for builder in &builders {
        let (state, _) = state_of(ctx, builder, &workers).await?;
        let pending = ctx.reader.pending_requests(Some(&builder.name)).await?.len();
        let query = BuildQuery {
            branches: branches.clone(),
            scan: branch_scan(&branches, depth),
            ..BuildQuery::of_builder(&builder.name, depth)
        };
        rows.push((state, pending, ctx.reader.builds(&query).await?));
    }
    let category_of = if categories.is_empty() { BTreeMap::new() } else { change_categories(ctx, &rows).await? };
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
    let name = if transposed { "tgrid.html" } else { "grid.html" };
    let data = || context! { grid => ser(&layout), filters => ser(&filters), newest_first };
    html::drawn(ctx, page, name, data, || pages::grid_page(page, &layout, &filters, transposed, newest_first))
}

/// The category of each change the rows' builds were made of, each change read once.
async fn change_categories(ctx: &WebContext, rows: &[Row]) -> Result<BTreeMap<u64, Option<String>>, WebError> {
    let builds = rows.iter().flat_map(|(_, _, builds)| builds);
    let wanted: BTreeSet<u64> =
        builds.flat_map(|b| b.sourcestamps.iter().flat_map(|s| s.changes.iter().copied())).collect();
    let mut category_of = BTreeMap::new();
    for n in wanted {
        if let Some(c) = ctx.reader.change(n).await? {
            category_of.insert(n, c.category);
        }
    }
    Ok(category_of)
}
