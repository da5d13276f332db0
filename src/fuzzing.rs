//! Doors for the fuzz targets (`fuzz/`), not an API: the parsers a client's bytes reach that
//! are otherwise private to the crate, handed out as they are (never copied), so the targets
//! exercise the code the server runs. Everything else the targets need is public already.

use crate::domain::web::route::{Lookup, PatternError};

/// Buildbot's log-chunk decompression, every codec (`import-buildbot`).
pub use crate::adapters::buildbot::db::chunks::{channels, decompress};

/// The web server's route lookup over its real route table: what a request's path and method
/// reach before any handler runs.
pub fn route_lookup(path: &str, method: &str) -> Result<Lookup, &'static PatternError> {
    crate::adapters::http::routes::lookup(path, method)
}
