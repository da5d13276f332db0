//! The push targets: StatusPush (kind `push`, a closure of the embedder's, [`StatusPush`])
//! and HttpStatusPush (kind `http-push`, `[[http_push]]`, [`HttpPushTarget`]). Both run the
//! same notifier (`notifier.rs`: every event as a numbered packet, the start replay, `start`
//! and `shutdown`) on the framework's ordered delivery: one request in flight, packets in the
//! order they were queued, a batch a request, one packet at a time after a failure until one
//! gets through, and never given up (a packet skipped would be a hole in the stream; only one
//! that can never be sent, too large, is dropped).

mod callback;
mod http;
mod notifier;
mod read;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::Mutex;

pub use callback::StatusPush;

use super::{Context, Notifier, Overrides, Parts, Policy, Queue, Target, WorkerOptions};
use crate::adapters::http_push::{HttpPushClient, HttpPushSettings};
use crate::domain::notify::outbox::{Discipline, RetryPolicy, TargetId};
use crate::domain::notify::push::{Form, PushRules};
use crate::domain::notify::start::StartPolicy;

/// A push target's retries unless its block says otherwise: 0.8's `retryDelay` of 5 s, then
/// doubling up to 5 minutes (0.8 waited 5 s each time, spec-notify-8 S11), and never giving a
/// packet up.
pub const PUSH_RETRY: RetryPolicy =
    RetryPolicy { first_delay: Duration::from_secs(5), max_delay: Duration::from_secs(300), max_attempts: u32::MAX };

fn push_policy(defaults: &WorkerOptions, batch: usize, lease: Duration, delivery: Overrides) -> Policy {
    let policy = Policy {
        discipline: Discipline::Ordered,
        batch: batch.max(1),
        concurrency: 1,
        start: StartPolicy::Resume,
        retry: PUSH_RETRY,
        retention: defaults.retention,
        lease,
    };
    delivery.apply(policy)
}

fn start_notifier(rules: &PushRules, context: &Context, queue: Queue) -> Arc<dyn Notifier> {
    Arc::new(notifier::PushNotifier {
        rules: rules.clone(),
        reader: context.reader.clone(),
        clock: context.clock.clone(),
        site: context.site.clone(),
        queue,
        state: Mutex::default(),
    })
}

/// One HttpStatusPush (a `[[http_push]]` block): what it sends ([`PushRules`]), where
/// ([`HttpPushSettings`]), and how requests are made up.
#[derive(Clone, Debug)]
pub struct HttpPushTarget {
    pub rules: PushRules,
    pub http: HttpPushSettings,
    /// `extra_post_params`, after `packets` in every request.
    pub extra: Vec<(String, String)>,
    /// `chunkSize`: packets per request at most.
    pub chunk_size: usize,
    /// `maxHttpRequestSize`: a request's body is smaller; `None`: any size.
    pub max_request: Option<usize>,
    /// Its own retries and log retention.
    pub delivery: Overrides,
}

impl Target for HttpPushTarget {
    fn id(&self) -> TargetId {
        TargetId::new("http-push", &self.rules.name)
            .unwrap_or_else(|_| TargetId::new("http-push", "?").expect("a valid id"))
    }

    /// One request a call, which cannot outlast the timeout: a lease a little longer is
    /// enough.
    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        push_policy(defaults, self.chunk_size, self.http.timeout + Duration::from_secs(10), self.delivery)
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let deliver = http::HttpDelivery {
            client: HttpPushClient::new(&self.http)?,
            form: Form { style: self.rules.style, extra: self.extra.clone() },
            max_request: self.max_request,
            most: AtomicUsize::new(usize::MAX),
            refused: AtomicUsize::new(usize::MAX),
            clock: context.clock.clone(),
            url: self.http.shown_url(),
        };
        Ok(Parts { notifier: start_notifier(&self.rules, context, queue), deliver: Arc::new(deliver) })
    }
}
