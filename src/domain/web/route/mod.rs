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

// The old enum, until the web adapter's route table replaces it.
/// A page of the site, with the names and numbers its path carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Root,
    Builders,
    Builder(String),
    /// `/builders/NAME/builds`: the builder's list of builds.
    Builds(String),
    Build(String, BuildNumber),
    Steps(String, BuildNumber),
    Step(String, BuildNumber, String),
    Logs(String, BuildNumber, String),
    Log(String, BuildNumber, String, String),
    LogText(String, BuildNumber, String, String),
    OneLinePerBuild,
    OneLinePerBuildOf(String),
    OneBoxPerBuilder,
    Changes,
    Change(String),
    Workers,
    Worker(String),
    About,
    Waterfall,
    WaterfallHelp,
    Grid,
    TransposedGrid,
    Console,
    /// The live stream of status events (Server-Sent Events).
    Events,
    /// `/json/...`: the JSON API; the decoded segments after `json`.
    Json(Vec<String>),
    /// `/rss` and `/atom` (any sub-path names the same feed).
    Rss,
    Atom,
    /// `/png` (any sub-path names the same image).
    Png,
    /// `/badges/FILE`: `BUILDER.svg` or `BUILDER.png`.
    Badge(String),
    /// `/cc.xml`: the cctray feed.
    CcTray,
    /// `/buildstatus?builder=&number=`: one build's steps, for the console's pop-up.
    BuildStatus,
    /// `/users` or `/users/table`.
    Users,
    /// `/users/UID` or `/users/table/UID` (the text as given).
    User(String),
    /// Anything else: a file of `public_html`, or a built-in asset, or 404.
    Static(String),
}

impl Route {
    pub fn parse(path: &str) -> Self {
        let raw: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let raw = match raw.split_last() {
            Some((&"", rest)) => rest,
            _ => &raw[..],
        };
        let segs: Vec<String> = raw.iter().map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let n = BuildNumber::parse;
        let own = |x: &str| x.to_owned();
        match s.as_slice() {
            [] => Self::Root,
            ["builders"] => Self::Builders,
            ["builders", b] => Self::Builder(own(b)),
            ["builders", b, "builds"] => Self::Builds(own(b)),
            ["builders", b, "builds", num] => Self::Build(own(b), n(num)),
            ["builders", b, "builds", num, "steps"] => Self::Steps(own(b), n(num)),
            ["builders", b, "builds", num, "steps", st] => Self::Step(own(b), n(num), own(st)),
            ["builders", b, "builds", num, "steps", st, "logs"] => Self::Logs(own(b), n(num), own(st)),
            ["builders", b, "builds", num, "steps", st, "logs", l] => Self::Log(own(b), n(num), own(st), own(l)),
            ["builders", b, "builds", num, "steps", st, "logs", l, "text"] => {
                Self::LogText(own(b), n(num), own(st), own(l))
            }
            ["one_line_per_build"] => Self::OneLinePerBuild,
            ["one_line_per_build", b] => Self::OneLinePerBuildOf(own(b)),
            ["one_box_per_builder"] => Self::OneBoxPerBuilder,
            ["changes"] => Self::Changes,
            ["changes", c] => Self::Change(own(c)),
            ["buildslaves"] => Self::Workers,
            ["buildslaves", w] => Self::Worker(own(w)),
            ["about"] => Self::About,
            ["waterfall"] => Self::Waterfall,
            ["waterfall", "help"] => Self::WaterfallHelp,
            ["grid"] => Self::Grid,
            ["tgrid"] => Self::TransposedGrid,
            ["console"] => Self::Console,
            ["events"] => Self::Events,
            ["json", rest @ ..] => Self::Json(rest.iter().map(|x| own(x)).collect()),
            ["rss", ..] => Self::Rss,
            ["atom", ..] => Self::Atom,
            ["png", ..] => Self::Png,
            ["badges", file] => Self::Badge(own(file)),
            ["cc.xml"] => Self::CcTray,
            ["buildstatus"] => Self::BuildStatus,
            ["users"] | ["users", "table"] => Self::Users,
            ["users", uid] | ["users", "table", uid] => Self::User(own(uid)),
            _ => Self::Static(raw.join("/")),
        }
    }
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
