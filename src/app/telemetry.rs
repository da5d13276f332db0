//! The parts of the server `/metrics` reports on besides the web server: the hub (its own
//! `MetricsSource`), the outbox (messages by target and state) and the store (its size); and
//! what `/health/ready` asks (whether the store answers).

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::machine::prometheus::{Family, Kind, Sample};
use crate::domain::notify::outbox::TargetId;
use crate::ports::{MetricsSource, Outbox, Readiness, StatusStore};

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

/// How long `/health/ready` waits for the store: a probe is answered before a load
/// balancer's usual timeout (5 s), even when the database does not answer at all.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Ready when the store answers a small query (its counters) in time.
pub struct StoreReadiness(pub Arc<dyn StatusStore>);

#[async_trait]
impl Readiness for StoreReadiness {
    async fn ready(&self) -> Result<(), String> {
        match tokio::time::timeout(READY_WITHIN, self.0.meta()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("the store cannot be read: {e}")),
            Err(_) => Err(format!("the store did not answer within {} s", READY_WITHIN.as_secs())),
        }
    }
}
