//! A decided mail, ready for a transport: headers, recipients, body and attachments, with a
//! stable Message-ID derived from (target, builder, build number) and threading headers, so
//! every mail about one builder and branch lands in one thread and a failure streak's mails
//! answer its first failure. Serialized as JSON into the outbox.

use serde::{Deserialize, Serialize};

use super::address;
use super::body::{BodyKind, Formatted, FormatterArgs, default_html, default_plain};
use super::mode::firing_mode;
use super::recipients::recipients;
use super::rules::{Formatter, MailRules};
use super::subject::{SubjectValues, one_line};
use serde_json::Value;

use crate::domain::model::{Build, Builder, Change, Timestamp, User, Worker};
use crate::domain::notify::interpolate::{Interpolate, Renderables};
use crate::domain::notify::outbox::id_part;
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::domain::web::text::path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    /// UTF-8 text, sent as `text/plain; charset=utf-8`.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMessage {
    /// The Message-ID without its angle brackets; also the outbox id.
    pub id: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Bare addresses for `RCPT TO`.
    pub envelope: Vec<String>,
    pub subject: String,
    pub date: Timestamp,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// `extraHeaders`, rendered.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub kind: BodyKind,
    pub attachments: Vec<Attachment>,
}

impl MailMessage {
    /// One line for the delivery log.
    pub fn summary(&self) -> String {
        format!("{} → {}", self.subject, self.envelope.join(", "))
    }
}

/// A log's text as the app read it: whole, or its tail when longer than the cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogText {
    pub step: String,
    pub name: String,
    pub text: String,
    /// Bytes left out at the start.
    pub cut: u64,
}

/// Everything a mail about one finished build is made from; the app reads it, nothing here does.
pub struct BuildMail<'a> {
    pub builder: &'a Builder,
    pub build: &'a Build,
    /// The previous finished build the decision compares with.
    pub prev: Option<&'a Build>,
    /// When this build ends a run of failures: the run's first build number.
    pub broken_since: Option<u32>,
    /// When this build fails: the first failed build of the run it belongs to (maybe itself).
    pub failing_since: Option<u32>,
    /// The logs read for the mail: those `addLogs` attaches, and, for a formatter of the
    /// user's own, all of them.
    pub logs: &'a [LogText],
    /// The build's changes (read for a formatter of the user's own).
    pub changes: &'a [Change],
    pub users: &'a [User],
    /// The worker that ran the build, when it is known (for `%(worker:NAME)s` in headers).
    pub worker: Option<&'a Worker>,
    pub site: &'a Site,
    pub now: Timestamp,
}

fn domain_of(fromaddr: &str) -> &str {
    address::bare(fromaddr).rsplit_once('@').map_or("buildstatus.invalid", |(_, d)| d.trim_end_matches('.'))
}

/// The Message-ID (without brackets) of `target`'s mail about build `number` of `builder`.
pub fn message_id(target: &str, builder: &str, number: u32, fromaddr: &str) -> String {
    format!("build.{number}.{}.{}@{}", id_part(builder), id_part(target), domain_of(fromaddr))
}

/// The id every mail about `builder` on `branch` refers to, so clients thread them together.
pub fn thread_id(target: &str, builder: &str, branch: Option<&str>, fromaddr: &str) -> String {
    let branch = id_part(branch.unwrap_or(""));
    format!("thread.{}.{branch}.{}@{}", id_part(builder), id_part(target), domain_of(fromaddr))
}

/// Whether `rules` mail about this finished build.
pub fn wants(rules: &MailRules, mail: &BuildMail) -> bool {
    let Some(result) = mail.build.result else { return false };
    rules.watches(mail.builder) && firing_mode(&rules.mode, result, mail.prev.and_then(|p| p.result)).is_some()
}

/// An `extraHeaders` name or value rendered for `mail` (the seed's Interpolate, checked when
/// the rules were: properties, source stamps, the worker and the keywords of
/// [`header_keywords`]), on one line.
fn interpolate(text: &str, mail: &BuildMail, keywords: &[(&str, Value)]) -> String {
    let template = Interpolate::parse(text).unwrap_or_else(|_| Interpolate::literal(text));
    one_line(&template.render(&Renderables { build: mail.build, keywords, worker: mail.worker }))
}

/// What `%(kw:NAME)s` reads in a mail header: `builder`, `buildnumber`, `result` (its word,
/// absent while running), `url` (the build's page, when the site has a URL) and `title`.
fn header_keywords(mail: &BuildMail) -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("builder", Value::from(mail.build.builder.as_str())),
        ("buildnumber", Value::from(mail.build.number)),
        ("title", Value::from(mail.site.title.as_str())),
    ];
    out.extend(mail.build.result.map(|r| ("result", Value::from(r.name()))));
    out.extend(super::body::build_url(mail.site, mail.build).map(|u| ("url", Value::from(u))));
    out
}

/// One build's share of a mail: the formatter's answer and the attachments.
fn part(rules: &MailRules, mail: &BuildMail, summary: bool) -> Result<(Formatted, Vec<Attachment>), String> {
    let build = mail.build;
    let result = build.result.ok_or("the build has no result")?;
    let args = FormatterArgs {
        mode: &rules.mode,
        name: &build.builder,
        build,
        result,
        site: mail.site,
        prev: mail.prev,
        broken_since: mail.broken_since,
        changes: mail.changes,
        logs: mail.logs,
    };
    let formatted: Formatted = match &rules.formatter {
        Formatter::Plain => default_plain(&args, rules.streak_line),
        Formatter::Html => default_html(&args),
        Formatter::Custom(f) => f(&args).map_err(|e| format!("the message formatter failed: {e}"))?,
        Formatter::Template(t) => t.render(&args)?,
    };
    if formatted.subject.as_ref().is_some_and(|s| s.contains(['\r', '\n'])) {
        return Err("the formatter's subject contains a line break".into());
    }
    let mut attachments = Vec::new();
    if rules.add_patch {
        let patches = build.sourcestamps.iter().filter_map(|s| s.patch.as_ref());
        for (i, patch) in patches.enumerate() {
            attachments.push(Attachment { filename: format!("source patch {i}"), text: patch.body.clone() });
        }
    }
    for log in mail.logs.iter().filter(|l| rules.add_logs.wants(&l.step, &l.name)) {
        let mut text = String::new();
        if log.cut > 0 {
            text.push_str(&format!("[the first {} bytes of this log are left out", log.cut));
            match mail.site.buildbot_url.as_str() {
                "" => text.push_str("]\n"),
                root => {
                    let url = path::log(root, &build.builder, build.number, &log.step, &log.name);
                    text.push_str(&format!("; the whole log is at {url}]\n"));
                }
            }
        }
        text.push_str(&log.text);
        // A summary mixes builders, so its file names say whose log it is.
        let filename = match summary {
            true => format!("{}.{}.{}", build.builder, log.step, log.name),
            false => format!("{}.{}", log.step, log.name),
        };
        attachments.push(Attachment { filename, text });
    }
    Ok((formatted, attachments))
}

fn no_recipients() -> String {
    "no recipients: no interested user has an address and there are no extra recipients".to_owned()
}

/// Composes the mail about `mail.build`, or says why it cannot be built.
pub fn compose(rules: &MailRules, mail: &BuildMail) -> Result<MailMessage, String> {
    let build = mail.build;
    let result = build.result.ok_or("the build has no result")?;
    let (formatted, attachments) = part(rules, mail, false)?;
    let subject = match formatted.subject {
        Some(s) => s,
        None => rules.subject.expand(&SubjectValues {
            result: result.name(),
            title: &mail.site.title,
            builder: &build.builder,
        }),
    };
    let to = recipients(&[build], &rules.lookup, mail.users, rules.send_to_interested_users, &rules.extra_recipients);
    if to.envelope.is_empty() {
        return Err(no_recipients());
    }
    let thread = thread_id(&rules.name, &build.builder, build.branch(), &rules.fromaddr);
    let mut references = vec![thread.clone()];
    let streak = match result {
        BuildResult::Failure => mail.failing_since.filter(|n| *n != build.number),
        _ => mail.broken_since,
    };
    let in_reply_to = match streak {
        Some(first) => {
            let first = message_id(&rules.name, &build.builder, first, &rules.fromaddr);
            references.push(first.clone());
            first
        }
        None => thread,
    };
    let headers = extra_headers(rules, mail);
    Ok(MailMessage {
        id: message_id(&rules.name, &build.builder, build.number, &rules.fromaddr),
        from: rules.fromaddr.clone(),
        to: to.to,
        cc: to.cc,
        envelope: to.envelope,
        subject,
        date: mail.now,
        in_reply_to: Some(in_reply_to),
        references,
        headers,
        body: format!("{}\n\n", formatted.body),
        kind: formatted.kind,
        attachments,
    })
}

/// `extraHeaders` rendered for `build`. A name that a property made one of the message's own
/// (`Bcc`) or no header name at all is left out: a build cannot rewrite its mail's headers.
fn extra_headers(rules: &MailRules, mail: &BuildMail) -> Vec<(String, String)> {
    let keywords = header_keywords(mail);
    let rendered =
        rules.extra_headers.iter().map(|(k, v)| (interpolate(k, mail, &keywords), interpolate(v, mail, &keywords)));
    rendered.filter(|(name, _)| super::rules::may_set_header(name)).collect()
}

/// The Message-ID (without brackets) of `target`'s summary of buildset `id`.
pub fn buildset_message_id(target: &str, id: u64, fromaddr: &str) -> String {
    format!("buildset.{id}.{}@{}", id_part(target), domain_of(fromaddr))
}

/// `buildSetSummary`: one mail about the builds of buildset `id` (those `wants` kept), whose
/// combined result is `result` (spec-notify-2 §2.6). Each build adds its part to the body;
/// the last part's type and subject win; extra headers use the first build's properties.
pub fn compose_summary(
    rules: &MailRules,
    id: u64,
    result: BuildResult,
    mails: &[BuildMail],
) -> Result<MailMessage, String> {
    let first = mails.first().ok_or("the buildset has no build to report")?;
    let (mut body, mut kind, mut subject, mut attachments) = (String::new(), BodyKind::Plain, None, Vec::new());
    for mail in mails {
        let (formatted, mut files) = part(rules, mail, true)?;
        body.push_str(&formatted.body);
        body.push_str("\n\n");
        kind = formatted.kind;
        subject = formatted.subject.or(subject);
        attachments.append(&mut files);
    }
    let subject = subject.unwrap_or_else(|| {
        let values = SubjectValues { result: result.name(), title: &first.site.title, builder: "(whole buildset)" };
        rules.subject.expand(&values)
    });
    let builds: Vec<&Build> = mails.iter().map(|m| m.build).collect();
    let to = recipients(&builds, &rules.lookup, first.users, rules.send_to_interested_users, &rules.extra_recipients);
    if to.envelope.is_empty() {
        return Err(no_recipients());
    }
    let headers = extra_headers(rules, first);
    Ok(MailMessage {
        id: buildset_message_id(&rules.name, id, &rules.fromaddr),
        from: rules.fromaddr.clone(),
        to: to.to,
        cc: to.cc,
        envelope: to.envelope,
        subject,
        date: first.now,
        in_reply_to: None,
        references: Vec::new(),
        headers,
        body,
        kind,
        attachments,
    })
}

#[cfg(test)]
mod tests;
