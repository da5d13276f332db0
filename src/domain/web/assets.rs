//! Built-in static files, served when `public_html/` does not override them.

pub const DEFAULT_CSS: &str = include_str!("assets/default.css");
pub const FAVICON_ICO: &[u8] = include_bytes!("assets/favicon.ico");
pub const ROBOTS_TXT: &str = include_str!("assets/robots.txt");
pub const LIVE_JS: &str = include_str!("assets/live.js");
pub const LOG_JS: &str = include_str!("assets/log.js");

/// The built-in file at `path` (relative to the root), with its content type.
pub fn builtin(path: &str) -> Option<(&'static [u8], &'static str)> {
    match path {
        "default.css" => Some((DEFAULT_CSS.as_bytes(), "text/css; charset=utf-8")),
        "favicon.ico" => Some((FAVICON_ICO, "image/x-icon")),
        "live.js" => Some((LIVE_JS.as_bytes(), "text/javascript; charset=utf-8")),
        "log.js" => Some((LOG_JS.as_bytes(), "text/javascript; charset=utf-8")),
        "robots.txt" => Some((ROBOTS_TXT.as_bytes(), "text/plain; charset=utf-8")),
        _ => None,
    }
}
