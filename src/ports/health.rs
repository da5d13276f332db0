//! Whether this instance can serve what it is asked, for `/health/ready` (a load balancer
//! sends requests only to the instances that are ready).

use async_trait::async_trait;

#[async_trait]
pub trait Readiness: Send + Sync {
    /// Ready, or why not (in words, for the operator reading the answer).
    async fn ready(&self) -> Result<(), String>;
}
