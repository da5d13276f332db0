//! Sending a composed mail. Transports report whether a failure is worth retrying; the
//! outbox worker decides when.

use async_trait::async_trait;

use crate::domain::notify::mail::MailMessage;

/// The server's answer or the transport's failure, in words: what the delivery log shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server is unreachable or busy, or answered 4xx: try again later.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The server refused the mail (5xx), or the mail cannot be expressed: do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Hands `message` to the mail system; `Ok` means it was accepted for delivery.
    async fn send(&self, message: &MailMessage) -> Result<(), MailError>;
}
