//! `[[mail]]` blocks of buildstatus.toml: one MailNotifier each, with the seed's argument
//! names (`fromaddr`, `mode`, `extraRecipients`, `relayhost`, `useTls`, …). Every problem of
//! every block is reported, each naming its block and key.
//!
//! ```toml
//! [[mail]]
//! fromaddr = "buildbot@example.org"
//! mode = ["failing", "change"]
//! lookup = "example.org"
//! extraRecipients = ["builds@example.org"]
//! relayhost = "smtp.example.org"
//! smtpPort = 587
//! useTls = true
//! smtpUser = "buildbot"
//! smtpPasswordFile = "smtp-password"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::notify::{MailTarget, MailTransportChoice};
use crate::adapters::mail::{SmtpSettings, TlsMode};
use crate::domain::notify::mail::{AddLogs, Formatter, Lookup, MailRules, Modes, SubjectTemplate};

/// One `[[mail]]` block, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct MailConfig {
    pub name: String,
    pub fromaddr: String,
    pub mode: Modes,
    pub builders: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub add_logs: AddLogs,
    pub add_patch: bool,
    pub max_log_bytes: u64,
    pub subject: SubjectTemplate,
    pub lookup: Option<String>,
    pub extra_recipients: Vec<String>,
    pub send_to_interested_users: bool,
    pub extra_headers: Vec<(String, String)>,
    pub html: bool,
    pub transport: TransportConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TransportConfig {
    Smtp(SmtpSettings),
    Sendmail(PathBuf),
}

impl MailConfig {
    /// The target the server runs.
    pub fn target(&self) -> MailTarget {
        let mut rules = MailRules::new(&self.name, &self.fromaddr);
        rules.mode = self.mode.clone();
        rules.builders = self.builders.clone();
        rules.tags = self.tags.clone();
        rules.add_logs = self.add_logs.clone();
        rules.add_patch = self.add_patch;
        rules.max_log_bytes = self.max_log_bytes;
        rules.subject = self.subject.clone();
        rules.lookup = self.lookup.as_deref().and_then(|d| Lookup::domain(d).ok()).unwrap_or_default();
        rules.extra_recipients = self.extra_recipients.clone();
        rules.send_to_interested_users = self.send_to_interested_users;
        rules.extra_headers = self.extra_headers.clone();
        rules.formatter = if self.html { Formatter::Html } else { Formatter::Plain };
        let transport = match &self.transport {
            TransportConfig::Smtp(s) => MailTransportChoice::Smtp(s.clone()),
            TransportConfig::Sendmail(p) => MailTransportChoice::Sendmail(p.clone()),
        };
        MailTarget { rules, transport }
    }
}

fn string(v: &toml::Value) -> Result<String, String> {
    v.as_str().map(str::to_owned).ok_or_else(|| format!("expected a string, found {}", v.type_str()))
}

fn strings(v: &toml::Value) -> Result<Vec<String>, String> {
    match v.as_array() {
        Some(items) => items.iter().map(string).collect(),
        None => Err(format!("expected a list of strings, found {}", v.type_str())),
    }
}

fn boolean(v: &toml::Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("expected true or false, found {}", v.type_str()))
}

fn number(v: &toml::Value, min: i64, max: i64) -> Result<i64, String> {
    match v.as_integer() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} is outside {min}..={max}")),
        None => Err(format!("expected a whole number, found {}", v.type_str())),
    }
}

fn read(base: &Path, v: &toml::Value) -> Result<Vec<u8>, String> {
    let path = base.join(string(v)?);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses every `[[mail]]` block (`value` is the array of them).
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<MailConfig>, Vec<String>> {
    let Some(blocks) = value.as_array() else {
        return Err(vec!["mail: write each mail target as a [[mail]] block".to_owned()]);
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let label = format!("mail[{}]", i + 1);
        let Some(table) = block.as_table() else {
            problems.push(format!("{label}: expected a table"));
            continue;
        };
        let default_name = if blocks.len() == 1 { "mail".to_owned() } else { format!("mail-{}", i + 1) };
        match block_config(table, base, default_name) {
            Ok(c) if out.iter().any(|o: &MailConfig| o.name == c.name) => {
                problems.push(format!("{label}.name: '{}' is the name of another [[mail]] block", c.name));
            }
            Ok(c) => out.push(c),
            Err(ps) => problems.extend(ps.into_iter().map(|p| format!("{label}.{p}"))),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn block_config(table: &toml::Table, base: &Path, default_name: String) -> Result<MailConfig, Vec<String>> {
    let mut problems = Vec::new();
    let mut c = MailConfig {
        name: default_name,
        fromaddr: String::new(),
        mode: Modes::default(),
        builders: None,
        tags: None,
        add_logs: AddLogs::None,
        add_patch: true,
        max_log_bytes: 256 * 1024,
        subject: SubjectTemplate::default(),
        lookup: None,
        extra_recipients: Vec::new(),
        send_to_interested_users: true,
        extra_headers: Vec::new(),
        html: false,
        transport: TransportConfig::Smtp(SmtpSettings::default()),
    };
    let mut smtp = SmtpSettings::default();
    let (mut use_tls, mut smtps, mut sendmail, mut categories) = (false, false, None, None);
    for (key, v) in table {
        let r: Result<(), String> = (|| {
            match key.as_str() {
                "name" => c.name = string(v)?,
                "fromaddr" => c.fromaddr = string(v)?,
                "mode" => {
                    c.mode = match v {
                        toml::Value::String(s) => Modes::from_word(s)?,
                        _ => {
                            let words = strings(v)?;
                            Modes::from_list(&words.iter().map(String::as_str).collect::<Vec<_>>())
                                .map_err(|e| e.join("; "))?
                        }
                    }
                }
                "builders" => c.builders = Some(strings(v)?),
                "tags" => c.tags = Some(strings(v)?),
                "categories" => categories = Some(strings(v)?),
                "addLogs" => {
                    c.add_logs = match v {
                        toml::Value::Boolean(true) => AddLogs::All,
                        toml::Value::Boolean(false) => AddLogs::None,
                        _ => AddLogs::Named(strings(v).map_err(|_| "expected true, false or a list of log names")?),
                    }
                }
                "addPatch" => c.add_patch = boolean(v)?,
                "maxLogSize" => c.max_log_bytes = number(v, 1, i64::MAX)?.unsigned_abs(),
                "subject" => c.subject = SubjectTemplate::parse(&string(v)?)?,
                "lookup" => {
                    let d = string(v)?;
                    Lookup::domain(&d)?;
                    c.lookup = Some(d);
                }
                "extraRecipients" => c.extra_recipients = strings(v).map_err(|_| "extraRecipients must be a list")?,
                "sendToInterestedUsers" => c.send_to_interested_users = boolean(v)?,
                "extraHeaders" => {
                    let t = v.as_table().ok_or("extraHeaders must be a dictionary")?;
                    c.extra_headers =
                        t.iter().map(|(k, v)| Ok((k.clone(), string(v)?))).collect::<Result<_, String>>()?;
                }
                "messageFormat" => {
                    c.html = match string(v)?.as_str() {
                        "plain" => false,
                        "html" => true,
                        other => return Err(format!("'{other}' is not plain or html")),
                    }
                }
                "customMesg" => return Err("customMesg is deprecated; use messageFormatter instead".to_owned()),
                "buildSetSummary" if boolean(v)? => {
                    return Err("buildSetSummary is not supported yet: mail is sent per build".to_owned());
                }
                "buildSetSummary" => {}
                "relayhost" => smtp.relayhost = string(v)?,
                "smtpPort" => smtp.port = u16::try_from(number(v, 1, 65535)?).unwrap_or(25),
                "useTls" => use_tls = boolean(v)?,
                "smtps" => smtps = boolean(v)?,
                "smtpUser" => smtp.user = Some(string(v)?),
                "smtpPassword" => smtp.password = Some(string(v)?),
                "smtpPasswordFile" => {
                    let text = String::from_utf8(read(base, v)?).map_err(|_| "the password file is not UTF-8")?;
                    smtp.password = Some(text.trim_end_matches(['\r', '\n']).to_owned());
                }
                "smtpTimeout" => smtp.timeout = Duration::from_secs(number(v, 1, 3600)?.unsigned_abs()),
                "smtpPoolSize" => smtp.pool_size = u32::try_from(number(v, 1, 100)?).unwrap_or(4),
                "caFile" => smtp.ca_pem.push(read(base, v)?),
                "sendmail" => sendmail = Some(base.join(string(v)?)),
                other => return Err(format!("unknown key '{other}'")),
            }
            Ok(())
        })();
        if let Err(p) = r {
            problems.push(format!("{key}: {p}"));
        }
    }
    if !table.contains_key("fromaddr") {
        problems.push("fromaddr: required (the From: address)".to_owned());
    }
    if c.tags.as_ref().is_none_or(|t| t.is_empty()) {
        c.tags = categories.or(c.tags);
    }
    if use_tls && smtps {
        problems.push("useTls: choose STARTTLS (useTls) or implicit TLS (smtps), not both".to_owned());
    }
    smtp.tls = match (use_tls, smtps) {
        (_, true) => TlsMode::Implicit,
        (true, _) => TlsMode::Required,
        _ => TlsMode::Opportunistic,
    };
    if smtps && !table.contains_key("smtpPort") {
        smtp.port = 465;
    }
    if smtp.user.is_some() != smtp.password.is_some() {
        problems.push("smtpUser: smtpUser and smtpPassword (or smtpPasswordFile) go together".to_owned());
    }
    c.transport = match sendmail {
        Some(path) => TransportConfig::Sendmail(path),
        None => TransportConfig::Smtp(smtp),
    };
    if table.contains_key("fromaddr") {
        problems.extend(c.target().rules.check());
    }
    if problems.is_empty() { Ok(c) } else { Err(problems) }
}
