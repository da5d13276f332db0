//! Following a Buildbot 4 master's builders and workers. `HttpStatusPush` reports builds
//! only, so a server that follows a master (`[buildbot]`) also reads the master's REST API
//! every `poll` seconds and records what changed: a builder added (so it has a page and a
//! force form before its first build), a worker added, connected or gone, paused or
//! unpaused (so a pause asked here shows up here). It also asks about the builds still
//! running here: one the master has finished without a report (the reporter's default
//! leaves out cancelled and exception builds, a stopped one among them) is finished here as
//! the reporter would have reported it, through the same receipts, so a late report is only
//! acknowledged.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::buildbot::control::BuildbotControl;
use crate::domain::event::StatusEvent;
use crate::domain::model::{Builder, Timestamp, Worker};
use crate::ports::{BuildQuery, Clock, IngestSink, StatusReader, StatusSink};

/// The followed master, and how often its builders and workers are read (never when zero).
#[derive(Clone, Debug)]
pub struct FollowedBuildbot {
    pub control: Arc<BuildbotControl>,
    pub poll: Duration,
}

/// What makes `known` (builders and workers here) agree with `master`'s, at `now`.
pub fn changes(master: (&[Builder], &[Worker]), known: (&[Builder], &[Worker]), now: Timestamp) -> Vec<StatusEvent> {
    let mut events = Vec::new();
    for builder in master.0 {
        if !known.0.contains(builder) {
            events.push(StatusEvent::BuilderAdded { builder: builder.clone() });
        }
    }
    for worker in master.1 {
        let Some(here) = known.1.iter().find(|w| w.name == worker.name) else {
            events.push(StatusEvent::WorkerAdded { worker: worker.clone() });
            if worker.connected {
                events.push(StatusEvent::WorkerConnected { worker: worker.clone(), at: now });
            }
            continue;
        };
        let described = |w: &Worker| (w.admin.clone(), w.host.clone(), w.version.clone(), w.access_uri.clone());
        if described(here) != described(worker) {
            events.push(StatusEvent::WorkerAdded { worker: Worker { paused: here.paused, ..worker.clone() } });
        }
        match (here.connected, worker.connected) {
            (false, true) => events.push(StatusEvent::WorkerConnected { worker: worker.clone(), at: now }),
            (true, false) => events.push(StatusEvent::WorkerDisconnected { name: worker.name.clone(), at: now }),
            _ => {}
        }
        let name = worker.name.clone();
        match (here.paused, worker.paused) {
            (false, true) => events.push(StatusEvent::WorkerPaused { name }),
            (true, false) => events.push(StatusEvent::WorkerUnpaused { name }),
            _ => {}
        }
    }
    events
}

/// The builds running here that the master has finished: recorded as their reports would
/// have been; how many events were applied.
async fn finish_unreported(
    control: &BuildbotControl,
    ingest: &dyn IngestSink,
    reader: &dyn StatusReader,
    builders: &[Builder],
) -> Result<usize, String> {
    let query = BuildQuery { finished: Some(false), limit: 1000, ..BuildQuery::default() };
    let running = reader.builds(&query).await.map_err(|e| e.to_string())?;
    let mut applied = 0;
    for build in running.iter().filter(|b| builders.iter().any(|m| m.name == b.builder)) {
        let Some(report) = control.report(&build.builder, build.number).await.map_err(|e| e.to_string())? else {
            continue;
        };
        if report["complete"] != serde_json::Value::Bool(true) {
            continue;
        }
        let body = serde_json::to_vec(&report).map_err(|e| e.to_string())?;
        let posted = crate::domain::buildbot_push::parse(&body).map_err(|e| e.message)?;
        let events = posted.into_iter().map(|p| (Some(p.id), p.event)).collect();
        applied += ingest.record_once(events).await.map_err(|e| e.to_string())?.applied;
    }
    Ok(applied)
}

/// Reads the master once and records what changed; how many events that was.
async fn sync_once(
    control: &BuildbotControl,
    sink: &dyn StatusSink,
    ingest: &dyn IngestSink,
    reader: &dyn StatusReader,
    clock: &dyn Clock,
) -> Result<usize, String> {
    let builders = control.builders().await.map_err(|e| e.to_string())?;
    let workers = control.workers().await.map_err(|e| e.to_string())?;
    let (known_builders, known_workers) = (reader.builders().await, reader.workers().await);
    let known_builders = known_builders.map_err(|e| e.to_string())?;
    let known_workers = known_workers.map_err(|e| e.to_string())?;
    let events = changes((&builders, &workers), (&known_builders, &known_workers), clock.now());
    let count = events.len();
    if count > 0 {
        sink.record_all(events).await.map_err(|e| e.to_string())?;
    }
    Ok(count + finish_unreported(control, ingest, reader, &builders).await?)
}

/// Follows the master until the task is aborted.
pub fn spawn(
    followed: FollowedBuildbot,
    sink: Arc<dyn StatusSink>,
    ingest: Arc<dyn IngestSink>,
    reader: Arc<dyn StatusReader>,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let control = &followed.control;
            match sync_once(control, sink.as_ref(), ingest.as_ref(), reader.as_ref(), clock.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!("{n} builder and worker change(s) read from Buildbot"),
                Err(e) => tracing::warn!("the builders and workers of Buildbot could not be read: {e}"),
            }
            tokio::time::sleep(followed.poll).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time")
    }

    fn worker(name: &str, connected: bool, paused: bool) -> Worker {
        Worker { name: name.into(), connected, paused, host: Some("h".into()), ..Worker::default() }
    }

    #[test]
    fn what_changed_on_the_master_becomes_events_and_nothing_else_does() {
        let quick = Builder { name: "quick".into(), workers: vec!["w1".into()], ..Builder::default() };
        let master_workers = [worker("w1", true, true), worker("w2", false, false), worker("w3", true, false)];
        let known_workers = [worker("w1", true, false), worker("w2", true, false)];
        let builders = std::slice::from_ref(&quick);
        let events = changes((builders, &master_workers), (&[], &known_workers), at());
        let kinds: Vec<&str> = events.iter().map(StatusEvent::kind).collect();
        assert_eq!(
            kinds,
            ["builder_added", "worker_paused", "worker_disconnected", "worker_added", "worker_connected"],
            "{events:#?}"
        );
        let same = changes((builders, &master_workers), (builders, &master_workers), at());
        assert!(same.is_empty(), "{same:?}");
    }
}
