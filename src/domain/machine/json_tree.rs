//! The `/json` resource tree (spec-web-machine §7): which node a path names, the query flags,
//! `select=` composition, `filter=`, and the final text (compact or indented, keys sorted,
//! optionally wrapped for JSONP). Fetching each node's data is the adapter's job.

use std::fmt;

use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::web::args::{ArgError, Args};
use crate::domain::web::route::BuildNumber;

/// A step named in a path: by index (negative counts from the end) or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepRef {
    Index(i64),
    Name(String),
}

/// A node of the tree. Builder, build and worker names are as decoded from the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Root,
    Builders,
    Builder(String),
    /// `builders/B/builds`: every build number, each mapped to null.
    Builds(String),
    /// `builds/_all`: the `max` most recent builds.
    BuildsAll(String),
    Build(String, BuildNumber),
    /// The build's first source stamp.
    SourceStamp(String, BuildNumber),
    StampChanges(String, BuildNumber),
    StampChange(String, BuildNumber, String),
    Steps(String, BuildNumber),
    Step(String, BuildNumber, StepRef),
    BuilderSlaves(String),
    BuilderSlave(String, String),
    PendingBuilds(String),
    Slaves,
    Slave(String),
    Project,
    ChangeSources,
    Metrics,
    /// Extension: recent changes by number (0.8 has no `/json/changes`).
    Changes,
    Change(String),
}

impl Node {
    /// The node `segments` (the path after `/json`, decoded) names, if any.
    pub fn parse<S: AsRef<str>>(segments: &[S]) -> Option<Self> {
        let s: Vec<&str> = segments.iter().map(AsRef::as_ref).filter(|s| !s.is_empty()).collect();
        let own = |x: &str| x.to_owned();
        let n = BuildNumber::parse;
        Some(match s.as_slice() {
            [] => Self::Root,
            ["builders"] => Self::Builders,
            ["builders", b] => Self::Builder(own(b)),
            ["builders", b, "builds"] => Self::Builds(own(b)),
            ["builders", b, "builds", "_all"] => Self::BuildsAll(own(b)),
            ["builders", b, "builds", num] => Self::Build(own(b), n(num)),
            ["builders", b, "builds", num, "source_stamp"] => Self::SourceStamp(own(b), n(num)),
            ["builders", b, "builds", num, "source_stamp", "changes"] => Self::StampChanges(own(b), n(num)),
            ["builders", b, "builds", num, "source_stamp", "changes", c] => Self::StampChange(own(b), n(num), own(c)),
            ["builders", b, "builds", num, "steps"] => Self::Steps(own(b), n(num)),
            ["builders", b, "builds", num, "steps", st] => {
                let step = st.parse().map_or_else(|_| StepRef::Name(own(st)), StepRef::Index);
                Self::Step(own(b), n(num), step)
            }
            ["builders", b, "slaves"] => Self::BuilderSlaves(own(b)),
            ["builders", b, "slaves", w] => Self::BuilderSlave(own(b), own(w)),
            ["builders", b, "pendingBuilds"] => Self::PendingBuilds(own(b)),
            ["slaves"] => Self::Slaves,
            ["slaves", w] => Self::Slave(own(w)),
            ["project"] => Self::Project,
            ["change_sources"] => Self::ChangeSources,
            ["metrics"] => Self::Metrics,
            ["changes"] => Self::Changes,
            ["changes", c] => Self::Change(own(c)),
            _ => return None,
        })
    }
}

/// A `/json` request path split into the node and whether its help page is asked for.
pub fn split_help(segments: &[String]) -> (&[String], bool) {
    let trimmed = match segments.split_last() {
        Some((last, rest)) if last.is_empty() => rest,
        _ => segments,
    };
    match trimmed.split_last() {
        Some((last, rest)) if last == "help" => (rest, true),
        _ => (trimmed, false),
    }
}

/// The query flags of every node (§7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonArgs {
    pub as_text: bool,
    pub compact: bool,
    pub filter: bool,
    /// `select=` values; `None` when there is none (an empty value selects the node itself).
    pub select: Option<Vec<String>>,
    pub callback: Option<String>,
    /// Builds examined per builder for a worker's `builders` map.
    pub numbuilds: usize,
    /// Builds of `builds/_all`.
    pub max: usize,
}

/// A flag that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonArgError {
    Arg(ArgError),
    Callback(String),
}

impl fmt::Display for JsonArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arg(e) => e.fmt(f),
            Self::Callback(name) => write!(
                f,
                "argument 'callback': '{name}' is not a valid JavaScript name (letters, digits, '$', '_' and '.', not starting with a digit or '.')"
            ),
        }
    }
}

/// Builds a 0.8 master keeps in memory per builder: the default of `max` and `numbuilds`.
pub const CACHED_BUILDS: usize = 15;
/// The most builds `max` and `numbuilds` may ask for, so one request stays bounded.
pub const MAX_BUILDS: usize = 500;

/// `^[a-zA-Z$_][a-zA-Z$0-9._]*$`
pub fn valid_callback(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$' || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "$._".contains(c))
}

impl JsonArgs {
    pub fn parse(args: &Args) -> Result<Self, JsonArgError> {
        let as_text = args.flag("as_text", false);
        let selects: Vec<String> = args.pairs().filter(|(k, _)| *k == "select").map(|(_, v)| v.to_owned()).collect();
        let callback = match args.first("callback") {
            None | Some("") => None,
            Some(name) if valid_callback(name) => Some(name.to_owned()),
            Some(name) => return Err(JsonArgError::Callback(name.to_owned())),
        };
        Ok(Self {
            as_text,
            compact: args.flag("compact", !as_text),
            filter: args.flag("filter", as_text),
            select: (!selects.is_empty()).then_some(selects),
            callback,
            numbuilds: args.count("numbuilds", CACHED_BUILDS - 1).map_err(JsonArgError::Arg)?.min(MAX_BUILDS),
            max: args.count("max", CACHED_BUILDS).map_err(JsonArgError::Arg)?.min(MAX_BUILDS),
        })
    }
}

/// A `select=` value as path segments: slashes at the ends stripped, empty segments dropped,
/// each segment percent-decoded once more (so `a%252Fb` selects the child `a/b`).
pub fn select_segments(select: &str) -> Vec<String> {
    select
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

/// Puts `value` at `path` inside `result`, deep-merging maps, so `slaves/a` and `slaves/b`
/// both survive. An empty path merges a map into the top level; a non-map there is kept
/// under the key `""`.
pub fn merge_at(result: &mut Map<String, Value>, path: &[String], value: Value) {
    match path.split_first() {
        None => match value {
            Value::Object(map) => deep_merge(result, map),
            other => {
                result.insert(String::new(), other);
            }
        },
        Some((first, [])) => match (result.get_mut(first), value) {
            (Some(Value::Object(existing)), Value::Object(map)) => deep_merge(existing, map),
            (_, value) => {
                result.insert(first.clone(), value);
            }
        },
        Some((first, rest)) => {
            let entry = result.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                merge_at(inner, rest, value);
            }
        }
    }
}

fn deep_merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Empty for `filter=`: null, "", [] and {}. Zero and false are values (a SUCCESS result is 0).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Removes empty values recursively (§7.2, with its recommendation).
pub fn filter(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().map(filter).collect();
            if !items.is_empty() && items.iter().all(is_empty) { Value::Null } else { Value::Array(items) }
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, filter(v))).filter(|(_, v)| !is_empty(v)).collect())
        }
        other => other,
    }
}

/// How a node's object is made: a tree of maps, which `filter=`, indenting and selections
/// merged into one another work on, or compact text written straight from the typed objects
/// (`machine::json`), which is what an answer without those needs and costs far less.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Tree,
    Text,
}

/// A node's object, in the [`Form`] asked for. Both write keys sorted, so the text is the same.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Tree(Value),
    Text(String),
}

impl Json {
    /// `object` in `form`.
    pub fn of(object: &impl Serialize, form: Form) -> Self {
        match form {
            Form::Tree => Self::Tree(serde_json::to_value(object).unwrap_or(Value::Null)),
            Form::Text => Self::Text(serde_json::to_string(object).unwrap_or_else(|_| "null".to_owned())),
        }
    }

    /// A tree made by hand, in `form`.
    pub fn value(value: Value, form: Form) -> Self {
        match form {
            Form::Tree => Self::Tree(value),
            Form::Text => Self::Text(value.to_string()),
        }
    }

    /// The tree of an object made in [`Form::Tree`]. (Text is read back, which only a caller
    /// that asked for the other form would need.)
    pub fn into_tree(self) -> Value {
        match self {
            Self::Tree(value) => value,
            Self::Text(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// The compact text.
    pub fn into_text(self) -> String {
        match self {
            Self::Tree(value) => value.to_string(),
            Self::Text(text) => text,
        }
    }
}

impl JsonArgs {
    /// The form a node's object is made in for these flags.
    pub fn form(&self) -> Form {
        if self.filter || !self.compact { Form::Tree } else { Form::Text }
    }
}

/// The keys of `selects` when each names one child and no two the same one: their objects are
/// then side by side in the answer and can be written as text; otherwise they are merged as
/// trees ([`merge_at`]).
pub fn flat_selects(selects: &[String]) -> Option<Vec<String>> {
    let mut keys = Vec::with_capacity(selects.len());
    for select in selects {
        match <[String; 1]>::try_from(select_segments(select)) {
            Ok([key]) if !keys.contains(&key) => keys.push(key),
            _ => return None,
        }
    }
    Some(keys)
}

/// The text of a map from each key to its object's text, keys sorted as a tree writes them.
pub fn map_text(mut entries: Vec<(String, String)>) -> String {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let size: usize = entries.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    let mut out = String::with_capacity(size + 2);
    out.push('{');
    for (i, (key, text)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push(':');
        out.push_str(text);
    }
    out.push('}');
    out
}

/// The response text: filtered if asked, compact or indented by two, keys sorted, JSONP-wrapped
/// when a callback is given.
pub fn render(json: Json, args: &JsonArgs) -> String {
    let text = match json {
        // Made for these flags: compact and unfiltered.
        Json::Text(text) => text,
        Json::Tree(value) => {
            let value = if args.filter { filter(value) } else { value };
            if args.compact { value.to_string() } else { pretty(&value) }
        }
    };
    let text = escape_markup(text);
    match &args.callback {
        Some(name) => format!("{name}({text});"),
        None => text,
    }
}

/// JSON text with `<`, `>` and `&` as `\u` escapes. They occur only inside strings, so the
/// JSON is unchanged while no reply can be mistaken for markup, even by a browser that sniffs.
/// Text without them (most) is handed back as it is.
pub fn escape_markup(json: String) -> String {
    if memchr::memchr3(b'<', b'>', b'&', json.as_bytes()).is_none() {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn paths_name_nodes_and_unknown_children_name_none() {
        assert_eq!(Node::parse::<&str>(&[]), Some(Node::Root));
        assert_eq!(Node::parse(&segs("builders/a/builds/-1")), Some(Node::Build("a".into(), BuildNumber::FromEnd(1))));
        assert_eq!(
            Node::parse(&segs("builders/a/builds/3/steps/-2")),
            Some(Node::Step("a".into(), BuildNumber::Absolute(3), StepRef::Index(-2)))
        );
        assert_eq!(
            Node::parse(&segs("builders/a/builds/3/steps/make")),
            Some(Node::Step("a".into(), BuildNumber::Absolute(3), StepRef::Name("make".into())))
        );
        assert_eq!(Node::parse(&segs("builders/a/builds/_all")), Some(Node::BuildsAll("a".into())));
        assert_eq!(Node::parse(&segs("nothing")), None);
        assert_eq!(Node::parse(&segs("builders/a/nothing")), None);
        let path = segs("builders/a/help/");
        assert_eq!(split_help(&path), (&path[..2], true));
    }

    #[test]
    fn flags_follow_as_text_and_bad_values_are_named() {
        let text = JsonArgs::parse(&Args::parse("as_text=1")).unwrap();
        assert!(text.as_text && !text.compact && text.filter);
        let plain = JsonArgs::parse(&Args::parse("compact=maybe&filter=TRUE")).unwrap();
        assert!(!plain.as_text && plain.compact && plain.filter);
        assert_eq!(JsonArgs::parse(&Args::parse("select=")).unwrap().select, Some(vec![String::new()]));
        let bad = JsonArgs::parse(&Args::parse("callback=alert(1)")).unwrap_err();
        assert!(bad.to_string().contains("'alert(1)' is not a valid JavaScript name"), "{bad}");
        assert!(JsonArgs::parse(&Args::parse("max=x")).unwrap_err().to_string().contains("argument 'max'"));
        assert_eq!(JsonArgs::parse(&Args::parse("max=100000")).unwrap().max, MAX_BUILDS);
        assert!(valid_callback("$jq_1.done") && !valid_callback("1x") && !valid_callback(".x"));
    }

    #[test]
    fn filter_keeps_zero_and_false() {
        let v = json!({"results": 0, "ok": false, "none": null, "e": "", "l": [null, ""], "m": {"x": []}, "keep": [0]});
        assert_eq!(filter(v), json!({"results": 0, "ok": false, "keep": [0]}));
    }

    #[test]
    fn selections_deep_merge_and_keep_lists() {
        let mut out = Map::new();
        merge_at(&mut out, &segs("slaves/a"), json!({"name": "a"}));
        merge_at(&mut out, &segs("slaves/b"), json!({"name": "b"}));
        merge_at(&mut out, &segs("builders/x/pendingBuilds"), json!([1]));
        merge_at(&mut out, &[], json!({"top": 1}));
        assert_eq!(
            Value::Object(out),
            json!({"slaves": {"a": {"name": "a"}, "b": {"name": "b"}}, "builders": {"x": {"pendingBuilds": [1]}}, "top": 1})
        );
        assert_eq!(select_segments("/a%252Fb/c/"), ["a%2Fb", "c"]);
    }

    #[test]
    fn render_is_sorted_and_wraps_callbacks() {
        let args = JsonArgs::parse(&Args::parse("callback=cb")).unwrap();
        assert_eq!(render(Json::Tree(json!({"b": 1, "a": [0]})), &args), r#"cb({"a":[0],"b":1});"#);
        assert_eq!(render(Json::Text(r#"{"a":"<&>"}"#.into()), &args), r#"cb({"a":"\u003c\u0026\u003e"});"#);
        let args = JsonArgs::parse(&Args::parse("as_text=1")).unwrap();
        assert_eq!(render(Json::Tree(json!({"a": 0})), &args), "{\n  \"a\": 0\n}");
        assert_eq!(render(Json::Tree(json!("<b>&")), &args), r#""\u003cb\u003e\u0026""#);
    }

    #[test]
    fn flat_selections_are_written_side_by_side_in_key_order() {
        let selects = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(flat_selects(&selects(&["-1", "/-2/"])), Some(selects(&["-1", "-2"])));
        assert_eq!(flat_selects(&selects(&["-1", "-1"])), None);
        assert_eq!(flat_selects(&selects(&["a/b"])), None);
        assert_eq!(flat_selects(&selects(&[""])), None);
        let entries = vec![("b\"".to_owned(), "1".to_owned()), ("a".to_owned(), "[2]".to_owned())];
        assert_eq!(map_text(entries), r#"{"a":[2],"b\"":1}"#);
    }
}
