//! Delivery through the local `sendmail` program (argv only, the message on its stdin), for
//! hosts whose mail system relays for them.

use std::ffi::OsString;

use async_trait::async_trait;
use lettre::{AsyncSendmailTransport, AsyncTransport, Tokio1Executor};

use super::mime::to_lettre;
use crate::domain::notify::mail::MailMessage;
use crate::ports::{MailError, MailTransport};

pub struct SendmailTransport {
    inner: AsyncSendmailTransport<Tokio1Executor>,
}

impl SendmailTransport {
    /// Runs `command` (a path, such as `/usr/sbin/sendmail`).
    pub fn new(command: impl Into<OsString>) -> Self {
        Self { inner: AsyncSendmailTransport::new_with_command(command) }
    }
}

#[async_trait]
impl MailTransport for SendmailTransport {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let message = to_lettre(message)?;
        // A refusal by the program is as likely a passing problem (spool full) as a lasting one.
        self.inner.send(message).await.map_err(|e| MailError::Temporary(e.to_string()))
    }
}
