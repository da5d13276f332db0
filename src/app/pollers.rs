//! Runs the configured Git pollers: each in its own task, polling at its interval (and at
//! launch when asked), and at once when the `poller` hook pokes it. Errors are logged and the
//! poller tries again at its next turn; changes go through the hub's [`ChangeSink`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::adapters::git_poller::{GitPoller, GitPollerSettings};
use crate::ports::{ChangeSink, PollTrigger};

/// The running pollers, by name; stopped when dropped.
pub struct Pollers {
    wakers: BTreeMap<String, Arc<Notify>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Pollers {
    /// Starts one task per poller; each keeps its working repository under `workdirs`.
    pub fn start(settings: Vec<GitPollerSettings>, workdirs: &Path, sink: Arc<dyn ChangeSink>) -> Self {
        let mut wakers = BTreeMap::new();
        let mut tasks = Vec::new();
        for s in settings {
            let waker = Arc::new(Notify::new());
            wakers.insert(s.name.clone(), waker.clone());
            let workdir = workdirs.join(safe_dir_name(&s.name));
            let poller = GitPoller::new(s, workdir);
            tasks.push(tokio::spawn(run(poller, waker, sink.clone())));
        }
        Self { wakers, tasks }
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl PollTrigger for Pollers {
    fn pollers(&self) -> Vec<String> {
        self.wakers.keys().cloned().collect()
    }

    fn poll_now(&self, names: &[String]) {
        for name in names {
            if let Some(waker) = self.wakers.get(name) {
                waker.notify_one();
            }
        }
    }
}

async fn run(poller: GitPoller, waker: Arc<Notify>, sink: Arc<dyn ChangeSink>) {
    let name = poller.settings.name.clone();
    let interval = poller.settings.interval;
    let mut due = poller.settings.poll_at_launch;
    loop {
        if due {
            match poller.poll(sink.as_ref()).await {
                Ok(0) => tracing::debug!(poller = %name, "no new commits"),
                Ok(n) => tracing::info!(poller = %name, "{n} new change(s)"),
                Err(e) => tracing::warn!(poller = %name, "poll failed (tried again next time): {e}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = waker.notified() => {}
        }
        due = true;
    }
}

/// A directory name for a poller named by anything (often a URL).
fn safe_dir_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{}-{hash:016x}", cleaned.chars().take(60).collect::<String>())
}
