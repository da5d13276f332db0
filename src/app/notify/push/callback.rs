//! The library's StatusPush (kind `push`): the packets go to the embedder's async closure, a
//! batch a call, in order, one call at a time. The closure says how it went (spec-notify-8
//! S12: 0.8 guessed it from how much of its queue the callback had popped): `Ok(())` takes
//! the whole batch; a temporary error has it offered again after `retryDelay` (doubling),
//! one packet at a time until one is taken; a permanent one gives the batch up.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{PUSH_RETRY, push_policy, start_notifier};
use crate::app::notify::{Context, Deliver, Overrides, Parts, Policy, Queue, Target, WorkerOptions};
use crate::domain::notify::outbox::{AttemptError, OutboxMessage, TargetId};
use crate::domain::notify::push::{EventFilter, Packet, PayloadFilter, PushRules};

type Callback =
    Arc<dyn Fn(Vec<Packet>) -> Pin<Box<dyn Future<Output = Result<(), AttemptError>> + Send>> + Send + Sync>;

/// A StatusPush target: [`PushRules`] (events, filter, `bufferDelay`, capacity) and a
/// callback. Its `Debug` is its configuration: a reload does not see a new closure.
#[derive(Clone)]
pub struct StatusPush {
    pub rules: PushRules,
    callback: Callback,
    /// Packets per call at most (200, as HttpStatusPush's `chunkSize`).
    pub batch: usize,
    /// Its retries and log retention, if not a push target's (5 s doubling to 5 min, never
    /// giving a packet up) and the server's.
    pub delivery: Overrides,
}

impl std::fmt::Debug for StatusPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusPush")
            .field("rules", &self.rules)
            .field("batch", &self.batch)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl StatusPush {
    /// Target `push/NAME`, calling `callback` with each batch of packets, with 0.8's defaults.
    pub fn new<F, Fut>(name: &str, callback: F) -> Self
    where
        F: Fn(Vec<Packet>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AttemptError>> + Send + 'static,
    {
        Self {
            rules: PushRules::new(name),
            callback: Arc::new(move |packets| Box::pin(callback(packets))),
            batch: 200,
            delivery: Overrides::default(),
        }
    }

    /// `bufferDelay`: how long a packet waits for others to go with it.
    pub fn buffer_delay(mut self, delay: Duration) -> Self {
        self.rules.buffer_delay = delay;
        self
    }

    /// `retryDelay`: the wait after the first failure (doubling after each further one).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        let retry = self.delivery.retry.unwrap_or(PUSH_RETRY);
        self.delivery.retry = Some(crate::domain::notify::outbox::RetryPolicy { first_delay: delay, ..retry });
        self
    }

    /// `blackList` and `whiteList`: which events are sent (see [`EventFilter`]); an unknown
    /// name is an error.
    pub fn events(mut self, white: Option<&[String]>, black: &[String]) -> Result<Self, String> {
        self.rules.events = EventFilter::new(white, black)?;
        Ok(self)
    }

    /// `filter`.
    pub fn filter(mut self, filter: PayloadFilter) -> Self {
        self.rules.filter = filter;
        self
    }

    /// The most packets waiting before the oldest are dropped.
    pub fn capacity(mut self, packets: u64) -> Self {
        self.rules.capacity = packets;
        self
    }
}

impl Target for StatusPush {
    fn id(&self) -> TargetId {
        TargetId::new("push", &self.rules.name).unwrap_or_else(|_| TargetId::new("push", "?").expect("a valid id"))
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        push_policy(defaults, self.batch, defaults.lease, self.delivery)
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let deliver = Arc::new(CallbackDelivery(self.callback.clone()));
        Ok(Parts { notifier: start_notifier(&self.rules, context, queue), deliver })
    }
}

struct CallbackDelivery(Callback);

#[async_trait]
impl Deliver for CallbackDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        let packets = batch
            .iter()
            .map(|m| serde_json::from_str(&m.payload))
            .collect::<Result<Vec<Packet>, _>>()
            .map_err(|e| AttemptError::Permanent(format!("a queued packet is unreadable: {e}")))?;
        (self.0)(packets).await
    }
}
