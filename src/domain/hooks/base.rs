//! The `base` dialect (spec §10.3): one change from query or form fields, as contrib's
//! `post_build_request.py` sends them. `repository` and `project` default to empty (the old
//! code failed with 500 when they were missing).

use serde_json::Value;

use super::json::epoch;
use super::{HookError, HookOutcome, HookRequest, NewChange, bad};
use crate::domain::model::{Properties, Property};

pub fn parse(request: &HookRequest) -> Result<HookOutcome, HookError> {
    let args = request.args();
    let text = |name: &str| args.first(name).map(str::to_owned);
    let who = text("author").or_else(|| text("who")).unwrap_or_default();
    let when = match args.first("when").filter(|w| !w.trim().is_empty()) {
        None => request.now,
        Some(w) => w
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(epoch)
            .ok_or_else(|| bad(format!("argument 'when': '{w}' is not a time in seconds since 1970")))?,
    };
    let mut change = NewChange::new(who, when);
    if let Some(files) = args.first("files") {
        change.files = serde_json::from_str::<Vec<String>>(files)
            .map_err(|e| bad(format!("argument 'files' is not a JSON list of strings: {e}")))?;
    }
    if let Some(props) = args.first("properties") {
        let map = serde_json::from_str::<serde_json::Map<String, Value>>(props)
            .map_err(|e| bad(format!("argument 'properties' is not a JSON object: {e}")))?;
        change.properties = change_properties(map);
    }
    change.comments = text("comments").unwrap_or_default();
    change.revision = text("revision");
    change.branch = text("branch");
    change.category = text("category");
    change.revlink = text("revlink");
    change.repository = text("repository").unwrap_or_default();
    change.project = text("project").unwrap_or_default();
    change.codebase = text("codebase").unwrap_or_default();
    Ok(HookOutcome::Changes(vec![change]))
}

/// Properties a hook sets come from the change (Buildbot's source name `Change`).
pub fn change_properties(map: serde_json::Map<String, Value>) -> Properties {
    map.into_iter().map(|(name, value)| (name, Property { value, source: "Change".to_owned() })).collect()
}
