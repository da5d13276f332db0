//! A clock that only moves when told: for tests and snapshots, whose pages and retry times
//! must not depend on when they run.

use std::sync::Mutex;

use crate::domain::model::Timestamp;
use crate::ports::Clock;

#[derive(Debug)]
pub struct MemoryClock(Mutex<Timestamp>);

impl MemoryClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add_signed(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)).unwrap_or(*now);
    }
}

impl Clock for MemoryClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
