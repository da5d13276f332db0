//! The `[auth]` block of `buildstatus.toml`: how users log in with a password (the seed's
//! `auth` checkers) — exactly one of `basic` (users and their password hashes, inline),
//! `htpasswd` (Apache password files, every format `htpasswd` writes) or `users = true` (the
//! users of the database, `UsersAuth`) — and the groups rules may name, how long a session
//! lasts, and how many failed logins a user name or an address may have before waiting.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::values::{boolean, count, strings};
use crate::adapters::http::{AuthSettings, Login, LoginLimits};
use crate::adapters::passwords::{BasicAuth, HtpasswdAuth};

/// Reads `[auth]` into `auth`.
pub fn parse(value: &toml::Value, base: &Path, auth: &mut AuthSettings) -> Result<(), Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["auth: expected a table ([auth])".to_owned()]);
    };
    let mut problems = Vec::new();
    let mut backends: Vec<(&str, Login)> = Vec::new();
    let mut limits = LoginLimits::default();
    for (key, value) in table {
        let mut more = Vec::new();
        match key.as_str() {
            "basic" => match value.as_table() {
                Some(users) => {
                    let pairs: Result<Vec<(String, String)>, String> = (users.iter())
                        .map(|(u, h)| {
                            h.as_str().map(|h| (u.clone(), h.to_owned())).ok_or(format!("{u}: expected a hash"))
                        })
                        .collect();
                    match pairs.map_err(|e| vec![e]).and_then(BasicAuth::new) {
                        Ok(basic) => backends.push(("basic", Login::Password(Arc::new(basic)))),
                        Err(e) => more.extend(e),
                    }
                }
                None => more.push("expected a table { USER = \"HASH\" }".to_owned()),
            },
            "htpasswd" => {
                let files = match value {
                    toml::Value::String(one) => Ok(vec![one.clone()]),
                    other => strings(other),
                };
                match files {
                    Ok(files) => match HtpasswdAuth::new(files.iter().map(|f| base.join(f)).collect()) {
                        Ok(files) => backends.push(("htpasswd", Login::Password(Arc::new(files)))),
                        Err(e) => more.extend(e),
                    },
                    Err(e) => more.push(e),
                }
            }
            "users" => match boolean(value) {
                Ok(true) => backends.push(("users", Login::UsersTable)),
                Ok(false) => {}
                Err(e) => more.push(e),
            },
            "groups" => match value.as_table() {
                Some(groups) => {
                    let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
                    for (group, members) in groups {
                        match strings(members) {
                            Ok(members) => {
                                for user in members {
                                    by_user.entry(user).or_default().push(group.clone());
                                }
                            }
                            Err(e) => more.push(format!("{group}: {e}")),
                        }
                    }
                    auth.groups = by_user;
                }
                None => more.push("expected a table { GROUP = [\"user\", …] }".to_owned()),
            },
            "session_hours" => match count(value, 1) {
                Ok(hours) => auth.session_length = chrono::Duration::hours(hours as i64),
                Err(e) => more.push(e),
            },
            "max_failures" => count(value, 1).map(|n| limits.per_user = n as u32).unwrap_or_else(|e| more.push(e)),
            "max_failures_per_address" => {
                count(value, 1).map(|n| limits.per_address = n as u32).unwrap_or_else(|e| more.push(e))
            }
            "failure_window" => count(value, 1)
                .map(|s| limits.window = chrono::Duration::seconds(s as i64))
                .unwrap_or_else(|e| more.push(e)),
            other => more.push(format!(
                "unknown key '{other}' (keys: basic, htpasswd, users, groups, session_hours, max_failures, \
                 max_failures_per_address, failure_window)"
            )),
        }
        problems.extend(more.into_iter().map(|p| format!("auth.{key}: {p}")));
    }
    auth.limits = limits;
    match backends.len() {
        0 => {}
        1 => {
            let (_, login) = backends.remove(0);
            if matches!(auth.login, Login::FrontEnd(_)) {
                problems.push("authz.useHttpHeader: a front end logs users in, so [auth] may only give groups".into());
            } else {
                auth.login = login;
            }
        }
        _ => {
            let names: Vec<&str> = backends.iter().map(|(n, _)| *n).collect();
            problems.push(format!("auth: give one way to check passwords, not {}", names.join(" and ")));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, base: &Path) -> Result<AuthSettings, Vec<String>> {
        let value: toml::Table = text.parse().expect("toml");
        let mut auth = AuthSettings::default();
        parse(&toml::Value::Table(value), base, &mut auth).map(|()| auth)
    }

    #[test]
    fn basic_users_groups_and_limits_are_read() {
        let auth = read(
            r#"
            basic = { bob = "{SHA}2oguq15ANCGsJCWKX31fllwpyEk=" }
            groups = { releng = ["bob", "ann"], ops = ["bob"] }
            session_hours = 8
            max_failures = 3
            failure_window = 60
            "#,
            Path::new("."),
        )
        .expect("valid");
        assert!(matches!(auth.login, Login::Password(_)));
        assert_eq!(auth.groups["bob"], ["ops", "releng"]);
        assert_eq!(auth.session_length, chrono::Duration::hours(8));
        assert_eq!((auth.limits.per_user, auth.limits.per_address), (3, 20));
        assert_eq!(auth.limits.window, chrono::Duration::seconds(60));
    }

    #[test]
    fn htpasswd_files_are_relative_to_the_config_and_checked() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("users"), "bob:{SHA}2oguq15ANCGsJCWKX31fllwpyEk=\n").expect("write");
        assert!(matches!(read("htpasswd = \"users\"", dir.path()).expect("valid").login, Login::Password(_)));
        let problems = read("htpasswd = [\"users\", \"missing\"]", dir.path()).expect_err("missing");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("auth.htpasswd: ") && problems[0].contains("missing: cannot read"),
            "{problems:?}"
        );
    }

    #[test]
    fn plain_passwords_and_two_backends_are_refused() {
        let problems = read("basic = { bob = \"secret\" }", Path::new(".")).expect_err("plain");
        assert_eq!(
            problems,
            ["auth.basic: 'bob': not a password hash (store it hashed: `htpasswd -nB bob` prints one)"]
        );
        let problems = read("basic = { bob = \"{SHA}x\" }\nusers = true", Path::new(".")).expect_err("two");
        assert_eq!(problems, ["auth: give one way to check passwords, not basic and users"]);
    }
}
