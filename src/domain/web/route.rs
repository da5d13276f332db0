//! The URL map (spec-web §0.1) as a pure function from a request path to a [`Route`].
//! Segments are percent-decoded one by one, so `a%2Fb` names the builder `a/b`; a trailing
//! slash names the same page.

use percent_encoding::percent_decode_str;

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

/// A build number as written in a URL: absolute, or negative counting from the newest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildNumber {
    Absolute(u32),
    FromEnd(u32),
    /// Not a number (the text as given): the page answers 400 naming it.
    Invalid(String),
}

impl BuildNumber {
    pub fn parse(text: &str) -> Self {
        let invalid = || Self::Invalid(text.to_owned());
        if let Some(back) = text.strip_prefix('-') {
            return back.parse().ok().filter(|n| *n > 0).map_or_else(invalid, Self::FromEnd);
        }
        text.parse().map_or_else(|_| invalid(), Self::Absolute)
    }

    /// The absolute number, given the newest build's number.
    pub fn resolve(&self, newest: Option<u32>) -> Option<u32> {
        match *self {
            Self::Absolute(n) => Some(n),
            Self::FromEnd(back) => newest?.checked_sub(back - 1),
            Self::Invalid(_) => None,
        }
    }
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
    fn routes_decode_each_segment_and_ignore_a_trailing_slash() {
        assert_eq!(Route::parse("/"), Route::Root);
        assert_eq!(Route::parse("/builders/"), Route::Builders);
        assert_eq!(Route::parse("/builders/a%2Fb"), Route::Builder("a/b".into()));
        assert_eq!(
            Route::parse("/builders/x/builds/-1/steps/make%20all/logs/stdio/text"),
            Route::LogText("x".into(), BuildNumber::FromEnd(1), "make all".into(), "stdio".into())
        );
        assert_eq!(
            Route::parse("/builders/x/builds/abc"),
            Route::Build("x".into(), BuildNumber::Invalid("abc".into()))
        );
        assert_eq!(Route::parse("/default.css"), Route::Static("default.css".into()));
        assert_eq!(Route::parse("/changes/12/"), Route::Change("12".into()));
    }

    #[test]
    fn build_numbers_count_back_from_the_newest() {
        assert_eq!(BuildNumber::parse("-1").resolve(Some(9)), Some(9));
        assert_eq!(BuildNumber::parse("-10").resolve(Some(9)), Some(0));
        assert_eq!(BuildNumber::parse("-11").resolve(Some(9)), None);
        assert_eq!(BuildNumber::parse("-0"), BuildNumber::Invalid("-0".into()));
        assert_eq!(BuildNumber::parse("4").resolve(None), Some(4));
        assert_eq!(BuildNumber::parse("-1").resolve(None), None);
    }

    #[test]
    fn machine_readable_urls_have_their_routes() {
        assert_eq!(Route::parse("/json"), Route::Json(vec![]));
        assert_eq!(Route::parse("/json/builders/a%2Fb/"), Route::Json(vec!["builders".into(), "a/b".into()]));
        assert_eq!(Route::parse("/rss/anything/else"), Route::Rss);
        assert_eq!(Route::parse("/atom"), Route::Atom);
        assert_eq!(Route::parse("/png/x"), Route::Png);
        assert_eq!(Route::parse("/badges/linux.svg"), Route::Badge("linux.svg".into()));
        assert_eq!(Route::parse("/badges/a/b.svg"), Route::Static("badges/a/b.svg".into()));
        assert_eq!(Route::parse("/cc.xml"), Route::CcTray);
        assert_eq!(Route::parse("/buildstatus"), Route::BuildStatus);
        assert_eq!(Route::parse("/users/table/"), Route::Users);
        assert_eq!(Route::parse("/users/table/3"), Route::User("3".into()));
        assert_eq!(Route::parse("/users/3"), Route::User("3".into()));
    }
}
