//! The running targets: each a follower task and a delivery worker task. Started together when
//! the server starts; on a reload, only the targets whose configuration changed are stopped
//! (saying goodbye) and started again, so a reload does not disturb the others (spec-notify-8
//! X2); at shutdown, each stops following, queues its goodbye, and gets a moment to deliver it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Context, Notifier, Notifiers, Queue, Target, follow, worker};
use crate::domain::notify::outbox::TargetId;
use crate::ports::Outbox;

/// The notifiers' tasks; dropping this stops them at once, [`Running::stop`] lets each
/// notifier say goodbye first.
pub struct Running {
    targets: Vec<RunningTarget>,
    context: Context,
    outbox: Arc<dyn Outbox>,
}

struct RunningTarget {
    id: TargetId,
    /// What the target was configured as; a reload restarts it when this changes.
    configured: String,
    notifier: Arc<dyn Notifier>,
    follower: JoinHandle<()>,
    worker: JoinHandle<()>,
}

/// A target's tasks end with it, however it is dropped.
impl Drop for RunningTarget {
    fn drop(&mut self) {
        self.follower.abort();
        self.worker.abort();
    }
}

/// How long a stopping target's worker gets to deliver what its notifier queued as it stopped.
/// Long enough for a request to a receiver on a busy machine (2 s was not, under load); a
/// stop waits this long only while something is in flight or due.
const GOODBYE: Duration = Duration::from_secs(5);

/// What a target is configured as: its description, its policy and the site it links to
/// (secrets are never in it: settings print them as `***`).
fn configured(target: &dyn Target, notifiers: &Notifiers, context: &Context) -> String {
    format!("{target:?} {:?} {:?}", target.policy(&notifiers.worker), context.site)
}

/// Starts every target: its follower from its start point, and its delivery worker. A target
/// that cannot start stops the start, naming it. What a previous process was sending when it
/// died goes again at once: no worker of it is left (one process per data directory), so
/// its leases need not run out.
pub async fn start(notifiers: &Notifiers, context: Context, outbox: Arc<dyn Outbox>) -> Result<Running, String> {
    let mut running = Running { targets: Vec::new(), context, outbox };
    for target in &notifiers.targets {
        let id = target.id();
        match running.outbox.release_leases(&id.to_string(), running.context.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("{id}: {n} messages the last run was sending go again"),
            Err(e) => return Err(format!("notification target {id}: {e}")),
        }
        let started = running.launch(target.as_ref(), notifiers).await?;
        running.targets.push(started);
    }
    Ok(running)
}

impl Running {
    /// Makes the running targets those of `notifiers`: a target whose id and configuration are
    /// unchanged goes on as it is; a removed or changed one stops (saying goodbye); a new or
    /// changed one starts from its saved cursor. The new ones are made first: when one cannot
    /// start, nothing changes and the error names it.
    pub async fn reconcile(&mut self, notifiers: &Notifiers, context: Context) -> Result<(), String> {
        let wanted: Vec<(&Arc<dyn Target>, String)> =
            notifiers.targets.iter().map(|t| (t, configured(t.as_ref(), notifiers, &context))).collect();
        let old_context = std::mem::replace(&mut self.context, context);
        let kept = |r: &RunningTarget| wanted.iter().any(|(t, c)| t.id() == r.id && *c == r.configured);
        let mut fresh = Vec::new();
        for (target, configured) in &wanted {
            if !self.targets.iter().any(|r| r.id == target.id() && r.configured == *configured) {
                match self.launch(target.as_ref(), notifiers).await {
                    Ok(started) => fresh.push(started),
                    Err(e) => {
                        self.context = old_context;
                        return Err(e);
                    }
                }
            }
        }
        let (keep, gone): (Vec<RunningTarget>, Vec<RunningTarget>) =
            std::mem::take(&mut self.targets).into_iter().partition(kept);
        for old in &gone {
            tracing::info!("{}: stopped (its configuration changed or was removed)", old.id);
        }
        futures_util::future::join_all(gone.into_iter().map(|t| self.goodbye(t))).await;
        self.targets = keep;
        for new in fresh {
            tracing::info!("{}: started", new.id);
            self.targets.push(new);
        }
        Ok(())
    }

    /// Stops following events, lets each notifier queue its goodbye, and gives the workers up
    /// to [`GOODBYE`] to deliver what is due; what is left is delivered after the next start.
    pub async fn stop(mut self) {
        let targets = std::mem::take(&mut self.targets);
        futures_util::future::join_all(targets.into_iter().map(|t| self.goodbye(t))).await;
    }

    /// The follower and worker of `target`, started; its follower begins after the notifier's
    /// start hook, from its start point.
    async fn launch(&self, target: &dyn Target, notifiers: &Notifiers) -> Result<RunningTarget, String> {
        let (id, context) = (target.id(), &self.context);
        let policy = target.policy(&notifiers.worker);
        let wake = Arc::new(Notify::new());
        let queue = Queue::new(id.clone(), self.outbox.clone(), context.clock.clone(), wake.clone());
        let parts = target.start(context, queue).map_err(|e| format!("notification target {id}: {e}"))?;
        let follower = follow::Follower {
            target: id.clone(),
            feed: context.feed.clone(),
            outbox: self.outbox.clone(),
            notifier: parts.notifier.clone(),
            start: policy.start,
            clock: context.clock.clone(),
        };
        let from = follower.start_point().await.map_err(|e| format!("notification target {id}: {e}"))?;
        let started = follower.start(from).await;
        let worker = worker::Worker {
            target: id.clone(),
            outbox: self.outbox.clone(),
            deliver: parts.deliver,
            clock: context.clock.clone(),
            policy,
            idle: notifiers.worker.idle,
            wake,
        };
        Ok(RunningTarget {
            id,
            configured: configured(target, notifiers, context),
            notifier: parts.notifier,
            follower: super::background::spawn(follower.run(from, started)),
            worker: super::background::spawn(worker.run()),
        })
    }

    /// Stops `target`: no more events, its goodbye queued, and up to [`GOODBYE`] for its worker
    /// to deliver what is due.
    async fn goodbye(&self, mut target: RunningTarget) {
        // The follower runs on the notifiers' runtime: wait until it has stopped, so that no
        // batch of it is queued beside (or after) the goodbye.
        target.follower.abort();
        let _ = (&mut target.follower).await;
        if let Err(e) = target.notifier.stopping().await {
            tracing::warn!("{}: its stop could not be queued: {e}", target.id);
        }
        let give_up = tokio::time::Instant::now() + GOODBYE;
        while tokio::time::Instant::now() < give_up && self.anything_due(&target.id).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        target.worker.abort();
    }

    /// Whether `target` has a message in flight or due now (not one waiting for a retry).
    async fn anything_due(&self, target: &TargetId) -> bool {
        let key = target.to_string();
        if let Ok(counts) = self.outbox.counts().await
            && counts.iter().any(|c| c.sending > 0 && c.target == key)
        {
            return true;
        }
        matches!(self.outbox.next_due(&key).await, Ok(Some(due)) if due <= self.context.clock.now())
    }
}
