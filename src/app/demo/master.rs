//! The live part of the demo's master: every few seconds it may record a new change, submit a
//! build request on an idle builder, and start the queued requests whose builder is idle and
//! has a free worker (one connected, not paused, not shutting down). Forced requests join the
//! same queue. A running build checks between log lines whether it was asked to stop, and then
//! finishes cancelled. During a clean shutdown nothing starts; once the running builds are
//! done the master says it stops and the demo ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Duration;

use super::world::{self, BRANCHES, OFFLINE_WORKER, Rng};
use super::{chunk, started, step_finished, step_started};
use crate::domain::control::ForceRequest;
use crate::domain::event::StatusEvent;
use crate::domain::model::{BuildRequest, Builder, Change, LogKind};
use crate::domain::result::BuildResult;
use crate::ports::{Clock, SinkError, StatusSink};

/// Time between the master's decisions.
pub(super) const TICK: std::time::Duration = std::time::Duration::from_secs(3);

/// A build request waiting for its builder and a worker.
#[derive(Clone, Debug)]
pub(super) struct Queued {
    pub id: u64,
    pub builder: String,
    /// What a force asked for (its reason, owner, stamp, properties); `None` for a request the
    /// simulation made itself.
    pub forced: Option<ForceRequest>,
    pub buildset: Option<u64>,
}

pub(super) struct Running {
    pub numbers: HashMap<String, u32>,
    pub heads: HashMap<String, Change>,
    pub last_change: u64,
    /// Builders building now: the build's number.
    pub busy: HashMap<String, u32>,
    pub queue: VecDeque<Queued>,
    pub paused: HashSet<String>,
    /// Workers asked to shut down once idle, and those that did.
    pub leaving: HashSet<String>,
    pub gone: HashSet<String>,
    /// Running builds asked to stop.
    pub stopping: HashSet<(String, u32)>,
    /// Forced buildsets not finished: builds still to finish, worst result so far.
    pub buildsets: HashMap<u64, (usize, BuildResult)>,
    pub shutting_down: bool,
    /// The last request or buildset id given out.
    pub last_id: u64,
    pub rng: Rng,
}

impl Running {
    /// The worker `builder` would build on now.
    pub fn free_worker(&self, builder: &Builder) -> Option<String> {
        let usable = |w: &&String| {
            *w != OFFLINE_WORKER && !self.paused.contains(*w) && !self.leaving.contains(*w) && !self.gone.contains(*w)
        };
        builder.workers.iter().find(usable).cloned()
    }

    /// A fresh id (requests and buildsets), above any the demo gave before it started.
    pub fn next_id(&mut self, now_millis: i64) -> u64 {
        self.last_id = (self.last_id + 1).max(now_millis.max(0) as u64 * 100);
        self.last_id
    }

    /// Whether `worker` is connected now.
    pub fn connected(&self, worker: &str) -> bool {
        worker != OFFLINE_WORKER && !self.gone.contains(worker) && world::workers().iter().any(|w| w.name == worker)
    }
}

/// The simulated master; clones share it.
#[derive(Clone)]
pub(super) struct Master {
    pub sink: Arc<dyn StatusSink>,
    pub clock: Arc<dyn Clock>,
    /// Time between two of the master's decisions.
    tick: std::time::Duration,
    /// Time between two log lines of a running step.
    line: std::time::Duration,
    state: Arc<Mutex<Running>>,
    stopped: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Master {
    pub fn new(
        sink: Arc<dyn StatusSink>,
        clock: Arc<dyn Clock>,
        (tick, line): (std::time::Duration, std::time::Duration),
        numbers: HashMap<String, u32>,
        heads: HashMap<String, Change>,
        last_change: u64,
        rng: Rng,
    ) -> (Self, tokio::sync::watch::Receiver<bool>) {
        let (stopped, receiver) = tokio::sync::watch::channel(false);
        let running = Running {
            numbers,
            heads,
            last_change,
            busy: HashMap::new(),
            queue: VecDeque::new(),
            paused: HashSet::new(),
            leaving: HashSet::new(),
            gone: HashSet::new(),
            stopping: HashSet::new(),
            buildsets: HashMap::new(),
            shutting_down: false,
            last_id: 0,
            rng,
        };
        let master = Self { sink, clock, tick, line, state: Arc::new(Mutex::new(running)), stopped: Arc::new(stopped) };
        (master, receiver)
    }

    pub fn lock(&self) -> MutexGuard<'_, Running> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the demo: the master says it stops, and whoever waits on `stopped` learns it.
    pub async fn stop(&self) {
        if let Err(e) = self.sink.record(StatusEvent::MasterStopping { at: self.clock.now() }).await {
            tracing::warn!("demo: the master's stop was not recorded: {e}");
        }
        let _ = self.stopped.send(true);
    }

    pub async fn run(self) {
        loop {
            tokio::time::sleep(self.tick).await;
            if self.tick().await {
                self.stop().await;
                return;
            }
        }
    }

    /// One decision round; true when a clean shutdown has finished.
    pub(super) async fn tick(&self) -> bool {
        let now = self.clock.now();
        let mut events = Vec::new();
        let mut starts = Vec::new();
        {
            let mut s = self.lock();
            if s.shutting_down {
                if s.busy.is_empty() {
                    return true;
                }
            } else {
                if s.rng.chance(30) {
                    s.last_change += 1;
                    let branch = if s.rng.chance(75) { BRANCHES[0] } else { BRANCHES[1] };
                    let (number, mut rng) = (s.last_change, s.rng.clone());
                    let change = world::new_change(&mut rng, number, now, branch);
                    s.rng = rng;
                    s.heads.insert(branch.to_owned(), change.clone());
                    events.push(StatusEvent::ChangeAdded { change });
                }
                for builder in world::builders() {
                    let idle =
                        !s.busy.contains_key(&builder.name) && !s.queue.iter().any(|q| q.builder == builder.name);
                    if idle && s.free_worker(&builder).is_some() && s.rng.chance(12) {
                        let id = s.next_id(now.timestamp_millis());
                        let request = BuildRequest {
                            id,
                            buildset_id: None,
                            builder: builder.name.clone(),
                            submitted_at: now,
                            reason: "The SingleBranchScheduler scheduler named 'all' triggered this build".into(),
                            properties: Default::default(),
                            sourcestamps: Vec::new(),
                        };
                        events.push(StatusEvent::BuildRequestSubmitted { request });
                        s.queue.push_back(Queued { id, builder: builder.name.clone(), forced: None, buildset: None });
                    }
                }
                starts = self.take_startable(&mut s);
            }
            let leaving: Vec<String> = s.leaving.iter().filter(|w| !self.building_on(&s, w)).cloned().collect();
            for worker in leaving {
                s.leaving.remove(&worker);
                s.gone.insert(worker.clone());
                events.push(StatusEvent::WorkerDisconnected { name: worker, at: now });
            }
        }
        if !events.is_empty()
            && let Err(e) = self.sink.record_all(events).await
        {
            tracing::warn!("demo: events not recorded: {e}");
        }
        for (queued, worker, number) in starts {
            let master = self.clone();
            tokio::spawn(async move {
                let builder = queued.builder.clone();
                if let Err(e) = master.play(&queued, &worker, number).await {
                    tracing::warn!("demo: build of {builder} stopped: {e}");
                    master.lock().busy.remove(&builder);
                }
            });
        }
        false
    }

    /// Whether a build runs on `worker` (a builder's first free worker is the one it uses).
    fn building_on(&self, s: &Running, worker: &str) -> bool {
        world::builders().iter().any(|b| s.busy.contains_key(&b.name) && b.workers.iter().any(|w| w == worker))
    }

    /// The queued requests that can start now, each with its worker and build number; their
    /// builders become busy.
    fn take_startable(&self, s: &mut Running) -> Vec<(Queued, String, u32)> {
        let builders = world::builders();
        let mut starts = Vec::new();
        let mut waiting = VecDeque::new();
        while let Some(queued) = s.queue.pop_front() {
            let builder = builders.iter().find(|b| b.name == queued.builder);
            match builder.filter(|b| !s.busy.contains_key(&b.name)).and_then(|b| s.free_worker(b)) {
                Some(worker) => {
                    let number = s.numbers.entry(queued.builder.clone()).or_insert(0);
                    let n = *number;
                    *number += 1;
                    s.busy.insert(queued.builder.clone(), n);
                    starts.push((queued, worker, n));
                }
                None => waiting.push_back(queued),
            }
        }
        s.queue = waiting;
        starts
    }

    /// Runs one build in real time: start, steps with growing logs, finish (cancelled when
    /// asked to stop).
    async fn play(&self, queued: &Queued, worker: &str, number: u32) -> Result<(), SinkError> {
        let name = &queued.builder;
        let plan = {
            let mut s = self.lock();
            let forced_branch =
                queued.forced.as_ref().and_then(|f| f.sourcestamps.first()).and_then(|s| s.branch.clone());
            let branch = match forced_branch {
                Some(b) => b,
                None if s.rng.chance(75) => BRANCHES[0].to_owned(),
                None => BRANCHES[1].to_owned(),
            };
            let head = if queued.forced.is_some() { None } else { s.heads.get(&branch).cloned() };
            let mut rng = s.rng.clone();
            let mut plan = world::plan_build(&mut rng, name, head.as_ref(), &branch);
            s.rng = rng;
            if let Some(forced) = &queued.forced {
                plan.reason = forced.buildset_reason();
                plan.properties.extend(forced.properties.clone());
                if let Some(revision) = forced.sourcestamps.first().and_then(|s| s.revision.clone()) {
                    plan.sourcestamp.revision = Some(revision);
                }
            }
            plan
        };
        let at = self.clock.now();
        let mut build = started(name, number, worker, at, &plan);
        let lines: u32 = plan.steps.iter().map(|s| s.lines.len() as u32).sum();
        build.eta = Some(at + Duration::from_std(self.line * lines).unwrap_or_default());
        self.sink.record(StatusEvent::BuildStarted { build, requests: vec![queued.id] }).await?;
        let mut result = plan.result;
        let mut text = plan.text.clone();
        'steps: for (i, step) in plan.steps.iter().enumerate() {
            let s = i as u32;
            let b = || name.clone();
            let started = step_started(s, &step.name, self.clock.now());
            self.sink.record(StatusEvent::StepStarted { builder: b(), number, step: started }).await?;
            let log =
                StatusEvent::LogStarted { builder: b(), number, step: s, log: "stdio".into(), kind: LogKind::Text };
            self.sink.record(log).await?;
            for (channel, line) in &step.lines {
                tokio::time::sleep(self.line).await;
                if self.lock().stopping.remove(&(name.clone(), number)) {
                    self.sink
                        .record(StatusEvent::LogFinished { builder: b(), number, step: s, log: "stdio".into() })
                        .await?;
                    let stopped = StatusEvent::StepFinished {
                        builder: b(),
                        number,
                        step: s,
                        result: BuildResult::Cancelled,
                        text: vec![step.name.clone(), "cancelled".into()],
                        text2: vec![step.name.clone()],
                        at: self.clock.now(),
                    };
                    self.sink.record(stopped).await?;
                    (result, text) = (BuildResult::Cancelled, vec!["cancelled".into()]);
                    break 'steps;
                }
                self.sink.record(chunk(name, number, s, *channel, line.clone())).await?;
            }
            self.sink.record(StatusEvent::LogFinished { builder: b(), number, step: s, log: "stdio".into() }).await?;
            self.sink.record(step_finished(name, number, s, step, self.clock.now())).await?;
        }
        let at = self.clock.now();
        self.sink
            .record(StatusEvent::BuildFinished {
                builder: name.clone(),
                number,
                result,
                text,
                at,
                properties: Default::default(),
            })
            .await?;
        let finished_set = {
            let mut s = self.lock();
            s.busy.remove(name);
            s.stopping.remove(&(name.clone(), number));
            queued.buildset.and_then(|id| {
                let entry = s.buildsets.get_mut(&id)?;
                entry.0 -= 1;
                entry.1 = entry.1.worst(result);
                let (left, worst) = *entry;
                (left == 0).then(|| {
                    s.buildsets.remove(&id);
                    (id, worst)
                })
            })
        };
        if let Some((id, result)) = finished_set {
            self.sink.record(StatusEvent::BuildsetFinished { id, result, at }).await?;
        }
        Ok(())
    }
}
