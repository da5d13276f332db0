//! What the web status asks of the master it reports on: force, stop, ping, cancel, shutdown.
//! The authorised actions call it; a standalone server has no master and refuses them
//! (`adapters::memory::NoMaster`).

use async_trait::async_trait;

use crate::domain::model::Properties;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("this server has no master that can {0}")]
    Unsupported(&'static str),
    #[error("the master refused: {0}")]
    Refused(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForceRequest {
    pub builder: String,
    pub who: String,
    pub reason: String,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub properties: Properties,
}

#[async_trait]
pub trait MasterControl: Send + Sync {
    /// Schedules a build; returns the build request's id.
    async fn force_build(&self, request: ForceRequest) -> Result<u64, ControlError>;
    async fn stop_build(&self, builder: &str, number: u32, reason: &str) -> Result<(), ControlError>;
    async fn ping_builder(&self, builder: &str) -> Result<(), ControlError>;
    async fn cancel_request(&self, request_id: u64) -> Result<(), ControlError>;
    async fn shutdown(&self, clean: bool) -> Result<(), ControlError>;
}
