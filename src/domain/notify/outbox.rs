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

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The peer accepted it.
    Sent,
    /// Given up: a permanent error, the retry limit, or a message that could not be built.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Sent, Self::Failed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A message as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// The notifier that owns it (`mail`, `irc-freenode`, …).
    pub target: String,
    /// Stable per (target, subject of the message): enqueuing the same id again does nothing.
    pub id: String,
    /// What the target's transport sends, in the target's own encoding (JSON for mail).
    pub payload: String,
    /// A one-line description for the delivery log (a mail's subject and recipients).
    pub summary: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    pub created: Timestamp,
    /// When the next attempt is due (pending), or when it was sent or given up.
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
            payload,
            summary,
            state: DeliveryState::Pending,
            attempts: 0,
            created: now,
            next_attempt: now,
            last_error: None,
        }
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

/// Counts of one target's messages by state (the delivery metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCounts {
    pub target: String,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

/// How an attempt ended, as the transport reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptError {
    /// Worth retrying: the peer is down, busy, or answered 4xx.
    Temporary(String),
    /// Retrying cannot help: the peer refused the message (5xx), or it is malformed.
    Permanent(String),
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

/// What to record after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    GiveUp,
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

    /// The decision after attempt number `attempts` (counting it) failed with `error`.
    pub fn after_failure(&self, attempts: u32, error: &AttemptError, id: &str, now: Timestamp) -> AfterFailure {
        match error {
            AttemptError::Permanent(_) => AfterFailure::GiveUp,
            AttemptError::Temporary(_) if attempts >= self.max_attempts => AfterFailure::GiveUp,
            AttemptError::Temporary(_) => {
                let delay = chrono::Duration::from_std(self.delay(attempts, id)).unwrap_or(chrono::Duration::MAX);
                AfterFailure::RetryAt(now.checked_add_signed(delay).unwrap_or(now))
            }
        }
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
        let temp = AttemptError::Temporary("421".into());
        assert!(matches!(p.after_failure(1, &temp, "x", now), AfterFailure::RetryAt(t) if t > now));
        assert_eq!(p.after_failure(4, &temp, "x", now), AfterFailure::GiveUp);
        assert_eq!(p.after_failure(1, &AttemptError::Permanent("550".into()), "x", now), AfterFailure::GiveUp);
    }

    #[test]
    fn id_parts_are_injective_and_atom_safe() {
        assert_eq!(id_part("linux-64_bit"), "linux-64_bit");
        assert_eq!(id_part("a b/c=d"), "a=20b=2Fc=3Dd");
        assert_ne!(id_part("a=20"), id_part("a "));
        assert_eq!(id_part(""), "=");
    }
}
