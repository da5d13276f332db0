//! One mail target's settings, as the library takes them (the binary reads them from
//! `[[mail]]` in buildstatus.toml): every argument of the seed's MailNotifier that decides or
//! shapes a message. Delivery settings (SMTP host, TLS) belong to the transport.

use std::sync::Arc;

use super::address::{self, Lookup};
use super::body::{Formatted, FormatterArgs};
use super::mode::Modes;
use super::subject::SubjectTemplate;
use super::template::MailTemplate;
use crate::domain::model::Builder;
use crate::domain::notify::filter;
use crate::domain::notify::interpolate::Interpolate;

/// Which logs are attached (`addLogs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AddLogs {
    #[default]
    None,
    All,
    /// Logs named `stdio` (any step) or `step.stdio` (that step only).
    Named(Vec<String>),
}

impl AddLogs {
    pub fn wants(&self, step: &str, log: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Named(names) => names.iter().any(|n| n == log || *n == format!("{step}.{log}")),
        }
    }
}

/// The body of a mail: a built-in formatter or the embedder's own (`messageFormatter`).
#[derive(Clone, Default)]
pub enum Formatter {
    #[default]
    Plain,
    Html,
    /// Returns the body, its type and maybe a subject; an error is recorded, not sent.
    Custom(FormatterFn),
    /// A minijinja template (the binary's `messageTemplate`).
    Template(Arc<MailTemplate>),
}

/// `messageFormatter`: returns the body, its type and maybe a subject, or why it could not.
pub type FormatterFn = Arc<dyn Fn(&FormatterArgs) -> Result<Formatted, String> + Send + Sync>;

impl std::fmt::Debug for Formatter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain => "Plain",
            Self::Html => "Html",
            Self::Custom(_) => "Custom",
            Self::Template(_) => "Template",
        })
    }
}

pub use crate::domain::notify::history::PreviousBuild;

/// Headers a target may not set: the message's own.
const RESERVED: [&str; 11] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
];

/// Whether `name` is a header name (RFC 5322 ftext) and not one of the message's own.
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// Whether a target may send a header named `name` (as its build rendered it).
pub fn may_set_header(name: &str) -> bool {
    is_header_name(name) && !RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

/// A mail target's rules. Build with [`MailRules::new`] and set fields; check with
/// [`MailRules::check`] (the binary's config does, and reports every problem at once).
#[derive(Clone)]
pub struct MailRules {
    /// The target's name in the outbox and on `/notifications`.
    pub name: String,
    pub fromaddr: String,
    pub mode: Modes,
    /// Only these builders (`builders`), or only builders with one of these tags (`tags`, `categories`).
    pub builders: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub add_logs: AddLogs,
    pub add_patch: bool,
    /// Bytes of each attached log; a longer log is cut to its tail, with a note.
    pub max_log_bytes: u64,
    pub subject: SubjectTemplate,
    pub lookup: Lookup,
    pub extra_recipients: Vec<String>,
    pub send_to_interested_users: bool,
    /// Extra headers; names and values are the seed's renderables (`%(prop:NAME)s`, …,
    /// `domain::notify::interpolate`), rendered against each build.
    pub extra_headers: Vec<(String, String)>,
    pub formatter: Formatter,
    pub previous_build: Option<PreviousBuild>,
    /// One mail per finished buildset instead of one per build.
    pub build_set_summary: bool,
    /// The plain default message says "Broken since build #N; fixed by build #M." when a build
    /// ends a failure streak (`addStreakLine`); without it, that message is 0.8's to the byte.
    pub streak_line: bool,
}

/// The formatter and the previous-build function are code: named, not shown.
impl std::fmt::Debug for MailRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let formatter = match &self.formatter {
            Formatter::Plain => "plain",
            Formatter::Html => "html",
            Formatter::Custom(_) => "custom",
            Formatter::Template(_) => "template",
        };
        f.debug_struct("MailRules")
            .field("name", &self.name)
            .field("fromaddr", &self.fromaddr)
            .field("mode", &self.mode)
            .field("builders", &self.builders)
            .field("tags", &self.tags)
            .field("add_logs", &self.add_logs)
            .field("add_patch", &self.add_patch)
            .field("max_log_bytes", &self.max_log_bytes)
            .field("subject", &self.subject)
            .field("lookup", &self.lookup)
            .field("extra_recipients", &self.extra_recipients)
            .field("send_to_interested_users", &self.send_to_interested_users)
            .field("extra_headers", &self.extra_headers)
            .field("formatter", &formatter)
            .field("previous_build", &self.previous_build.is_some())
            .field("build_set_summary", &self.build_set_summary)
            .field("streak_line", &self.streak_line)
            .finish()
    }
}

impl MailRules {
    /// The seed's defaults for a target mailing from `fromaddr`.
    pub fn new(name: &str, fromaddr: &str) -> Self {
        Self {
            name: name.to_owned(),
            fromaddr: fromaddr.to_owned(),
            mode: Modes::default(),
            builders: None,
            tags: None,
            add_logs: AddLogs::None,
            add_patch: true,
            max_log_bytes: 256 * 1024,
            subject: SubjectTemplate::default(),
            lookup: Lookup::Users,
            extra_recipients: Vec::new(),
            send_to_interested_users: true,
            extra_headers: Vec::new(),
            formatter: Formatter::Plain,
            previous_build: None,
            build_set_summary: false,
            streak_line: false,
        }
    }

    /// Every problem with these rules, each naming its argument.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name: must not be empty".to_owned());
        }
        if !address::is_valid(&self.fromaddr) {
            problems.push(format!("fromaddr: '{}' is not a valid email", self.fromaddr.escape_debug()));
        }
        problems.extend(filter::conflict(self.builders.as_deref(), self.tags.as_deref()));
        for r in &self.extra_recipients {
            if !address::is_valid(r) {
                problems.push(format!("extraRecipients: extra recipient '{}' is not a valid email", r.escape_debug()));
            }
        }
        for (name, value) in &self.extra_headers {
            let (name_template, value_template) = (Interpolate::parse(name), Interpolate::parse(value));
            for e in [&name_template, &value_template].into_iter().filter_map(|t| t.as_ref().err()) {
                problems.push(format!("extraHeaders: '{}': {e}", name.escape_debug()));
            }
            let literal = name_template.map(|t| t.literal_text()).unwrap_or_default();
            if (!is_header_name(&literal) && !literal.is_empty()) || name.is_empty() {
                problems.push(format!("extraHeaders: '{}' is not a header name", name.escape_debug()));
            } else if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
                problems.push(format!("extraHeaders: '{name}' is set by the notifier itself and cannot be replaced"));
            }
            if value.contains(['\r', '\n']) {
                problems.push(format!("extraHeaders: the value of '{name}' must not contain a line break"));
            }
        }
        problems
    }

    /// Whether the formatter is the user's own (a closure or a template), which reads the
    /// build's changes and every log.
    pub fn formatter_reads_everything(&self) -> bool {
        matches!(self.formatter, Formatter::Custom(_) | Formatter::Template(_))
    }

    /// Whether builds of `builder` concern this target (`builders` / `tags`).
    pub fn watches(&self, builder: &Builder) -> bool {
        filter::watches(self.builders.as_deref(), self.tags.as_deref(), builder)
    }
}
