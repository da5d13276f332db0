//! The `github` dialect (spec §10.4): push events (branches and tags, one change per new
//! commit), pull requests, and ping; the payload as a JSON body or in the `payload=` form field.
//!
//! With a `secret`, requests must carry `X-Hub-Signature-256` (HMAC-SHA256 of the raw body);
//! the old SHA-1 `X-Hub-Signature` counts only when `allow_sha1` is set. `strict` (the default
//! with a secret) refuses unsigned requests.

use super::json::{self, Node};
use super::verify::{Algorithm, hmac_matches};
use super::{HookError, HookOutcome, HookRequest, NewChange, bad, changes_or, forbidden};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GithubOptions {
    pub secret: Option<String>,
    /// Refuse requests without a signature (only meaningful with a secret).
    pub strict: bool,
    /// Also accept the SHA-1 `X-Hub-Signature`.
    pub allow_sha1: bool,
    pub codebase: Option<String>,
}

pub fn parse(options: &GithubOptions, request: &HookRequest) -> Result<HookOutcome, HookError> {
    check_signature(options, request)?;
    let payload = match request.media_type().as_str() {
        "application/json" => json::parse(request.body)?,
        "application/x-www-form-urlencoded" => {
            let args = request.args();
            let text = args.first("payload").ok_or_else(|| bad("the form has no 'payload' field"))?;
            json::parse(text.as_bytes())?
        }
        other => {
            return Err(bad(format!(
                "unknown content type '{other}': send application/json or application/x-www-form-urlencoded"
            )));
        }
    };
    let root = Node::root(&payload);
    let event = request.header("x-github-event").ok_or_else(|| bad("the request has no X-GitHub-Event header"))?;
    match event {
        "ping" => Ok(HookOutcome::Ignored("ping received".to_owned())),
        "push" => push(options, request, root),
        "pull_request" => pull_request(options, request, root),
        other => Ok(HookOutcome::Ignored(format!("event '{other}' ignored"))),
    }
}

fn check_signature(options: &GithubOptions, request: &HookRequest) -> Result<(), HookError> {
    let Some(secret) = &options.secret else { return Ok(()) };
    let secret = secret.as_bytes();
    if let Some(signature) = request.header("x-hub-signature-256") {
        let hex = signature
            .strip_prefix("sha256=")
            .ok_or_else(|| forbidden("X-Hub-Signature-256 is not of the form sha256=HEX"))?;
        return if hmac_matches(Algorithm::Sha256, secret, request.body, hex) {
            Ok(())
        } else {
            Err(forbidden("X-Hub-Signature-256 does not match the body and the secret"))
        };
    }
    if let Some(signature) = request.header("x-hub-signature") {
        if !options.allow_sha1 {
            return Err(forbidden(
                "only a SHA-1 X-Hub-Signature was sent; this hook needs X-Hub-Signature-256 (allow_sha1 is off)",
            ));
        }
        let hex =
            signature.strip_prefix("sha1=").ok_or_else(|| forbidden("X-Hub-Signature is not of the form sha1=HEX"))?;
        return if hmac_matches(Algorithm::Sha1, secret, request.body, hex) {
            Ok(())
        } else {
            Err(forbidden("X-Hub-Signature does not match the body and the secret"))
        };
    }
    if options.strict { Err(forbidden("the request has no X-Hub-Signature-256 signature")) } else { Ok(()) }
}

/// `refs/heads/B` → (B, no category); `refs/tags/T` → (T, "tag"); anything else → `None`.
pub fn branch_of(reference: &str) -> Option<(String, Option<String>)> {
    if let Some(branch) = reference.strip_prefix("refs/heads/") {
        return Some((branch.to_owned(), None));
    }
    reference.strip_prefix("refs/tags/").map(|tag| (tag.to_owned(), Some("tag".to_owned())))
}

/// `NAME <EMAIL>`, or the name alone when there is no address.
pub fn author(person: Node) -> Result<String, HookError> {
    let name = person.str("name")?;
    Ok(match person.opt_str("email").filter(|e| !e.is_empty()) {
        Some(email) => format!("{name} <{email}>"),
        None => name.to_owned(),
    })
}

/// A pushed commit as GitHub, GitLab and Gitorious describe it: author, time, message, id and
/// link, and with `files` its added, modified and removed files. The caller says where it was
/// pushed (branch, repository, project).
pub fn commit_change(commit: &Node, files: bool) -> Result<NewChange, HookError> {
    let mut change = NewChange::new(author(commit.obj("author")?)?, commit.time("timestamp")?);
    if files {
        for list in ["added", "modified", "removed"] {
            change.files.extend(commit.strings(list)?);
        }
    }
    change.comments = commit.str("message")?.to_owned();
    change.revision = Some(commit.str("id")?.to_owned());
    change.revlink = commit.opt_str("url").map(str::to_owned);
    Ok(change)
}

fn push(options: &GithubOptions, request: &HookRequest, root: Node) -> Result<HookOutcome, HookError> {
    let reference = root.str("ref")?;
    let Some((branch, category)) = branch_of(reference) else {
        return Ok(HookOutcome::Ignored(format!("ref '{reference}' is neither a branch nor a tag")));
    };
    if root.flag("deleted") {
        return Ok(HookOutcome::Ignored(format!("'{reference}' was deleted")));
    }
    let repo = root.obj("repository")?;
    let url = repo.opt_str("url").or_else(|| repo.opt_str("html_url")).unwrap_or_default();
    let args = request.query_args();
    let project = match args.first("project") {
        Some(p) => p.to_owned(),
        None => repo.opt_str("full_name").unwrap_or_default().to_owned(),
    };
    let codebase = args.first("codebase").map(str::to_owned).or_else(|| options.codebase.clone()).unwrap_or_default();
    let mut commits = if root.has("commits") { root.list("commits")? } else { Vec::new() };
    // A tag (or a branch) pushed without new commits still names the commit it points at.
    if commits.is_empty() && root.has("head_commit") {
        commits.push(root.obj("head_commit")?);
    }
    let mut changes = Vec::with_capacity(commits.len());
    for commit in &commits {
        if commit.get("distinct").and_then(|d| d.as_bool()) == Some(false) {
            continue;
        }
        let mut change = commit_change(commit, true)?;
        change.branch = Some(branch.clone());
        change.category = category.clone();
        change.repository = url.to_owned();
        change.project = project.clone();
        change.codebase = codebase.clone();
        changes.push(change);
    }
    Ok(changes_or(changes, format!("no new commits on '{reference}'")))
}

fn pull_request(options: &GithubOptions, request: &HookRequest, root: Node) -> Result<HookOutcome, HookError> {
    let action = root.str("action")?;
    if !matches!(action, "opened" | "reopened" | "synchronize") {
        return Ok(HookOutcome::Ignored(format!("pull request action '{action}' ignored")));
    }
    let number = root.get("number").and_then(|n| n.as_u64()).ok_or_else(|| bad("payload has no numeric 'number'"))?;
    let pr = root.obj("pull_request")?;
    let commits = pr.get("commits").and_then(|n| n.as_u64()).unwrap_or(0);
    let head = pr.obj("head")?;
    let sender = root.obj("sender")?;
    let repository = root.obj("repository")?;
    let mut change = NewChange::new(sender.str("login")?, pr.time("created_at")?);
    change.revision = Some(head.str("sha")?.to_owned());
    change.branch = Some(format!("refs/pull/{number}/head"));
    change.category = Some("pull".to_owned());
    change.revlink = pr.opt_str("html_url").map(str::to_owned);
    change.repository = repository.opt_str("clone_url").unwrap_or_default().to_owned();
    change.comments = format!(
        "GitHub Pull Request #{number} ({commits} commit{})\n{}",
        if commits == 1 { "" } else { "s" },
        pr.opt_str("title").unwrap_or_default()
    )
    .trim_end()
    .to_owned();
    let args = request.query_args();
    change.project = args.first("project").map(str::to_owned).unwrap_or_default();
    change.codebase =
        args.first("codebase").map(str::to_owned).or_else(|| options.codebase.clone()).unwrap_or_default();
    Ok(HookOutcome::Changes(vec![change]))
}
