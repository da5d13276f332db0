//! The four views' HTTP side: parses their arguments, reads what they show through the
//! reader (bounded queries only), and hands it to the pure computations of `domain::views`.
//! Each is served as a [`Frame::VIEW`]: live, and kept in the view cache. One module per view
//! reads it; this one holds their routes' handlers.

mod console;
mod grid;
mod waterfall;

use super::WebContext;
use super::call::{Answer, Call};
use super::html::{self, Frame};

/// The largest grid and console: more would not fit a screen, and each costs a read per builder.
const MAX_WIDTH: usize = 200;

/// `/waterfall`: every builder's builds and steps over time.
pub async fn waterfall(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, waterfall::render).await
}

/// `/waterfall/help`: a form that sets the waterfall's arguments.
pub async fn waterfall_help(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN, waterfall::render_help).await
}

/// `/grid`: builders down, revisions across.
pub async fn grid(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, async |ctx, page, args| grid::render(ctx, page, args, false).await).await
}

/// `/tgrid`: the grid transposed, revisions down.
pub async fn transposed_grid(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::VIEW, async |ctx, page, args| grid::render(ctx, page, args, true).await).await
}

/// `/console`: each recent change and how every builder did with it.
pub async fn console(ctx: &WebContext, call: Call) -> Answer {
    // The console reloads every minute unless told otherwise (spec §4).
    html::page(ctx, &call, Frame::VIEW.reload_by_default(60), console::render).await
}
