//! The parts of the server `/metrics` reports on besides the web server: the hub (its own
//! `MetricsSource`), the outbox (messages by target and state) and the store (its size).

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::machine::prometheus::{Family, Kind, Sample};
use crate::domain::notify::outbox::TargetId;
use crate::ports::{MetricsSource, Outbox, StatusStore};

/// Messages in the outbox, by target and state.
pub struct OutboxMetrics(pub Arc<dyn Outbox>);

#[async_trait]
impl MetricsSource for OutboxMetrics {
    async fn metrics(&self) -> Vec<Family> {
        let counts = match self.0.counts().await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!("/metrics: the outbox could not be read: {e}");
                return Vec::new();
            }
        };
        let mut samples = Vec::new();
        for c in &counts {
            let kind = TargetId::parse(&c.target).map(|t| t.kind().to_owned()).unwrap_or_default();
            for (state, n) in c.by_state() {
                let labels = vec![("kind", kind.clone()), ("target", c.target.clone()), ("state", state.name().into())];
                samples.push(Sample::number(labels, n as f64));
            }
        }
        vec![Family {
            name: "buildstatus_outbox_messages",
            help: "Notification messages in the outbox, by target (kind/name) and state.",
            kind: Kind::Gauge,
            samples,
        }]
    }
}

/// The store's size.
pub struct StoreMetrics(pub Arc<dyn StatusStore>);

#[async_trait]
impl MetricsSource for StoreMetrics {
    async fn metrics(&self) -> Vec<Family> {
        match self.0.stored_bytes().await {
            Ok(Some(bytes)) => vec![Family::single(
                "buildstatus_store_bytes",
                "Bytes of the status database.",
                Kind::Gauge,
                bytes as f64,
            )],
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("/metrics: the store's size could not be read: {e}");
                Vec::new()
            }
        }
    }
}
