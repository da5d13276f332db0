//! The four views computed purely from a snapshot of history: the waterfall, the grid (and
//! its transposition) and the console. Each function takes what the page shows, already read,
//! and returns the layout (boxes, cells, colours) that `web::pages` renders.

pub mod console;
pub mod grid;
pub mod waterfall;
