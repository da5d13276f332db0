//! The `gitorious` dialect (spec §10.7): the payload as JSON in the `payload=` form field (or
//! as the body). Gitorious sends no file lists, and the branch is the ref exactly as sent.

use super::github::commit_change;
use super::json::{self, Node};
use super::{HookError, HookOutcome, HookRequest, bad, changes_or};

pub fn parse(request: &HookRequest) -> Result<HookOutcome, HookError> {
    let payload = if request.media_type() == "application/json" {
        json::parse(request.body)?
    } else {
        let args = request.args();
        let text = args.first("payload").ok_or_else(|| bad("the form has no 'payload' field"))?;
        json::parse(text.as_bytes())?
    };
    let root = Node::root(&payload);
    let repo = root.obj("repository")?;
    repo.obj("owner")?.str("name")?;
    repo.str("name")?;
    let url = repo.str("url")?;
    let project = root.obj("project")?.str("name")?.to_owned();
    let reference = root.str("ref")?;
    let after = root.str("after")?;
    if after.bytes().all(|b| b == b'0') {
        return Ok(HookOutcome::Ignored(format!("'{reference}' was deleted")));
    }
    let mut changes = Vec::new();
    for commit in root.list("commits")? {
        let mut change = commit_change(&commit, false)?;
        change.branch = Some(reference.to_owned());
        change.repository = url.to_owned();
        change.project = project.clone();
        changes.push(change);
    }
    Ok(changes_or(changes, "no commits"))
}
