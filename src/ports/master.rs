//! What the web status asks of the master it reports on: force builds (on one builder or
//! several, as one buildset), rebuild, stop, ping, cancel requests, pause or shut down a
//! worker, shut the master down cleanly (or cancel that). The authorised actions of the web
//! status call it; a standalone server has no master and refuses them
//! (`adapters::memory::NoMaster`).
//!
//! An embedding master implements the methods it supports; the others keep their default,
//! which refuses with [`ControlError::Unsupported`] (shown to the user as why nothing
//! happened). [`MasterControl::force_schedulers`] says which force forms the pages offer: a
//! master with none shows none.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;

pub use crate::domain::control::{ForceRequest, ForceScheduler, Forced};
use crate::domain::model::BuildKey;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// This master cannot do that at all.
    #[error("this server has no master that can {0}")]
    Unsupported(&'static str),
    /// The master can, but would not now; the text says why.
    #[error("the master refused: {0}")]
    Refused(String),
    /// The master could not be reached, or failed.
    #[error("the master failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait MasterControl: Send + Sync {
    /// The schedulers the force forms go through (none: no force forms).
    async fn force_schedulers(&self) -> Vec<ForceScheduler> {
        Vec::new()
    }

    /// Submits one buildset: a build request on each of `request.builders`.
    async fn force(&self, _request: ForceRequest) -> Result<Forced, ControlError> {
        Err(ControlError::Unsupported("force builds"))
    }

    /// Runs `original` again with `request` (made by `domain::control::rebuild_request`);
    /// by default, forces it.
    async fn rebuild(&self, _original: &BuildKey, request: ForceRequest) -> Result<Forced, ControlError> {
        self.force(request).await
    }

    /// Stops a running build; it finishes as cancelled.
    async fn stop_build(&self, _builder: &str, _number: u32, _reason: &str) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("stop builds"))
    }

    /// Checks that the builder's workers answer.
    async fn ping_builder(&self, _builder: &str) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("ping builders"))
    }

    /// Cancels a build request that has not started.
    async fn cancel_request(&self, _request_id: u64) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("cancel build requests"))
    }

    /// Pauses a worker (it takes no new build) or unpauses it.
    async fn pause_worker(&self, _worker: &str, _paused: bool) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("pause workers"))
    }

    /// Asks a worker to shut down once it is idle.
    async fn shutdown_worker(&self, _worker: &str) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("shut workers down"))
    }

    /// Shuts the master down: `clean` starts no new build and stops when the running ones are
    /// done; otherwise at once.
    async fn shutdown(&self, _clean: bool) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("shut down"))
    }

    /// Cancels a clean shutdown that has not finished.
    async fn cancel_shutdown(&self) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("cancel a shutdown"))
    }

    /// Whether a clean shutdown is under way.
    async fn shutting_down(&self) -> bool {
        false
    }
}

/// The master a server commands, which may be set after the server started (a master that
/// embeds buildstatus makes its control object from the server's sink).
#[derive(Clone)]
pub struct MasterSlot(Arc<RwLock<Arc<dyn MasterControl>>>);

impl MasterSlot {
    pub fn new(master: Arc<dyn MasterControl>) -> Self {
        Self(Arc::new(RwLock::new(master)))
    }

    /// The master now.
    pub fn get(&self) -> Arc<dyn MasterControl> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// From now on, `master` is commanded.
    pub fn set(&self, master: Arc<dyn MasterControl>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = master;
    }
}

impl std::fmt::Debug for MasterSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSlot(..)")
    }
}
