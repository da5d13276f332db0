//! Where the notifiers' tasks run: a runtime of their own, whose threads have a lower CPU
//! priority (nice 10) than the rest of the process. A notifier's work (payloads, the outbox's
//! writes, requests to its peer) is background work: it may fall behind for a moment, as its
//! messages wait durably in the outbox, but it must not take turns on the cores with the hub's
//! commits and the pages. On a machine with idle cores it runs at full speed; on a busy one
//! the scheduler gives the ingest and the pages their turn first. The outbox's SQLite
//! connections run on threads of the same priority (`SqliteStore::open_with_outbox_threads`).
//!
//! One runtime serves every server of the process (tests start many), made at first use and
//! kept for the process's life.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How much less CPU priority the notifiers' threads have (the `nice` increment).
const NICENESS: i32 = 10;
/// Threads of the notifiers' runtime: as many as the machine has cores, at most 4.
const MOST_THREADS: usize = 4;

/// Spawns `task` on the notifiers' runtime, in the caller's tracing span (its log lines say
/// which server they are of, as they would if it ran on the caller's runtime).
pub fn spawn<F>(task: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle().spawn(task.instrument(tracing::Span::current()))
}

/// The notifiers' runtime, made at first use; if it cannot be made, the caller's runtime.
fn handle() -> Handle {
    static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(MOST_THREADS);
        let made = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("notifier")
            .on_thread_start(lower_priority)
            .enable_all()
            .build();
        made.map_err(|e| tracing::warn!("notifiers run beside the pages: no runtime of their own: {e}")).ok()
    });
    runtime.as_ref().map_or_else(Handle::current, |r| r.handle().clone())
}

/// Lowers the calling thread's priority by [`NICENESS`] (Linux keeps a nice value per thread,
/// and the threads it starts inherit it).
pub fn lower_priority() {
    let now = thread_niceness();
    // SAFETY: setpriority only reads its arguments; `gettid` names the calling thread.
    let changed = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, lowered(now)) };
    if changed != 0 {
        tracing::debug!("notifier thread keeps its priority: {}", std::io::Error::last_os_error());
    }
}

/// The nice value of the calling thread.
fn thread_niceness() -> i32 {
    // SAFETY: getpriority only reads its arguments (-1 is a valid nice value: errno is not
    // looked at, as the thread always exists).
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

/// `nice` lowered by [`NICENESS`], within the range Linux allows.
fn lowered(nice: i32) -> i32 {
    (nice + NICENESS).min(19)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;

    /// The nice value of the thread `task` (a `/proc/self/task/TID` directory) and its name.
    fn nice_and_name(task: &Path) -> Option<(i64, String)> {
        let stat = std::fs::read_to_string(task.join("stat")).ok()?;
        // After the name's closing parenthesis: state is field 3; nice is field 19.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let name = std::fs::read_to_string(task.join("comm")).ok()?.trim().to_owned();
        Some((fields.get(16)?.parse().ok()?, name))
    }

    fn threads() -> Vec<(i64, String)> {
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        tasks.filter_map(|t| nice_and_name(&t.ok()?.path())).collect()
    }

    #[tokio::test]
    async fn notifier_tasks_run_at_a_lower_priority_than_the_callers() {
        let own = thread_niceness();
        let on_notifier = spawn(async { thread_niceness() }).await.expect("ran");
        assert_eq!(on_notifier, lowered(own));
        assert!(on_notifier > own || own == 19, "{on_notifier} after {own}");
    }

    #[tokio::test]
    async fn the_outboxs_sqlite_threads_run_at_the_notifiers_priority() {
        let dir = tempfile::tempdir().expect("tempdir");
        let low = i64::from(lowered(thread_niceness()));
        let niced = || threads().into_iter().filter(|(n, name)| *n == low && name.starts_with("sqlx-sqlite")).count();
        let before = niced();
        let _store = SqliteStore::open_with_outbox_threads(&dir.path().join("s.sqlite"), lower_priority).await;
        assert!(niced() >= before + 2, "the outbox's two connections run on lowered threads: {:?}", threads());
    }
}
