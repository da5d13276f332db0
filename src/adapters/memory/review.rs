//! A forge and a review server that keep what they are given (commit statuses, reviews): for
//! tests and embedders. They can be told to fail, to exercise retries and rate limits.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::notify::gerrit::Outgoing;
use crate::domain::notify::github::CommitStatus;
use crate::ports::{CommitStatusApi, ReviewApi, ReviewError};

#[derive(Debug, Default)]
pub struct MemoryReviews {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    statuses: Vec<CommitStatus>,
    reviews: Vec<Outgoing>,
    failing: Option<ReviewError>,
}

impl MemoryReviews {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every later call fails with `error` (or succeeds again with `None`).
    pub fn fail_with(&self, error: Option<ReviewError>) {
        self.state().failing = error;
    }

    /// The commit statuses accepted so far, in order.
    pub fn statuses(&self) -> Vec<CommitStatus> {
        self.state().statuses.clone()
    }

    /// The reviews accepted so far, in order.
    pub fn reviews(&self) -> Vec<Outgoing> {
        self.state().reviews.clone()
    }
}

#[async_trait]
impl CommitStatusApi for MemoryReviews {
    async fn create_status(&self, status: &CommitStatus) -> Result<(), ReviewError> {
        let mut state = self.state();
        match &state.failing {
            Some(e) => Err(e.clone()),
            None => {
                state.statuses.push(status.clone());
                Ok(())
            }
        }
    }
}

#[async_trait]
impl ReviewApi for MemoryReviews {
    async fn post_review(&self, review: &Outgoing) -> Result<(), ReviewError> {
        let mut state = self.state();
        match &state.failing {
            Some(e) => Err(e.clone()),
            None => {
                state.reviews.push(review.clone());
                Ok(())
            }
        }
    }
}
