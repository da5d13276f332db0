//! Where new changes go (change hooks, pollers), and how a hook asks pollers to poll now.

use async_trait::async_trait;

use super::{Cause, cause};
use crate::domain::hooks::NewChange;

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The changes contradict what is known; none was stored.
    #[error("changes rejected: {0}")]
    Rejected(String),
    /// They could not be stored; none was.
    #[error("changes not stored: {0}")]
    Storage(#[source] Cause),
}

impl ChangeError {
    pub fn storage(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(cause(e))
    }
}

/// Records new changes.
#[async_trait]
pub trait ChangeSink: Send + Sync {
    /// Stores `changes` all or nothing, numbering them after every change known; returns
    /// their numbers, in order.
    async fn add_changes(&self, changes: Vec<NewChange>) -> Result<Vec<u64>, ChangeError>;
}

/// The polling change sources a `poller` hook may wake.
pub trait PollTrigger: Send + Sync {
    /// Names of the polling sources.
    fn pollers(&self) -> Vec<String>;
    /// Asks the named sources to poll as soon as they can (they report errors themselves).
    fn poll_now(&self, names: &[String]);
}
