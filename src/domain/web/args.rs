//! Query arguments: the multimap every page reads, and typed parsing with errors that name the
//! argument. A bad argument is a 400 that says which one and why, never a 500.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::text::natural_cmp;
use crate::domain::model::Builder;

/// What a query name or value keeps unencoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

/// The most rows a page lists ([`Args::rows`]).
pub const MAX_ROWS: usize = 1000;

/// Query arguments in order; a name may repeat. "The value of X" is its first value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args(Vec<(String, String)>);

/// A query argument that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    pub name: String,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argument '{}': '{}' is not {}", self.name, self.value, self.expected)
    }
}

impl std::error::Error for ArgError {}

impl Args {
    /// Parses `a=1&b=x+y&a=2` (form encoding: `+` is a space, invalid UTF-8 replaced).
    pub fn parse(query: &str) -> Self {
        let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
        let pairs = query.split('&').filter(|p| !p.is_empty()).map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        });
        Self(pairs.collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    pub fn first(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A yes/no argument: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case); `default` when absent or
    /// anything else.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.first(name).map(str::to_ascii_lowercase).as_deref() {
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            _ => default,
        }
    }

    /// Every value of `name`, empty values dropped.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()).collect()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A non-negative count, `default` when absent or empty, an error when malformed.
    pub fn count(&self, name: &str, default: usize) -> Result<usize, ArgError> {
        match self.first(name) {
            None | Some("") => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ArgError {
                name: name.to_owned(),
                value: v.to_owned(),
                expected: "a whole number (0 or more)",
            }),
        }
    }

    /// A number of rows for a page to list ([`count`](Self::count), at most [`MAX_ROWS`]): each
    /// row is read and drawn, so a page must not be asked for the whole history at once.
    pub fn rows(&self, name: &str, default: usize) -> Result<usize, ArgError> {
        match self.count(name, default)? {
            n if n <= MAX_ROWS => Ok(n),
            _ => Err(ArgError {
                name: name.to_owned(),
                value: self.first(name).unwrap_or_default().to_owned(),
                expected: "a whole number from 0 to 1000",
            }),
        }
    }

    /// The builder/category filters: `tag=`, or `category=` when no `tag=` is given.
    pub fn tags(&self) -> Vec<String> {
        let tags = self.all("tag");
        if tags.is_empty() { self.all("category") } else { tags }
    }

    /// `branch=` values with the trunk mapping: `trunk` also matches builds with no branch.
    pub fn branches(&self) -> BranchFilter {
        BranchFilter(self.all("branch"))
    }

    /// The query string of these arguments with `name` replaced by `value` (dropped when
    /// `None`) and empty values left out: for "next page" and "stop reloading" links.
    pub fn with(&self, name: &str, value: Option<&str>) -> String {
        let encode = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
        let kept = self.0.iter().filter(|(k, v)| k != name && !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str()));
        let pairs: Vec<String> =
            kept.chain(value.map(|v| (name, v))).map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        pairs.join("&")
    }

    /// `property.NAME=VALUE` filters, first value of each.
    pub fn property_filters(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in self.pairs() {
            if let Some(name) = k.strip_prefix("property.")
                && !out.iter().any(|(n, _)| n == name)
            {
                out.push((name.to_owned(), v.to_owned()));
            }
        }
        out
    }
}

/// Branches a page is limited to; empty means every branch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchFilter(pub Vec<String>);

impl BranchFilter {
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a build or change on `branch` is shown (`trunk` matches no branch too).
    pub fn matches(&self, branch: Option<&str>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        match branch {
            Some(b) => self.0.iter().any(|f| f == b),
            None => self.0.iter().any(|f| f == "trunk"),
        }
    }

    /// `trunk, release` or `ALL`, as page headings show it.
    pub fn describe(&self) -> String {
        if self.0.is_empty() { "ALL".to_owned() } else { self.0.join(", ") }
    }
}

/// The builders of a page that takes `builder=` names and tags (the waterfall, the feeds,
/// `cc.xml`): the named ones (every one when none is named; unknown names are ignored),
/// narrowed by the tags (none: no narrowing), in natural order.
pub fn named_and_tagged(mut builders: Vec<Builder>, named: &[String], tags: &[String]) -> Vec<Builder> {
    builders.retain(|b| (named.is_empty() || named.contains(&b.name)) && (tags.is_empty() || b.matches_any_tag(tags)));
    builders.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    builders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_are_the_named_ones_narrowed_by_tags_in_natural_order() {
        let builder = |name: &str, tags: &[&str]| Builder {
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Builder::default()
        };
        let all = vec![builder("b10", &["ci"]), builder("b9", &[]), builder("b2", &["ci", "slow"])];
        let names = |v: Vec<Builder>| v.into_iter().map(|b| b.name).collect::<Vec<_>>();
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(names(named_and_tagged(all.clone(), &[], &[])), ["b2", "b9", "b10"]);
        assert_eq!(names(named_and_tagged(all.clone(), &strings(&["b10", "b9", "nope"]), &[])), ["b9", "b10"]);
        assert_eq!(names(named_and_tagged(all.clone(), &[], &strings(&["ci"]))), ["b2", "b10"]);
        assert_eq!(names(named_and_tagged(all, &strings(&["b9", "b10"]), &strings(&["slow", "ci"]))), ["b10"]);
    }

    #[test]
    fn parses_repeated_and_encoded_arguments() {
        let args = Args::parse("builder=a%2Fb&builder=c+d&branch=&branch=trunk&flag");
        assert_eq!(args.all("builder"), ["a/b", "c d"]);
        assert_eq!(args.all("branch"), ["trunk"]);
        assert_eq!(args.first("flag"), Some(""));
        assert_eq!(args.first("nope"), None);
    }

    #[test]
    fn counts_are_validated_with_the_argument_named() {
        let args = Args::parse("numbuilds=7&bad=x1");
        assert_eq!(args.count("numbuilds", 20), Ok(7));
        assert_eq!(args.count("absent", 20), Ok(20));
        let err = args.count("bad", 20).unwrap_err();
        assert_eq!(err.to_string(), "argument 'bad': 'x1' is not a whole number (0 or more)");
        assert!(Args::parse("n=-1").count("n", 1).is_err());
    }

    #[test]
    fn with_replaces_one_argument_and_drops_empty_ones() {
        let args = Args::parse("builder=a+b&last_time=5&branch=&reload=60");
        assert_eq!(args.with("last_time", Some("9")), "builder=a%20b&reload=60&last_time=9");
        assert_eq!(args.with("reload", None), "builder=a%20b&last_time=5");
    }

    #[test]
    fn trunk_matches_builds_without_a_branch() {
        let trunk = Args::parse("branch=trunk").branches();
        assert!(trunk.matches(None) && trunk.matches(Some("trunk")) && !trunk.matches(Some("dev")));
        assert!(BranchFilter::default().matches(Some("anything")));
    }

    #[test]
    fn tag_wins_over_category_and_property_filters_keep_the_first_value() {
        assert_eq!(Args::parse("category=a&tag=b").tags(), ["b"]);
        assert_eq!(Args::parse("category=a").tags(), ["a"]);
        let p = Args::parse("property.owner=ann&property.owner=bob&property.x=1").property_filters();
        assert_eq!(p, [("owner".to_owned(), "ann".to_owned()), ("x".to_owned(), "1".to_owned())]);
    }
}
