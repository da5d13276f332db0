//! Code review verdicts leave through these: a commit status on a forge (GitHub's statuses
//! API) and a review on a patch set (Gerrit, over SSH or REST). Both peers answer a request,
//! and fail in the same three ways, which decide what the outbox does next.

use async_trait::async_trait;

use crate::domain::model::Timestamp;
use crate::domain::notify::gerrit::Outgoing;
use crate::domain::notify::github::CommitStatus;

/// How a peer did not take a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Worth trying again: the peer is down or failing (5xx), the connection broke, a timeout.
    #[error("{0}")]
    Temporary(String),
    /// The peer is well but said to wait until then (a rate limit).
    #[error("{error}")]
    RateLimited { error: String, until: Timestamp },
    /// The peer refused it (a bad token, an unknown repository or change, a malformed
    /// request), in the peer's words: trying again cannot help.
    #[error("{0}")]
    Permanent(String),
}

/// A forge's commit statuses (GitHub: `POST /repos/{owner}/{repo}/statuses/{sha}`).
#[async_trait]
pub trait CommitStatusApi: Send + Sync {
    async fn create_status(&self, status: &CommitStatus) -> Result<(), ReviewError>;
}

/// A code review server's reviews (Gerrit: `gerrit review` or `POST …/review`).
#[async_trait]
pub trait ReviewApi: Send + Sync {
    async fn post_review(&self, review: &Outgoing) -> Result<(), ReviewError>;
}
