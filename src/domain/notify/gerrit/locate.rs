//! Which change (and patch set) a build reports on (spec-notify-6.3), from its final
//! properties: the `repo` tool's downloads (whitespace-split, so the trailing space that made
//! 0.8.12 send nothing for repo builds no longer matters: G5), or the Gerrit change source's
//! `event.*` properties, with the patch set's own revision preferred over `got_revision`
//! (which a build that merged or rebased changes: G8), and the change and patch set numbers
//! kept, so a review can name them when no revision is known.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::model::Build;

/// A patch set of a change, as much as the build says of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangeTarget {
    pub project: String,
    pub change: Option<u64>,
    pub patchset: Option<u64>,
    /// The patch set's commit.
    pub revision: Option<String>,
    /// The `Change-Id` (`I…`) and branch, which Gerrit's REST API can also name a change by.
    #[serde(default)]
    pub change_id: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
}

impl ChangeTarget {
    /// What reviews of it are the newest state of, per `what` (a builder, the summary):
    /// the patch set, by number when known, else by commit.
    pub fn key(&self, what: &str) -> String {
        match (self.change, self.patchset, &self.revision) {
            (Some(c), Some(p), _) => format!("{}~{c},{p}/{what}", self.project),
            (_, _, Some(rev)) => format!("{}@{rev}/{what}", self.project),
            _ => format!("{}/{what}", self.project),
        }
    }

    /// The patch set as people read it: `project 1234,5` or `project 4f3c2a1d9e8b`.
    pub fn describe(&self) -> String {
        match (self.change, self.patchset, &self.revision) {
            (Some(c), Some(p), _) => format!("{} {c},{p}", self.project),
            (_, _, Some(rev)) => format!("{} {}", self.project, rev.chars().take(12).collect::<String>()),
            _ => self.project.clone(),
        }
    }
}

/// The patch sets `build` reports on: one for a Gerrit build, one per download for a `repo`
/// build, none for a build that did not come from Gerrit.
pub fn locate(build: &Build) -> Vec<ChangeTarget> {
    if let (Some(downloads), Some(downloaded)) = (build.property("repo_downloads"), build.property("repo_downloaded")) {
        return repo_downloads(downloads, downloaded);
    }
    if build.property("event.change.id").is_none_or(Value::is_null) {
        return Vec::new();
    }
    let text = |name: &str| build.property(name).and_then(non_empty_text);
    let Some(project) = text("project").or_else(|| text("event.change.project")) else { return Vec::new() };
    let target = ChangeTarget {
        project,
        change: build.property("event.change.number").and_then(number),
        patchset: build.property("event.patchSet.number").and_then(number),
        revision: text("event.patchSet.revision").or_else(|| text("got_revision")).or_else(|| text("revision")),
        change_id: text("event.change.id"),
        branch: text("event.change.branch"),
    };
    match (&target.revision, target.change, target.patchset) {
        (Some(_), _, _) | (None, Some(_), Some(_)) => vec![target],
        _ => Vec::new(),
    }
}

/// `repo_downloads` (`"project change/patchset"` each) against `repo_downloaded`
/// (`"change/patchset revision …"`): one target per download, in order, up to the first that
/// does not match its pair.
fn repo_downloads(downloads: &Value, downloaded: &Value) -> Vec<ChangeTarget> {
    let (Some(downloads), Some(downloaded)) = (downloads.as_array(), downloaded.as_str()) else { return Vec::new() };
    let tokens: Vec<&str> = downloaded.split_whitespace().collect();
    if downloads.is_empty() || tokens.len() != 2 * downloads.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, entry) in downloads.iter().enumerate() {
        let Some((project, change)) = entry.as_str().and_then(|e| e.split_once(' ')) else { break };
        if change != tokens[2 * i] {
            break;
        }
        let (number, patchset) = change.split_once('/').map_or((None, None), |(c, p)| (c.parse().ok(), p.parse().ok()));
        out.push(ChangeTarget {
            project: project.to_owned(),
            change: number,
            patchset,
            revision: Some(tokens[2 * i + 1].to_owned()),
            change_id: None,
            branch: None,
        });
    }
    out
}

/// A non-empty string (a multi-codebase `got_revision` map counts as missing).
fn non_empty_text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A number, written as one or as text (Gerrit's events carry numbers as strings).
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::model::{Properties, Property};

    fn build(props: &[(&str, Value)]) -> Build {
        let properties: Properties = props
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Property { value: v.clone(), source: "test".into() }))
            .collect();
        serde_json::from_value::<Build>(json!({"builder": "b", "number": 1, "started": "2025-01-01T00:00:00Z"}))
            .map(|b| Build { properties, ..b })
            .expect("build")
    }

    #[test]
    fn a_gerrit_build_names_its_patch_set_revision_before_what_it_got() {
        let b = build(&[
            ("event.change.id", json!("I0123")),
            ("event.change.number", json!("1234")),
            ("event.patchSet.number", json!(5)),
            ("event.patchSet.revision", json!("aaaa")),
            ("event.change.branch", json!("main")),
            ("got_revision", json!("bbbb")),
            ("project", json!("tools/bb")),
        ]);
        let target = ChangeTarget {
            project: "tools/bb".into(),
            change: Some(1234),
            patchset: Some(5),
            revision: Some("aaaa".into()),
            change_id: Some("I0123".into()),
            branch: Some("main".into()),
        };
        assert_eq!(locate(&b), std::slice::from_ref(&target));
        assert_eq!(target.key("linux"), "tools/bb~1234,5/linux");
        let older = build(&[("event.change.id", json!("I0")), ("project", json!("p")), ("got_revision", json!("cc"))]);
        assert_eq!(locate(&older)[0].revision.as_deref(), Some("cc"), "got_revision when the patch set says none");
        let multi = build(&[("event.change.id", json!("I0")), ("project", json!("p")), ("got_revision", json!({}))]);
        assert_eq!(locate(&multi), [], "a codebase map is no revision");
    }

    #[test]
    fn builds_not_from_gerrit_report_on_nothing() {
        assert_eq!(locate(&build(&[("project", json!("p")), ("got_revision", json!("cc"))])), []);
        assert_eq!(locate(&build(&[("event.change.id", json!("I0")), ("got_revision", json!("cc"))])), []);
    }

    #[test]
    fn repo_builds_name_each_download_even_with_the_trailing_space() {
        let b = build(&[
            ("repo_downloads", json!(["platform/a 12/3", "platform/b 14/1"])),
            ("repo_downloaded", json!("12/3 aaaa 14/1 bbbb ")),
        ]);
        let found = locate(&b);
        assert_eq!(found.len(), 2);
        assert_eq!((found[1].project.as_str(), found[1].change, found[1].patchset), ("platform/b", Some(14), Some(1)));
        assert_eq!(found[1].revision.as_deref(), Some("bbbb"));
        let mismatch = build(&[
            ("repo_downloads", json!(["platform/a 12/3", "platform/b 14/1"])),
            ("repo_downloaded", json!("12/3 aaaa 99/1 bbbb")),
        ]);
        assert_eq!(locate(&mismatch).len(), 1, "up to the first that does not match");
    }
}
