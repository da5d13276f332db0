//! Where new changes go (change hooks, pollers), and how a hook asks pollers to poll now.

use async_trait::async_trait;

use crate::domain::hooks::NewChange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    /// The changes contradict what is known; none was stored.
    Rejected(String),
    /// They could not be stored; none was.
    Storage(String),
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(why) => write!(f, "changes rejected: {why}"),
            Self::Storage(why) => write!(f, "changes not stored: {why}"),
        }
    }
}

impl std::error::Error for ChangeError {}

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
