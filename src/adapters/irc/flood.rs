//! The send queue's pace: a token bucket. `burst` lines may go at once; after that one line per
//! `1/rate` seconds. The defaults (burst 4, 1 line a second) stay below ngircd's and
//! InspIRCd's default flood limits (spec-notify-8 I1), so `status all` on hundreds of builders
//! is paced, never kicked for flooding.

use std::time::Duration;

use tokio::time::Instant;

/// A burst and a steady rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloodLimits {
    /// Lines that may go at once after a quiet spell.
    pub burst: u32,
    /// Lines per second after that.
    pub per_second: f64,
}

impl Default for FloodLimits {
    fn default() -> Self {
        Self { burst: 4, per_second: 1.0 }
    }
}

/// The bucket: `tokens` lines may go now; one more every `1/per_second`.
#[derive(Debug)]
pub struct Bucket {
    limits: FloodLimits,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(limits: FloodLimits, now: Instant) -> Self {
        Self { limits, tokens: f64::from(limits.burst.max(1)), at: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limits.per_second).min(f64::from(self.limits.burst.max(1)));
        self.at = now;
    }

    /// When the next line may go: `now` when a token is there.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 1.0 {
            now
        } else {
            let wait = (1.0 - self.tokens) / self.limits.per_second.max(0.001);
            now + Duration::from_secs_f64(wait)
        }
    }

    /// Takes a token for a line sent at `now` (call once [`Self::ready_at`] said now).
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(FloodLimits { burst: 3, per_second: 2.0 }, t0);
        let mut now = t0;
        let mut times = Vec::new();
        for _ in 0..7 {
            now = bucket.ready_at(now);
            bucket.take(now);
            times.push((now - t0).as_millis());
        }
        assert_eq!(times, [0, 0, 0, 500, 1000, 1500, 2000]);
        // A quiet spell refills the burst, no more.
        let later = now + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.ready_at(later), later);
            bucket.take(later);
        }
        assert!(bucket.ready_at(later) > later);
    }
}
