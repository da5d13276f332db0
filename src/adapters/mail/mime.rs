//! A [`MailMessage`] as a lettre [`Message`]: headers (the subject RFC 2047-encoded by
//! lettre when it is not ASCII), the envelope, and a single part or `multipart/mixed` with
//! the attachments.

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::address::{Address, Envelope};
use lettre::message::header::{ContentDisposition, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::domain::notify::mail::{BodyKind, MailMessage, address};
use crate::ports::MailError;

fn bad(what: &str, e: impl std::fmt::Display) -> MailError {
    MailError::Permanent(format!("{what}: {e}"))
}

fn bare_address(text: &str) -> Result<Address, MailError> {
    address::bare(text).parse().map_err(|e| bad(&format!("address '{text}'"), e))
}

/// The display name is taken as it is, never parsed: lettre quotes or encodes it as needed,
/// so `Doe, John <john@example.org>` is a mailbox, not an error.
fn mailbox(text: &str) -> Result<Mailbox, MailError> {
    Ok(Mailbox::new(address::display_name(text).map(str::to_owned), bare_address(text)?))
}

fn body_part(kind: BodyKind, body: &str) -> SinglePart {
    match kind {
        BodyKind::Plain => SinglePart::plain(body.to_owned()),
        BodyKind::Html => SinglePart::html(body.to_owned()),
    }
}

/// The lettre message for `m` to the envelope's recipients, or why it cannot be one (never
/// worth retrying).
pub fn to_lettre(m: &MailMessage) -> Result<Message, MailError> {
    to_lettre_for(m, &m.envelope)
}

/// [`to_lettre`] with the envelope's recipients `rcpt` (the headers stay as composed).
/// An address that cannot be written is left out rather than losing the mail for everyone
/// (composition drops what it knows to be unusable; this is the last guard).
pub fn to_lettre_for(m: &MailMessage, rcpt: &[String]) -> Result<Message, MailError> {
    let mut recipients: Vec<Address> = Vec::new();
    for r in rcpt {
        match bare_address(r) {
            Ok(address) => recipients.push(address),
            Err(e) => tracing::warn!("mail {}: left out: {e}", m.id),
        }
    }
    if recipients.is_empty() {
        return Err(MailError::Permanent(format!("no usable recipient among {}", rcpt.join(", "))));
    }
    let envelope = Envelope::new(Some(bare_address(&m.from)?), recipients).map_err(|e| bad("envelope", e))?;
    let millis = u64::try_from(m.date.timestamp_millis()).unwrap_or(0);
    let mut builder = Message::builder()
        .from(mailbox(&m.from)?)
        .subject(m.subject.clone())
        .date(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
        .message_id(Some(format!("<{}>", m.id)))
        .envelope(envelope);
    for to in m.to.iter().filter_map(|to| mailbox(to).ok()) {
        builder = builder.to(to);
    }
    for cc in m.cc.iter().filter_map(|cc| mailbox(cc).ok()) {
        builder = builder.cc(cc);
    }
    if let Some(parent) = &m.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !m.references.is_empty() {
        let refs: Vec<String> = m.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    for (name, value) in &m.headers {
        let name = HeaderName::new_from_ascii(name.clone()).map_err(|e| bad(&format!("header '{name}'"), e))?;
        builder = builder.raw_header(HeaderValue::new(name, value.replace(['\r', '\n'], " ")));
    }
    let message = if m.attachments.is_empty() {
        builder.singlepart(body_part(m.kind, &m.body))
    } else {
        let mut parts = MultiPart::mixed().singlepart(body_part(m.kind, &m.body));
        for a in &m.attachments {
            parts = parts.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentDisposition::attachment(&a.filename))
                    .body(a.text.clone()),
            );
        }
        builder.multipart(parts)
    };
    message.map_err(|e| bad("message", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_written_with_the_root_dot_of_its_domain_makes_a_mailbox() {
        // Found by fuzzing (fuzz/seeds/mail_address/regression_root_dot): the notifier accepts
        // `nobody@example.com.`, which lettre refused, so the recipient was left out.
        let mailbox = mailbox("No Body <nobody@example.com.>").expect("a mailbox");
        assert_eq!(mailbox.email.to_string(), "nobody@example.com");
        assert_eq!(mailbox.name.as_deref(), Some("No Body"));
    }

    #[test]
    fn the_longest_address_the_notifier_accepts_makes_a_mailbox() {
        // The limits of `address::is_valid` are lettre's: 64 bytes of local part, 63 per label,
        // 254 of domain. (Past them the notifier refuses: its tests.)
        let label = "l".repeat(63);
        let text = format!("{}@{label}.{label}.{label}.{}", "a".repeat(64), "l".repeat(62));
        assert!(address::is_valid(&text));
        assert!(mailbox(&text).is_ok(), "{text}");
        assert!(mailbox("a@x-y.example.org").is_ok());
    }
}
