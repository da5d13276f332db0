//! `buildstatus demo`: a simulated master that reports through the same [`StatusSink`] a real
//! master uses. It writes a history of finished builds at start (behind a progress bar) when
//! the store is empty, then starts new builds every few seconds, forever, with logs that grow
//! while their steps run. It obeys the web status's actions (`master.rs` runs the builds,
//! `control.rs` is its `MasterControl`): a forced build is queued and runs, a stopped build
//! finishes cancelled, a paused worker takes no build, and a clean shutdown ends the demo.

mod control;
mod master;
mod world;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

use crate::domain::event::{Channel, StatusEvent};
use crate::domain::model::{Build, Change, LogKind, Step, Timestamp};
use crate::domain::result::BuildResult;
use crate::ports::{BuildQuery, ChangeQuery, Clock, MasterControl, SinkError, StatusReader, StatusSink, owned};
use master::Master;
use world::{BRANCHES, BuildPlan, OFFLINE_WORKER, Rng};

#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Finished builds to write when the store has none.
    pub history: u32,
    pub seed: u64,
    /// Time between two log lines of a running step: how fast builds run.
    pub pace: std::time::Duration,
    /// How many times faster than real time the simulated builds run (1 is real time): the
    /// master decides and the logs grow that much faster, whatever the pace.
    pub speed: u32,
}

/// The running simulation.
pub struct Demo {
    pub task: JoinHandle<()>,
    /// What the web status's actions command.
    pub control: Arc<dyn MasterControl>,
    /// Becomes `true` when a shutdown of the master has finished: the demo is over.
    pub stopped: tokio::sync::watch::Receiver<bool>,
}

/// Registers the simulated master, writes its history if needed, and starts it.
pub async fn start(
    sink: Arc<dyn StatusSink>,
    reader: Arc<dyn StatusReader>,
    clock: Arc<dyn Clock>,
    options: DemoOptions,
) -> Result<Demo, Box<dyn std::error::Error>> {
    let now = clock.now();
    let mut rng = Rng::new(options.seed);
    let mut setup = vec![StatusEvent::MasterStarted { at: now }];
    setup.extend(world::builders().into_iter().map(|builder| StatusEvent::BuilderAdded { builder }));
    sink.record_all(setup).await?;

    let fresh = reader.builds(&BuildQuery { limit: 1, ..BuildQuery::default() }).await?.is_empty();
    if fresh && options.history > 0 {
        seed_history(sink.as_ref(), &mut rng, now, options.history).await?;
    }
    // Builds a previous run left running were interrupted by its end.
    for build in
        owned(reader.builds(&BuildQuery { finished: Some(false), limit: 10_000, ..BuildQuery::default() }).await?)
    {
        let text = vec!["interrupted".to_owned()];
        let event = StatusEvent::BuildFinished {
            builder: build.builder,
            number: build.number,
            result: BuildResult::Exception,
            text,
            at: now,
            properties: Default::default(),
        };
        sink.record(event).await?;
    }
    let online = world::workers().into_iter().filter(|w| w.name != OFFLINE_WORKER);
    let connects: Vec<StatusEvent> = online.map(|worker| StatusEvent::WorkerConnected { worker, at: now }).collect();
    sink.record_all(connects).await?;

    let mut numbers = HashMap::new();
    for b in world::builders() {
        numbers.insert(b.name.clone(), reader.newest_build_number(&b.name).await?.map_or(0, |n| n + 1));
    }
    let mut heads = HashMap::new();
    for change in reader.changes(&ChangeQuery { limit: 50, ..ChangeQuery::default() }).await? {
        if let Some(branch) = change.branch.clone() {
            heads.entry(branch).or_insert(change);
        }
    }
    let last_change =
        reader.changes(&ChangeQuery { limit: 1, ..ChangeQuery::default() }).await?.first().map_or(0, |c| c.number);
    let speed = options.speed.max(1);
    let (master, stopped) =
        Master::new(sink, clock, (master::TICK / speed, options.pace / speed), numbers, heads, last_change, rng);
    let control = Arc::new(control::DemoControl::new(master.clone()));
    Ok(Demo { task: tokio::spawn(master.run()), control, stopped })
}

/// Builds of history written per transaction.
const HISTORY_BATCH: u32 = 20;

/// Writes `count` finished builds ending before `now`.
async fn seed_history(sink: &dyn StatusSink, rng: &mut Rng, now: Timestamp, count: u32) -> Result<(), SinkError> {
    let builders = world::builders();
    let per_builder = i64::from(count) / builders.len() as i64 + 1;
    let begin = now - Duration::minutes(35 * per_builder);
    let offline_from = begin + Duration::minutes(35 * per_builder / 2);
    let workers = world::workers().into_iter().map(|worker| StatusEvent::WorkerConnected { worker, at: begin });
    sink.record_all(workers.collect()).await?;
    let bar = ProgressBar::new(u64::from(count)).with_message("writing the demo's history");
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} builds ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut next: Vec<Timestamp> =
        builders.iter().map(|_| begin + Duration::minutes(rng.range(0, 30) as i64)).collect();
    let mut numbers = vec![0u32; builders.len()];
    let mut heads: HashMap<&str, Change> = HashMap::new();
    let mut change_number = 0u64;
    let mut went_offline = false;
    // Builds are written in batches: one transaction each, as a master catching up would.
    let mut batch = Vec::new();
    for written in 1..=count {
        let i = (0..builders.len()).min_by_key(|i| next[*i]).unwrap_or(0);
        let (builder, at) = (&builders[i], next[i]);
        let events = &mut batch;
        if !went_offline && at >= offline_from {
            went_offline = true;
            events.push(StatusEvent::WorkerDisconnected { name: OFFLINE_WORKER.to_owned(), at: offline_from });
        }
        let branch = if rng.chance(75) { BRANCHES[0] } else { BRANCHES[1] };
        if rng.chance(40) || !heads.contains_key(branch) {
            change_number += 1;
            let when = at - Duration::minutes(rng.range(1, 30) as i64);
            let change = world::new_change(rng, change_number, when, branch);
            events.push(StatusEvent::ChangeAdded { change: change.clone() });
            heads.insert(branch, change);
        }
        let change = if rng.chance(5) { None } else { heads.get(branch) };
        let plan = world::plan_build(rng, &builder.name, change, branch);
        let only_offline = builder.workers.iter().all(|w| w == OFFLINE_WORKER);
        let worker =
            if went_offline { builder.workers.iter().find(|w| *w != OFFLINE_WORKER) } else { builder.workers.first() };
        let worker = worker.cloned().unwrap_or_default();
        events.extend(history_events(&builder.name, numbers[i], &worker, at, &plan));
        if written % HISTORY_BATCH == 0 || written == count {
            sink.record_all(std::mem::take(&mut batch)).await?;
            bar.set_position(u64::from(written));
        }
        numbers[i] += 1;
        let gap = Duration::minutes(rng.range(5, 40) as i64);
        next[i] = if went_offline && only_offline { now + Duration::days(3650) } else { at + plan.duration() + gap };
    }
    bar.finish_with_message("history written");
    Ok(())
}

pub(super) fn started(builder: &str, number: u32, worker: &str, at: Timestamp, plan: &BuildPlan) -> Build {
    Build {
        builder: builder.to_owned(),
        number,
        reason: plan.reason.clone(),
        properties: plan.properties.clone(),
        sourcestamps: vec![plan.sourcestamp.clone()],
        blamelist: plan.blamelist.clone(),
        worker: worker.to_owned(),
        started: at,
        finished: None,
        result: None,
        text: vec!["building".to_owned()],
        steps: Vec::new(),
        eta: Some(at + plan.duration()),
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

pub(super) fn step_started(number: u32, name: &str, at: Timestamp) -> Step {
    Step { number, name: name.to_owned(), text: vec![name.to_owned()], started: Some(at), ..Step::default() }
}

/// Every event of a whole build, at the times it would have happened. Lines of one channel
/// go in one chunk, as a master batches them.
fn history_events(builder: &str, number: u32, worker: &str, at: Timestamp, plan: &BuildPlan) -> Vec<StatusEvent> {
    let b = || builder.to_owned();
    let mut events =
        vec![StatusEvent::BuildStarted { build: started(builder, number, worker, at, plan), requests: Vec::new() }];
    let mut t = at;
    for (i, step) in plan.steps.iter().enumerate() {
        let s = i as u32;
        events.push(StatusEvent::StepStarted { builder: b(), number, step: step_started(s, &step.name, t) });
        events.push(StatusEvent::LogStarted {
            builder: b(),
            number,
            step: s,
            log: "stdio".to_owned(),
            kind: LogKind::Text,
        });
        let mut pending: Option<(Channel, String)> = None;
        for (channel, line) in &step.lines {
            match &mut pending {
                Some((c, text)) if c == channel => text.push_str(line),
                _ => {
                    if let Some((c, text)) = pending.take() {
                        events.push(chunk(builder, number, s, c, text));
                    }
                    pending = Some((*channel, line.clone()));
                }
            }
        }
        if let Some((c, text)) = pending {
            events.push(chunk(builder, number, s, c, text));
        }
        events.push(StatusEvent::LogFinished { builder: b(), number, step: s, log: "stdio".to_owned() });
        t += Duration::seconds(step.seconds);
        events.push(step_finished(builder, number, s, step, t));
    }
    events.push(StatusEvent::BuildFinished {
        builder: b(),
        number,
        result: plan.result,
        text: plan.text.clone(),
        at: t,
        properties: Default::default(),
    });
    events
}

pub(super) fn chunk(builder: &str, number: u32, step: u32, channel: Channel, text: String) -> StatusEvent {
    StatusEvent::LogChunk { builder: builder.to_owned(), number, step, log: "stdio".to_owned(), channel, text }
}

pub(super) fn step_finished(
    builder: &str,
    number: u32,
    step: u32,
    plan: &world::StepPlan,
    at: Timestamp,
) -> StatusEvent {
    StatusEvent::StepFinished {
        builder: builder.to_owned(),
        number,
        step,
        result: plan.result,
        text: plan.text.clone(),
        text2: plan.text2.clone(),
        at,
    }
}
