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
