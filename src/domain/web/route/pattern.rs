//! Path patterns, as route tables write them: `/builders/{builder}/builds/{number}`.
//! A pattern is read once, when its table is built; matching a path allocates nothing beyond
//! the decoded segments the parameters refer to.

use thiserror::Error;

use crate::domain::web::text::quote;

/// The most parameters one pattern has (a log's URL has four).
const MAX_PARAMS: usize = 4;

/// A path pattern. `{name}` matches any one segment (an empty one too), `{*name}` — only last —
/// any number of segments (none too), anything else that segment exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: &'static str,
    parts: Vec<Part>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Literal(&'static str),
    One(&'static str),
    Rest(&'static str),
}

/// A pattern a table cannot use; the text names the pattern.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PatternError {
    #[error("route pattern '{0}' does not start with '/'")]
    NotAbsolute(&'static str),
    #[error("route pattern '{0}' has a segment that is not a name, a {{name}} or a {{*name}}")]
    BadSegment(&'static str),
    #[error("route pattern '{0}' has a {{*name}} that is not its last segment")]
    RestNotLast(&'static str),
    #[error("route pattern '{0}' names a parameter twice")]
    RepeatedName(&'static str),
    #[error("route pattern '{0}' has more than {MAX_PARAMS} parameters")]
    TooManyParams(&'static str),
}

impl Pattern {
    pub fn parse(text: &'static str) -> Result<Self, PatternError> {
        let relative = text.strip_prefix('/').ok_or(PatternError::NotAbsolute(text))?;
        let mut parts = Vec::new();
        for segment in relative.split('/').filter(|s| !s.is_empty()) {
            let part = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_prefix('*') {
                    Some(rest) if is_name(rest) => Part::Rest(rest),
                    None if is_name(name) => Part::One(name),
                    _ => return Err(PatternError::BadSegment(text)),
                },
                None if segment.contains(['{', '}']) => return Err(PatternError::BadSegment(text)),
                None => Part::Literal(segment),
            };
            if matches!(parts.last(), Some(Part::Rest(_))) {
                return Err(PatternError::RestNotLast(text));
            }
            parts.push(part);
        }
        let pattern = Self { text, parts };
        let names: Vec<&str> = pattern.names().collect();
        if names.len() > MAX_PARAMS {
            return Err(PatternError::TooManyParams(text));
        }
        if names.iter().enumerate().any(|(i, n)| names[..i].contains(n)) {
            return Err(PatternError::RepeatedName(text));
        }
        Ok(pattern)
    }

    /// The pattern as written.
    pub fn text(&self) -> &'static str {
        self.text
    }

    /// The parameters' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Literal(_) => None,
            Part::One(name) | Part::Rest(name) => Some(*name),
        })
    }

    /// The parameters of `segments` (a path's, decoded), or `None` when they do not match.
    pub(super) fn captures(&self, segments: &[String]) -> Option<Captures> {
        let fixed = self.parts.iter().filter(|p| !matches!(p, Part::Rest(_))).count();
        let has_rest = fixed < self.parts.len();
        if segments.len() < fixed || (!has_rest && segments.len() > fixed) {
            return None;
        }
        let mut captures = Captures::default();
        for (i, part) in self.parts.iter().enumerate() {
            match *part {
                Part::Literal(text) if segments[i] == text => {}
                Part::Literal(_) => return None,
                Part::One(name) => captures.push(Capture { name, from: i, to: i + 1, rest: false }),
                Part::Rest(name) => captures.push(Capture { name, from: i, to: segments.len(), rest: true }),
            }
        }
        Some(captures)
    }

    /// A path this pattern matches, with `value(name)` as each parameter (one segment,
    /// percent-encoded): what a test or a link needs to reach the route.
    pub fn fill(&self, value: impl Fn(&str) -> String) -> String {
        let segments: Vec<String> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Literal(text) => (*text).to_owned(),
                Part::One(name) | Part::Rest(name) => quote(&value(name)),
            })
            .collect();
        format!("/{}", segments.join("/"))
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Where each parameter lies among a path's segments (no copy of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Captures {
    found: [Capture; MAX_PARAMS],
    len: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Capture {
    name: &'static str,
    from: usize,
    to: usize,
    rest: bool,
}

impl Captures {
    fn push(&mut self, capture: Capture) {
        // `Pattern::parse` refuses patterns with more parameters than there is room for.
        if let Some(slot) = self.found.get_mut(self.len) {
            *slot = capture;
            self.len += 1;
        }
    }
}

/// A matched path's parameters: its decoded segments, and where each parameter lies in them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    segments: Vec<String>,
    captures: Captures,
}

impl Params {
    pub(super) fn new(segments: Vec<String>, captures: Captures) -> Self {
        Self { segments, captures }
    }

    fn find(&self, name: &str) -> Option<&Capture> {
        self.captures.found[..self.captures.len].iter().find(|c| c.name == name)
    }

    /// The segment a `{name}` matched.
    pub fn one(&self, name: &str) -> Option<&str> {
        let capture = self.find(name).filter(|c| !c.rest)?;
        self.segments.get(capture.from).map(String::as_str)
    }

    /// The segments a `{*name}` matched.
    pub fn rest(&self, name: &str) -> Option<&[String]> {
        let capture = self.find(name).filter(|c| c.rest)?;
        self.segments.get(capture.from..capture.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        super::super::segments(path)
    }

    fn params(pattern: &'static str, path: &str) -> Option<Params> {
        let segments = segs(path);
        let captures = Pattern::parse(pattern).expect("a pattern").captures(&segments)?;
        Some(Params::new(segments, captures))
    }

    #[test]
    fn parameters_match_one_decoded_segment_each() {
        let p = params("/builders/{builder}/builds/{number}", "/builders/a%2Fb/builds/-1/").expect("a match");
        assert_eq!((p.one("builder"), p.one("number")), (Some("a/b"), Some("-1")));
        assert_eq!(p.one("nope"), None);
        assert_eq!(params("/builders/{builder}", "/builders//").expect("a match").one("builder"), Some(""));
        assert!(params("/builders/{builder}", "/builders").is_none());
        assert!(params("/builders/{builder}", "/builders/x/y").is_none());
        assert!(params("/builders", "/builder").is_none());
        assert!(params("/", "/").is_some() && params("/", "/x").is_none());
    }

    #[test]
    fn a_rest_parameter_takes_every_remaining_segment() {
        let p = params("/json/{*path}", "/json/builders/a%2Fb/").expect("a match");
        assert_eq!(p.rest("path"), Some(&["builders".to_owned(), "a/b".to_owned()][..]));
        assert_eq!(p.one("path"), None, "a rest is not one segment");
        assert_eq!(params("/json/{*path}", "/json").expect("a match").rest("path"), Some(&[][..]));
        assert!(params("/json/{*path}", "/jsonx").is_none());
    }

    #[test]
    fn bad_patterns_are_refused_by_name() {
        assert_eq!(Pattern::parse("builders"), Err(PatternError::NotAbsolute("builders")));
        assert_eq!(Pattern::parse("/a/{b"), Err(PatternError::BadSegment("/a/{b")));
        assert_eq!(Pattern::parse("/a/x{b}"), Err(PatternError::BadSegment("/a/x{b}")));
        assert_eq!(Pattern::parse("/a/{}"), Err(PatternError::BadSegment("/a/{}")));
        assert_eq!(Pattern::parse("/{*a}/b"), Err(PatternError::RestNotLast("/{*a}/b")));
        assert_eq!(Pattern::parse("/{a}/{a}"), Err(PatternError::RepeatedName("/{a}/{a}")));
        assert_eq!(Pattern::parse("/{a}/{b}/{c}/{d}/{e}"), Err(PatternError::TooManyParams("/{a}/{b}/{c}/{d}/{e}")));
    }

    #[test]
    fn a_filled_pattern_matches_back_with_its_values() {
        let pattern = Pattern::parse("/builders/{builder}/builds/{number}").expect("a pattern");
        let path = pattern.fill(|name| format!("{name} a/b"));
        assert_eq!(path, "/builders/builder%20a%2Fb/builds/number%20a%2Fb");
        let p = params("/builders/{builder}/builds/{number}", &path).expect("a match");
        assert_eq!(p.one("builder"), Some("builder a/b"));
    }
}
