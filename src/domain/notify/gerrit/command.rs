//! How a review reaches Gerrit (spec-notify-6.7): the `gerrit review` command line its SSH
//! daemon runs, and the REST call current installations prefer.
//!
//! Over SSH, the client joins the remote arguments with spaces and Gerrit splits the line
//! again with its own rules (`CommandFactoryProvider.split`: single and double quotes group,
//! a backslash outside single quotes takes the next character as it is). 0.8.12 only replaced
//! `'` by `"` in messages (G6); here every argument that is not plainly safe is put in single
//! quotes, a `'` inside written `'\''` (close, an escaped quote, reopen), which Gerrit's
//! splitter and a POSIX shell both read back to the exact text, whatever the comment says.
//!
//! `gerrit version` decides how votes are spelled: `--label NAME=N` from Gerrit 2.6, before it
//! `--verified N` / `--code-review N` (other labels cannot be sent then). When the version
//! cannot be learnt, `--label` is used (G3: every Gerrit of the last decade has it).

use serde_json::{Map, Value};

use super::locate::ChangeTarget;
use super::review::Review;
use crate::domain::web::text::quote;

/// A Gerrit version as `gerrit version` prints it (`2.9.1`, `2.11-rc1`, `3.9.1-45-gabc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GerritVersion {
    pub text: String,
    /// The leading numeric parts.
    pub numbers: Vec<u64>,
}

/// The version in `gerrit version`'s output: the first line that starts `gerrit version `.
pub fn parse_version(output: &str) -> Option<GerritVersion> {
    let text = output.lines().find_map(|l| l.strip_prefix("gerrit version "))?.trim();
    let dotted = text.split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap_or_default();
    let numbers: Vec<u64> = dotted.split('.').map_while(|part| part.parse().ok()).collect();
    (!numbers.is_empty()).then(|| GerritVersion { text: text.to_owned(), numbers })
}

/// How votes are spelled on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelStyle {
    /// `--label NAME=N` (Gerrit 2.6 and later).
    Labels,
    /// `--verified N` and `--code-review N` only.
    Legacy,
}

impl LabelStyle {
    /// The style for `version`; `--label` when it is not known.
    pub fn of(version: Option<&GerritVersion>) -> Self {
        match version.map(|v| (v.numbers.first().copied(), v.numbers.get(1).copied().unwrap_or(0))) {
            Some((Some(major), minor)) if major < 2 || (major == 2 && minor < 6) => Self::Legacy,
            _ => Self::Labels,
        }
    }
}

/// The remote command of a review, and the votes it could not carry (legacy style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshReview {
    /// The arguments after `ssh … user@host`, each quoted for Gerrit's splitter.
    pub remote: Vec<String>,
    pub skipped: Vec<String>,
}

impl SshReview {
    /// The remote command line as the server receives it.
    pub fn line(&self) -> String {
        self.remote.join(" ")
    }
}

/// `gerrit review --project P [--message M] [votes] REVISION` for `review` on `target`.
pub fn ssh_review(target: &ChangeTarget, review: &Review, style: LabelStyle) -> Result<SshReview, String> {
    check_project(&target.project)?;
    let mut args: Vec<String> = vec!["gerrit".into(), "review".into(), "--project".into(), target.project.clone()];
    if let Some(message) = review.message.as_deref().filter(|m| !m.is_empty()) {
        // The one character a command line cannot carry.
        args.extend(["--message".to_owned(), message.replace('\0', "")]);
    }
    let mut skipped = Vec::new();
    for (name, value) in &review.labels {
        check_label(name)?;
        match (style, name.as_str()) {
            (LabelStyle::Labels, _) => args.extend(["--label".to_owned(), format!("{name}={value}")]),
            (LabelStyle::Legacy, "Verified") => args.extend(["--verified".to_owned(), value.to_string()]),
            (LabelStyle::Legacy, "Code-Review") => args.extend(["--code-review".to_owned(), value.to_string()]),
            (LabelStyle::Legacy, _) => skipped.push(name.clone()),
        }
    }
    args.push(patch_set(target)?);
    Ok(SshReview { remote: args.iter().map(|a| quote_arg(a)).collect(), skipped })
}

/// The patch set as `gerrit review` takes it: the commit, else `CHANGE,PATCHSET`.
fn patch_set(target: &ChangeTarget) -> Result<String, String> {
    match (&target.revision, target.change, target.patchset) {
        (Some(rev), _, _) if is_revision(rev) => Ok(rev.clone()),
        (Some(rev), _, _) => Err(format!("revision '{}' is not a commit SHA", rev.escape_debug())),
        (None, Some(c), Some(p)) => Ok(format!("{c},{p}")),
        _ => Err("the build names neither the patch set's commit nor its change and patch set numbers".to_owned()),
    }
}

/// `text` as one argument for Gerrit's splitter (and a POSIX shell).
pub fn quote_arg(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./,:=@+-%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A review through the REST API: the path under the server's URL, and the JSON body
/// (`ReviewInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestReview {
    pub path: String,
    pub body: Value,
}

/// `POST a/changes/{change}/revisions/{revision}/review` for `review` on `target`.
pub fn rest_review(target: &ChangeTarget, review: &Review) -> Result<RestReview, String> {
    check_project(&target.project)?;
    let project = quote(&target.project);
    let change = match (target.change, &target.change_id, &target.branch) {
        (Some(number), _, _) => format!("{project}~{number}"),
        (None, Some(id), Some(branch)) => format!("{project}~{}~{}", quote(branch), quote(id)),
        (None, Some(id), None) => quote(id),
        (None, None, _) => return Err("the build names no change number or Change-Id for the REST API".to_owned()),
    };
    let revision = match (&target.revision, target.patchset) {
        (Some(rev), _) if is_revision(rev) => rev.clone(),
        (Some(rev), _) => return Err(format!("revision '{}' is not a commit SHA", rev.escape_debug())),
        (None, Some(p)) => p.to_string(),
        (None, None) => "current".to_owned(),
    };
    let mut body = Map::new();
    if let Some(message) = review.message.as_deref().filter(|m| !m.is_empty()) {
        body.insert("message".into(), Value::String(message.to_owned()));
    }
    if !review.labels.is_empty() {
        for name in review.labels.keys() {
            check_label(name)?;
        }
        body.insert("labels".into(), serde_json::to_value(&review.labels).map_err(|e| e.to_string())?);
    }
    // Gerrit's web UI can hide machine-made messages by this tag.
    body.insert("tag".into(), Value::String("autogenerated:buildstatus".into()));
    Ok(RestReview { path: format!("a/changes/{change}/revisions/{revision}/review"), body: Value::Object(body) })
}

fn is_revision(text: &str) -> bool {
    (4..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_project(project: &str) -> Result<(), String> {
    if project.is_empty() || project.chars().any(char::is_control) {
        return Err(format!("project '{}' is not a Gerrit project name", project.escape_debug()));
    }
    Ok(())
}

/// Gerrit's label names: letters, digits and `-`.
fn check_label(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("'{}' is not a Gerrit label name", name.escape_debug()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
