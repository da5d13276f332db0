//! The log store on disk: [`DiskLogStore`] keeps each log as an append-only file, or, when it
//! is written whole at once, in a pack shared by a thousand logs, and streams a growing log to
//! its readers. (`adapters::memory::MemoryLogStore` keeps logs in memory.)
//!
//! The on-disk format is a sequence of records `[channel: u8][length: u32 LE][bytes]`, so a
//! log is written with one append per chunk and read front to back with a bounded buffer.
//! Tests write and read real files in a temporary directory.

mod disk;
mod pack;
mod records;

pub use disk::DiskLogStore;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How long a follower waits for news before it looks again (covers missed wake-ups).
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// Readers of a log that is still being written wait on this.
#[derive(Debug, Default)]
struct Growth {
    notify: Notify,
    finished: AtomicBool,
}

impl Growth {
    fn grew(&self) {
        self.notify.notify_waiters();
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Waits until the log grows or finishes, or a poll interval passes.
    async fn wait(self: &Arc<Self>) {
        let _ = tokio::time::timeout(FOLLOW_POLL, self.notify.notified()).await;
    }
}
