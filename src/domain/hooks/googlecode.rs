//! The `googlecode` dialect (spec §10.8): Google Code's post-commit hook, authenticated by
//! an HMAC-MD5 of the body (`Google-Code-Project-Hosting-Hook-Hmac`) when `secret_key` is set.
//! Google Code sends no branch: it is the revision's own, else the `branch` option.

use std::collections::BTreeSet;

use serde_json::Value;

use super::json::{self, Node, epoch};
use super::verify::{Algorithm, hmac_matches};
use super::{HookError, HookOutcome, HookRequest, NewChange, bad, changes_or, forbidden};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GooglecodeOptions {
    pub secret_key: Option<String>,
    pub branch: String,
}

impl Default for GooglecodeOptions {
    fn default() -> Self {
        Self { secret_key: None, branch: "default".to_owned() }
    }
}

const HMAC_HEADER: &str = "google-code-project-hosting-hook-hmac";

pub fn parse(options: &GooglecodeOptions, request: &HookRequest) -> Result<HookOutcome, HookError> {
    if let Some(key) = &options.secret_key {
        let given = request
            .header(HMAC_HEADER)
            .ok_or_else(|| forbidden("the request has no Google-Code-Project-Hosting-Hook-Hmac"))?;
        if !hmac_matches(Algorithm::Md5, key.as_bytes(), request.body, given) {
            return Err(forbidden("Google-Code-Project-Hosting-Hook-Hmac does not match the body and the key"));
        }
    }
    let payload = json::parse(request.body)?;
    let root = Node::root(&payload);
    let project = root.str("project_name")?;
    let repository = root.str("repository_path")?;
    let mut changes = Vec::new();
    for r in root.list("revisions")? {
        let when = match r.get("timestamp") {
            Some(Value::Number(n)) => n.as_f64().and_then(epoch),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok().and_then(epoch),
            _ => None,
        };
        let when = when.ok_or_else(|| bad("a revision has no 'timestamp' in seconds since 1970"))?;
        let mut change = NewChange::new(r.str("author")?, when);
        let mut files = BTreeSet::new();
        for list in ["added", "modified", "removed"] {
            files.extend(r.strings(list)?);
        }
        change.files = files.into_iter().collect();
        change.comments = r.opt_str("message").unwrap_or_default().to_owned();
        change.revision = match r.get("revision") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => return Err(bad("a revision has no 'revision'")),
        };
        change.branch = Some(r.opt_str("branch").unwrap_or(&options.branch).to_owned());
        change.revlink = r.opt_str("url").map(str::to_owned);
        change.repository = repository.to_owned();
        change.project = project.to_owned();
        changes.push(change);
    }
    Ok(changes_or(changes, "no revisions"))
}
