//! Figures a part of the server reports for `/metrics`: the hub (its commit rounds, the
//! journal), the outbox (messages by target and state), the store (its size). The web server
//! adds its own (requests, latency, live streams, the view cache) and writes them all.

use async_trait::async_trait;

use crate::domain::machine::prometheus::Family;

#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// The families it reports now. A source that cannot read what it reports logs why and
    /// leaves that family out: one broken source never hides the others.
    async fn metrics(&self) -> Vec<Family>;
}
