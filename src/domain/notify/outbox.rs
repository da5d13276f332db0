//! The outbox's pure rules, shared by every notifier: what a queued message is, which states
//! it goes through, when a failed attempt is retried, and how stable message ids are spelled.
//!
//! A message is decided once, written to the outbox under a stable id (so deciding twice
//! never queues twice), and then delivered at least once by a worker; the id lets the peer
//! (or the reader's mail client) recognise a repeat after a crash between "sent" and
//! "marked sent".

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::model::Timestamp;

/// Which notifier a message, cursor or note belongs to: its kind (`mail`, `irc`, `push`,
/// `github`, …) and its name among the targets of that kind. Spelled `kind/name` wherever it
/// is stored or shown, so that two targets of different kinds may share a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId {
    kind: String,
    name: String,
}

impl TargetId {
    /// `kind` is a word of lowercase letters, digits and `-`; `name` is any non-empty text.
    pub fn new(kind: &str, name: &str) -> Result<Self, String> {
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(format!("'{kind}' is not a target kind (lowercase letters, digits and '-')"));
        }
        if name.trim().is_empty() {
            return Err(format!("a {kind} target needs a name"));
        }
        Ok(Self { kind: kind.to_owned(), name: name.to_owned() })
    }

    /// Reads `kind/name` (the name may hold further slashes).
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, name) = text.split_once('/')?;
        Self::new(kind, name).ok()
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for TargetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker until its `next_attempt` (the lease); due again if the worker
    /// died before recording an outcome.
    Sending,
    /// The peer accepted it.
    Sent,
    /// Given up: a permanent error, the retry limit, or a message that could not be built.
    Failed,
    /// Never sent: a newer message with the same key was queued (latest-wins targets).
    Superseded,
    /// Never sent: the target's queue was full, and it made room by dropping its oldest
    /// waiting messages (`Outbox::trim_open`).
    Dropped,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 6] =
        [Self::Pending, Self::Sending, Self::Sent, Self::Failed, Self::Superseded, Self::Dropped];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Dropped => "dropped",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Still to be delivered (waiting or in flight).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Sending)
    }
}

/// How a target's messages go out: chosen per target kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discipline {
    /// Independent messages, several in flight at once, a retried one overtaken by later ones
    /// (mail: each mail stands alone).
    #[default]
    Concurrent,
    /// A stream: messages go out in the order they were queued, one request in flight (which
    /// may carry several of them), and none before every earlier one is sent or given up
    /// (StatusPush, spec-notify-8 S2).
    Ordered,
    /// Only the newest message of each key matters (a commit status per commit and context):
    /// an older one is superseded, never sent after a newer one, and a key has one message in
    /// flight at a time. Messages without a key are independent.
    LatestPerKey,
}

impl Discipline {
    pub fn name(self) -> &'static str {
        match self {
            Self::Concurrent => "concurrent",
            Self::Ordered => "ordered",
            Self::LatestPerKey => "latest per key",
        }
    }
}

/// A message as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// The notifier that owns it, spelled `kind/name` ([`TargetId`]).
    pub target: String,
    /// Stable per (target, subject of the message): enqueuing the same id again does nothing.
    pub id: String,
    /// For latest-wins targets: what the message is the newest state of (`sha/context`).
    #[serde(default)]
    pub key: Option<String>,
    /// What the target's transport sends, in the target's own encoding (JSON for mail).
    pub payload: String,
    /// A one-line description for the delivery log (a mail's subject and recipients).
    pub summary: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    pub created: Timestamp,
    /// When the next attempt is due (pending), when the lease of a claim ends (sending), or
    /// when it was sent, given up or superseded.
    pub next_attempt: Timestamp,
    /// The last failure, in words, for the delivery log.
    pub last_error: Option<String>,
}

impl OutboxMessage {
    /// A new pending message, due at once.
    pub fn new(target: &str, id: &str, payload: String, summary: String, now: Timestamp) -> Self {
        Self {
            target: target.to_owned(),
            id: id.to_owned(),
            key: None,
            payload,
            summary,
            state: DeliveryState::Pending,
            attempts: 0,
            created: now,
            next_attempt: now,
            last_error: None,
        }
    }

    /// The same message, as the newest state of `key` (latest-wins targets).
    pub fn with_key(self, key: &str) -> Self {
        Self { key: Some(key.to_owned()), ..self }
    }

    /// A message that could not even be built: it goes to the log as failed, with the reason.
    pub fn unbuildable(target: &str, id: &str, summary: String, reason: String, now: Timestamp) -> Self {
        Self {
            state: DeliveryState::Failed,
            last_error: Some(reason),
            ..Self::new(target, id, String::new(), summary, now)
        }
    }
}

/// What a notifier writes at once (`Outbox::record`): its new messages, the notes it changed
/// and how far in the event journal it got, all or nothing. A notifier that numbers its
/// messages keeps its counter in a note written with them, so a crash can neither lose a
/// number nor give one twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Each stored unless its (target, id) is (as `enqueue`).
    pub messages: Vec<OutboxMessage>,
    /// Notes to write (`Some`) or remove (`None`).
    pub notes: Vec<(String, Option<String>)>,
    /// The cursor moves here (never back).
    pub cursor: Option<u64>,
}

/// What `Outbox::trim_open` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Waiting messages turned [`DeliveryState::Dropped`].
    pub dropped: u64,
    /// Open messages (waiting or in flight) left.
    pub open: u64,
}

/// Counts of one target's messages by state (the delivery metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCounts {
    pub target: String,
    pub pending: u64,
    #[serde(default)]
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    #[serde(default)]
    pub superseded: u64,
    #[serde(default)]
    pub dropped: u64,
}

impl TargetCounts {
    /// The counter of messages in `state`.
    pub fn of(&mut self, state: DeliveryState) -> &mut u64 {
        match state {
            DeliveryState::Pending => &mut self.pending,
            DeliveryState::Sending => &mut self.sending,
            DeliveryState::Sent => &mut self.sent,
            DeliveryState::Failed => &mut self.failed,
            DeliveryState::Superseded => &mut self.superseded,
            DeliveryState::Dropped => &mut self.dropped,
        }
    }

    /// Each state with its count, in [`DeliveryState::ALL`] order.
    pub fn by_state(&self) -> [(DeliveryState, u64); 6] {
        let mut copy = self.clone();
        DeliveryState::ALL.map(|s| (s, *copy.of(s)))
    }
}

/// How an attempt ended, as the transport reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptError {
    /// Worth retrying: the peer is down, busy, or answered 4xx. `not_before` is when the peer
    /// said to come back (`Retry-After`, a rate limit's reset), if it said so.
    Temporary { error: String, not_before: Option<Timestamp> },
    /// Retrying cannot help: the peer refused the message (5xx), or it is malformed.
    Permanent(String),
    /// The peer is well but turned the target away until `until` (a rate limit: GitHub's
    /// `X-RateLimit-Reset`, a `Retry-After`): nothing of the target is sent before then, and
    /// the attempt does not count against the retry budget (the message was not at fault).
    RateLimited { error: String, until: Timestamp },
}

impl AttemptError {
    /// A temporary failure with no word on when to come back.
    pub fn temporary(error: impl Into<String>) -> Self {
        Self::Temporary { error: error.into(), not_before: None }
    }

    /// The failure in words, for the delivery log.
    pub fn describe(&self) -> String {
        match self {
            Self::Temporary { error, not_before: None } => error.clone(),
            Self::Temporary { error, not_before: Some(t) } => format!("{error} (the peer asked to wait until {t})"),
            Self::Permanent(error) => format!("{error} (not retried)"),
            Self::RateLimited { error, until } => format!("{error} (rate limited: the target waits until {until})"),
        }
    }
}

/// When to try again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; each further failure doubles it.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all, after which a message is given up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { first_delay: Duration::from_secs(10), max_delay: Duration::from_secs(3600), max_attempts: 12 }
    }
}

/// The shortest wait after a rate limit.
pub const RATE_LIMIT_FLOOR: Duration = Duration::from_secs(1);

/// What to record after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    GiveUp,
    /// Rate limited: the target waits until then, and the attempt is not counted.
    Defer(Timestamp),
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, given that `attempts` have failed (≥ 1):
    /// exponential, capped, with up to a quarter added as jitter. The jitter comes from the
    /// message id, so it is deterministic yet spreads messages that failed together.
    pub fn delay(&self, attempts: u32, id: &str) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let base = self.first_delay.saturating_mul(1u32 << doublings).min(self.max_delay);
        let spread = fnv1a(id) % 1000;
        let jitter = base / 4 * u32::try_from(spread).unwrap_or(0) / 1000;
        (base + jitter).min(self.max_delay)
    }

    /// The decision after attempt number `attempts` (counting it) failed with `error`. A peer
    /// that named a time to come back is not asked before it, even past the usual delay. A
    /// rate limit defers without counting (at least [`RATE_LIMIT_FLOOR`] ahead, so a reset
    /// time already past, or a clock behind the peer's, cannot make the worker spin).
    pub fn after_failure(&self, attempts: u32, error: &AttemptError, id: &str, now: Timestamp) -> AfterFailure {
        match error {
            AttemptError::Permanent(_) => AfterFailure::GiveUp,
            AttemptError::RateLimited { until, .. } => {
                let floor = chrono::Duration::from_std(RATE_LIMIT_FLOOR).unwrap_or(chrono::Duration::zero());
                AfterFailure::Defer((*until).max(now.checked_add_signed(floor).unwrap_or(now)))
            }
            AttemptError::Temporary { .. } if attempts >= self.max_attempts => AfterFailure::GiveUp,
            AttemptError::Temporary { not_before, .. } => {
                let delay = chrono::Duration::from_std(self.delay(attempts, id)).unwrap_or(chrono::Duration::MAX);
                let backoff = now.checked_add_signed(delay).unwrap_or(now);
                AfterFailure::RetryAt(not_before.map_or(backoff, |t| t.max(backoff)))
            }
        }
    }
}

/// How long a target's delivery log keeps messages that are done (sent, given up or
/// superseded): those older than `max_age`, and those beyond the newest `max_count`, are
/// pruned, so a target that queues a message per event stays bounded. A message still to be
/// delivered is never pruned.
///
/// A pruned message's id can be queued again; the age must therefore exceed the time a target
/// could go back in the journal (its cursor only moves forward, so in practice: never).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_count: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self { max_age: Duration::from_secs(30 * 24 * 3600), max_count: 10_000 }
    }
}

impl Retention {
    /// Done messages that finished before this time are pruned.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        let age = chrono::Duration::from_std(self.max_age).unwrap_or(chrono::Duration::MAX);
        now.checked_sub_signed(age).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Spells `text` with only `[A-Za-z0-9_-]` and `=XX` escapes (the empty text as `=`):
/// injective, never empty, and valid inside a Message-ID's dot-atom, so any builder or
/// target name can be part of an id.
pub fn id_part(text: &str) -> String {
    if text.is_empty() {
        return "=".to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { first_delay: Duration::from_secs(10), max_delay: Duration::from_secs(100), max_attempts: 4 }
    }

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter() {
        let p = policy();
        for (attempts, base) in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (40, 100)] {
            let d = p.delay(attempts, "some-id").as_secs_f64();
            assert!(d >= f64::from(base) && d <= (f64::from(base) * 1.25).min(100.0), "{attempts}: {d}");
        }
        assert_ne!(p.delay(1, "a"), p.delay(1, "b"), "jitter spreads messages");
    }

    #[test]
    fn permanent_errors_and_the_limit_give_up() {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let p = policy();
        let temp = AttemptError::temporary("421");
        assert!(matches!(p.after_failure(1, &temp, "x", now), AfterFailure::RetryAt(t) if t > now));
        assert_eq!(p.after_failure(4, &temp, "x", now), AfterFailure::GiveUp);
        assert_eq!(p.after_failure(1, &AttemptError::Permanent("550".into()), "x", now), AfterFailure::GiveUp);
    }

    #[test]
    fn a_peer_that_names_a_time_is_not_asked_before_it() {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let later = chrono::DateTime::from_timestamp(3600, 0).unwrap();
        let limited = AttemptError::Temporary { error: "429".into(), not_before: Some(later) };
        assert_eq!(policy().after_failure(1, &limited, "x", now), AfterFailure::RetryAt(later));
        // A time sooner than the backoff does not shorten it.
        let soon = AttemptError::Temporary { error: "429".into(), not_before: Some(now) };
        assert!(matches!(policy().after_failure(1, &soon, "x", now), AfterFailure::RetryAt(t) if t > now));
    }

    #[test]
    fn a_rate_limit_defers_without_counting_even_past_the_last_attempt() {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let reset = chrono::DateTime::from_timestamp(900, 0).unwrap();
        let limited = AttemptError::RateLimited { error: "403 rate limit".into(), until: reset };
        assert_eq!(policy().after_failure(4, &limited, "x", now), AfterFailure::Defer(reset));
        assert_eq!(policy().after_failure(400, &limited, "x", now), AfterFailure::Defer(reset));
        // A reset already past still waits a moment.
        let past = AttemptError::RateLimited { error: "429".into(), until: now - chrono::Duration::seconds(5) };
        assert_eq!(
            policy().after_failure(1, &past, "x", now),
            AfterFailure::Defer(now + chrono::Duration::from_std(RATE_LIMIT_FLOOR).unwrap())
        );
        assert!(limited.describe().contains("rate limited"), "{}", limited.describe());
    }

    #[test]
    fn target_ids_are_kind_and_name() {
        let id = TargetId::new("mail", "ops/night").unwrap();
        assert_eq!(id.to_string(), "mail/ops/night");
        assert_eq!(TargetId::parse("mail/ops/night"), Some(id));
        assert!(TargetId::new("Mail", "x").is_err() && TargetId::new("mail", " ").is_err());
        assert_eq!(TargetId::parse("nokind"), None);
    }

    #[test]
    fn id_parts_are_injective_and_atom_safe() {
        assert_eq!(id_part("linux-64_bit"), "linux-64_bit");
        assert_eq!(id_part("a b/c=d"), "a=20b=2Fc=3Dd");
        assert_ne!(id_part("a=20"), id_part("a "));
        assert_eq!(id_part(""), "=");
    }
}
