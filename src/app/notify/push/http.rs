//! HttpStatusPush's delivery: one POST per call, holding as many of the batch's packets as fit
//! below `maxHttpRequestSize` (spec-notify-5 §5.2.3, never an empty one, S10). A 413 halves
//! the packets of the next request, and no later request of several packets is as large as
//! the smallest one refused (the receiver's limit, once learnt, holds while the target runs);
//! a packet that cannot go alone (not below `maxHttpRequestSize`, or refused with 413 on its
//! own) is dropped with the reason, as 0.8 dropped one too large. Whatever was not in the request goes with the next.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::adapters::http_push::{HttpPushClient, PostError, RetryAfter};
use crate::app::notify::{Deliver, InOrder};
use crate::domain::notify::outbox::{AttemptError, OutboxMessage};
use crate::domain::notify::push::Form;
use crate::ports::Clock;

pub(crate) struct HttpDelivery {
    pub(super) client: HttpPushClient,
    pub(super) form: Form,
    /// `maxHttpRequestSize`: a body is smaller than this; `None`: any size.
    pub(super) max_request: Option<usize>,
    /// The most packets the next request holds: half of those refused by a 413, else any.
    pub(super) most: AtomicUsize,
    /// The smallest body the receiver refused (413): later ones of several packets are smaller.
    pub(super) refused: AtomicUsize,
    pub(super) clock: std::sync::Arc<dyn Clock>,
    pub(super) url: String,
}

#[async_trait]
impl Deliver for HttpDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        match self.deliver_in_order(batch).await {
            InOrder { delivered, .. } if delivered == batch.len() => Ok(()),
            InOrder { failed: Some((_, error)), .. } => Err(error),
            InOrder { .. } => Err(AttemptError::temporary("only part of the batch was sent")),
        }
    }

    async fn deliver_in_order(&self, batch: &[OutboxMessage]) -> InOrder {
        let Some(first) = batch.first() else { return InOrder { delivered: 0, failed: None } };
        let texts: Vec<&str> = batch.iter().map(|m| m.payload.as_str()).collect();
        let refused = self.refused.load(Ordering::Relaxed);
        let limit = self.max_request.map_or(refused, |max| max.min(refused));
        let limit = (limit != usize::MAX).then_some(limit);
        let mut n = self.form.fitting(&texts, limit, self.most.load(Ordering::Relaxed).max(1));
        if n == 0 {
            let size = self.form.len(&texts[..1]);
            if let Some(max) = self.max_request.filter(|max| size >= *max) {
                let error = format!("packet {} was dropped, too large: {size} > {max}", first.id);
                tracing::error!("{}: {error}", self.url);
                return InOrder { delivered: 0, failed: Some((1, AttemptError::Permanent(error))) };
            }
            // Only larger than a body the receiver refused: it goes alone, and only the
            // receiver's own 413 for it alone drops it.
            n = 1;
        }
        let body = self.form.body(&texts[..n]);
        let size = body.len();
        match self.client.post(body).await {
            Ok(()) => {
                tracing::debug!("Sent {n} events to {}", self.url);
                self.most.store(usize::MAX, Ordering::Relaxed);
                InOrder { delivered: n, failed: None }
            }
            Err(PostError::TooLarge(error)) => {
                self.refused.fetch_min(size, Ordering::Relaxed);
                if n == 1 {
                    let error = format!("packet {} was dropped, the receiver refused it alone: {error}", first.id);
                    tracing::error!("{}: {error}", self.url);
                    return InOrder { delivered: 0, failed: Some((1, AttemptError::Permanent(error))) };
                }
                self.most.store(n / 2, Ordering::Relaxed);
                tracing::warn!("{}: {error} for {n} packets ({size} bytes); sending {} at most", self.url, n / 2);
                InOrder { delivered: 0, failed: None }
            }
            Err(PostError::Failed { error, retry_after }) => {
                tracing::warn!("Failed to push {n} events to {}: {error}", self.url);
                let now = self.clock.now();
                let not_before = retry_after.map(|r| match r {
                    RetryAfter::Delay(d) => now + chrono::Duration::from_std(d).unwrap_or_default(),
                    RetryAfter::At(t) => t,
                });
                InOrder { delivered: 0, failed: Some((n, AttemptError::Temporary { error, not_before })) }
            }
        }
    }
}
