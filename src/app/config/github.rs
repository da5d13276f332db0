//! `[[github_status]]` blocks of buildstatus.toml: one GitHubStatus each, with the seed's
//! argument names (`token`, `repoOwner`, `repoName`, `sha`, `startDescription`,
//! `endDescription`, `baseURL`; the renderables checked now), what spec-notify-8 adds
//! (`context`, `states`, `builders`/`tags`), the merge-safety summary, and the delivery keys
//! every target block shares.
//!
//! ```toml
//! [[github_status]]
//! tokenFile = "github-token"
//! repoOwner = "%(prop:github_repo_owner)s"
//! repoName = "%(prop:github_repo_name)s"
//! states = { warnings = "failure" }
//! summary = true
//! ```

use std::path::Path;
use std::time::Duration;

use super::targets;
use super::values::{boolean, count, number, result_names, results, secret, string, strings};
use crate::adapters::github::{GitHubSettings, api_root};
use crate::app::notify::{GitHubApiChoice, GitHubTarget, Overrides};
use crate::domain::notify::github::{GitHubRules, State, SummaryRules};
use crate::domain::notify::interpolate::Interpolate;
use crate::domain::notify::verdict::Requirements;
use crate::domain::result::BuildResult;

/// Parses every `[[github_status]]` block.
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<GitHubTarget>, Vec<String>> {
    targets::blocks(
        "github_status",
        value,
        |table, name, delivery| read(table, name, delivery, base),
        |t| t.rules.name.as_str(),
    )
}

fn template(v: &toml::Value) -> Result<Interpolate, String> {
    Interpolate::parse(&string(v)?)
}

/// A renderable whose empty value means the default (the seed: "falsy ⇒ default").
fn or_default(v: &toml::Value, default: &Interpolate) -> Result<Interpolate, String> {
    let text = string(v)?;
    if text.is_empty() { Ok(default.clone()) } else { Interpolate::parse(&text) }
}

fn read(table: &toml::Table, name: String, delivery: Overrides, base: &Path) -> Result<GitHubTarget, Vec<String>> {
    let empty = Interpolate::literal("");
    let mut rules = GitHubRules::new(&name, empty.clone(), empty);
    let defaults = GitHubRules::new(&name, Interpolate::literal(""), Interpolate::literal(""));
    let (mut token, mut base_url, mut timeout, mut concurrency) = (None, None, Duration::from_secs(30), 4);
    let mut summary: Option<SummaryRules> = None;
    let (mut summary_context, mut required, mut passing) = (None, None, None);
    let mut problems = Vec::new();
    for (key, v) in table {
        let read: Result<(), String> = (|| {
            match key.as_str() {
                "name" => rules.name = string(v)?,
                "token" => token = Some(secret(v, base, false)?),
                "tokenFile" => token = Some(secret(v, base, true)?),
                "repoOwner" => rules.repo_owner = template(v)?,
                "repoName" => rules.repo_name = template(v)?,
                "sha" => {
                    rules.sha =
                        Some(string(v)?).filter(|s| !s.is_empty()).map(|s| Interpolate::parse(&s)).transpose()?
                }
                "startDescription" => rules.start_description = or_default(v, &defaults.start_description)?,
                "endDescription" => rules.end_description = or_default(v, &defaults.end_description)?,
                "context" => rules.context = or_default(v, &defaults.context)?,
                "baseURL" => base_url = Some(api_root(&string(v)?)?),
                "builders" => rules.filter.builders = Some(strings(v)?),
                "tags" => rules.filter.tags = Some(strings(v)?),
                "states" => states(v, &mut rules)?,
                "summary" => summary = boolean(v)?.then(SummaryRules::default),
                "summaryContext" => summary_context = Some(string(v)?),
                "summaryBuilders" => required = Some(strings(v)?),
                "summaryPassing" => passing = Some(results(v)?),
                "timeout" => timeout = Duration::from_secs(number(v, 1, 600)?.unsigned_abs()),
                "concurrency" => concurrency = count(v, 1)?.min(64),
                other => return Err(format!("unknown key '{other}'")),
            }
            Ok(())
        })();
        if let Err(p) = read {
            problems.push(format!("{key}: {p}"));
        }
    }
    for (key, needed) in [("repoOwner", "the repository's owner"), ("repoName", "the repository's name")] {
        if !table.contains_key(key) {
            problems.push(format!("{key}: required ({needed}, a string or %(prop:…)s renderable)"));
        }
    }
    if let Some(s) = summary.as_mut() {
        s.context = summary_context.unwrap_or(s.context.clone());
        s.requirements = Requirements {
            required: required.unwrap_or_default(),
            passing: passing.unwrap_or(Requirements::default().passing),
        };
    } else if summary_context.is_some() || required.is_some() || passing.is_some() {
        problems.push("summary: summaryContext, summaryBuilders and summaryPassing need summary = true".to_owned());
    }
    rules.summary = summary;
    problems.extend(rules.check());
    let Some(token) = token else {
        problems.push("token: required (or tokenFile: a file holding it)".to_owned());
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut settings = GitHubSettings::new(token);
    settings.timeout = timeout;
    if let Some(url) = base_url {
        settings.base_url = url;
    }
    Ok(GitHubTarget { rules, api: GitHubApiChoice::Http(settings), concurrency, delivery })
}

/// `states = { warnings = "failure", skipped = "none" }`: a result's state, or none.
fn states(v: &toml::Value, rules: &mut GitHubRules) -> Result<(), String> {
    let table = v.as_table().ok_or("expected a table such as { warnings = \"failure\" }")?;
    for (result, state) in table {
        let result =
            BuildResult::parse(result).ok_or_else(|| format!("'{result}' is not a result ({})", result_names()))?;
        let word = string(state)?;
        let state = match word.as_str() {
            "none" => None,
            w => Some(State::parse(w).ok_or_else(|| {
                format!("'{w}' is not a status state (pending, success, failure, error, or none to send nothing)")
            })?),
        };
        rules.states.set(result, state);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Config;

    fn target(text: &str, base: &Path) -> GitHubTarget {
        let config = Config::parse(text, base).expect("valid");
        assert_eq!(config.server.notifiers.targets.len(), 1);
        let table: toml::Table = text.parse().expect("TOML");
        parse(&table["github_status"], base).expect("valid").remove(0)
    }

    #[test]
    fn a_block_takes_the_seeds_arguments() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token"), "ghp_s3cret\n").expect("token file");
        let text = r#"
            [[github_status]]
            tokenFile = "token"
            repoOwner = "%(prop:github_repo_owner)s"
            repoName = "bbtools"
            startDescription = ""
            endDescription = "%(kw:result)s"
            baseURL = "https://ghe.example.org/api/v3"
            states = { warnings = "failure", skipped = "none", cancelled = "error" }
            tags = ["fast"]
            summary = true
            summaryBuilders = ["linux", "win"]
            summaryPassing = ["success", "warnings"]
            concurrency = 8
            maxAttempts = 5
        "#;
        let t = target(text, dir.path());
        assert_eq!(t.rules.name, "github_status");
        assert_eq!(t.rules.start_description, Interpolate::literal("Build started."), "empty means the default");
        assert_eq!(t.rules.states.of(BuildResult::Warnings), Some(State::Failure));
        assert_eq!(t.rules.states.of(BuildResult::Skipped), None);
        let summary = t.rules.summary.as_ref().expect("summary");
        assert_eq!(summary.context, "buildstatus/summary");
        assert_eq!(summary.requirements.required, ["linux", "win"]);
        assert_eq!(t.concurrency, 8);
        assert_eq!(t.delivery.retry.map(|r| r.max_attempts), Some(5));
        let GitHubApiChoice::Http(settings) = &t.api else { panic!("http expected") };
        assert_eq!(settings.base_url, "https://ghe.example.org/api/v3/");
        assert_eq!(settings.token.expose(), "ghp_s3cret");
        assert!(!format!("{t:?}").contains("s3cret"), "the token is never printed");
    }

    #[test]
    fn every_problem_is_named() {
        let text = r#"
            [[github_status]]
            repoOwner = "%(prop:owner"
            sha = "%(env:SHA)s"
            baseURL = "ftp://x"
            states = { warnings = "amber", flaky = "success" }
            summaryContext = "x"
            colour = 1
        "#;
        let mut problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        problems.sort();
        assert_eq!(
            problems,
            [
                "github_status[1].baseURL: 'ftp://x' is not an http:// or https:// URL",
                "github_status[1].colour: unknown key 'colour'",
                "github_status[1].repoName: required (the repository's name, a string or %(prop:…)s renderable)",
                "github_status[1].repoOwner: '%(prop:owner': no closing ')'",
                "github_status[1].sha: %(env:SHA)s: unknown selector 'env' (prop, src, kw or worker)",
                "github_status[1].states: 'flaky' is not a result (success, warnings, failure, skipped, exception, retry, cancelled)",
                "github_status[1].summary: summaryContext, summaryBuilders and summaryPassing need summary = true",
                "github_status[1].token: required (or tokenFile: a file holding it)",
            ]
        );
    }
}
