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

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::values::{boolean, number, string, strings};
use crate::adapters::mail::{SmtpSettings, TlsMode, check_certificate};
use crate::app::notify::{MailTarget, MailTransportChoice};
use crate::domain::notify::mail::{
    AddLogs, BodyKind, Formatter, Lookup, MailRules, MailTemplate, Modes, SubjectTemplate,
};
use crate::domain::notify::outbox::RetryPolicy;

fn read(base: &Path, v: &toml::Value) -> Result<Vec<u8>, String> {
    let path = base.join(string(v)?);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses every `[[mail]]` block (`value` is the array of them).
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<MailTarget>, Vec<String>> {
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
            Ok(c) if out.iter().any(|o: &MailTarget| o.rules.name == c.rules.name) => {
                problems.push(format!("{label}.name: '{}' is the name of another [[mail]] block", c.rules.name));
            }
            Ok(c) => out.push(c),
            Err(ps) => problems.extend(ps.into_iter().map(|p| format!("{label}.{p}"))),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn block_config(table: &toml::Table, base: &Path, default_name: String) -> Result<MailTarget, Vec<String>> {
    let mut problems = Vec::new();
    let mut retry = RetryPolicy::default();
    let mut rules = MailRules::new(&default_name, "");
    let mut smtp = SmtpSettings::default();
    let (mut use_tls, mut smtps, mut sendmail, mut categories) = (false, false, None, None);
    let (mut html, mut template) = (false, None);
    let mut explicit_tls = None;
    for (key, v) in table {
        let r: Result<(), String> = (|| {
            match key.as_str() {
                "name" => rules.name = string(v)?,
                "fromaddr" => rules.fromaddr = string(v)?,
                "mode" => {
                    rules.mode = match v {
                        toml::Value::String(s) => Modes::from_word(s)?,
                        _ => {
                            let words = strings(v)?;
                            Modes::from_list(&words.iter().map(String::as_str).collect::<Vec<_>>())
                                .map_err(|e| e.join("; "))?
                        }
                    }
                }
                "builders" => rules.builders = Some(strings(v)?),
                "tags" => rules.tags = Some(strings(v)?),
                "categories" => categories = Some(strings(v)?),
                "addLogs" => {
                    rules.add_logs = match v {
                        toml::Value::Boolean(true) => AddLogs::All,
                        toml::Value::Boolean(false) => AddLogs::None,
                        _ => AddLogs::Named(strings(v).map_err(|_| "expected true, false or a list of log names")?),
                    }
                }
                "addPatch" => rules.add_patch = boolean(v)?,
                "maxLogSize" => rules.max_log_bytes = number(v, 1, i64::MAX)?.unsigned_abs(),
                "subject" => rules.subject = SubjectTemplate::parse(&string(v)?)?,
                "lookup" => rules.lookup = Lookup::domain(&string(v)?)?,
                "extraRecipients" => {
                    rules.extra_recipients = strings(v).map_err(|_| "extraRecipients must be a list")?
                }
                "sendToInterestedUsers" => rules.send_to_interested_users = boolean(v)?,
                "extraHeaders" => {
                    let t = v.as_table().ok_or("extraHeaders must be a dictionary")?;
                    rules.extra_headers =
                        t.iter().map(|(k, v)| Ok((k.clone(), string(v)?))).collect::<Result<_, String>>()?;
                }
                "messageFormat" => {
                    html = match string(v)?.as_str() {
                        "plain" => false,
                        "html" => true,
                        other => return Err(format!("'{other}' is not plain or html")),
                    }
                }
                "messageTemplate" => {
                    let text = String::from_utf8(read(base, v)?).map_err(|_| "the template is not UTF-8")?;
                    template = Some(text);
                }
                "customMesg" => return Err("customMesg is deprecated; use messageFormatter instead".to_owned()),
                "buildSetSummary" => rules.build_set_summary = boolean(v)?,
                "relayhost" => smtp.relayhost = string(v)?,
                "smtpPort" => smtp.port = u16::try_from(number(v, 1, 65535)?).unwrap_or(25),
                "useTls" => use_tls = boolean(v)?,
                "smtps" => smtps = boolean(v)?,
                "smtpTls" => {
                    explicit_tls = Some(match string(v)?.as_str() {
                        "none" => TlsMode::None,
                        "opportunistic" => TlsMode::Opportunistic,
                        "starttls" => TlsMode::Required,
                        "implicit" => TlsMode::Implicit,
                        other => return Err(format!("'{other}' is not none, opportunistic, starttls or implicit")),
                    })
                }
                "smtpUser" => smtp.user = Some(string(v)?),
                "smtpPassword" => smtp.password = Some(string(v)?),
                "smtpPasswordFile" => {
                    let text = String::from_utf8(read(base, v)?).map_err(|_| "the password file is not UTF-8")?;
                    smtp.password = Some(text.trim_end_matches(['\r', '\n']).to_owned());
                }
                "smtpTimeout" => smtp.timeout = Duration::from_secs(number(v, 1, 3600)?.unsigned_abs()),
                "smtpPoolSize" => smtp.pool_size = u32::try_from(number(v, 1, 100)?).unwrap_or(4),
                "caFile" => {
                    let pem = read(base, v)?;
                    check_certificate(&pem)?;
                    smtp.ca_pem.push(pem);
                }
                "sendmail" => sendmail = Some(base.join(string(v)?)),
                "retryDelay" => retry.first_delay = Duration::from_secs(number(v, 1, 86_400)?.unsigned_abs()),
                "retryMaxDelay" => retry.max_delay = Duration::from_secs(number(v, 1, 7 * 86_400)?.unsigned_abs()),
                "maxAttempts" => retry.max_attempts = u32::try_from(number(v, 1, 1000)?).unwrap_or(12),
                other => return Err(format!("unknown key '{other}'")),
            }
            Ok(())
        })();
        if let Err(p) = r {
            problems.push(format!("{key}: {p}"));
        }
    }
    rules.formatter = match template {
        Some(text) => match MailTemplate::new(&text, if html { BodyKind::Html } else { BodyKind::Plain }) {
            Ok(t) => Formatter::Template(Arc::new(t)),
            Err(e) => {
                problems.push(format!("messageTemplate: {e}"));
                Formatter::Plain
            }
        },
        None if html => Formatter::Html,
        None => Formatter::Plain,
    };
    if !table.contains_key("fromaddr") {
        problems.push("fromaddr: required (the From: address)".to_owned());
    }
    if rules.tags.as_ref().is_none_or(|t| t.is_empty()) {
        rules.tags = categories.or(rules.tags);
    }
    if use_tls && smtps {
        problems.push("useTls: choose STARTTLS (useTls) or implicit TLS (smtps), not both".to_owned());
    }
    if explicit_tls.is_some() && (use_tls || smtps) {
        problems.push("smtpTls: give either smtpTls or useTls/smtps".to_owned());
    }
    smtp.tls = match (explicit_tls, use_tls, smtps) {
        (Some(mode), _, _) => mode,
        (None, _, true) => TlsMode::Implicit,
        (None, true, _) => TlsMode::Required,
        _ => TlsMode::Opportunistic,
    };
    if smtp.tls == TlsMode::Implicit && !table.contains_key("smtpPort") {
        smtp.port = 465;
    }
    if smtp.user.is_some() != smtp.password.is_some() {
        problems.push("smtpUser: smtpUser and smtpPassword (or smtpPasswordFile) go together".to_owned());
    }
    if table.contains_key("fromaddr") {
        problems.extend(rules.check());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let transport = match sendmail {
        Some(path) => MailTransportChoice::Sendmail(path),
        None => MailTransportChoice::Smtp(smtp),
    };
    Ok(MailTarget { rules, transport, retry: Some(retry) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Config;

    #[test]
    fn a_mail_block_becomes_a_target_with_the_seed_argument_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "s3cret\n").expect("password file");
        let text = r#"
            [[mail]]
            fromaddr = "Buildbot <buildbot@example.org>"
            mode = ["failing", "change"]
            lookup = "example.org"
            extraRecipients = ["builds@example.org"]
            categories = ["fast"]
            addLogs = ["stdio"]
            relayhost = "smtp.example.org"
            smtpPort = 587
            useTls = true
            smtpUser = "bb"
            smtpPasswordFile = "pw"
            extraHeaders = { X-Project = "%(prop:project)s" }
            subject = "%(result)s on %(builder)s"
        "#;
        let config = Config::parse(text, dir.path()).expect("valid");
        let mail = &config.server.notifiers.mail[0];
        assert_eq!(mail.rules.name, "mail");
        assert_eq!(mail.rules.mode.names(), ["failing", "change"]);
        assert_eq!(mail.rules.tags.as_deref(), Some(&["fast".to_owned()][..]));
        assert_eq!(mail.rules.add_logs, AddLogs::Named(vec!["stdio".into()]));
        let MailTransportChoice::Smtp(smtp) = &mail.transport else { panic!("smtp expected") };
        assert_eq!((smtp.relayhost.as_str(), smtp.port, smtp.tls), ("smtp.example.org", 587, TlsMode::Required));
        assert_eq!(smtp.password.as_deref(), Some("s3cret"));
        assert!(!format!("{smtp:?}").contains("s3cret"), "the password is never printed");
        assert_eq!(mail.rules.extra_headers, [("X-Project".to_owned(), "%(prop:project)s".to_owned())]);
        assert!(mail.rules.check().is_empty());
    }

    #[test]
    fn a_message_template_is_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("good.j2"), "{{ name }} {{ result }}").expect("write");
        std::fs::write(dir.path().join("bad.j2"), "{% if %}").expect("write");
        let text = "[[mail]]\nfromaddr = \"b@example.org\"\nmessageTemplate = \"good.j2\"\n";
        let config = Config::parse(text, dir.path()).expect("valid");
        assert!(matches!(config.server.notifiers.mail[0].rules.formatter, Formatter::Template(_)));
        let problems = Config::parse(&text.replace("good", "bad"), dir.path()).expect_err("invalid");
        assert!(problems[0].starts_with("mail[1].messageTemplate: template: "), "{problems:?}");
        let problems = Config::parse(&text.replace("good", "missing"), dir.path()).expect_err("invalid");
        assert!(problems[0].starts_with("mail[1].messageTemplate: cannot read "), "{problems:?}");
    }

    #[test]
    fn smtps_defaults_to_port_465_and_tls_can_be_named() {
        let text = "[[mail]]\nfromaddr = \"b@example.org\"\nsmtps = true\n";
        let config = Config::parse(text, Path::new(".")).expect("valid");
        let MailTransportChoice::Smtp(smtp) = &config.server.notifiers.mail[0].transport else {
            panic!("smtp expected")
        };
        assert_eq!((smtp.port, smtp.tls), (465, TlsMode::Implicit));
        let config = Config::parse(&text.replace("smtps = true", "smtpTls = \"none\""), Path::new(".")).expect("ok");
        let MailTransportChoice::Smtp(smtp) = &config.server.notifiers.mail[0].transport else {
            panic!("smtp expected")
        };
        assert_eq!((smtp.port, smtp.tls), (25, TlsMode::None));
        let problems = Config::parse(&text.replace("smtps = true", "smtpTls = \"always\""), Path::new("."));
        assert_eq!(
            problems.expect_err("invalid"),
            ["mail[1].smtpTls: 'always' is not none, opportunistic, starttls or implicit"]
        );
    }

    #[test]
    fn every_problem_of_every_block_is_reported_with_its_place() {
        let text = r#"
            [[mail]]
            fromaddr = "nobody"
            mode = ["all", "sometimes"]
            builders = ["a"]
            tags = ["b"]
            subject = "%(branch)s"
            extraRecipients = ["x@example.org", "not an address"]
            extraHeaders = { To = "x@example.org" }
            customMesg = "hi"
            smtpUser = "u"
            colour = 1

            [[mail]]
            mode = "never"
        "#;
        let mut problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        problems.sort();
        assert_eq!(
            problems,
            [
                "mail[1].builders: Please specify only builders or tags to include - not both.",
                "mail[1].colour: unknown key 'colour'",
                "mail[1].customMesg: customMesg is deprecated; use messageFormatter instead",
                "mail[1].extraHeaders: 'To' is set by the notifier itself and cannot be replaced",
                "mail[1].extraRecipients: extra recipient 'not an address' is not a valid email",
                "mail[1].fromaddr: 'nobody' is not a valid email",
                "mail[1].mode: mode 'all' is not valid in an iterator and must be passed in as a separate string; \
                 mode 'sometimes' is not a valid mode (expected one of change, failing, passing, problem, warnings, exception)",
                "mail[1].smtpUser: smtpUser and smtpPassword (or smtpPasswordFile) go together",
                "mail[1].subject: unknown key %(branch)s (the subject knows result, title, projectName and builder)",
                "mail[2].fromaddr: required (the From: address)",
                "mail[2].mode: mode 'never' is not a valid mode (expected one of change, failing, passing, problem, warnings, exception)",
            ]
        );
    }

    #[test]
    fn a_newline_in_the_subject_is_refused() {
        let text = "[[mail]]\nfromaddr = \"b@example.org\"\nsubject = \"a\\nb\"\n";
        let problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        assert_eq!(problems, ["mail[1].subject: Newlines are not allowed in email subjects"]);
    }
}
