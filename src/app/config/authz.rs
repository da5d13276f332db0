//! The `[authz]` block of `buildstatus.toml`: who may do what (the seed's `Authz`). Each of
//! the thirteen actions, and `default_action` (every action not named, except `view`), is
//! `false`, `true`, `"auth"` (any logged-in user) or a rule table
//! `{ users = [...], groups = [...], builders = ["linux-*"], workers = [...] }`.
//! `useHttpHeader` lets a front end log users in (its user header is believed only from
//! `trusted_proxies`), and `httpLoginUrl` is its login page.

use std::net::IpAddr;
use std::sync::Arc;

use super::values::{boolean, non_empty, strings};
use crate::adapters::http::{AuthSettings, FrontEnd, Login};
use crate::domain::auth::{Action, Authz, Rule, RuleTable};

/// The header a front end names the user in, unless `user_header` says otherwise.
pub const DEFAULT_USER_HEADER: &str = "X-Remote-User";

/// Reads one action's value (or `default_action`'s).
fn rule(value: &toml::Value, action: Option<Action>) -> Result<Rule, String> {
    match value {
        toml::Value::Boolean(false) => Ok(Rule::Deny),
        toml::Value::Boolean(true) => Ok(Rule::Allow),
        toml::Value::String(s) if s == "auth" => Ok(Rule::Authenticated),
        toml::Value::Table(table) => {
            let mut rules = RuleTable::default();
            for (key, value) in table {
                let list = strings(value).map_err(|e| format!("{key}: {e}"))?;
                match key.as_str() {
                    "users" => rules.users = list,
                    "groups" => rules.groups = list,
                    "builders" => rules.builders = list,
                    "workers" => rules.workers = list,
                    other => return Err(format!("unknown key '{other}' (keys: users, groups, builders, workers)")),
                }
            }
            if let Some(problem) = action.and_then(|a| rules.problem(a.subject())) {
                return Err(problem.to_owned());
            }
            Ok(Rule::Table(rules))
        }
        _ => Err("expected false, true, \"auth\" or a table { users, groups, builders, workers }".to_owned()),
    }
}

/// An address a front end connects from, or `unix` for a UNIX socket.
fn proxies(value: &toml::Value) -> Result<(Vec<IpAddr>, bool), String> {
    let mut addresses = Vec::new();
    let mut unix = false;
    for item in strings(value)? {
        if item == "unix" {
            unix = true;
        } else {
            addresses.push(item.parse().map_err(|_| format!("'{item}' is not an IP address (nor \"unix\")"))?);
        }
    }
    Ok((addresses, unix))
}

/// Reads `[authz]` into `auth` (its rules and, with `useHttpHeader`, the front end).
pub fn parse(value: &toml::Value, auth: &mut AuthSettings) -> Result<(), Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["authz: expected a table ([authz])".to_owned()]);
    };
    let mut builder = Authz::builder();
    let mut front = FrontEnd {
        trusted: vec![IpAddr::from([127, 0, 0, 1]), IpAddr::from(std::net::Ipv6Addr::LOCALHOST)],
        trust_unix: true,
        header: DEFAULT_USER_HEADER.to_owned(),
        login_url: None,
    };
    let mut header_mode = false;
    let mut problems = Vec::new();
    for (key, value) in table {
        let result = match key.as_str() {
            "default_action" => rule(value, None).map(|r| builder = builder.clone().default_action(r)),
            "useHttpHeader" | "use_http_header" => boolean(value).map(|b| header_mode = b),
            "httpLoginUrl" | "http_login_url" => non_empty(value).map(|u| front.login_url = Some(u)),
            "trusted_proxies" => proxies(value).map(|(a, u)| (front.trusted, front.trust_unix) = (a, u)),
            "user_header" => non_empty(value).map(|h| front.header = h),
            name => match Action::named(name) {
                Some(action) => rule(value, Some(action)).map(|r| builder = builder.clone().rule(action, r)),
                None => Err(format!(
                    "unknown key '{name}' (the actions: {}; and default_action, useHttpHeader, httpLoginUrl, \
                     trusted_proxies, user_header)",
                    Action::ALL.map(Action::name).join(", ")
                )),
            },
        };
        if let Err(problem) = result {
            problems.push(format!("authz.{key}: {problem}"));
        }
    }
    if header_mode {
        if !matches!(auth.login, Login::Nobody) {
            problems.push("authz.useHttpHeader: a front end logs users in, so [auth] may only give groups".to_owned());
        }
        auth.login = Login::FrontEnd(front);
    } else if front.login_url.is_some() {
        problems.push("authz.httpLoginUrl: only used with useHttpHeader = true".to_owned());
    }
    auth.authz = Arc::new(builder.build());
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Actions that only a logged-in user could ever do, on a server where nobody can log in.
pub fn unreachable_rules(auth: &AuthSettings) -> Vec<String> {
    if !matches!(auth.login, Login::Nobody) {
        return Vec::new();
    }
    (Action::ALL.into_iter())
        .filter(|a| auth.authz.wants_login(*a))
        .map(|a| format!("authz.{a}: only logged-in users may, but nobody can log in (add [auth], or useHttpHeader)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::{Identity, Subject};
    use crate::domain::model::Builder;

    fn read(text: &str) -> Result<AuthSettings, Vec<String>> {
        let value: toml::Table = text.parse().expect("toml");
        let mut auth = AuthSettings::default();
        parse(&toml::Value::Table(value), &mut auth).map(|()| auth)
    }

    #[test]
    fn every_kind_of_value_is_read() {
        let auth = read(
            r#"
            default_action = "auth"
            view = true
            pingBuilder = true
            stopBuild = false
            forceBuild = { groups = ["releng"], builders = ["linux-*"] }
            "#,
        )
        .expect("valid");
        let authz = &auth.authz;
        let linux = Builder { name: "linux-gcc".into(), ..Builder::default() };
        let releng = Identity { groups: vec!["releng".into()], ..Identity::new("bob") };
        assert!(authz.allows(Action::PingBuilder, None, &Subject::Nothing));
        assert!(!authz.allows(Action::StopBuild, Some(&releng), &Subject::Nothing));
        assert!(authz.allows(Action::CleanShutdown, Some(&Identity::new("x")), &Subject::Nothing), "the default");
        assert!(authz.allows(Action::ForceBuild, Some(&releng), &Subject::Builder(&linux)));
        assert!(!authz.allows(Action::ForceBuild, Some(&Identity::new("eve")), &Subject::Builder(&linux)));
        assert!(matches!(auth.login, Login::Nobody));
        assert_eq!(unreachable_rules(&auth).len(), 10, "every 'auth' action is unreachable without a login");
    }

    #[test]
    fn a_front_end_is_trusted_from_its_addresses() {
        let auth = read(
            "useHttpHeader = true\nhttpLoginUrl = \"https://sso/login\"\ntrusted_proxies = [\"10.0.0.1\", \"unix\"]\nforceBuild = \"auth\"",
        )
        .expect("valid");
        let Login::FrontEnd(front) = &auth.login else { panic!("{:?}", auth.login) };
        assert_eq!(front.trusted, [IpAddr::from([10, 0, 0, 1])]);
        assert!(front.trust_unix);
        assert_eq!(front.login_url.as_deref(), Some("https://sso/login"));
        assert!(unreachable_rules(&auth).is_empty());
    }

    #[test]
    fn every_problem_names_its_key() {
        let mut problems = read(
            r#"
            forcebuild = true
            stopBuild = "yes"
            cleanShutdown = { builders = ["x"] }
            pauseSlave = { workers = ["w*"], teams = [] }
            httpLoginUrl = "https://x"
            trusted_proxies = ["localhost"]
            "#,
        )
        .expect_err("bad");
        problems.sort();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems[0].starts_with("authz.cleanShutdown: 'builders' only applies"), "{problems:#?}");
        assert!(problems[1].starts_with("authz.forcebuild: unknown key 'forcebuild'"), "{problems:#?}");
        assert_eq!(problems[2], "authz.httpLoginUrl: only used with useHttpHeader = true");
        assert!(problems[3].starts_with("authz.pauseSlave: unknown key 'teams'"), "{problems:#?}");
        assert!(problems[4].starts_with("authz.stopBuild: expected false, true, \"auth\""), "{problems:#?}");
        assert_eq!(problems[5], "authz.trusted_proxies: 'localhost' is not an IP address (nor \"unix\")");
    }
}
