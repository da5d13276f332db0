//! The `bitbucket` dialect (spec §10.5): Bitbucket Cloud `repo:push` webhooks, Bitbucket
//! Server `repo:refs_changed` webhooks, and the old POST service (`payload=` form field).
//!
//! With a `secret`, a request must carry either `X-Hub-Signature: sha256=HMAC` of the body
//! (what both Cloud and Server send when the webhook has a secret) or `?secret=` in the URL
//! (for senders that cannot sign); both are checked in constant time.

use super::json::{self, Node};
use super::verify::{Algorithm, hmac_matches, secrets_equal};
use super::{HookError, HookOutcome, HookRequest, NewChange, bad, changes_or, forbidden};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BitbucketOptions {
    pub secret: Option<String>,
}

pub fn parse(options: &BitbucketOptions, request: &HookRequest) -> Result<HookOutcome, HookError> {
    check_secret(options, request)?;
    let args = request.args();
    let project_arg = args.first("project").map(str::to_owned);
    if request.media_type() == "application/x-www-form-urlencoded" {
        let text = args.first("payload").ok_or_else(|| bad("the form has no 'payload' field"))?;
        let payload = json::parse(text.as_bytes())?;
        return legacy(Node::root(&payload), project_arg.unwrap_or_default());
    }
    let event = request.header("x-event-key").unwrap_or("");
    if !event.is_empty() && event != "repo:push" && event != "repo:refs_changed" {
        return Ok(HookOutcome::Ignored(format!("event '{event}' ignored")));
    }
    let payload = json::parse(request.body)?;
    let root = Node::root(&payload);
    if root.has("push") {
        cloud(root, project_arg)
    } else if root.has("changes") {
        server(root, project_arg)
    } else {
        Err(bad("payload is neither a Bitbucket Cloud push ('push') nor a Bitbucket Server push ('changes')"))
    }
}

fn check_secret(options: &BitbucketOptions, request: &HookRequest) -> Result<(), HookError> {
    let Some(secret) = &options.secret else { return Ok(()) };
    if let Some(signature) = request.header("x-hub-signature") {
        let hex = signature
            .strip_prefix("sha256=")
            .ok_or_else(|| forbidden("X-Hub-Signature is not of the form sha256=HEX"))?;
        return if hmac_matches(Algorithm::Sha256, secret.as_bytes(), request.body, hex) {
            Ok(())
        } else {
            Err(forbidden("X-Hub-Signature does not match the body and the secret"))
        };
    }
    match request.query_args().first("secret") {
        Some(given) if secrets_equal(given.as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err(forbidden("the secret in the URL is wrong")),
        None => Err(forbidden("the request has neither an X-Hub-Signature nor a secret")),
    }
}

/// Bitbucket Cloud: `push.changes[]`, each with the new ref and its commits (newest first).
fn cloud(root: Node, project: Option<String>) -> Result<HookOutcome, HookError> {
    let repo = root.obj("repository")?;
    let full_name = repo.opt_str("full_name").unwrap_or_default();
    let url = repo
        .obj("links")
        .and_then(|l| l.obj("html"))
        .and_then(|h| h.str("href").map(str::to_owned))
        .unwrap_or_else(|_| format!("https://bitbucket.org/{full_name}"));
    let project = project.unwrap_or_else(|| full_name.to_owned());
    let push = root.obj("push")?;
    let mut changes = Vec::new();
    for change in push.list("changes")? {
        let Ok(new) = change.obj("new") else { continue }; // the ref was deleted
        let name = new.str("name")?;
        let category = (new.opt_str("type") == Some("tag")).then(|| "tag".to_owned());
        let mut commits = if change.has("commits") { change.list("commits")? } else { Vec::new() };
        if commits.is_empty() {
            commits.push(new.obj("target")?);
        }
        for commit in commits.iter().rev() {
            let author = commit.obj("author")?;
            let mut c = NewChange::new(author.str("raw")?, commit.time("date")?);
            c.comments = commit.opt_str("message").unwrap_or_default().to_owned();
            let hash = commit.str("hash")?;
            c.revision = Some(hash.to_owned());
            c.revlink = Some(format!("{}/commits/{hash}", url.trim_end_matches('/')));
            c.branch = Some(name.to_owned());
            c.category = category.clone();
            c.repository = url.clone();
            c.project = project.clone();
            changes.push(c);
        }
    }
    Ok(changes_or(changes, "no new commits (only deleted refs)"))
}

/// Bitbucket Server: `changes[]` of refs, each moved to `toHash` by `actor` at `date`.
fn server(root: Node, project: Option<String>) -> Result<HookOutcome, HookError> {
    let repo = root.obj("repository")?;
    let slug = repo.str("slug")?;
    let key = repo.obj("project").ok().and_then(|p| p.opt_str("key").map(str::to_owned)).unwrap_or_default();
    let url = repo
        .obj("links")
        .ok()
        .and_then(|l| l.list("self").ok())
        .and_then(|s| s.first().and_then(|i| i.opt_str("href").map(str::to_owned)))
        .unwrap_or_default();
    let project = project.unwrap_or_else(|| format!("{key}/{slug}"));
    let actor = root.obj("actor")?;
    let who = match (actor.opt_str("displayName").or(actor.opt_str("name")), actor.opt_str("emailAddress")) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name.to_owned(),
        (None, _) => return Err(bad("payload has no 'actor.name'")),
    };
    let when = root.time("date")?;
    let mut changes = Vec::new();
    for change in root.list("changes")? {
        if change.opt_str("type") == Some("DELETE") {
            continue;
        }
        let reference = change.obj("ref")?;
        let mut c = NewChange::new(who.clone(), when);
        c.revision = Some(change.str("toHash")?.to_owned());
        c.branch = Some(reference.str("displayId")?.to_owned());
        c.category = (reference.opt_str("type") == Some("TAG")).then(|| "tag".to_owned());
        c.repository = url.clone();
        c.project = project.clone();
        changes.push(c);
    }
    Ok(changes_or(changes, "no new commits (only deleted refs)"))
}

/// The old POST service: `canon_url` + `repository.absolute_url`, and `commits[]`.
fn legacy(root: Node, project: String) -> Result<HookOutcome, HookError> {
    let repository = root.obj("repository")?;
    let repo_url = format!("{}{}", root.str("canon_url")?, repository.str("absolute_url")?);
    let mut changes = Vec::new();
    for commit in root.list("commits")? {
        let mut c = NewChange::new(commit.str("raw_author")?, commit.time("utctimestamp")?);
        for file in commit.list("files")? {
            c.files.push(file.str("file")?.to_owned());
        }
        c.comments = commit.str("message")?.to_owned();
        let node = commit.str("raw_node")?;
        c.revision = Some(node.to_owned());
        c.revlink = Some(format!("{repo_url}commits/{node}"));
        c.branch = commit.opt_str("branch").map(str::to_owned);
        c.repository = repo_url.clone();
        c.project = project.clone();
        changes.push(c);
    }
    Ok(changes_or(changes, "no commits"))
}
