//! The live status state and the rule for applying an event to it.
//!
//! [`StatusState::apply`] is the write path's only decision: it checks an event against what is
//! known, updates the state, and says which records the store must write ([`Mutation`]). It
//! does no I/O, so the hub can run it under a lock and tests can run it alone.
//!
//! The state holds what pages need most: every builder and worker, running builds, pending
//! requests, open buildsets, and a window of the newest finished builds and changes. Older
//! history lives only in the store. A builder's window is *loaded* once it holds that
//! builder's newest finished builds (the hub fills windows after start, so start-up does not
//! grow with history); until then the window may not be used to answer listings.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use super::event::StatusEvent;
use super::model::{Build, BuildKey, BuildRequest, Builder, BuilderState, Buildset, Change, LogRef, User, Worker};

/// A record the store must write so that it reflects an applied event.
#[derive(Clone, Debug, PartialEq)]
pub enum Mutation {
    PutBuilder(Builder),
    RemoveBuilder(String),
    PutWorker(Worker),
    PutChange(Change),
    PutBuild(Build),
    PutRequest(BuildRequest),
    RemoveRequest(u64),
    PutBuildset(Buildset),
    PutUser(User),
}

/// Drops every `PutBuild` that a later `PutBuild` of the same build overwrites, so a batch
/// that runs a whole build writes the build once. The other mutations keep their order.
pub fn compact(mutations: Vec<Mutation>) -> Vec<Mutation> {
    let mut last = std::collections::HashMap::new();
    for (i, m) in mutations.iter().enumerate() {
        if let Mutation::PutBuild(b) = m {
            last.insert((b.builder.as_str(), b.number), i);
        }
    }
    let keep: Vec<bool> = mutations
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            Mutation::PutBuild(b) => last.get(&(b.builder.as_str(), b.number)) == Some(&i),
            _ => true,
        })
        .collect();
    mutations.into_iter().zip(keep).filter_map(|(m, k)| k.then_some(m)).collect()
}

/// Why an event cannot be applied. The event is then not stored and not published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    UnknownBuilder(String),
    UnknownBuild(BuildKey),
    /// Build numbers increase per builder; this one is not above the newest known.
    NotNewest(BuildKey, u32),
    BuildFinished(BuildKey),
    UnknownStep(BuildKey, u32),
    StepExists(BuildKey, u32),
    UnknownLog(BuildKey, u32, String),
    LogExists(BuildKey, u32, String),
    LogFinished(BuildKey, u32, String),
    UnknownWorker(String),
    ChangeExists(u64),
    /// Change numbers start at 1 and only grow; this one is not above the newest.
    ChangeNotNewer(u64, u64),
    /// A number a sender chose (a change number, a request, buildset or user id) above
    /// [`MAX_NUMBER`]; names what it numbers.
    NumberTooLarge(&'static str, u64),
    UnknownBuildset(u64),
}

/// The highest number a sender may choose for a change, build request, buildset or user: the
/// largest integer every JSON reader (JavaScript's included) reads exactly, and far below what
/// the stores' 64-bit signed columns hold, so that the next change number can always be
/// written and no id can fail a store's commit (and with it the other writers of its round).
pub const MAX_NUMBER: u64 = (1 << 53) - 1;

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = |k: &BuildKey| format!("build {} #{}", k.builder, k.number);
        match self {
            Self::UnknownBuilder(n) => write!(f, "unknown builder '{n}'"),
            Self::UnknownBuild(k) => write!(f, "no running {}", b(k)),
            Self::NotNewest(k, newest) => write!(f, "{} is not newer than #{newest}, the builder's newest", b(k)),
            Self::BuildFinished(k) => write!(f, "{} has finished", b(k)),
            Self::UnknownStep(k, s) => write!(f, "{} has no step {s}", b(k)),
            Self::StepExists(k, s) => write!(f, "{} has a step {s} already", b(k)),
            Self::UnknownLog(k, s, l) => write!(f, "{} step {s} has no log '{l}'", b(k)),
            Self::LogExists(k, s, l) => write!(f, "{} step {s} has a log '{l}' already", b(k)),
            Self::LogFinished(k, s, l) => write!(f, "log '{l}' of {} step {s} is finished", b(k)),
            Self::UnknownWorker(n) => write!(f, "unknown worker '{n}'"),
            Self::ChangeExists(n) => write!(f, "change {n} exists already"),
            Self::ChangeNotNewer(n, newest) => {
                write!(
                    f,
                    "change {n} is not above {newest}, the newest change: change numbers start at 1 and only grow"
                )
            }
            Self::NumberTooLarge(what, n) => write!(f, "{what} {n} is above {MAX_NUMBER}, the largest"),
            Self::UnknownBuildset(n) => write!(f, "unknown buildset {n}"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// Where a log chunk must be appended, as found by [`StatusState::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub log_id: u64,
}

/// What applying one event produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    pub mutations: Vec<Mutation>,
    /// Set for log chunks: the log whose content grows.
    pub log: Option<LogTarget>,
    /// Logs finished (by their own event, or left open when their build finished), so their
    /// store can close them and their followers stop waiting.
    pub logs_finished: Vec<u64>,
    /// Set when a builder new to the state appeared: its window must be filled from the store.
    pub fill_window: Option<String>,
}

/// The state the hub keeps in memory. See the module doc.
#[derive(Clone, Debug)]
pub struct StatusState {
    builders: BTreeMap<String, Builder>,
    workers: BTreeMap<String, Worker>,
    running: BTreeMap<BuildKey, Build>,
    /// Newest finished builds per builder, oldest first, at most `window` each. Shared, so
    /// that copying the state (for an all-or-nothing batch) does not copy the builds.
    recent: BTreeMap<String, VecDeque<Arc<Build>>>,
    /// Builders whose window has not been filled from the store yet.
    unloaded: BTreeSet<String>,
    /// The highest build number started on each builder.
    newest: BTreeMap<String, u32>,
    pending: BTreeMap<u64, BuildRequest>,
    buildsets: BTreeMap<u64, Buildset>,
    changes: VecDeque<Arc<Change>>,
    last_change: u64,
    next_log_id: u64,
    window: usize,
    /// Running builds changed by `apply_deferred` and not written yet.
    changed: BTreeSet<BuildKey>,
}

/// What the state is rebuilt from at start: the store's current records, limited to the window.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub builders: Vec<Builder>,
    pub workers: Vec<Worker>,
    pub running: Vec<Build>,
    /// The highest build number of each builder that has builds.
    pub newest: Vec<(String, u32)>,
    pub pending: Vec<BuildRequest>,
    pub buildsets: Vec<Buildset>,
    /// Newest changes, any order.
    pub changes: Vec<Change>,
    pub last_change: u64,
    pub next_log_id: u64,
}

/// How many connection times a worker keeps (enough for "connects per hour").
const CONNECT_TIMES_KEPT: usize = 64;

impl StatusState {
    /// An empty state keeping `window` finished builds per builder (and 10× as many changes).
    pub fn new(window: usize) -> Self {
        Self::from_snapshot(Snapshot { next_log_id: 1, ..Snapshot::default() }, window)
    }

    pub fn from_snapshot(snapshot: Snapshot, window: usize) -> Self {
        let window = window.max(1);
        let unloaded = snapshot.builders.iter().map(|b| b.name.clone()).collect();
        let mut state = Self {
            builders: snapshot.builders.into_iter().map(|b| (b.name.clone(), b)).collect(),
            workers: snapshot.workers.into_iter().map(|w| (w.name.clone(), w)).collect(),
            running: snapshot.running.into_iter().map(|b| (b.key(), b)).collect(),
            recent: BTreeMap::new(),
            unloaded,
            newest: snapshot.newest.into_iter().collect(),
            pending: snapshot.pending.into_iter().map(|r| (r.id, r)).collect(),
            buildsets: snapshot.buildsets.into_iter().map(|b| (b.id, b)).collect(),
            changes: VecDeque::new(),
            last_change: snapshot.last_change,
            next_log_id: snapshot.next_log_id.max(1),
            window,
            changed: BTreeSet::new(),
        };
        for key in state.running.keys() {
            let newest = state.newest.entry(key.builder.clone()).or_insert(key.number);
            *newest = (*newest).max(key.number);
        }
        let mut changes = snapshot.changes;
        changes.sort_by_key(|c| c.number);
        for change in changes {
            state.remember_change(change);
        }
        state
    }

    pub fn window(&self) -> usize {
        self.window
    }

    pub fn next_log_id(&self) -> u64 {
        self.next_log_id
    }

    pub fn builders(&self) -> impl Iterator<Item = &Builder> {
        self.builders.values()
    }

    pub fn builder(&self, name: &str) -> Option<&Builder> {
        self.builders.get(name)
    }

    pub fn workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.values()
    }

    pub fn worker(&self, name: &str) -> Option<&Worker> {
        self.workers.get(name)
    }

    /// Running builds, by builder then number.
    pub fn running(&self) -> impl Iterator<Item = &Build> {
        self.running.values()
    }

    /// Finished builds of `builder` in the window, newest first.
    pub fn recent(&self, builder: &str) -> impl Iterator<Item = &Build> {
        self.recent.get(builder).into_iter().flat_map(|q| q.iter().rev().map(|b| &**b))
    }

    /// Whether `builder`'s window holds its newest finished builds.
    pub fn window_loaded(&self, builder: &str) -> bool {
        !self.unloaded.contains(builder)
    }

    /// True when the window holds every finished build of `builder`: it is loaded and not full.
    pub fn recent_is_complete(&self, builder: &str) -> bool {
        self.window_loaded(builder) && self.recent.get(builder).is_none_or(|q| q.len() < self.window)
    }

    /// Fills `builder`'s window with its newest finished builds as read from the store, and
    /// its newest build number. Builds the window already holds are kept once.
    pub fn fill_window(&mut self, builder: &str, finished: Vec<Build>, newest: Option<u32>) {
        for build in finished {
            let known = self.recent.get(builder).is_some_and(|q| q.iter().any(|b| b.number == build.number));
            if build.builder == builder && build.is_finished() && !known {
                self.remember_finished(build);
            }
        }
        if let Some(n) = newest {
            let entry = self.newest.entry(builder.to_owned()).or_insert(n);
            *entry = (*entry).max(n);
        }
        self.unloaded.remove(builder);
    }

    pub fn build(&self, builder: &str, number: u32) -> Option<&Build> {
        let key = BuildKey { builder: builder.to_owned(), number };
        self.running.get(&key).or_else(|| self.recent.get(builder)?.iter().find(|b| b.number == number).map(|b| &**b))
    }

    /// The highest build number started on `builder`.
    pub fn last_number(&self, builder: &str) -> Option<u32> {
        self.newest.get(builder).copied()
    }

    pub fn pending(&self) -> impl Iterator<Item = &BuildRequest> {
        self.pending.values()
    }

    pub fn buildsets(&self) -> impl Iterator<Item = &Buildset> {
        self.buildsets.values()
    }

    /// Changes in the window, newest first.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().rev().map(|c| &**c)
    }

    pub fn last_change(&self) -> u64 {
        self.last_change
    }

    /// Whether [`apply`](Self::apply) cannot refuse any of `events` in turn (then a batch
    /// needs no copy of the state to roll back to): new changes, numbered upward from above
    /// the newest, within range.
    pub fn accepts_surely(&self, events: &[StatusEvent]) -> bool {
        let mut last = self.last_change;
        events.iter().all(|e| match e {
            StatusEvent::ChangeAdded { change } if self.check_change(last, change.number).is_ok() => {
                last = change.number;
                true
            }
            _ => false,
        })
    }

    /// Whether change `number` may follow `last`, the newest: change numbers only grow, and
    /// stay in range.
    fn check_change(&self, last: u64, number: u64) -> Result<(), ApplyError> {
        if number <= last {
            // Only recent changes are in memory: an older number may be stored.
            return Err(if self.changes.iter().any(|c| c.number == number) {
                ApplyError::ChangeExists(number)
            } else {
                ApplyError::ChangeNotNewer(number, last)
            });
        }
        within_range("change number", number).map(|_| ())
    }

    /// The builder's state: building if a build runs, idle if one of its workers is connected.
    pub fn builder_state(&self, name: &str) -> BuilderState {
        let Some(builder) = self.builders.get(name) else { return BuilderState::Offline };
        let building = self.running.keys().any(|k| k.builder == name);
        BuilderState::of(builder, |w| self.workers.get(w).is_some_and(|w| w.connected), building)
    }

    /// Applies `event`, returning what the store must write. On error nothing changed.
    pub fn apply(&mut self, event: &StatusEvent) -> Result<Applied, ApplyError> {
        let mut applied = self.apply_deferred(event)?;
        applied.mutations.extend(self.take_changed_builds());
        Ok(applied)
    }

    /// Like [`apply`](Self::apply), except that the running builds it changes are written by
    /// the next [`take_changed_builds`](Self::take_changed_builds) instead: a batch that runs
    /// a build through many events copies and writes it once, not once per event.
    pub fn apply_deferred(&mut self, event: &StatusEvent) -> Result<Applied, ApplyError> {
        use StatusEvent as E;
        let mut out = Applied::default();
        match event {
            E::BuilderAdded { builder } => {
                if !self.builders.contains_key(&builder.name) {
                    self.unloaded.insert(builder.name.clone());
                    out.fill_window = Some(builder.name.clone());
                }
                self.builders.insert(builder.name.clone(), builder.clone());
                out.mutations.push(Mutation::PutBuilder(builder.clone()));
            }
            E::BuilderRemoved { name } => {
                self.builders.remove(name).ok_or_else(|| ApplyError::UnknownBuilder(name.clone()))?;
                self.unloaded.remove(name);
                self.recent.remove(name);
                out.mutations.push(Mutation::RemoveBuilder(name.clone()));
            }
            E::BuilderStateChanged { name, .. } => {
                self.require_builder(name)?;
            }
            E::BuildRequestSubmitted { request } => {
                within_range("build request id", request.id)?;
                self.require_builder(&request.builder)?;
                self.pending.insert(request.id, request.clone());
                out.mutations.push(Mutation::PutRequest(request.clone()));
            }
            E::BuildRequestCancelled { request_id, .. } => {
                if self.pending.remove(request_id).is_some() {
                    out.mutations.push(Mutation::RemoveRequest(*request_id));
                }
            }
            E::BuildsetSubmitted { buildset } => {
                within_range("buildset id", buildset.id)?;
                self.buildsets.insert(buildset.id, buildset.clone());
                out.mutations.push(Mutation::PutBuildset(buildset.clone()));
            }
            E::BuildsetFinished { id, result, at } => {
                let mut set = self.buildsets.remove(id).ok_or(ApplyError::UnknownBuildset(*id))?;
                set.result = Some(*result);
                set.complete_at = Some(*at);
                out.mutations.push(Mutation::PutBuildset(set));
            }
            E::BuildStarted { build, requests } => {
                self.require_builder(&build.builder)?;
                let key = build.key();
                if let Some(newest) = self.last_number(&key.builder).filter(|n| key.number <= *n) {
                    return Err(ApplyError::NotNewest(key, newest));
                }
                for id in requests {
                    if self.pending.remove(id).is_some() {
                        out.mutations.push(Mutation::RemoveRequest(*id));
                    }
                }
                let mut build = build.clone();
                build.finished = None;
                build.result = None;
                for step in &mut build.steps {
                    for log in &mut step.logs {
                        log.id = self.next_log_id;
                        self.next_log_id += 1;
                    }
                }
                self.newest.insert(key.builder.clone(), key.number);
                self.changed.insert(key.clone());
                self.running.insert(key, build);
            }
            E::BuildFinished { builder, number, result, text, at } => {
                let key = BuildKey { builder: builder.clone(), number: *number };
                let mut build = self.running.remove(&key).ok_or_else(|| self.not_running(key.clone()))?;
                build.finished = Some(*at);
                build.result = Some(*result);
                build.eta = None;
                // A finished build's logs cannot grow: a sender that never said so (an ingest
                // script) must not leave their pages waiting for more.
                for log in build.steps.iter_mut().flat_map(|s| s.logs.iter_mut()).filter(|l| !l.finished) {
                    log.finished = true;
                    out.logs_finished.push(log.id);
                }
                if !text.is_empty() {
                    build.text = text.clone();
                }
                self.changed.remove(&key);
                out.mutations.push(Mutation::PutBuild(build.clone()));
                self.remember_finished(build);
            }
            E::StepStarted { builder, number, step } => {
                let next_log_id = &mut self.next_log_id;
                let build = running_mut(&mut self.running, &self.recent, builder, *number)?;
                if build.steps.iter().any(|s| s.number == step.number && s.started.is_some()) {
                    return Err(ApplyError::StepExists(build.key(), step.number));
                }
                let mut step = step.clone();
                for log in &mut step.logs {
                    log.id = *next_log_id;
                    *next_log_id += 1;
                }
                match build.steps.iter_mut().find(|s| s.number == step.number) {
                    Some(planned) => *planned = step,
                    None => {
                        build.steps.push(step);
                        build.steps.sort_by_key(|s| s.number);
                    }
                }
                self.changed.insert(build.key());
            }
            E::StepFinished { builder, number, step, result, text, text2, at } => {
                let build = running_mut(&mut self.running, &self.recent, builder, *number)?;
                let key = build.key();
                let s = build.steps.iter_mut().find(|s| s.number == *step);
                let s = s.ok_or(ApplyError::UnknownStep(key, *step))?;
                s.result = Some(*result);
                s.finished = Some(*at);
                s.started.get_or_insert(*at);
                if !text.is_empty() {
                    s.text = text.clone();
                }
                s.text2 = text2.clone();
                // A finished step's logs cannot grow: their store closes them too.
                for log in s.logs.iter_mut().filter(|l| !l.finished) {
                    log.finished = true;
                    out.logs_finished.push(log.id);
                }
                self.changed.insert(build.key());
            }
            E::LogStarted { builder, number, step, log, kind } => {
                let id = self.next_log_id;
                let build = running_mut(&mut self.running, &self.recent, builder, *number)?;
                let key = build.key();
                let s = build.steps.iter_mut().find(|s| s.number == *step);
                let s = s.ok_or_else(|| ApplyError::UnknownStep(key.clone(), *step))?;
                if s.log(log).is_some() {
                    return Err(ApplyError::LogExists(key, *step, log.clone()));
                }
                s.logs.push(LogRef { id, name: log.clone(), kind: *kind, size: 0, finished: false });
                self.next_log_id += 1;
                self.changed.insert(build.key());
            }
            E::LogChunk { builder, number, step, log, text, .. } => {
                let log_ref = self.open_log(builder, *number, *step, log)?;
                log_ref.size += text.len() as u64;
                out.log = Some(LogTarget { log_id: log_ref.id });
            }
            E::LogFinished { builder, number, step, log } => {
                let log_ref = self.open_log(builder, *number, *step, log)?;
                log_ref.finished = true;
                out.logs_finished.push(log_ref.id);
                self.changed.insert(BuildKey { builder: builder.clone(), number: *number });
            }
            E::ChangeAdded { change } => {
                self.check_change(self.last_change, change.number)?;
                self.last_change = self.last_change.max(change.number);
                out.mutations.push(Mutation::PutChange(change.clone()));
                self.remember_change(change.clone());
            }
            E::WorkerAdded { worker } => {
                let mut w = worker.clone();
                if let Some(old) = self.workers.get(&w.name) {
                    w.connected = old.connected;
                    w.last_heard = old.last_heard;
                    w.connect_times = old.connect_times.clone();
                } else {
                    w.connected = false;
                    w.connect_times.clear();
                }
                out.mutations.push(Mutation::PutWorker(w.clone()));
                self.workers.insert(w.name.clone(), w);
            }
            E::WorkerConnected { worker, at } => {
                let mut w = worker.clone();
                let old = self.workers.get(&w.name);
                w.connect_times = old.map(|o| o.connect_times.clone()).unwrap_or_default();
                w.connect_times.push(*at);
                let excess = w.connect_times.len().saturating_sub(CONNECT_TIMES_KEPT);
                w.connect_times.drain(..excess);
                w.connected = true;
                w.last_heard = Some(*at);
                out.mutations.push(Mutation::PutWorker(w.clone()));
                self.workers.insert(w.name.clone(), w);
            }
            E::WorkerDisconnected { name, at } => {
                let w = self.worker_mut(name)?;
                w.connected = false;
                w.paused = false;
                w.last_heard = Some(*at);
                out.mutations.push(Mutation::PutWorker(w.clone()));
            }
            E::WorkerPaused { name } | E::WorkerUnpaused { name } => {
                let paused = matches!(event, E::WorkerPaused { .. });
                let w = self.worker_mut(name)?;
                w.paused = paused;
                out.mutations.push(Mutation::PutWorker(w.clone()));
            }
            E::UserChanged { user } => {
                within_range("user uid", user.uid)?;
                out.mutations.push(Mutation::PutUser(user.clone()));
            }
            E::MasterStarted { .. } | E::MasterStopping { .. } | E::Reconfigured { .. } => {}
        }
        Ok(out)
    }

    fn require_builder(&self, name: &str) -> Result<(), ApplyError> {
        match self.builders.contains_key(name) {
            true => Ok(()),
            false => Err(ApplyError::UnknownBuilder(name.to_owned())),
        }
    }

    fn not_running(&self, key: BuildKey) -> ApplyError {
        match self.build(&key.builder, key.number) {
            Some(_) => ApplyError::BuildFinished(key),
            None => ApplyError::UnknownBuild(key),
        }
    }

    fn worker_mut(&mut self, name: &str) -> Result<&mut Worker, ApplyError> {
        self.workers.get_mut(name).ok_or_else(|| ApplyError::UnknownWorker(name.to_owned()))
    }

    fn open_log(&mut self, builder: &str, number: u32, step: u32, log: &str) -> Result<&mut LogRef, ApplyError> {
        let build = running_mut(&mut self.running, &self.recent, builder, number)?;
        let key = build.key();
        let s = build.steps.iter_mut().find(|s| s.number == step);
        let s = s.ok_or_else(|| ApplyError::UnknownStep(key.clone(), step))?;
        let l = s.logs.iter_mut().find(|l| l.name == log);
        let l = l.ok_or_else(|| ApplyError::UnknownLog(key.clone(), step, log.to_owned()))?;
        if l.finished {
            return Err(ApplyError::LogFinished(key, step, log.to_owned()));
        }
        Ok(l)
    }

    /// The writes of the running builds changed since the last call. (A build that finished
    /// meanwhile was written when it finished.)
    pub fn take_changed_builds(&mut self) -> Vec<Mutation> {
        let changed = std::mem::take(&mut self.changed);
        changed.iter().filter_map(|key| self.running.get(key)).map(|b| Mutation::PutBuild(b.clone())).collect()
    }

    fn remember_finished(&mut self, build: Build) {
        let queue = self.recent.entry(build.builder.clone()).or_default();
        let at = queue.iter().rposition(|b| b.number < build.number).map_or(0, |i| i + 1);
        queue.insert(at, Arc::new(build));
        while queue.len() > self.window {
            queue.pop_front();
        }
    }

    fn remember_change(&mut self, change: Change) {
        self.changes.push_back(Arc::new(change));
        while self.changes.len() > self.window * 10 {
            self.changes.pop_front();
        }
    }
}

/// `n` if it is at most [`MAX_NUMBER`].
fn within_range(what: &'static str, n: u64) -> Result<u64, ApplyError> {
    if n > MAX_NUMBER { Err(ApplyError::NumberTooLarge(what, n)) } else { Ok(n) }
}

fn running_mut<'a>(
    running: &'a mut BTreeMap<BuildKey, Build>,
    recent: &BTreeMap<String, VecDeque<Arc<Build>>>,
    builder: &str,
    number: u32,
) -> Result<&'a mut Build, ApplyError> {
    let key = BuildKey { builder: builder.to_owned(), number };
    if running.contains_key(&key) {
        return Ok(running.get_mut(&key).expect("checked above"));
    }
    let finished = recent.get(builder).is_some_and(|q| q.iter().any(|b| b.number == number));
    Err(if finished { ApplyError::BuildFinished(key) } else { ApplyError::UnknownBuild(key) })
}

#[cfg(test)]
mod tests;
