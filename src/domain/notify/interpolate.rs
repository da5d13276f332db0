//! The seed's renderables: `Interpolate("…")` strings, which targets use for mail headers,
//! commit status contexts and descriptions, repository owners and the commit to report on.
//! A template is checked when the configuration is read (a typo is a config error, not a lost
//! message) and rendered against a build.
//!
//! The forms are Buildbot's (process/properties.py), restated:
//!
//! - `%(prop:NAME)s` — a build property (empty when unset or null);
//! - `%(src:CODEBASE:ATTR)s` — an attribute of the source stamp of `CODEBASE` (`%(src::revision)s`
//!   for the default codebase): `revision`, `branch`, `repository`, `project`, `codebase`,
//!   `hasPatch`, `changes` (their numbers);
//! - `%(kw:NAME)s` — a value the target itself supplies (the result, the builder, …);
//! - `%(worker:NAME)s` (also `%(slave:NAME)s`) — the worker's `admin`, `host`, `version`, `name`;
//! - after the name, how a missing or false value is replaced: `:-TEXT` (when missing),
//!   `:~TEXT` (when missing or false), `:+TEXT` (TEXT when present, else nothing),
//!   `:?|WHEN-PRESENT|WHEN-MISSING` and `:#?|WHEN-TRUE|WHEN-FALSE` (any delimiter but `(`);
//!   the replacement texts are templates too;
//! - `%%` is a literal `%`. Values are not escaped: what uses them (a mail header, a JSON body)
//!   escapes or refuses what its format cannot carry.

use serde_json::Value;

use crate::domain::model::{Build, Worker};

/// A checked template.
#[derive(Clone, Debug, PartialEq)]
pub struct Interpolate {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Lookup(Lookup),
}

#[derive(Clone, Debug, PartialEq)]
struct Lookup {
    source: Source,
    key: String,
    replace: Replace,
}

#[derive(Clone, Debug, PartialEq)]
enum Source {
    Property,
    Stamp { codebase: String },
    Keyword,
    Worker,
}

/// What stands for a value, by whether it is present (and true).
#[derive(Clone, Debug, PartialEq)]
enum Replace {
    /// `-`: the value, or the text when missing.
    WhenMissing(Interpolate),
    /// `~`: the value, or the text when missing or false.
    WhenFalse(Interpolate),
    /// `+`: the text when present, else nothing.
    WhenPresent(Interpolate),
    /// `?` / `#?`: one text or the other, by presence (or, with `truthy`, by truth).
    Choose { yes: Interpolate, no: Interpolate, truthy: bool },
}

/// What a template is rendered against.
#[derive(Clone, Copy, Debug)]
pub struct Renderables<'a> {
    pub build: &'a Build,
    /// Values the target supplies, by name (`%(kw:NAME)s`).
    pub keywords: &'a [(&'a str, Value)],
    /// The worker that ran the build, when the target knows it.
    pub worker: Option<&'a Worker>,
}

impl Interpolate {
    /// Checks `template`; the error says which part is wrong and why.
    pub fn parse(template: &str) -> Result<Self, String> {
        let pieces = percent_pieces(template, "%(prop:NAME)s")?;
        let parts = pieces.into_iter().map(|p| match p {
            Piece::Text(t) => Ok(Part::Text(t)),
            Piece::Key(key) => Lookup::parse(key).map(Part::Lookup),
        });
        Ok(Self { parts: parts.collect::<Result<_, _>>()? })
    }

    /// A template that renders `text` as it is.
    pub fn literal(text: &str) -> Self {
        let parts = if text.is_empty() { Vec::new() } else { vec![Part::Text(text.to_owned())] };
        Self { parts }
    }

    /// The template's own text, without what lookups would add (to check, say, that what
    /// surrounds them can be part of a header name).
    pub fn literal_text(&self) -> String {
        let text = self.parts.iter().filter_map(|p| if let Part::Text(t) = p { Some(t.as_str()) } else { None });
        text.collect()
    }

    pub fn render(&self, with: &Renderables) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Lookup(l) => out.push_str(&l.render(with)),
            }
        }
        out
    }
}

/// A piece of a Python `%` template: text, or the key of a `%(KEY)s`.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(String),
    Key(&'a str),
}

/// Cuts a Python `%` template into text and the keys of its `%(KEY)s` (a key may hold
/// balanced parentheses; `%%` is a percent sign), as `Interpolate` and the mail subject
/// read theirs; `example` shows a key in the error of a lone `%`.
pub fn percent_pieces<'a>(template: &'a str, example: &str) -> Result<Vec<Piece<'a>>, String> {
    let (mut pieces, mut text, mut rest) = (Vec::new(), String::new(), template);
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            text.push('%');
            rest = after;
            continue;
        }
        let Some(inner) = rest.strip_prefix('(') else {
            return Err(format!("'%{rest}': write '%%' for a percent sign, or a key such as {example}"));
        };
        let close = closing_paren(inner).ok_or_else(|| format!("'%({inner}': no closing ')'"))?;
        let (key, after) = (&inner[..close], &inner[close + 1..]);
        rest = after
            .strip_prefix('s')
            .ok_or_else(|| format!("'%({key})': only the 's' conversion is supported, as in %({key})s"))?;
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Key(key));
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Where the parenthesis that closes the key of `%(` ends, counting nested ones as Python does.
fn closing_paren(inner: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Letters, digits, `_`, `.` and `-` (Buildbot's identifiers), possibly empty.
fn is_identifier(text: &str) -> bool {
    text.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn identifier<'a>(text: &'a str, what: &str, key: &str) -> Result<&'a str, String> {
    if is_identifier(text) { Ok(text) } else { Err(format!("%({key})s: '{text}' is not a {what} name")) }
}

impl Lookup {
    fn parse(key: &str) -> Result<Self, String> {
        let (selector, arg) =
            key.split_once(':').ok_or_else(|| format!("%({key})s: no selector (prop:, src:, kw: or worker:)"))?;
        let (source, name, replace) = match selector {
            "prop" => {
                let (name, replace) = arg.split_once(':').map_or((arg, None), |(n, r)| (n, Some(r)));
                (Source::Property, identifier(name, "property", key)?, replace)
            }
            "src" => {
                let mut pieces = arg.splitn(3, ':');
                let codebase = identifier(pieces.next().unwrap_or_default(), "codebase", key)?;
                let attr = pieces.next().ok_or_else(|| format!("%({key})s: write src:CODEBASE:ATTRIBUTE"))?;
                let attr = identifier(attr, "source stamp attribute", key)?;
                (Source::Stamp { codebase: codebase.to_owned() }, attr, pieces.next())
            }
            "kw" | "worker" | "slave" => {
                let (name, replace) = arg.split_once(':').map_or((arg, None), |(n, r)| (n, Some(r)));
                let source = if selector == "kw" { Source::Keyword } else { Source::Worker };
                (source, identifier(name, "keyword", key)?, replace)
            }
            other => return Err(format!("%({key})s: unknown selector '{other}' (prop, src, kw or worker)")),
        };
        let replace = Replace::parse(replace.unwrap_or("-"), key)?;
        Ok(Self { source, key: name.to_owned(), replace })
    }

    /// The value, `None` when it is missing.
    fn value(&self, with: &Renderables) -> Option<Value> {
        match &self.source {
            Source::Property => with.build.property(&self.key).cloned(),
            Source::Stamp { codebase } => {
                let stamp = with.build.sourcestamps.iter().find(|s| &s.codebase == codebase)?;
                match self.key.as_str() {
                    "revision" => Some(stamp.revision.clone().map_or(Value::Null, Value::String)),
                    "branch" => Some(stamp.branch.clone().map_or(Value::Null, Value::String)),
                    "repository" => Some(Value::String(stamp.repository.clone())),
                    "project" => Some(Value::String(stamp.project.clone())),
                    "codebase" => Some(Value::String(stamp.codebase.clone())),
                    "hasPatch" => Some(Value::Bool(stamp.patch.is_some())),
                    "changes" => Some(Value::from(stamp.changes.clone())),
                    _ => None,
                }
            }
            Source::Keyword => with.keywords.iter().find(|(k, _)| *k == self.key).map(|(_, v)| v.clone()),
            Source::Worker => {
                let worker = with.worker?;
                let text = |v: &Option<String>| v.clone().map(Value::String);
                match self.key.as_str() {
                    "name" => Some(Value::String(worker.name.clone())),
                    "admin" => text(&worker.admin),
                    "host" => text(&worker.host),
                    "version" => text(&worker.version),
                    "access_uri" => text(&worker.access_uri),
                    _ => None,
                }
            }
        }
    }

    fn render(&self, with: &Renderables) -> String {
        let value = self.value(with);
        let chosen = match (&self.replace, value) {
            (Replace::WhenMissing(text), None) => return text.render(with),
            (Replace::WhenFalse(text), None) => return text.render(with),
            (Replace::WhenFalse(text), Some(v)) if !truthy(&v) => return text.render(with),
            (Replace::WhenMissing(_) | Replace::WhenFalse(_), Some(v)) => v,
            (Replace::WhenPresent(text), Some(_)) => return text.render(with),
            (Replace::WhenPresent(_), None) => return String::new(),
            (Replace::Choose { yes, no, truthy: by_truth }, v) => {
                let yes_wins = if *by_truth { v.as_ref().is_some_and(truthy) } else { v.is_some() };
                return if yes_wins { yes.render(with) } else { no.render(with) };
            }
        };
        python_str(&chosen)
    }
}

impl Replace {
    fn parse(spec: &str, key: &str) -> Result<Self, String> {
        let sub = |text: &str| Interpolate::parse(text).map_err(|e| format!("%({key})s: {e}"));
        if let Some(text) = spec.strip_prefix('-') {
            return Ok(Self::WhenMissing(sub(text)?));
        }
        if let Some(text) = spec.strip_prefix('~') {
            return Ok(Self::WhenFalse(sub(text)?));
        }
        if let Some(text) = spec.strip_prefix('+') {
            return Ok(Self::WhenPresent(sub(text)?));
        }
        let (choice, truthy) = match (spec.strip_prefix('?'), spec.strip_prefix("#?")) {
            (Some(c), _) => (c, false),
            (None, Some(c)) => (c, true),
            (None, None) => {
                return Err(format!("%({key})s: after the name comes :-, :~, :+, :? or :#?, not ':{spec}'"));
            }
        };
        let mut chars = choice.chars();
        let delimiter = chars.next().ok_or_else(|| format!("%({key})s: ':?' needs |WHEN-PRESENT|WHEN-MISSING"))?;
        if delimiter == '(' {
            return Err(format!("%({key})s: '(' cannot delimit the choices"));
        }
        let (yes, no) = split_balanced(chars.as_str(), delimiter)
            .ok_or_else(|| format!("%({key})s: write the choices as {delimiter}WHEN-YES{delimiter}WHEN-NO"))?;
        Ok(Self::Choose { yes: sub(yes)?, no: sub(no)?, truthy })
    }
}

/// `text` cut at the first `delimiter` outside parentheses.
fn split_balanced(text: &str, delimiter: char) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            c if c == delimiter && depth == 0 => return Some((&text[..i], &text[i + c.len_utf8()..])),
            _ => {}
        }
    }
    None
}

/// Python's truth: null, false, 0, "", [] and {} are false.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A value as Python's `%s` shows it (null is elided, as Buildbot's lookups do).
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let pairs: Vec<String> = map.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

#[cfg(test)]
mod tests;
