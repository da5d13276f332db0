//! Failed logins, counted per user name and per address over a sliding window: past either
//! limit, a login is refused without checking the password (so guessing costs the guesser
//! time, not the server bcrypt rounds). A name counts whether or not such a user exists, so
//! the limit tells nothing either. The table is bounded: stale entries are dropped as it fills.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::domain::model::Timestamp;

/// The limits: failures allowed per user name and per address within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_user: u32,
    pub per_address: u32,
    pub window: chrono::Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { per_user: 5, per_address: 20, window: chrono::Duration::minutes(15) }
    }
}

/// Entries at which stale ones are swept out.
const SWEEP_AT: usize = 50_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    /// The peer's address; `None` for a UNIX socket or an unknown peer.
    Address(Option<IpAddr>),
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<Key, VecDeque<Timestamp>>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self { limits, failures: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Timestamp>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a login of `user` from `address` may be checked at `now`; when not, how long
    /// until it may.
    pub fn check(&self, user: &str, address: Option<IpAddr>, now: Timestamp) -> Result<(), chrono::Duration> {
        let failures = self.lock();
        let since = now - self.limits.window;
        let wait = |key: &Key, limit: u32| {
            let recent: Vec<&Timestamp> = failures.get(key).map(|f| f.iter().filter(|t| **t > since).collect())?;
            (recent.len() >= limit as usize).then(|| *recent[recent.len() - limit as usize] + self.limits.window - now)
        };
        let waits = [
            wait(&Key::User(user.to_owned()), self.limits.per_user),
            wait(&Key::Address(address), self.limits.per_address),
        ];
        match waits.into_iter().flatten().max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed login.
    pub fn failed(&self, user: &str, address: Option<IpAddr>, now: Timestamp) {
        let mut failures = self.lock();
        let since = now - self.limits.window;
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, times| times.back().is_some_and(|t| *t > since));
        }
        for key in [Key::User(user.to_owned()), Key::Address(address)] {
            let times = failures.entry(key).or_default();
            while times.front().is_some_and(|t| *t <= since) {
                times.pop_front();
            }
            times.push_back(now);
        }
    }

    /// A successful login clears its user's failures (not its address's).
    pub fn succeeded(&self, user: &str) {
        self.lock().remove(&Key::User(user.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000 + s, 0).expect("time")
    }

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LoginLimits { per_user: 3, per_address: 5, window: chrono::Duration::seconds(60) })
    }

    #[test]
    fn a_user_is_held_back_after_its_limit_until_the_window_passes() {
        let l = limiter();
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for s in 0..3 {
            assert_eq!(l.check("bob", here, at(s)), Ok(()));
            l.failed("bob", here, at(s));
        }
        assert_eq!(l.check("bob", here, at(10)), Err(chrono::Duration::seconds(50)));
        assert!(l.check("bob", Some(IpAddr::from([10, 0, 0, 2])), at(10)).is_err(), "from anywhere");
        assert_eq!(l.check("ann", here, at(10)), Ok(()), "other users are not held back");
        assert_eq!(l.check("bob", here, at(61)), Ok(()), "the first failure left the window");
        l.succeeded("bob");
        assert_eq!(l.check("bob", here, at(10)), Ok(()));
    }

    #[test]
    fn an_address_is_held_back_whatever_names_it_tries() {
        let l = limiter();
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for (s, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            l.failed(name, here, at(s as i64));
        }
        assert!(l.check("f", here, at(6)).is_err());
        assert_eq!(l.check("f", None, at(6)), Ok(()));
        l.succeeded("e");
        assert!(l.check("f", here, at(6)).is_err(), "a success does not clear the address");
    }
}
