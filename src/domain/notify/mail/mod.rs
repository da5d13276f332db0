//! The MailNotifier's decisions and messages (spec-notify-2): which builds mail, to whom,
//! and what the mail says. The app reads the builds and passes them in; a transport sends
//! the [`MailMessage`] that comes out.

pub mod address;
pub mod body;
pub mod message;
pub mod mode;
pub mod recipients;
pub mod rules;
pub mod subject;
pub mod template;

pub use address::{Domain, EmailLookup, Lookup};
pub use body::{BodyKind, Formatted, FormatterArgs};
pub use message::{
    Attachment, BuildMail, LogText, MailMessage, buildset_message_id, compose, compose_summary, message_id, wants,
};
pub use mode::{Mode, Modes};
pub use rules::{AddLogs, Formatter, MailRules, PreviousBuild};
pub use subject::SubjectTemplate;
pub use template::MailTemplate;
