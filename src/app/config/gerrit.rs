//! `[[gerrit]]` blocks of buildstatus.toml: one GerritStatusPush each, with the seed's
//! argument names (`server`, `username`, `port`, `identity_file`, `reviewCB`, `startCB`,
//! `summaryCB` and their `…Arg`), the SSH client's host key handling and timeout, the REST
//! transport (`url`, `httpUser`, `httpPassword`), a builder/tag filter, the merge-safety vote,
//! and the delivery keys every target block shares.
//!
//! A callback is `"default"` (the seed's default review or summary), `false` (given as None:
//! it is off), or a table of minijinja templates: `message`, `labels` (label → a template
//! rendering a number), and `when` (a condition; nothing is posted when it is false).
//!
//! ```toml
//! [[gerrit]]
//! server = "gerrit.example.org"
//! username = "buildbot"
//! identity_file = "id_ed25519"
//! knownHostsFile = "known_hosts"
//! reviewCB = "default"
//! summaryCB = "default"
//! startCB = { message = "Build {{ build.number }} of {{ builder }} started: {{ build_url }}" }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::targets;
use super::values::{count, non_empty, number, results, secret, string, strings};
use crate::adapters::gerrit::{HostKeyChecking, RestSettings, SshSettings};
use crate::app::notify::{GerritTarget, GerritTransportChoice, Overrides};
use crate::domain::notify::gerrit::{BuildCallback, GerritRules, MergeSafety, ReviewTemplate, SummaryCallback};
use crate::domain::notify::verdict::Requirements;
use crate::domain::secret::Secret;

/// Parses every `[[gerrit]]` block.
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<GerritTarget>, Vec<String>> {
    targets::blocks(
        "gerrit",
        value,
        |table, name, delivery| read(table, name, delivery, base),
        |t| t.rules.name.as_str(),
    )
}

/// What a callback key says.
enum Given {
    Default,
    Off,
    Template(Arc<ReviewTemplate>),
}

fn callback(v: &toml::Value) -> Result<Given, String> {
    match v {
        toml::Value::String(s) if s == "default" => Ok(Given::Default),
        toml::Value::Boolean(false) => Ok(Given::Off),
        toml::Value::Table(t) => {
            let mut message = String::new();
            let (mut labels, mut when) = (Vec::new(), None);
            for (key, v) in t {
                match key.as_str() {
                    "message" => message = string(v).map_err(|e| format!("message: {e}"))?,
                    "when" => when = Some(non_empty(v).map_err(|e| format!("when: {e}"))?),
                    "labels" => {
                        let table = v.as_table().ok_or("labels: expected a table such as { Verified = \"1\" }")?;
                        for (name, vote) in table {
                            let source = match vote {
                                toml::Value::Integer(n) => n.to_string(),
                                other => string(other).map_err(|e| format!("labels.{name}: {e}"))?,
                            };
                            labels.push((name.clone(), source));
                        }
                    }
                    other => return Err(format!("unknown key '{other}' (message, labels, when)")),
                }
            }
            ReviewTemplate::new(&message, &labels, when.as_deref()).map(|t| Given::Template(Arc::new(t)))
        }
        _ => Err("expected \"default\", false, or a table { message = …, labels = { … }, when = … }".to_owned()),
    }
}

/// A TOML value as the JSON templates see as `arg`.
fn json(v: &toml::Value) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// One block as it is read: the transport's settings beside the rules.
struct Block {
    rules: GerritRules,
    ssh: SshSettings,
    rest_url: Option<String>,
    http_user: Option<String>,
    http_password: Option<Secret>,
    transport: String,
    concurrency: usize,
    review: Option<Given>,
    summary: Option<Given>,
}

fn read(table: &toml::Table, name: String, delivery: Overrides, base: &Path) -> Result<GerritTarget, Vec<String>> {
    let mut block = Block {
        rules: GerritRules::new(&name),
        ssh: SshSettings::new("", ""),
        rest_url: None,
        http_user: None,
        http_password: None,
        transport: "ssh".to_owned(),
        concurrency: 4,
        review: None,
        summary: None,
    };
    let mut problems = Vec::new();
    for (key, v) in table {
        if let Err(p) = block.key(key, v, base) {
            problems.push(format!("{key}: {p}"));
        }
    }
    block.finish(table, delivery, problems)
}

impl Block {
    fn key(&mut self, key: &str, v: &toml::Value, base: &Path) -> Result<(), String> {
        let (rules, ssh) = (&mut self.rules, &mut self.ssh);
        match key {
            "name" => rules.name = string(v)?,
            "server" => ssh.server = host(v)?,
            "username" => ssh.username = host(v)?,
            "port" => ssh.port = u16::try_from(number(v, 1, 65535)?).unwrap_or(29418),
            "identity_file" => ssh.identity_file = Some(base.join(non_empty(v)?)),
            "knownHostsFile" => ssh.known_hosts = Some(base.join(non_empty(v)?)),
            "strictHostKeyChecking" => {
                ssh.host_keys = match string(v)?.as_str() {
                    "yes" => HostKeyChecking::Yes,
                    "accept-new" => HostKeyChecking::AcceptNew,
                    "no" => HostKeyChecking::No,
                    other => return Err(format!("'{other}' is not yes, accept-new or no")),
                }
            }
            "sshCommand" => ssh.program = non_empty(v)?.into(),
            "timeout" => ssh.timeout = Duration::from_secs(number(v, 1, 600)?.unsigned_abs()),
            "transport" => {
                self.transport = string(v)?;
                if !matches!(self.transport.as_str(), "ssh" | "rest") {
                    return Err(format!("'{}' is not ssh or rest", self.transport));
                }
            }
            "url" => self.rest_url = Some(crate::adapters::github::api_root(&string(v)?)?),
            "httpUser" => self.http_user = Some(non_empty(v)?),
            "httpPassword" => self.http_password = Some(secret(v, base, false)?),
            "httpPasswordFile" => self.http_password = Some(secret(v, base, true)?),
            "builders" => rules.filter.builders = Some(strings(v)?),
            "tags" => rules.filter.tags = Some(strings(v)?),
            "reviewCB" => self.review = Some(callback(v)?),
            "summaryCB" => self.summary = Some(callback(v)?),
            "startCB" => {
                rules.start = match callback(v)? {
                    Given::Default => return Err("there is no default start callback: give a table".to_owned()),
                    Given::Off => None,
                    Given::Template(t) => Some(BuildCallback::Template(t)),
                }
            }
            "reviewArg" => rules.review_arg = json(v)?,
            "startArg" => rules.start_arg = json(v)?,
            "summaryArg" => rules.summary_arg = json(v)?,
            "mergeSafety" => rules.merge_safety = merge_safety(v)?,
            "concurrency" => self.concurrency = count(v, 1)?.min(64),
            other => return Err(format!("unknown key '{other}'")),
        }
        Ok(())
    }

    /// Decides the callbacks (spec-notify-6.1's table) and the transport, and checks the whole.
    fn finish(
        mut self,
        table: &toml::Table,
        delivery: Overrides,
        mut problems: Vec<String>,
    ) -> Result<GerritTarget, Vec<String>> {
        let rules = &mut self.rules;
        match (self.review.take(), self.summary.take()) {
            (None, None) => rules.summary = Some(SummaryCallback::Default),
            (review, summary) => {
                rules.review = review.and_then(|g| match g {
                    Given::Default => Some(BuildCallback::Default),
                    Given::Off => None,
                    Given::Template(t) => Some(BuildCallback::Template(t)),
                });
                rules.summary = summary.and_then(|g| match g {
                    Given::Default => Some(SummaryCallback::Default),
                    Given::Off => None,
                    Given::Template(t) => Some(SummaryCallback::Template(t)),
                });
            }
        }
        problems.extend(rules.check());
        let transport = match self.transport.as_str() {
            "rest" => {
                let user = self
                    .http_user
                    .take()
                    .or_else(|| (!self.ssh.username.is_empty()).then(|| self.ssh.username.clone()));
                match (self.rest_url.take(), user, self.http_password.take()) {
                    (Some(url), Some(user), Some(password)) => Some(GerritTransportChoice::Rest(RestSettings {
                        url,
                        user,
                        password,
                        timeout: self.ssh.timeout,
                    })),
                    _ => {
                        problems.push(
                            "transport: rest needs url, httpUser (or username) and httpPassword (or httpPasswordFile)"
                                .to_owned(),
                        );
                        None
                    }
                }
            }
            _ => {
                for (key, what) in [("server", "Gerrit's SSH host"), ("username", "the SSH user")] {
                    if !table.contains_key(key) {
                        problems.push(format!("{key}: required ({what})"));
                    }
                }
                Some(GerritTransportChoice::Ssh(self.ssh))
            }
        };
        match transport {
            Some(transport) if problems.is_empty() => {
                Ok(GerritTarget { rules: self.rules, transport, concurrency: self.concurrency, delivery })
            }
            _ => Err(problems),
        }
    }
}

/// A host or user name for ssh: not empty, no spaces or controls, not an option.
fn host(v: &toml::Value) -> Result<String, String> {
    let text = non_empty(v)?;
    if text.starts_with('-') || text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@') {
        return Err(format!("'{}' is not a host or user name", text.escape_debug()));
    }
    Ok(text)
}

/// `mergeSafety = true` or `{ label = "Verified", builders = […], passing = […] }`.
fn merge_safety(v: &toml::Value) -> Result<Option<MergeSafety>, String> {
    match v {
        toml::Value::Boolean(on) => Ok(on.then(|| MergeSafety { requirements: Requirements::default(), label: None })),
        toml::Value::Table(t) => {
            let mut safety = MergeSafety { requirements: Requirements::default(), label: None };
            for (key, v) in t {
                match key.as_str() {
                    "label" => safety.label = Some(non_empty(v).map_err(|e| format!("label: {e}"))?),
                    "builders" => safety.requirements.required = strings(v).map_err(|e| format!("builders: {e}"))?,
                    "passing" => safety.requirements.passing = results(v).map_err(|e| format!("passing: {e}"))?,
                    other => return Err(format!("unknown key '{other}' (label, builders, passing)")),
                }
            }
            Ok(Some(safety))
        }
        _ => Err("expected true, false or a table { label = …, builders = […], passing = […] }".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Config;

    fn target(text: &str) -> GerritTarget {
        Config::parse(text, Path::new("/etc/bs")).expect("valid");
        let table: toml::Table = text.parse().expect("TOML");
        parse(&table["gerrit"], Path::new("/etc/bs")).expect("valid").remove(0)
    }

    #[test]
    fn the_seeds_callback_table_decides_what_is_posted() {
        let base = "[[gerrit]]\nserver = \"gerrit.example.org\"\nusername = \"bb\"\n";
        let none = target(base);
        assert!(none.rules.review.is_none() && matches!(none.rules.summary, Some(SummaryCallback::Default)));
        let review = target(&format!("{base}reviewCB = \"default\"\n"));
        assert!(matches!(review.rules.review, Some(BuildCallback::Default)) && review.rules.summary.is_none());
        let off = target(&format!("{base}reviewCB = false\n"));
        assert!(off.rules.review.is_none() && off.rules.summary.is_none(), "None given disables the summary too");
        let both = target(&format!("{base}reviewCB = \"default\"\nsummaryCB = \"default\"\n"));
        assert!(both.rules.review.is_some() && both.rules.summary.is_some());
    }

    #[test]
    fn a_block_reads_ssh_templates_args_and_merge_safety() {
        let text = r#"
            [[gerrit]]
            server = "gerrit.example.org"
            username = "buildbot"
            port = 2222
            identity_file = "keys/id"
            knownHostsFile = "keys/known_hosts"
            startArg = { url = "http://bb/" }
            startCB = { message = "started {{ builder }} {{ arg.url }}", labels = { Code-Review = 0 } }
            summaryCB = { message = "{% for b in builds %}{{ b.name }} {% endfor %}", labels = { Verified = "{{ 1 if result == 'success' else -1 }}" }, when = "builds" }
            mergeSafety = { label = "Merge-Safe", builders = ["linux"], passing = ["success", "warnings"] }
            tags = ["gerrit"]
        "#;
        let t = target(text);
        let GerritTransportChoice::Ssh(ssh) = &t.transport else { panic!("ssh expected") };
        assert_eq!((ssh.port, ssh.identity_file.as_deref()), (2222, Some(Path::new("/etc/bs/keys/id"))));
        assert!(matches!(t.rules.start, Some(BuildCallback::Template(_))));
        assert!(matches!(t.rules.summary, Some(SummaryCallback::Template(_))));
        assert_eq!(t.rules.start_arg, serde_json::json!({"url": "http://bb/"}));
        let safety = t.rules.merge_safety.expect("merge safety");
        assert_eq!(
            (safety.label.as_deref(), safety.requirements.required.as_slice()),
            (Some("Merge-Safe"), &["linux".to_owned()][..])
        );
    }

    #[test]
    fn the_rest_transport_takes_an_http_password_that_never_prints() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "hunter2\n").expect("password");
        let text = "[[gerrit]]\ntransport = \"rest\"\nurl = \"https://gerrit.example.org\"\nusername = \"bb\"\nhttpPasswordFile = \"pw\"\n";
        Config::parse(text, dir.path()).expect("valid");
        let table: toml::Table = text.parse().expect("TOML");
        let t = parse(&table["gerrit"], dir.path()).expect("valid").remove(0);
        let GerritTransportChoice::Rest(rest) = &t.transport else { panic!("rest expected") };
        assert_eq!(
            (rest.url.as_str(), rest.user.as_str(), rest.password.expose()),
            ("https://gerrit.example.org/", "bb", "hunter2")
        );
        assert!(!format!("{t:?}").contains("hunter2"));
    }

    #[test]
    fn every_problem_is_named() {
        let text = r#"
            [[gerrit]]
            server = "-oProxyCommand=x"
            startCB = "default"
            reviewCB = { message = "{% if %}" }
            summaryCB = { mesage = "x" }
            mergeSafety = { label = "Merge Safe" }
            strictHostKeyChecking = "maybe"
            reviewArg = 1

            [[gerrit]]
            transport = "rest"
        "#;
        let mut problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        problems.sort();
        assert_eq!(
            problems,
            [
                "gerrit[1].mergeSafety.label: 'Merge Safe' is not a Gerrit label name",
                "gerrit[1].reviewCB: message: syntax error: unexpected end of block (in message:1)",
                "gerrit[1].server: '-oProxyCommand=x' is not a host or user name",
                "gerrit[1].startCB: there is no default start callback: give a table",
                "gerrit[1].strictHostKeyChecking: 'maybe' is not yes, accept-new or no",
                "gerrit[1].summaryCB: unknown key 'mesage' (message, labels, when)",
                "gerrit[1].username: required (the SSH user)",
                "gerrit[2].transport: rest needs url, httpUser (or username) and httpPassword (or httpPasswordFile)",
            ]
        );
    }
}
