//! The `[[git_poller]]` entries of `buildstatus.toml`. Every problem is reported, each naming
//! its entry; names and branches that `git` could read as options are refused.

use std::path::Path;
use std::time::Duration;

use super::values::{boolean, count};
use crate::adapters::git_poller::GitPollerSettings;

/// Parses the `git_poller` array of tables.
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<GitPollerSettings>, Vec<String>> {
    let Some(entries) = value.as_array() else {
        return Err(vec!["git_poller: expected [[git_poller]] tables".to_owned()]);
    };
    let mut pollers: Vec<GitPollerSettings> = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("git_poller[{i}]");
        match entry.as_table().ok_or_else(|| vec!["expected a table".to_owned()]).and_then(|t| poller(t, base)) {
            Ok(p) if pollers.iter().any(|q| q.name == p.name) => {
                problems.push(format!("{at}: a second poller named '{}'", p.name));
            }
            Ok(p) => pollers.push(p),
            Err(found) => problems.extend(found.into_iter().map(|p| format!("{at}: {p}"))),
        }
    }
    if problems.is_empty() { Ok(pollers) } else { Err(problems) }
}

/// The value at `key` as `value` reads it; `None` when absent, or wrong (the problem is noted).
fn read<T>(
    table: &toml::Table,
    key: &str,
    problems: &mut Vec<String>,
    value: impl Fn(&toml::Value) -> Result<T, String>,
) -> Option<T> {
    let v = table.get(key)?;
    value(v).map_err(|e| problems.push(format!("{key}: {e}"))).ok()
}

fn poller(table: &toml::Table, base: &Path) -> Result<GitPollerSettings, Vec<String>> {
    let mut problems = Vec::new();
    let mut text = |key: &str| match table.get(key) {
        None => None,
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            problems.push(format!("{key}: expected a non-empty string"));
            None
        }
    };
    let repository = text("repository").map(|r| {
        let is_url = r.contains("://") || r.split_once(':').is_some_and(|(host, _)| host.contains('@'));
        if is_url || Path::new(&r).is_absolute() { r } else { base.join(r).to_string_lossy().into_owned() }
    });
    let name = text("name");
    let project = text("project").unwrap_or_default();
    let category = text("category");
    let codebase = text("codebase").unwrap_or_default();
    let branches = match table.get("branches") {
        None => vec!["master".to_owned()],
        Some(toml::Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect::<Vec<String>>()
        }
        Some(_) => {
            problems.push("branches: expected a list of branch names".to_owned());
            Vec::new()
        }
    };
    for branch in &branches {
        if branch.is_empty() || branch.starts_with('-') || branch.contains(|c: char| c.is_whitespace() || c == ':') {
            problems.push(format!("branches: '{branch}' is not a branch name"));
        }
    }
    if matches!(table.get("branches"), Some(toml::Value::Array(items)) if items.is_empty() || items.len() != branches.len())
    {
        problems.push("branches: expected a non-empty list of branch names".to_owned());
    }
    let seconds =
        |v: &toml::Value| count(v, 1).map_err(|_| "expected a whole number of seconds, at least 1".to_owned());
    let interval = read(table, "interval", &mut problems, seconds).map_or(600, |n| n as u64);
    let launch_key = if table.contains_key("pollAtLaunch") { "pollAtLaunch" } else { "poll_at_launch" };
    let poll_at_launch = read(table, launch_key, &mut problems, boolean).unwrap_or(false);
    let skip_ci = read(table, "skip_ci", &mut problems, boolean).unwrap_or(true);
    const KNOWN: [&str; 10] = [
        "name",
        "repository",
        "branches",
        "interval",
        "poll_at_launch",
        "pollAtLaunch",
        "project",
        "category",
        "codebase",
        "skip_ci",
    ];
    for key in table.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        problems.push(format!("unknown key '{key}'"));
    }
    let Some(repository) = repository else {
        problems.push("repository: required (a path or a URL git can fetch)".to_owned());
        return Err(problems);
    };
    if repository.starts_with('-') {
        problems.push(format!("repository: '{repository}' is not a path or a URL"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(GitPollerSettings {
        name: name.unwrap_or_else(|| repository.clone()),
        repository,
        branches,
        interval: Duration::from_secs(interval),
        poll_at_launch,
        project,
        category,
        codebase,
        skip_ci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<GitPollerSettings>, Vec<String>> {
        let table: toml::Table = text.parse().expect("valid TOML");
        parse(&table["git_poller"], Path::new("/etc/bs"))
    }

    #[test]
    fn pollers_are_read_with_defaults() {
        let p = parse_text(
            r#"
            [[git_poller]]
            repository = "repos/widget"
            [[git_poller]]
            name = "docs"
            repository = "https://git.example.org/docs.git"
            branches = ["main", "release/1.x"]
            interval = 30
            poll_at_launch = true
            project = "docs"
            "#,
        )
        .expect("valid");
        assert_eq!(p[0].repository, "/etc/bs/repos/widget");
        assert_eq!(p[0].name, "/etc/bs/repos/widget");
        assert_eq!(p[0].branches, ["master"]);
        assert_eq!(p[0].interval, Duration::from_secs(600));
        assert!(!p[0].poll_at_launch && p[0].skip_ci);
        assert_eq!(p[1].name, "docs");
        assert_eq!(p[1].repository, "https://git.example.org/docs.git");
        assert_eq!(p[1].branches, ["main", "release/1.x"]);
        assert_eq!(p[1].interval, Duration::from_secs(30));
        assert!(p[1].poll_at_launch);
        let scp = parse_text("[[git_poller]]\nrepository = \"git@example.org:team/w.git\"\n").expect("valid");
        assert_eq!(scp[0].repository, "git@example.org:team/w.git");
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = parse_text(
            r#"
            [[git_poller]]
            branches = ["--upload-pack=evil", "ok"]
            interval = 0
            colour = 1
            [[git_poller]]
            name = "x"
            repository = "/r"
            [[git_poller]]
            name = "x"
            repository = "/s"
            "#,
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "git_poller[0]: branches: '--upload-pack=evil' is not a branch name",
                "git_poller[0]: interval: expected a whole number of seconds, at least 1",
                "git_poller[0]: unknown key 'colour'",
                "git_poller[0]: repository: required (a path or a URL git can fetch)",
                "git_poller[2]: a second poller named 'x'",
            ]
        );
        let wrong = parse_text("[[git_poller]]\nrepository = \"/r\"\nskip_ci = \"no\"\n").unwrap_err();
        assert_eq!(wrong, ["git_poller[0]: skip_ci: expected true or false, found string"], "not read as true");
    }
}
