//! A mail transport that keeps what it is given: for tests and the demo. It can be told to
//! fail, to exercise retries.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::notify::mail::MailMessage;
use crate::ports::{MailError, MailTransport};

#[derive(Debug, Default)]
pub struct MemoryMail {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<MailMessage>,
    failing: Option<MailError>,
}

impl MemoryMail {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every later send fails with `error` (or succeeds again with `None`).
    pub fn fail_with(&self, error: Option<MailError>) {
        self.state().failing = error;
    }

    /// The messages accepted so far, in order.
    pub fn sent(&self) -> Vec<MailMessage> {
        self.state().sent.clone()
    }
}

#[async_trait]
impl MailTransport for MemoryMail {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let mut state = self.state();
        if let Some(e) = &state.failing {
            return Err(e.clone());
        }
        state.sent.push(message.clone());
        Ok(())
    }
}
