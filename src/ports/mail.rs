//! Sending a composed mail. Transports report whether a failure is worth retrying; the
//! outbox worker decides when.

use async_trait::async_trait;

use crate::domain::notify::mail::MailMessage;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailError {
    /// The server is unreachable or busy, or answered 4xx: try again later.
    Temporary(String),
    /// The server refused the mail (5xx), or the mail cannot be expressed: do not retry.
    Permanent(String),
}

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Temporary(e) => write!(f, "temporary failure: {e}"),
            Self::Permanent(e) => write!(f, "permanent failure: {e}"),
        }
    }
}

impl std::error::Error for MailError {}

#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Hands `message` to the mail system; `Ok` means it was accepted for delivery.
    async fn send(&self, message: &MailMessage) -> Result<(), MailError>;
}
