//! The URL map's pure half (spec-web §0.1): a request path read as decoded segments, path
//! patterns matched against them, and the lookup that picks a route and checks its method.
//!
//! Which routes the site has, and what answers each, is declared once, in the web adapter's
//! route table; this module knows how to read patterns and paths, nothing about pages.
//! Segments are percent-decoded one by one, so `a%2Fb` names the builder `a/b`; a trailing
//! slash names the same page.

mod build_number;
mod pattern;
mod table;

use percent_encoding::percent_decode_str;

pub use build_number::BuildNumber;
pub use pattern::{Params, Pattern, PatternError};
pub use table::{Lookup, Methods, RouteTable};

/// The path's segments, each percent-decoded (invalid UTF-8 replaced); leading slashes and one
/// trailing slash are not segments, so `/` has none and `/builders/` is `["builders"]`.
pub fn segments(path: &str) -> Vec<String> {
    let relative = relative_path(path);
    if relative.is_empty() {
        return Vec::new();
    }
    relative.split('/').map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()).collect()
}

/// The path below the root as written (not decoded), without its trailing slash: the name
/// under which a static file is looked for.
pub fn relative_path(path: &str) -> &str {
    let relative = path.trim_start_matches('/');
    relative.strip_suffix('/').unwrap_or(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_one_by_one_and_a_trailing_slash_is_none() {
        assert_eq!(segments("/"), Vec::<String>::new());
        assert_eq!(segments("//"), Vec::<String>::new());
        assert_eq!(segments("/builders/"), ["builders"]);
        assert_eq!(segments("/builders/a%2Fb"), ["builders", "a/b"]);
        assert_eq!(segments("/builders//builds"), ["builders", "", "builds"]);
        assert_eq!(segments("/a//"), ["a", ""], "only one trailing slash is dropped");
        assert_eq!(segments("/%ff"), ["\u{fffd}"]);
    }

    #[test]
    fn the_relative_path_is_left_encoded() {
        assert_eq!(relative_path("/default.css"), "default.css");
        assert_eq!(relative_path("/"), "");
        assert_eq!(relative_path("/a%2Fb/"), "a%2Fb");
        assert_eq!(relative_path("/a//"), "a/");
    }
}
