//! The `gitlab` dialect (spec §10.6): push and tag push events, the payload as a JSON body.
//! With a `secret`, the `X-Gitlab-Token` header must equal it (compared in constant time).
//! `?project=` and `?codebase=` on the URL set the changes' project and codebase.

use super::github::{branch_of, commit_change};
use super::json::{self, Node};
use super::verify::secrets_equal;
use super::{HookError, HookOutcome, HookRequest, NewChange, changes_or, forbidden};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GitlabOptions {
    pub secret: Option<String>,
}

pub fn parse(options: &GitlabOptions, request: &HookRequest) -> Result<HookOutcome, HookError> {
    if let Some(secret) = &options.secret {
        let token = request.header("x-gitlab-token").ok_or_else(|| forbidden("the request has no X-Gitlab-Token"))?;
        if !secrets_equal(token.as_bytes(), secret.as_bytes()) {
            return Err(forbidden("X-Gitlab-Token is wrong"));
        }
    }
    let payload = json::parse(request.body)?;
    let root = Node::root(&payload);
    let kind = match root.opt_str("object_kind") {
        Some(kind) => kind.to_owned(),
        None => match request.header("x-gitlab-event") {
            Some("Push Hook") => "push".to_owned(),
            Some("Tag Push Hook") => "tag_push".to_owned(),
            Some(other) => other.to_owned(),
            None => "push".to_owned(),
        },
    };
    if kind != "push" && kind != "tag_push" {
        return Ok(HookOutcome::Ignored(format!("event '{kind}' ignored")));
    }
    let reference = root.str("ref")?;
    let Some((branch, category)) = branch_of(reference) else {
        return Ok(HookOutcome::Ignored(format!("ref '{reference}' is neither a branch nor a tag")));
    };
    let after = root.opt_str("after").unwrap_or_default();
    if root.flag("deleted") || (!after.is_empty() && after.bytes().all(|b| b == b'0')) {
        return Ok(HookOutcome::Ignored(format!("'{reference}' was deleted")));
    }
    let repository = root.obj("repository")?;
    let url = repository.str("url")?.to_owned();
    let args = request.query_args();
    let project = match args.first("project") {
        Some(p) => p.to_owned(),
        None => root
            .obj("project")
            .ok()
            .and_then(|p| p.opt_str("path_with_namespace").map(str::to_owned))
            .unwrap_or_default(),
    };
    let codebase = args.first("codebase").unwrap_or_default().to_owned();
    let stamp = |mut change: NewChange| {
        change.branch = Some(branch.clone());
        change.category = category.clone();
        change.repository = url.clone();
        change.project = project.clone();
        change.codebase = codebase.clone();
        change
    };
    let mut changes = Vec::new();
    for commit in root.list("commits")? {
        changes.push(stamp(commit_change(&commit, true)?));
    }
    // A tag push usually lists no commits: the tag itself is the change.
    if changes.is_empty() && kind == "tag_push" {
        let revision = root.opt_str("checkout_sha").filter(|s| !s.is_empty()).unwrap_or(after);
        let who = match root.opt_str("user_email").filter(|e| !e.is_empty()) {
            Some(email) => format!("{} <{email}>", root.str("user_name")?),
            None => root.str("user_name")?.to_owned(),
        };
        let mut change = NewChange::new(who, request.now);
        change.revision = Some(revision.to_owned()).filter(|r| !r.is_empty());
        change.comments = root.opt_str("message").filter(|m| !m.is_empty()).unwrap_or(reference).to_owned();
        changes.push(stamp(change));
    }
    Ok(changes_or(changes, format!("no new commits on '{reference}'")))
}
