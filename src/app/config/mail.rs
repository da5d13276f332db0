//! `[[mail]]` blocks of buildstatus.toml: one MailNotifier each, with the seed's argument
//! names (`fromaddr`, `mode`, `extraRecipients`, `relayhost`, `useTls`, …), plus the delivery
//! keys every target block shares (`targets.rs`). Every problem of every block is reported,
//! each naming its block and key.
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
use std::sync::Arc;
use std::time::Duration;

use super::targets;
use super::values::{boolean, number, string, strings};
use crate::adapters::mail::{SmtpSettings, TlsMode, check_certificate};
use crate::app::notify::{MailTarget, MailTransportChoice, Overrides};
use crate::domain::notify::mail::{
    AddLogs, BodyKind, Formatter, Lookup, MailRules, MailTemplate, Modes, SubjectTemplate,
};

fn read(base: &Path, v: &toml::Value) -> Result<Vec<u8>, String> {
    let path = base.join(string(v)?);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses every `[[mail]]` block (`value` is the array of them).
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<MailTarget>, Vec<String>> {
    targets::blocks(
        "mail",
        value,
        |table, default_name, delivery| {
            let (block, problems) = MailBlock::new(default_name, base).read(table);
            block.finish(table, delivery, problems)
        },
        |target| target.rules.name.as_str(),
    )
}

/// One `[[mail]]` block as it is read: the rules, the SMTP settings, and the keys whose
/// meaning depends on others (decided in [`MailBlock::finish`]).
struct MailBlock<'a> {
    base: &'a Path,
    rules: MailRules,
    smtp: SmtpSettings,
    sendmail: Option<PathBuf>,
    categories: Option<Vec<String>>,
    html: bool,
    template: Option<String>,
    use_tls: bool,
    smtps: bool,
    explicit_tls: Option<TlsMode>,
}

impl<'a> MailBlock<'a> {
    fn new(default_name: String, base: &'a Path) -> Self {
        Self {
            base,
            rules: MailRules::new(&default_name, ""),
            smtp: SmtpSettings::default(),
            sendmail: None,
            categories: None,
            html: false,
            template: None,
            use_tls: false,
            smtps: false,
            explicit_tls: None,
        }
    }

    /// Reads every key; each problem names its key.
    fn read(mut self, table: &toml::Table) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        for (key, v) in table {
            let known: Result<bool, String> =
                (|| Ok(self.rule(key, v)? || self.body(key, v)? || self.transport(key, v)?))();
            match known {
                Ok(true) => {}
                Ok(false) => problems.push(format!("{key}: unknown key '{key}'")),
                Err(p) => problems.push(format!("{key}: {p}")),
            }
        }
        (self, problems)
    }

    /// Who gets mail about what; `Ok(false)` when `key` is not one of these.
    fn rule(&mut self, key: &str, v: &toml::Value) -> Result<bool, String> {
        let rules = &mut self.rules;
        match key {
            "name" => rules.name = string(v)?,
            "fromaddr" => rules.fromaddr = string(v)?,
            "mode" => rules.mode = modes(v)?,
            "builders" => rules.builders = Some(strings(v)?),
            "tags" => rules.tags = Some(strings(v)?),
            "categories" => self.categories = Some(strings(v)?),
            "lookup" => rules.lookup = Lookup::domain(&string(v)?)?,
            "extraRecipients" => rules.extra_recipients = strings(v).map_err(|_| "extraRecipients must be a list")?,
            "sendToInterestedUsers" => rules.send_to_interested_users = boolean(v)?,
            "buildSetSummary" => rules.build_set_summary = boolean(v)?,
            "addStreakLine" => rules.streak_line = boolean(v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// What a mail says and carries.
    fn body(&mut self, key: &str, v: &toml::Value) -> Result<bool, String> {
        let rules = &mut self.rules;
        match key {
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
            "extraHeaders" => {
                let t = v.as_table().ok_or("extraHeaders must be a dictionary")?;
                rules.extra_headers =
                    t.iter().map(|(k, v)| Ok((k.clone(), string(v)?))).collect::<Result<_, String>>()?;
            }
            "messageFormat" => {
                self.html = match string(v)?.as_str() {
                    "plain" => false,
                    "html" => true,
                    other => return Err(format!("'{other}' is not plain or html")),
                }
            }
            "messageTemplate" => {
                let text = String::from_utf8(read(self.base, v)?).map_err(|_| "the template is not UTF-8")?;
                self.template = Some(text);
            }
            "customMesg" => return Err("customMesg is deprecated; use messageFormatter instead".to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// How it is sent: SMTP (with TLS and authentication) or sendmail.
    fn transport(&mut self, key: &str, v: &toml::Value) -> Result<bool, String> {
        let smtp = &mut self.smtp;
        match key {
            "relayhost" => smtp.relayhost = string(v)?,
            "smtpPort" => smtp.port = u16::try_from(number(v, 1, 65535)?).unwrap_or(25),
            "useTls" => self.use_tls = boolean(v)?,
            "smtps" => self.smtps = boolean(v)?,
            "smtpTls" => self.explicit_tls = Some(tls_mode(&string(v)?)?),
            "smtpUser" => smtp.user = Some(string(v)?),
            "smtpPassword" => smtp.password = Some(string(v)?),
            "smtpPasswordFile" => {
                let text = String::from_utf8(read(self.base, v)?).map_err(|_| "the password file is not UTF-8")?;
                smtp.password = Some(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            "smtpTimeout" => smtp.timeout = Duration::from_secs(number(v, 1, 3600)?.unsigned_abs()),
            "smtpPoolSize" => smtp.pool_size = u32::try_from(number(v, 1, 100)?).unwrap_or(4),
            "caFile" => {
                let pem = read(self.base, v)?;
                check_certificate(&pem)?;
                smtp.ca_pem.push(pem);
            }
            "sendmail" => self.sendmail = Some(self.base.join(string(v)?)),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Decides what depends on several keys (the formatter, the tags, TLS, the port), checks
    /// the whole, and makes the target; `problems` are those the keys had on their own.
    fn finish(
        mut self,
        table: &toml::Table,
        delivery: Overrides,
        mut problems: Vec<String>,
    ) -> Result<MailTarget, Vec<String>> {
        self.rules.formatter = match self.formatter() {
            Ok(f) => f,
            Err(p) => {
                problems.push(p);
                Formatter::Plain
            }
        };
        if self.rules.tags.as_ref().is_none_or(|t| t.is_empty()) {
            self.rules.tags = self.categories.take().or(self.rules.tags.take());
        }
        problems.extend(self.choose_tls(table.contains_key("smtpPort")));
        if self.smtp.user.is_some() != self.smtp.password.is_some() {
            problems.push("smtpUser: smtpUser and smtpPassword (or smtpPasswordFile) go together".to_owned());
        }
        match table.contains_key("fromaddr") {
            true => problems.extend(self.rules.check()),
            false => problems.push("fromaddr: required (the From: address)".to_owned()),
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let transport = match self.sendmail {
            Some(path) => MailTransportChoice::Sendmail(path),
            None => MailTransportChoice::Smtp(self.smtp),
        };
        Ok(MailTarget { rules: self.rules, transport, delivery })
    }

    /// A template (`messageTemplate`, compiled now), or the plain or HTML default body.
    fn formatter(&self) -> Result<Formatter, String> {
        let kind = if self.html { BodyKind::Html } else { BodyKind::Plain };
        match &self.template {
            Some(text) => MailTemplate::new(text, kind)
                .map(|t| Formatter::Template(Arc::new(t)))
                .map_err(|e| format!("messageTemplate: {e}")),
            None if self.html => Ok(Formatter::Html),
            None => Ok(Formatter::Plain),
        }
    }

    /// TLS from `smtpTls`, or from the seed's `useTls` (STARTTLS required) and `smtps`
    /// (implicit, on port 465 unless `smtpPort` says otherwise); opportunistic STARTTLS by
    /// default. The problems, when the keys contradict each other.
    fn choose_tls(&mut self, port_given: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if self.use_tls && self.smtps {
            problems.push("useTls: choose STARTTLS (useTls) or implicit TLS (smtps), not both".to_owned());
        }
        if self.explicit_tls.is_some() && (self.use_tls || self.smtps) {
            problems.push("smtpTls: give either smtpTls or useTls/smtps".to_owned());
        }
        self.smtp.tls = match (self.explicit_tls, self.use_tls, self.smtps) {
            (Some(mode), _, _) => mode,
            (None, _, true) => TlsMode::Implicit,
            (None, true, _) => TlsMode::Required,
            _ => TlsMode::Opportunistic,
        };
        if self.smtp.tls == TlsMode::Implicit && !port_given {
            self.smtp.port = 465;
        }
        problems
    }
}

/// `mode`: one word (`"all"`, `"failing"`, …) or a list of them.
fn modes(v: &toml::Value) -> Result<Modes, String> {
    match v {
        toml::Value::String(s) => Modes::from_word(s),
        _ => {
            let words = strings(v)?;
            Modes::from_list(&words.iter().map(String::as_str).collect::<Vec<_>>()).map_err(|e| e.join("; "))
        }
    }
}

fn tls_mode(word: &str) -> Result<TlsMode, String> {
    match word {
        "none" => Ok(TlsMode::None),
        "opportunistic" => Ok(TlsMode::Opportunistic),
        "starttls" => Ok(TlsMode::Required),
        "implicit" => Ok(TlsMode::Implicit),
        other => Err(format!("'{other}' is not none, opportunistic, starttls or implicit")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Config;

    /// The mail targets of a config file's text.
    fn targets(text: &str, base: &Path) -> Vec<MailTarget> {
        Config::parse(text, base).expect("valid");
        let table: toml::Table = text.parse().expect("TOML");
        parse(&table["mail"], base).expect("valid")
    }

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
        let mail = &targets(text, dir.path())[0];
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
        assert!(matches!(targets(text, dir.path())[0].rules.formatter, Formatter::Template(_)));
        let problems = Config::parse(&text.replace("good", "bad"), dir.path()).expect_err("invalid");
        assert!(problems[0].starts_with("mail[1].messageTemplate: template: "), "{problems:?}");
        let problems = Config::parse(&text.replace("good", "missing"), dir.path()).expect_err("invalid");
        assert!(problems[0].starts_with("mail[1].messageTemplate: cannot read "), "{problems:?}");
    }

    #[test]
    fn smtps_defaults_to_port_465_and_tls_can_be_named() {
        let text = "[[mail]]\nfromaddr = \"b@example.org\"\nsmtps = true\n";
        let MailTransportChoice::Smtp(smtp) = &targets(text, Path::new("."))[0].transport else {
            panic!("smtp expected")
        };
        assert_eq!((smtp.port, smtp.tls), (465, TlsMode::Implicit));
        let none = targets(&text.replace("smtps = true", "smtpTls = \"none\""), Path::new("."));
        let MailTransportChoice::Smtp(smtp) = &none[0].transport else { panic!("smtp expected") };
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
    fn delivery_keys_change_retries_and_retention_of_one_target() {
        let text =
            "[[mail]]\nfromaddr = \"b@example.org\"\nretryDelay = 30\nmaxAttempts = 3\nkeepDays = 7\nkeepCount = 100\n";
        let delivery = targets(text, Path::new("."))[0].delivery;
        let retry = delivery.retry.expect("retries set");
        assert_eq!((retry.first_delay, retry.max_attempts), (Duration::from_secs(30), 3));
        let keep = delivery.retention.expect("retention set");
        assert_eq!((keep.max_age, keep.max_count), (Duration::from_secs(7 * 86_400), 100));
        let plain = targets("[[mail]]\nfromaddr = \"b@example.org\"\n", Path::new("."))[0].delivery;
        assert_eq!(plain, Overrides::default(), "the server's defaults unless a key says otherwise");
        let problems = Config::parse(&text.replace("keepDays = 7", "keepDays = 0"), Path::new("."));
        assert_eq!(problems.expect_err("invalid"), ["mail[1].keepDays: 0 is outside 1..=3650"]);
    }

    #[test]
    fn a_newline_in_the_subject_is_refused() {
        let text = "[[mail]]\nfromaddr = \"b@example.org\"\nsubject = \"a\\nb\"\n";
        let problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        assert_eq!(problems, ["mail[1].subject: Newlines are not allowed in email subjects"]);
    }
}
