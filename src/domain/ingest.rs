//! The event ingest API's pure part (`POST /api/v1/events`): reading a posted body into
//! events, each with the id its sender gave it, with errors that name the event (by index and
//! id) and the field; checking bearer tokens; and finding the builders a batch needs.
//!
//! A body is one event object, an array of them, or `{"events": [...]}`. An event object is
//! a [`StatusEvent`] (its `type` and fields, as in `docs/events.schema.json`) plus `"event_id"`,
//! the sender's unique id for it: a repeated id is acknowledged and not applied again.

use std::collections::BTreeSet;

use serde_json::Value;

use super::event::StatusEvent;
use super::hooks::verify::secrets_equal;
use super::model;

/// At most this many events in one request.
pub const MAX_BATCH: usize = 1000;
/// The longest sender's id accepted.
pub const MAX_ID: usize = 200;

/// One posted event.
#[derive(Clone, Debug, PartialEq)]
pub struct Posted {
    pub id: String,
    pub event: StatusEvent,
}

/// Why a body was refused: which event (by position in the batch), which field, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestError {
    pub index: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl IngestError {
    fn body(message: impl Into<String>) -> Self {
        Self { index: None, field: None, message: message.into() }
    }

    fn at(index: usize, field: Option<&str>, message: impl Into<String>) -> Self {
        Self { index: Some(index), field: field.map(str::to_owned), message: message.into() }
    }
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.index, &self.field) {
            (Some(i), Some(field)) => write!(f, "event {i}, field '{field}': {}", self.message),
            (Some(i), None) => write!(f, "event {i}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Reads a posted body. Nothing is accepted unless every event is well formed.
pub fn parse(body: &[u8]) -> Result<Vec<Posted>, IngestError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| IngestError::body(format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) if map.contains_key("events") && !map.contains_key("type") => {
            match map.remove("events") {
                Some(Value::Array(items)) => items,
                _ => return Err(IngestError::body("'events' must be an array of event objects")),
            }
        }
        object @ Value::Object(_) => vec![object],
        _ => return Err(IngestError::body("expected an event object, an array of them, or {\"events\": [...]}")),
    };
    if items.is_empty() {
        return Err(IngestError::body("no events in the body"));
    }
    if items.len() > MAX_BATCH {
        return Err(IngestError::body(format!("{} events in one request; the limit is {MAX_BATCH}", items.len())));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let posted = event(index, item)?;
        if !seen.insert(posted.id.clone()) {
            return Err(IngestError::at(
                index,
                Some("event_id"),
                format!("'{}' is used twice in this batch", posted.id),
            ));
        }
        out.push(posted);
    }
    Ok(out)
}

fn event(index: usize, item: Value) -> Result<Posted, IngestError> {
    let Value::Object(mut map) = item else {
        return Err(IngestError::at(index, None, "expected an event object"));
    };
    let id = match map.remove("event_id") {
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= MAX_ID && !id.chars().any(char::is_control) => {
            id
        }
        Some(Value::String(_)) => {
            return Err(IngestError::at(
                index,
                Some("event_id"),
                format!("must be 1 to {MAX_ID} characters, not blank, without control characters"),
            ));
        }
        Some(_) => return Err(IngestError::at(index, Some("event_id"), "must be a string")),
        None => {
            return Err(IngestError::at(index, Some("event_id"), "missing: every event needs the sender's unique id"));
        }
    };
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => return Err(IngestError::at(index, Some("type"), "must be a string")),
        None => {
            return Err(IngestError::at(index, Some("type"), "missing: the kind of event, such as \"build_started\""));
        }
    };
    let event = serde_json::from_value::<StatusEvent>(Value::Object(map.clone())).map_err(|e| {
        let message = e.to_string();
        let field = match missing_field(&message) {
            Some(field) if missing_at_top(&map, &field) => Some(field),
            missing => locate(&map).or(missing),
        };
        IngestError::at(index, field.as_deref(), format!("{message} (in a {kind} event)"))
    })?;
    if let StatusEvent::StepTextChanged { text: None, text2: None, .. } = event {
        return Err(IngestError::at(
            index,
            Some("text"),
            "missing: give text, text2 or both (in a step_text_changed event)",
        ));
    }
    Ok(Posted { id, event })
}

/// Whether `field`, which serde says is missing, is one of the event's own fields rather than
/// one of a record inside it: given it (as null), the event no longer lacks it.
fn missing_at_top(map: &serde_json::Map<String, Value>, field: &str) -> bool {
    if map.contains_key(field) {
        return false;
    }
    let mut with = map.clone();
    with.insert(field.to_owned(), Value::Null);
    match serde_json::from_value::<StatusEvent>(Value::Object(with)) {
        Ok(_) => true,
        Err(e) => missing_field(&e.to_string()).as_deref() != Some(field),
    }
}

/// Events with more top-level fields than this are not searched for the culprit.
const LOCATE_KEYS: usize = 16;

/// The path of the field that spoils an event. serde reads a tagged enum through a buffer
/// that forgets where it was, so the culprit is found again: the top-level field whose
/// removal cures the event (or leaves it only missing), then, inside a record, by reading
/// the record alone with its path tracked.
fn locate(map: &serde_json::Map<String, Value>) -> Option<String> {
    // Each try reads the event again: with a flood of unknown keys that would be quadratic.
    // No event has more than a handful of fields; serde's message still says what is wrong.
    if map.len() > LOCATE_KEYS {
        return None;
    }
    for (key, value) in map.iter().filter(|(k, _)| *k != "type") {
        let mut without = map.clone();
        without.remove(key);
        let cured = match serde_json::from_value::<StatusEvent>(Value::Object(without)) {
            Ok(_) => true,
            Err(e) => missing_field(&e.to_string()).as_deref() == Some(key.as_str()),
        };
        if cured {
            let inner = match key.as_str() {
                "build" => inner_path::<model::Build>(value),
                "step" => inner_path::<model::Step>(value),
                "change" => inner_path::<model::Change>(value),
                "builder" => inner_path::<model::Builder>(value),
                "worker" => inner_path::<model::Worker>(value),
                "request" => inner_path::<model::BuildRequest>(value),
                "buildset" => inner_path::<model::Buildset>(value),
                "user" => inner_path::<model::User>(value),
                "properties" => inner_path::<model::Properties>(value),
                _ => None,
            };
            return Some(inner.map_or_else(|| key.clone(), |path| format!("{key}.{path}")));
        }
    }
    None
}

/// Where reading `value` as a `T` fails, when that is below its top.
fn inner_path<T: serde::de::DeserializeOwned>(value: &Value) -> Option<String> {
    let error = serde_path_to_error::deserialize::<_, T>(value.clone()).err()?;
    let path = error.path().to_string();
    // A missing field is named by the message only; its record, by the path.
    let missing = missing_field(&error.into_inner().to_string());
    match (path.as_str(), missing) {
        (".", missing) => missing,
        (_, Some(field)) => Some(format!("{path}.{field}")),
        (_, None) => Some(path),
    }
}

/// serde names a missing field only in its message: "missing field `number`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The builders `events` start builds or requests on that `known` does not know and the batch
/// does not add before it needs them, in order.
pub fn unknown_builders(events: &[Posted], known: impl Fn(&str) -> bool) -> Vec<String> {
    let mut added: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for posted in events {
        let name = match &posted.event {
            StatusEvent::BuildStarted { build, .. } => &build.builder,
            StatusEvent::BuildRequestSubmitted { request } => &request.builder,
            StatusEvent::BuilderAdded { builder } => {
                added.push(&builder.name);
                continue;
            }
            _ => continue,
        };
        if !known(name) && !added.contains(&name.as_str()) && !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// The bearer tokens allowed to post events.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens(Vec<String>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} tokens)", self.0.len())
    }
}

impl Tokens {
    pub fn new(tokens: Vec<String>) -> Self {
        Self(tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an `Authorization` header carries one of the tokens. Every token is compared,
    /// in constant time, so timing tells nothing about how much of a token was right.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((scheme, given)) = authorization.and_then(|h| h.trim().split_once(' ')) else { return false };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return false;
        }
        let given = given.trim();
        let mut found = false;
        for token in &self.0 {
            found |= secrets_equal(given.as_bytes(), token.as_bytes());
        }
        found && !given.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> IngestError {
        parse(body.as_bytes()).expect_err(body)
    }

    const STARTED: &str = r#"{"event_id": "a", "type": "build_started", "build": {"builder": "b", "number": 1, "started": "2026-01-01T00:00:00Z"}}"#;

    #[test]
    fn one_event_a_batch_and_an_events_object_are_read() {
        assert_eq!(parse(STARTED.as_bytes()).expect("one").len(), 1);
        let batch = format!("[{STARTED}, {}]", STARTED.replace("\"a\"", "\"b\""));
        let events = parse(batch.as_bytes()).expect("batch");
        assert_eq!(events.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(parse(format!("{{\"events\": {batch}}}").as_bytes()).expect("object"), events);
    }

    #[test]
    fn errors_name_the_event_and_the_field() {
        let bad_number = STARTED.replace("\"number\": 1", "\"number\": \"x\"");
        let e = err(&format!("[{}, {bad_number}]", STARTED.replace("\"a\"", "\"z\"")));
        assert_eq!((e.index, e.field.as_deref()), (Some(1), Some("build.number")), "{e}");
        assert!(e.to_string().starts_with("event 1, field 'build.number': invalid type"), "{e}");
        let e = err(&STARTED.replace("\"number\": 1, ", ""));
        assert_eq!((e.index, e.field.as_deref()), (Some(0), Some("build.number")), "{e}");
        let e = err(r#"{"event_id": "q", "type": "build_exploded"}"#);
        assert!(e.message.contains("unknown variant `build_exploded`"), "{e}");
        let e = err(r#"{"type": "reconfigured", "at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(e.field.as_deref(), Some("event_id"));
        let e = err(&format!("[{STARTED}, {STARTED}]"));
        assert_eq!((e.index, e.field.as_deref()), (Some(1), Some("event_id")), "{e}");
        assert!(err("[]").message.contains("no events"));
        assert!(err("{").message.starts_with("not valid JSON"));
        assert!(err("[1]").to_string().starts_with("event 0: expected an event object"));
    }

    #[test]
    fn the_new_events_are_read_and_their_errors_name_the_field() {
        let props = r#"{"event_id": "p", "type": "build_properties_changed", "builder": "b", "number": 1,
            "properties": {"got_revision": {"value": "abc", "source": "Git"}}}"#;
        let events = parse(props.as_bytes()).expect("properties");
        let StatusEvent::BuildPropertiesChanged { properties, .. } = &events[0].event else { panic!("{events:?}") };
        assert_eq!(properties["got_revision"].value, "abc");
        let e = err(&props.replace(r#", "source": "Git""#, ""));
        assert_eq!((e.index, e.field.as_deref()), (Some(0), Some("properties.got_revision.source")), "{e}");
        let finished = r#"{"event_id": "f", "type": "build_finished", "builder": "b", "number": 1, "result": "success",
            "at": "2026-01-01T00:00:00Z", "properties": {"owner": {"value": 5}}}"#;
        assert_eq!(err(finished).field.as_deref(), Some("properties.owner.source"));
        // A build_finished from before properties existed is still read, with none.
        let old = finished.replace(r#", "properties": {"owner": {"value": 5}}"#, "");
        let StatusEvent::BuildFinished { properties, .. } = &parse(old.as_bytes()).expect("old")[0].event else {
            panic!("a build_finished")
        };
        assert!(properties.is_empty());

        let text = r#"{"event_id": "t", "type": "step_text_changed", "builder": "b", "number": 1, "step": 0, "text2": ["3 failed"]}"#;
        let StatusEvent::StepTextChanged { text, text2, .. } = &parse(text.as_bytes()).expect("text")[0].event else {
            panic!("a step_text_changed")
        };
        assert_eq!((text, text2.as_deref()), (&None, Some(&["3 failed".to_owned()][..])));
        let e = err(r#"{"event_id": "t", "type": "step_text_changed", "builder": "b", "number": 1, "step": 0}"#);
        assert_eq!((e.field.as_deref(), e.message.contains("text2")), (Some("text"), true), "{e}");
        let e = err(
            r#"{"event_id": "t", "type": "step_text_changed", "builder": "b", "number": 1, "step": 0, "text": "x"}"#,
        );
        assert_eq!(e.field.as_deref(), Some("text"), "{e}");

        let url = r#"{"event_id": "u", "type": "step_url_added", "builder": "b", "number": 1, "step": 0, "name": "coverage"}"#;
        assert_eq!(err(url).field.as_deref(), Some("url"));
        // A field an event lacks is named as such, not the first field whose removal also fails.
        let no_at = r#"{"event_id": "f", "type": "build_finished", "builder": "b", "number": 1, "result": "success"}"#;
        assert_eq!(err(no_at).field.as_deref(), Some("at"));
    }

    #[test]
    fn a_flood_of_unknown_fields_is_not_searched_but_still_refused() {
        let junk: Vec<String> = (0..LOCATE_KEYS).map(|i| format!("\"junk{i}\": 0")).collect();
        let bad = STARTED.replace("\"number\": 1", "\"number\": \"x\"");
        let flooded = bad.replacen('{', &format!("{{{}, ", junk.join(", ")), 1);
        let e = err(&flooded);
        assert_eq!((e.index, e.field.as_deref()), (Some(0), None), "{e}");
        assert!(e.message.contains("invalid type"), "{e}");
        // Unknown fields are otherwise ignored, and a few do not stop the search.
        let few = bad.replacen('{', "{\"junk\": 0, ", 1);
        assert_eq!(err(&few).field.as_deref(), Some("build.number"));
    }

    #[test]
    fn builders_are_needed_once_unless_the_batch_adds_them() {
        let events = parse(format!("[{STARTED}, {}]", STARTED.replace("\"a\"", "\"b\"")).as_bytes()).expect("ok");
        assert_eq!(unknown_builders(&events, |_| false), ["b"]);
        assert!(unknown_builders(&events, |n| n == "b").is_empty());
        let added = r#"{"event_id": "0", "type": "builder_added", "builder": {"name": "b"}}"#;
        let events = parse(format!("[{added}, {STARTED}]").as_bytes()).expect("ok");
        assert!(unknown_builders(&events, |_| false).is_empty());
        // Added after a build needs it: the build would be refused, so it is still needed.
        let events = parse(format!("[{STARTED}, {added}]").as_bytes()).expect("ok");
        assert_eq!(unknown_builders(&events, |_| false), ["b"]);
    }

    #[test]
    fn only_a_listed_bearer_token_is_allowed() {
        let tokens = Tokens::new(vec!["s3cret".into(), "other".into()]);
        assert!(tokens.allows(Some("Bearer s3cret")));
        assert!(tokens.allows(Some("bearer  other ")));
        assert!(!tokens.allows(Some("Bearer s3cre")));
        assert!(!tokens.allows(Some("Basic s3cret")));
        assert!(!tokens.allows(Some("Bearer ")));
        assert!(!tokens.allows(None));
        assert!(!Tokens::new(vec![String::new()]).allows(Some("Bearer ")));
    }
}
