//! Delivery through the local `sendmail` program (argv only, the message on its stdin), for
//! hosts whose mail system relays for them.

use std::ffi::OsString;
use std::time::Duration;

use async_trait::async_trait;
use lettre::{AsyncSendmailTransport, AsyncTransport, Tokio1Executor};

use super::mime::to_lettre;
use crate::domain::notify::mail::MailMessage;
use crate::ports::{MailError, MailTransport};

/// Longest a `sendmail` run may take: a program that hangs must not stop its target's mail
/// for good (the attempt is retried later).
const TIMEOUT: Duration = Duration::from_secs(120);

pub struct SendmailTransport {
    inner: AsyncSendmailTransport<Tokio1Executor>,
    timeout: Duration,
}

impl SendmailTransport {
    /// Runs `command` (a path, such as `/usr/sbin/sendmail`).
    pub fn new(command: impl Into<OsString>) -> Self {
        Self { inner: AsyncSendmailTransport::new_with_command(command), timeout: TIMEOUT }
    }

    /// The same, giving up on a run after `timeout` instead of two minutes.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }
}

#[async_trait]
impl MailTransport for SendmailTransport {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let message = to_lettre(message)?;
        // A refusal by the program is as likely a passing problem (spool full) as a lasting one.
        match tokio::time::timeout(self.timeout, self.inner.send(message)).await {
            Ok(sent) => sent.map(|_| ()).map_err(|e| MailError::Temporary(e.to_string())),
            Err(_) => Err(MailError::Temporary(format!("sendmail did not finish within {:?}", self.timeout))),
        }
    }
}
