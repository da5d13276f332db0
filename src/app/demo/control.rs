//! The demo master's `MasterControl`: what the web status's actions do to the simulation.
//! Each records what a real master would report (a buildset and its requests, a cancelled
//! request, a paused worker, the master stopping), so the pages show it as it happens.

use async_trait::async_trait;

use super::master::{Master, Queued};
use super::world;
use crate::domain::event::StatusEvent;
use crate::domain::model::{BuildRequest, Buildset};
use crate::domain::result::BuildResult;
use crate::ports::{ControlError, ForceRequest, ForceScheduler, Forced, MasterControl};

pub(super) struct DemoControl {
    master: Master,
}

impl DemoControl {
    pub fn new(master: Master) -> Self {
        Self { master }
    }

    async fn record(&self, events: Vec<StatusEvent>) -> Result<(), ControlError> {
        self.master.sink.record_all(events).await.map(drop).map_err(|e| ControlError::Failed(e.to_string()))
    }
}

fn refused(why: String) -> ControlError {
    ControlError::Refused(why)
}

#[async_trait]
impl MasterControl for DemoControl {
    /// One scheduler, `force`, over every builder.
    async fn force_schedulers(&self) -> Vec<ForceScheduler> {
        vec![ForceScheduler::new("force", world::builders().into_iter().map(|b| b.name).collect())]
    }

    async fn force(&self, request: ForceRequest) -> Result<Forced, ControlError> {
        let known = world::builders();
        if let Some(unknown) = request.builders.iter().find(|b| !known.iter().any(|k| &k.name == *b)) {
            return Err(refused(format!("the demo has no builder '{unknown}'")));
        }
        let now = self.master.clock.now();
        let (set, queued) = {
            let mut s = self.master.lock();
            if s.shutting_down {
                return Err(refused("the master is shutting down: no new build starts".into()));
            }
            let set = s.next_id(now.timestamp_millis());
            let queued: Vec<Queued> = (request.builders.iter())
                .map(|builder| Queued {
                    id: s.next_id(now.timestamp_millis()),
                    builder: builder.clone(),
                    forced: Some(request.clone()),
                    buildset: Some(set),
                })
                .collect();
            s.buildsets.insert(set, (queued.len(), BuildResult::Success));
            s.queue.extend(queued.iter().cloned());
            (set, queued)
        };
        let buildset = Buildset {
            id: set,
            reason: request.buildset_reason(),
            external_id: None,
            submitted_at: now,
            sourcestamps: request.sourcestamps.clone(),
            builders: request.builders.clone(),
            complete_at: None,
            result: None,
        };
        let mut events = vec![StatusEvent::BuildsetSubmitted { buildset }];
        events.extend(queued.iter().map(|q| StatusEvent::BuildRequestSubmitted {
            request: BuildRequest {
                id: q.id,
                buildset_id: Some(set),
                builder: q.builder.clone(),
                submitted_at: now,
                reason: request.buildset_reason(),
                properties: request.properties.clone(),
                sourcestamps: request.sourcestamps.clone(),
            },
        }));
        self.record(events).await?;
        Ok(Forced { buildset: Some(set), requests: queued.iter().map(|q| q.id).collect() })
    }

    async fn stop_build(&self, builder: &str, number: u32, _reason: &str) -> Result<(), ControlError> {
        let mut s = self.master.lock();
        if s.busy.get(builder) != Some(&number) {
            return Err(refused(format!("build #{number} of {builder} is not running")));
        }
        s.stopping.insert((builder.to_owned(), number));
        Ok(())
    }

    async fn ping_builder(&self, builder: &str) -> Result<(), ControlError> {
        let found = world::builders().into_iter().find(|b| b.name == builder);
        let builder = found.ok_or_else(|| refused(format!("the demo has no builder '{builder}'")))?;
        let s = self.master.lock();
        match builder.workers.iter().find(|w| s.connected(w)) {
            Some(_) => Ok(()),
            None => Err(refused(format!("no worker of {} is connected", builder.name))),
        }
    }

    async fn cancel_request(&self, request_id: u64) -> Result<(), ControlError> {
        let (cancelled, finished_set) = {
            let mut s = self.master.lock();
            let at = s.queue.iter().position(|q| q.id == request_id);
            let queued = at.and_then(|i| s.queue.remove(i));
            // A buildset whose last request this was is over.
            let mut finished = None;
            if let Some(set) = queued.as_ref().and_then(|q| q.buildset)
                && let Some(entry) = s.buildsets.get_mut(&set)
            {
                entry.0 = entry.0.saturating_sub(1);
                entry.1 = entry.1.worst(BuildResult::Cancelled);
                if entry.0 == 0 {
                    finished = Some((set, entry.1));
                    s.buildsets.remove(&set);
                }
            }
            (queued, finished)
        };
        let queued = cancelled.ok_or_else(|| refused(format!("request {request_id} is not waiting any more")))?;
        let mut events = vec![StatusEvent::BuildRequestCancelled { builder: queued.builder, request_id }];
        if let Some((id, result)) = finished_set {
            events.push(StatusEvent::BuildsetFinished { id, result, at: self.master.clock.now() });
        }
        self.record(events).await
    }

    async fn pause_worker(&self, worker: &str, paused: bool) -> Result<(), ControlError> {
        {
            let mut s = self.master.lock();
            if !s.connected(worker) {
                return Err(refused(format!("worker {worker} is not connected")));
            }
            if paused {
                s.paused.insert(worker.to_owned())
            } else {
                s.paused.remove(worker)
            };
        }
        let name = worker.to_owned();
        let event = if paused { StatusEvent::WorkerPaused { name } } else { StatusEvent::WorkerUnpaused { name } };
        self.record(vec![event]).await
    }

    async fn shutdown_worker(&self, worker: &str) -> Result<(), ControlError> {
        let mut s = self.master.lock();
        if !s.connected(worker) {
            return Err(refused(format!("worker {worker} is not connected")));
        }
        s.leaving.insert(worker.to_owned());
        Ok(())
    }

    async fn shutdown(&self, clean: bool) -> Result<(), ControlError> {
        self.master.lock().shutting_down = true;
        if !clean {
            self.master.stop().await;
        }
        Ok(())
    }

    async fn cancel_shutdown(&self) -> Result<(), ControlError> {
        let mut s = self.master.lock();
        if !s.shutting_down {
            return Err(refused("no shutdown is under way".into()));
        }
        s.shutting_down = false;
        Ok(())
    }

    async fn shutting_down(&self) -> bool {
        self.master.lock().shutting_down
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::app::{Setup, StatusServer};
    use crate::domain::model::Build;
    use crate::ports::StatusReader;

    /// A server with the demo's builders and connected workers, and the demo's master over it,
    /// whose rounds the test plays (no timer runs them); its builds write a line a millisecond.
    async fn demo() -> (StatusServer, Master, DemoControl) {
        let server = StatusServer::start(Setup::default()).await.expect("server");
        let now = server.clock().now();
        let mut setup: Vec<StatusEvent> =
            world::builders().into_iter().map(|builder| StatusEvent::BuilderAdded { builder }).collect();
        let online = world::workers().into_iter().filter(|w| w.name != world::OFFLINE_WORKER);
        setup.extend(online.map(|worker| StatusEvent::WorkerConnected { worker, at: now }));
        server.sink().record_all(setup).await.expect("setup");
        let (master, _) = Master::new(
            server.sink(),
            server.clock(),
            (crate::app::demo::master::TICK, Duration::from_millis(1)),
            HashMap::new(),
            HashMap::new(),
            0,
            world::Rng::new(7),
        );
        let control = DemoControl::new(master.clone());
        (server, master, control)
    }

    fn force_on(builder: &str) -> ForceRequest {
        ForceRequest {
            scheduler: "force".into(),
            builders: vec![builder.into()],
            owner: "bob <bob@localhost>".into(),
            reason: "try it".into(),
            ..ForceRequest::default()
        }
    }

    /// Waits (up to 10 s) until `done` holds for the build, and returns it.
    async fn wait_for(reader: &dyn StatusReader, builder: &str, number: u32, done: fn(&Build) -> bool) -> Build {
        for _ in 0..1000 {
            if let Some(build) = reader.build(builder, number).await.expect("read").filter(done) {
                return build;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("build {builder} #{number} never got there: {:?}", reader.build(builder, number).await);
    }

    #[tokio::test]
    async fn a_forced_build_waits_while_its_worker_is_paused_then_runs_and_stops_cancelled() {
        let (server, master, control) = demo().await;
        let reader = server.reader();
        // linux-arm64 builds on linux-w1 only.
        control.pause_worker("linux-w1", true).await.expect("paused");
        let forced = control.force(force_on("linux-arm64")).await.expect("forced");
        assert_eq!(forced.requests.len(), 1);
        for _ in 0..3 {
            master.tick().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(reader.newest_build_number("linux-arm64").await.expect("read"), None, "a paused worker builds not");
        let pending = reader.pending_requests(Some("linux-arm64")).await.expect("read");
        assert_eq!(pending.iter().map(|r| r.id).collect::<Vec<_>>(), forced.requests, "the request waits");
        let workers = reader.workers().await.expect("read");
        assert!(workers.iter().any(|w| w.name == "linux-w1" && w.paused), "the pages show it paused: {workers:?}");

        control.pause_worker("linux-w1", false).await.expect("unpaused");
        master.tick().await;
        let running = wait_for(reader.as_ref(), "linux-arm64", 0, |b| b.finished.is_none()).await;
        assert_eq!(running.reason, "A build was forced by 'bob <bob@localhost>': try it");
        assert_eq!(running.worker, "linux-w1");
        assert!(reader.pending_requests(Some("linux-arm64")).await.expect("read").is_empty());

        control.stop_build("linux-arm64", 0, "enough").await.expect("stopping");
        let stopped = wait_for(reader.as_ref(), "linux-arm64", 0, |b| b.finished.is_some()).await;
        assert_eq!(stopped.result, Some(BuildResult::Cancelled), "{stopped:?}");
        let again = control.stop_build("linux-arm64", 0, "again").await;
        assert!(matches!(again, Err(ControlError::Refused(_))), "a finished build is not running: {again:?}");
    }

    #[tokio::test]
    async fn a_cancelled_request_never_runs_and_a_clean_shutdown_starts_nothing() {
        let (server, master, control) = demo().await;
        let reader = server.reader();
        control.pause_worker("linux-w1", true).await.expect("paused");
        let forced = control.force(force_on("linux-arm64")).await.expect("forced");
        control.cancel_request(forced.requests[0]).await.expect("cancelled");
        control.pause_worker("linux-w1", false).await.expect("unpaused");
        master.tick().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(reader.newest_build_number("linux-arm64").await.expect("read"), None);
        assert!(reader.pending_requests(Some("linux-arm64")).await.expect("read").is_empty());

        control.shutdown(true).await.expect("shutting down");
        assert!(control.shutting_down().await);
        let refused = control.force(force_on("linux-arm64")).await;
        assert!(matches!(refused, Err(ControlError::Refused(_))), "{refused:?}");
        control.cancel_shutdown().await.expect("cancelled");
        assert!(!control.shutting_down().await);
        control.force(force_on("linux-arm64")).await.expect("forced again");
    }
}
