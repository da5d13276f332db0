//! What one client may take of the server, so that slow, numerous or greedy clients cannot
//! starve the others: how long a request's head and body may take to arrive (slowloris), how
//! many connections and live streams may be open (in all, and per address), how large a
//! request's head may be, and how often one address may call the change hooks and the ingest
//! API. `[limits]` in `buildstatus.toml` sets them; the defaults suit a public server.
//!
//! Per-address limits leave out loopback (and UNIX sockets) unless told otherwise: a front end
//! proxying to us connects from there, and counting it as one client would count everyone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits (`[limits]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// A request's line and headers must have arrived within this (`header_timeout`).
    pub header_timeout: Duration,
    /// A request's whole body must have arrived within this (`body_timeout`).
    pub body_timeout: Duration,
    /// A request's line and headers, in bytes (`max_header_bytes`); past it, 431.
    pub max_header_bytes: usize,
    /// Open connections in all (`max_connections`); past it, 503.
    pub max_connections: usize,
    /// Open connections from one address (`max_connections_per_address`); past it, 429.
    pub max_connections_per_address: usize,
    /// Live streams (`/events`, followed logs) from one address (`max_streams_per_address`).
    pub max_streams_per_address: usize,
    /// Change hook requests one address may make per minute (`hook_requests_per_minute`).
    pub hook_requests_per_minute: u32,
    /// Ingest API requests one address may make per minute (`ingest_requests_per_minute`).
    pub ingest_requests_per_minute: u32,
    /// Whether loopback addresses are held to the per-address limits too (`limit_loopback`).
    pub limit_loopback: bool,
    /// Addresses no per-address limit applies to (`exempt`): a front end, a busy master.
    pub exempt: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            max_connections_per_address: 256,
            max_streams_per_address: 32,
            hook_requests_per_minute: 600,
            ingest_requests_per_minute: 6_000,
            limit_loopback: false,
            exempt: Vec::new(),
        }
    }
}

/// Headers a request may have; past it, 431. Not a setting: hyper keeps up to this many on
/// the stack, and no client we know sends half as many.
pub const MAX_HEADERS: usize = 100;

impl Limits {
    /// The settings the connection loop reads when the server starts, for a reload to name.
    pub const OF_CONNECTIONS: &str =
        "header_timeout, body_timeout, max_header_bytes, max_connections, max_connections_per_address";

    /// Takes the connection loop's settings from `running` (a reload cannot change them);
    /// whether they differed.
    pub fn keep_connection_limits(&mut self, running: &Limits) -> bool {
        let differed = (self.header_timeout, self.body_timeout, self.max_header_bytes)
            != (running.header_timeout, running.body_timeout, running.max_header_bytes)
            || (self.max_connections, self.max_connections_per_address)
                != (running.max_connections, running.max_connections_per_address);
        self.header_timeout = running.header_timeout;
        self.body_timeout = running.body_timeout;
        self.max_header_bytes = running.max_header_bytes;
        self.max_connections = running.max_connections;
        self.max_connections_per_address = running.max_connections_per_address;
        differed
    }

    /// Whether the per-address limits apply to a client at `address` (`None`: a UNIX socket).
    pub fn applies_to(&self, address: Option<IpAddr>) -> Option<IpAddr> {
        let address = address?;
        let exempt = (address.is_loopback() && !self.limit_loopback) || self.exempt.contains(&address);
        (!exempt).then_some(address)
    }
}

/// Why something was refused, for the answer (429 or 503) and its `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The whole server is full (503), rather than this one client over its share (429).
    pub server_full: bool,
    pub reason: String,
    pub retry_after: Duration,
}

/// Open things (connections, streams) counted in all and per address; each opening holds an
/// [`Opened`] and counts until it is dropped.
#[derive(Debug, Default)]
pub struct OpenCounter {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// One opening counted; dropping it uncounts it.
#[derive(Debug)]
pub struct Opened {
    counter: std::sync::Arc<OpenCounter>,
    address: Option<IpAddr>,
}

impl OpenCounter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one more from `address` (`None`: not counted per address) unless that passes
    /// `total` or `per_address`; `what` names the thing in the refusal ("connections").
    pub fn open(
        self: &std::sync::Arc<Self>,
        address: Option<IpAddr>,
        total: usize,
        per_address: usize,
        what: &str,
    ) -> Result<Opened, Refusal> {
        let mut counts = self.lock();
        if counts.total >= total {
            return Err(Refusal {
                server_full: true,
                reason: format!("the server has its limit of {total} open {what}; try again shortly"),
                retry_after: Duration::from_secs(5),
            });
        }
        if let Some(address) = address {
            let mine = counts.per_address.entry(address).or_default();
            if *mine >= per_address {
                return Err(Refusal {
                    server_full: false,
                    reason: format!("{address} has its limit of {per_address} open {what}; close some first"),
                    retry_after: Duration::from_secs(5),
                });
            }
            *mine += 1;
        }
        counts.total += 1;
        Ok(Opened { counter: self.clone(), address })
    }

    /// How many are open in all.
    pub fn total(&self) -> usize {
        self.lock().total
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let mut counts = self.counter.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(mine) = counts.per_address.get_mut(&address)
        {
            *mine -= 1;
            if *mine == 0 {
                counts.per_address.remove(&address);
            }
        }
    }
}

/// Requests per address per minute, as a token bucket: an address may spend a minute's
/// allowance at once, then earns it back evenly. The table is bounded: full buckets are
/// dropped as it fills (a full bucket is what a new address starts with anyway).
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    /// What the requests are, for the refusal ("change hook requests").
    what: &'static str,
    /// Which setting raises it, for the refusal.
    setting: &'static str,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Buckets at which full ones are swept out.
const SWEEP_AT: usize = 50_000;

impl RateLimiter {
    pub fn new(per_minute: u32, what: &'static str, setting: &'static str) -> Self {
        Self { per_minute, what, setting, buckets: Mutex::default() }
    }

    /// Takes one request's token for `address` at `now`, or says how long until one is earned.
    pub fn admit(&self, address: IpAddr, now: Instant) -> Result<(), Refusal> {
        let capacity = f64::from(self.per_minute.max(1));
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_second < capacity
            });
        }
        let (tokens, at) = buckets.entry(address).or_insert((capacity, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - *tokens) / per_second).max(Duration::from_secs(1));
        Err(Refusal {
            server_full: false,
            reason: format!(
                "{address} made more than {} {} in a minute (the server's [limits] {}); try again in {} s",
                self.per_minute,
                self.what,
                self.setting,
                wait.as_secs_f64().ceil()
            ),
            retry_after: wait,
        })
    }
}

impl Refusal {
    /// The answer: 503 when the server is full, 429 when the client is over its share, with
    /// when to try again.
    pub fn answer(&self) -> axum::response::Response {
        use axum::http::{HeaderValue, StatusCode, header};
        use axum::response::IntoResponse;
        let status = if self.server_full { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::TOO_MANY_REQUESTS };
        let retry = HeaderValue::from(self.retry_after.as_secs().max(1));
        let mut answer = (status, format!("{}\n", self.reason)).into_response();
        answer.headers_mut().insert(header::RETRY_AFTER, retry);
        answer
    }
}

/// The per-address rate limit of one kind of request (change hooks, ingest), as a middleware.
pub struct RateGate {
    limits: Limits,
    limiter: RateLimiter,
}

impl RateGate {
    pub fn new(limits: &Limits, per_minute: u32, what: &'static str, setting: &'static str) -> Self {
        Self { limits: limits.clone(), limiter: RateLimiter::new(per_minute, what, setting) }
    }
}

/// The middleware: a request from an address over its rate is answered 429.
pub async fn rate_limited(
    axum::extract::State(gate): axum::extract::State<std::sync::Arc<RateGate>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = super::auth::peer_of(request.extensions());
    if let Some(address) = gate.limits.applies_to(peer.address)
        && let Err(refusal) = gate.limiter.admit(address, Instant::now())
    {
        return refusal.answer();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const THERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn loopback_and_exempt_addresses_are_not_limited_unless_asked() {
        let mut limits = Limits { exempt: vec![THERE], ..Limits::default() };
        let loopback = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(limits.applies_to(loopback), None);
        assert_eq!(limits.applies_to(Some(THERE)), None);
        assert_eq!(limits.applies_to(Some(HERE)), Some(HERE));
        assert_eq!(limits.applies_to(None), None, "a UNIX socket");
        limits.limit_loopback = true;
        assert_eq!(limits.applies_to(loopback), loopback);
    }

    #[test]
    fn openings_count_until_dropped_in_all_and_per_address() {
        let counter = Arc::new(OpenCounter::default());
        let a = counter.open(Some(HERE), 3, 2, "connections").expect("first");
        let _b = counter.open(Some(HERE), 3, 2, "connections").expect("second");
        let refused = counter.open(Some(HERE), 3, 2, "connections").expect_err("third from one address");
        assert!(!refused.server_full);
        assert!(refused.reason.contains("10.0.0.1 has its limit of 2 open connections"), "{}", refused.reason);
        let _c = counter.open(Some(THERE), 3, 2, "connections").expect("another address");
        let full = counter.open(None, 3, 2, "connections").expect_err("the server is full");
        assert!(full.server_full, "{full:?}");
        drop(a);
        assert_eq!(counter.total(), 2);
        counter.open(Some(HERE), 3, 2, "connections").expect("room again");
    }

    #[test]
    fn an_address_spends_its_minute_at_once_then_earns_it_back_evenly() {
        let limiter = RateLimiter::new(60, "hook requests", "hook_requests_per_minute");
        let start = Instant::now();
        for _ in 0..60 {
            limiter.admit(HERE, start).expect("within the minute's allowance");
        }
        let refused = limiter.admit(HERE, start).expect_err("the 61st");
        assert!(refused.reason.contains("more than 60 hook requests in a minute"), "{}", refused.reason);
        assert!(refused.reason.contains("hook_requests_per_minute"), "{}", refused.reason);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        limiter.admit(THERE, start).expect("other addresses are not held back");
        limiter.admit(HERE, start + Duration::from_secs(1)).expect("one earned back after a second");
        assert!(limiter.admit(HERE, start + Duration::from_secs(1)).is_err());
    }
}
