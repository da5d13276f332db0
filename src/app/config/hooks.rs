//! The `[change_hook]` block of `buildstatus.toml`: which dialects are enabled, their
//! options, `auth` (the files of `change_hook_auth`: `file:` user:password files and
//! `htpasswd:` Apache password files, one or a list), `max_body` and `skip_ci`.
//!
//! Safe by default: a dialect that cannot authenticate its requests (no secret) is refused
//! unless `change_hook.auth` is set or the dialect says `allow_unauthenticated = true`, since
//! anyone who can reach the server could otherwise fake changes.

use std::path::Path;

use super::values::{boolean, bytes};
use crate::domain::hooks::auth::Credentials;
use crate::domain::hooks::{
    BitbucketOptions, DIALECTS, Dialect, GithubOptions, GitlabOptions, GooglecodeOptions, HookSettings, PollerOptions,
};

/// The hooks as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct HookConfig {
    pub settings: HookSettings,
    /// `change_hook_auth`: the users allowed to call the hooks.
    pub credentials: Option<Credentials>,
}

/// Parses the `change_hook` table; every problem is returned, each naming its key.
pub fn parse(value: &toml::Value, base: &Path) -> Result<HookConfig, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["change_hook: expected a table ([change_hook])".to_owned()]);
    };
    let mut config = HookConfig { settings: HookSettings::default(), credentials: None };
    let mut problems = Vec::new();
    let mut open = Vec::new();
    for (key, value) in table {
        let result = match key.as_str() {
            "auth" => auth(value, base).map(|c| config.credentials = Some(c)),
            "max_body" => bytes(value).map(|n| config.settings.max_body = n),
            "skip_ci" => boolean(value).map(|b| config.settings.skip_ci = b),
            name if DIALECTS.contains(&name) => match dialect(name, value) {
                Ok((d, allow_unauthenticated)) => {
                    if !d.authenticates() && !allow_unauthenticated {
                        open.push(name.to_owned());
                    }
                    config.settings.dialects.insert(name.to_owned(), d);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            other => Err(format!("unknown key or dialect '{other}' (dialects: {})", DIALECTS.join(", "))),
        };
        if let Err(problem) = result {
            problems.push(format!("change_hook.{key}: {problem}"));
        }
    }
    if config.credentials.is_none() {
        for name in open {
            problems.push(format!(
                "change_hook.{name}: anyone could fake changes through it: set a secret, set change_hook.auth, \
                 or say allow_unauthenticated = true"
            ));
        }
    }
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

/// `change_hook_auth`: one file or a list (the seed's), each `file:PATH` (`user:password`
/// lines, the seed's form; a bare path is one too) or `htpasswd:PATH` (an Apache password file).
fn auth(value: &toml::Value, base: &Path) -> Result<Credentials, String> {
    let names = match value {
        toml::Value::String(one) => vec![one.clone()],
        toml::Value::Array(_) => super::values::strings(value)?,
        _ => return Err("expected a file (file:PATH or htpasswd:PATH), or a list of them".to_owned()),
    };
    let mut all: Option<Credentials> = None;
    for name in &names {
        type Reader = fn(&str) -> Result<Credentials, String>;
        let (path, read): (&str, Reader) = match name.strip_prefix("htpasswd:") {
            Some(path) => (path, Credentials::parse_htpasswd),
            None => (name.strip_prefix("file:").unwrap_or(name), Credentials::parse),
        };
        let path = base.join(path);
        let content = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = read(&content).map_err(|e| format!("{}: {e}", path.display()))?;
        all = Some(match all {
            Some(before) => before.merged(file),
            None => file,
        });
    }
    all.ok_or_else(|| "name at least one file".to_owned())
}

/// One dialect's table (or `true`), and whether it allows unauthenticated requests.
fn dialect(name: &str, value: &toml::Value) -> Result<(Dialect, bool), String> {
    let empty = toml::Table::new();
    let table = match value {
        toml::Value::Boolean(true) => &empty,
        toml::Value::Table(t) => t,
        _ => return Err("expected a table of options, or true".to_owned()),
    };
    let mut problems = Vec::new();
    let mut text = |key: &'static str| -> Option<String> {
        match table.get(key) {
            None => None,
            Some(toml::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                problems.push(format!("{key}: expected a non-empty string"));
                None
            }
        }
    };
    let allow = |key: &str| table.get(key).and_then(toml::Value::as_bool);
    let dialect = match name {
        "base" => Dialect::Base,
        "gitorious" => Dialect::Gitorious,
        "github" => {
            let secret = text("secret");
            let codebase = text("codebase");
            let strict = allow("strict").unwrap_or(secret.is_some());
            let allow_sha1 = allow("allow_sha1").unwrap_or(false);
            if strict && secret.is_none() {
                problems.push("strict needs a secret".to_owned());
            }
            if allow_sha1 && secret.is_none() {
                problems.push("allow_sha1 needs a secret".to_owned());
            }
            Dialect::Github(GithubOptions { secret, strict, allow_sha1, codebase })
        }
        "gitlab" => Dialect::Gitlab(GitlabOptions { secret: text("secret") }),
        "bitbucket" => Dialect::Bitbucket(BitbucketOptions { secret: text("secret") }),
        "googlecode" => {
            let secret_key = text("secret_key");
            let branch = text("branch").unwrap_or_else(|| "default".to_owned());
            Dialect::Googlecode(GooglecodeOptions { secret_key, branch })
        }
        _ => {
            let allowed = match table.get("allowed") {
                None => None,
                Some(toml::Value::Array(items)) => {
                    let names: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_owned)).collect();
                    if names.is_none() {
                        problems.push("allowed: expected a list of poller names".to_owned());
                    }
                    names
                }
                Some(_) => {
                    problems.push("allowed: expected a list of poller names".to_owned());
                    None
                }
            };
            Dialect::Poller(PollerOptions { allowed })
        }
    };
    let known: &[&str] = match name {
        "github" => &["secret", "strict", "allow_sha1", "codebase"],
        "gitlab" | "bitbucket" => &["secret"],
        "googlecode" => &["secret_key", "branch"],
        "poller" => &["allowed"],
        _ => &[],
    };
    for (key, value) in table {
        if key == "allow_unauthenticated" && !value.is_bool() {
            problems.push("allow_unauthenticated: expected true or false".to_owned());
        } else if !known.contains(&key.as_str()) && key != "allow_unauthenticated" {
            problems.push(format!("unknown option '{key}'"));
        } else if ["strict", "allow_sha1"].contains(&key.as_str()) && !value.is_bool() {
            problems.push(format!("{key}: expected true or false"));
        }
    }
    if problems.is_empty() {
        Ok((dialect, allow("allow_unauthenticated").unwrap_or(false)))
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str, base: &Path) -> Result<HookConfig, Vec<String>> {
        let table: toml::Table = text.parse().expect("valid TOML");
        parse(&table["change_hook"], base)
    }

    #[test]
    fn dialects_and_their_options_are_read() {
        let c = parse_text(
            r#"
            [change_hook]
            max_body = 1000
            skip_ci = false
            [change_hook.github]
            secret = "s3"
            allow_sha1 = true
            [change_hook.gitlab]
            secret = "tok"
            [change_hook.base]
            allow_unauthenticated = true
            [change_hook.googlecode]
            secret_key = "k"
            branch = "master"
            "#,
            Path::new("."),
        )
        .expect("valid");
        assert_eq!(c.settings.max_body, 1000);
        assert!(!c.settings.skip_ci);
        assert_eq!(
            c.settings.dialects["github"],
            Dialect::Github(GithubOptions {
                secret: Some("s3".into()),
                strict: true,
                allow_sha1: true,
                codebase: None
            })
        );
        assert_eq!(
            c.settings.dialects["googlecode"],
            Dialect::Googlecode(GooglecodeOptions { secret_key: Some("k".into()), branch: "master".into() })
        );
        assert_eq!(c.settings.dialects.len(), 4);
    }

    #[test]
    fn an_auth_file_makes_every_dialect_safe() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hooks.passwd"), "ci:pw\n").expect("write");
        let c = parse_text("[change_hook]\nauth = \"file:hooks.passwd\"\nbase = true\npoller = {}\n", dir.path())
            .expect("valid");
        let credentials = c.credentials.expect("read from the file beside the config");
        // "ci:pw" in Basic form.
        assert!(credentials.allows(Some("Basic Y2k6cHc=")));
        assert!(!credentials.allows(Some("Basic Y2k6eA==")));
    }

    #[test]
    fn several_files_of_both_forms_are_read_as_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hooks.passwd"), "ci:pw\n").expect("write");
        std::fs::write(dir.path().join("hooks.htpasswd"), "bot:{SHA}2oguq15ANCGsJCWKX31fllwpyEk=\n").expect("write");
        let text = "[change_hook]\nauth = [\"file:hooks.passwd\", \"htpasswd:hooks.htpasswd\"]\nbase = true\n";
        let credentials = parse_text(text, dir.path()).expect("valid").credentials.expect("both files");
        assert!(credentials.allows(Some("Basic Y2k6cHc=")), "ci:pw from the first");
        let bot =
            format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "bot:pass word"));
        assert!(credentials.allows(Some(&bot)), "bot from the htpasswd file");
        assert!(credentials.slow());
    }

    #[test]
    fn github_without_strict_takes_unsigned_requests_so_it_needs_auth() {
        let text = "[change_hook.github]\nsecret = \"s\"\nstrict = false\n";
        let problems = parse_text(text, Path::new(".")).expect_err("open to anyone");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("change_hook.github: anyone could fake changes through it"), "{problems:?}");
        parse_text(&format!("{text}allow_unauthenticated = true\n"), Path::new(".")).expect("said so");
        parse_text("[change_hook.github]\nsecret = \"s\"\n", Path::new(".")).expect("strict by default");
    }

    #[test]
    fn every_problem_is_reported() {
        let mut problems = parse_text(
            r#"
            [change_hook]
            auth = "missing.passwd"
            max_body = -1
            svn = true
            gitorious = true
            [change_hook.github]
            strict = true
            colour = "red"
            [change_hook.poller]
            allowed = "all"
            "#,
            Path::new("/nowhere"),
        )
        .unwrap_err();
        problems.sort();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems[0].starts_with("change_hook.auth: cannot read /nowhere/missing.passwd"), "{problems:?}");
        assert_eq!(problems[1], "change_hook.github: strict needs a secret; unknown option 'colour'");
        assert!(problems[2].starts_with("change_hook.gitorious: anyone could fake changes"));
        assert_eq!(problems[3], "change_hook.max_body: expected a positive number of bytes");
        assert_eq!(problems[4], "change_hook.poller: allowed: expected a list of poller names");
        assert!(problems[5].starts_with("change_hook.svn: unknown key or dialect 'svn'"));
    }

    #[test]
    fn an_unauthenticated_dialect_must_be_allowed_explicitly() {
        let problems = parse_text("[change_hook]\ngithub = true\n", Path::new(".")).unwrap_err();
        assert_eq!(
            problems,
            ["change_hook.github: anyone could fake changes through it: set a secret, set change_hook.auth, \
              or say allow_unauthenticated = true"]
        );
        let ok = parse_text("[change_hook.github]\nallow_unauthenticated = true\n", Path::new(".")).expect("valid");
        assert_eq!(ok.settings.dialects["github"], Dialect::Github(GithubOptions::default()));
    }
}
