//! Reading hook payloads: a JSON value with the path it was found at, so that every missing
//! or mistyped field is reported by its full name (`commits[1].author.email`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{HookError, bad};
use crate::domain::model::Timestamp;

/// Parses a payload; the error names the position of the problem.
pub fn parse(bytes: &[u8]) -> Result<Value, HookError> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("malformed JSON payload: {e}")))
}

/// A value inside a payload, and where.
#[derive(Clone)]
pub struct Node<'a> {
    pub value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Self {
        Self { value, path: String::new() }
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    fn missing(&self, key: &str) -> HookError {
        bad(format!("payload has no '{}'", self.name(key)))
    }

    /// The field `key`, absent when missing or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A required object field.
    pub fn obj(&self, key: &str) -> Result<Node<'a>, HookError> {
        match self.get(key) {
            Some(v) if v.is_object() => Ok(Node { value: v, path: self.name(key) }),
            Some(_) => Err(bad(format!("'{}' is not an object", self.name(key)))),
            None => Err(self.missing(key)),
        }
    }

    /// A required string field.
    pub fn str(&self, key: &str) -> Result<&'a str, HookError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(bad(format!("'{}' is not a string", self.name(key)))),
            None => Err(self.missing(key)),
        }
    }

    /// An optional string field (absent, null or not a string → `None`).
    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A required array, as nodes that know their index.
    pub fn list(&self, key: &str) -> Result<Vec<Node<'a>>, HookError> {
        match self.get(key) {
            Some(Value::Array(items)) => {
                let name = self.name(key);
                Ok(items.iter().enumerate().map(|(i, value)| Node { value, path: format!("{name}[{i}]") }).collect())
            }
            Some(_) => Err(bad(format!("'{}' is not a list", self.name(key)))),
            None => Err(self.missing(key)),
        }
    }

    /// An optional list of strings; absent → empty.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, HookError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(format!("'{}' is not a list of strings", self.name(key)))),
            Some(_) => Err(bad(format!("'{}' is not a list of strings", self.name(key)))),
        }
    }

    /// A required date-time string with an offset (ISO 8601).
    pub fn time(&self, key: &str) -> Result<Timestamp, HookError> {
        let text = self.str(key)?;
        parse_time(text).ok_or_else(|| bad(format!("'{}': '{text}' is not a date and time", self.name(key))))
    }
}

/// ISO 8601 / RFC 3339 (also with a space for `T`); a time without an offset is UTC.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let with_t = t.replacen(' ', "T", 1);
    if let Ok(d) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(d.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(&with_t, format) {
            return Some(d.with_timezone(&Utc));
        }
    }
    NaiveDateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc())
}

/// Seconds since the epoch (possibly fractional) as a time.
pub fn epoch(seconds: f64) -> Option<Timestamp> {
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return None;
    }
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9) as u32;
    DateTime::from_timestamp(whole as i64, nanos.min(999_999_999))
}
