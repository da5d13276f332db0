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

mod builds;
mod derived;
mod records;
mod steps;
mod topology;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use super::event::StatusEvent;
use super::expectations::Expectations;
use super::model::{
    Build, BuildKey, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker,
};
use builds::BuildFinish;
use steps::StepFinish;

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
    /// A `StepTextChanged` that gives neither text nor text2.
    NoStepText(BuildKey, u32),
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
            Self::NoStepText(k, s) => write!(f, "the text of {} step {s} changes: give text, text2 or both", b(k)),
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
    /// Events the state derives from this one (builders' changed states), to be journaled and
    /// published right after it, in the same commit (`derived.rs`).
    pub derived: Vec<StatusEvent>,
    /// Set when the event is a claim the state derives itself (a sender's
    /// `BuilderStateChanged`): checked, but neither journaled nor published.
    pub absorbed: bool,
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
    /// Running builds whose start gave an ETA: the sender's to keep, steps included. The
    /// others' ETAs are estimated. (Not stored: after a restart, a running build with an ETA
    /// is taken to be the sender's.)
    sender_eta: BTreeSet<BuildKey>,
    /// Each builder's state as last announced (`derived.rs`).
    announced: BTreeMap<String, BuilderState>,
    /// Set by `MasterStopping`, cleared by `MasterStarted`.
    master_stopping: bool,
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
    /// Whether the master is shutting down (its newest master event is a `MasterStopping`).
    pub master_stopping: bool,
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
            sender_eta: BTreeSet::new(),
            announced: BTreeMap::new(),
            master_stopping: snapshot.master_stopping,
        };
        state.announced = state.derived_states();
        state.sender_eta = state.running.values().filter(|b| b.eta.is_some()).map(Build::key).collect();
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

    /// Running builds of `builder`, by number.
    pub fn running_of<'a>(&'a self, builder: &str) -> impl Iterator<Item = &'a Build> + use<'a> {
        let from = BuildKey { builder: builder.to_owned(), number: 0 };
        let to = BuildKey { builder: builder.to_owned(), number: u32::MAX };
        self.running.range(from..=to).map(|(_, b)| b)
    }

    /// Finished builds of `builder` in the window, newest first.
    pub fn recent(&self, builder: &str) -> impl Iterator<Item = &Build> {
        self.recent_shared(builder).map(|b| &**b)
    }

    /// [`recent`](Self::recent), as the shared builds the window holds (a reader hands them
    /// out without copying).
    pub fn recent_shared(&self, builder: &str) -> impl Iterator<Item = &Arc<Build>> {
        self.recent.get(builder).into_iter().flat_map(|q| q.iter().rev())
    }

    /// Whether `builder`'s window holds its newest finished builds.
    pub fn window_loaded(&self, builder: &str) -> bool {
        !self.unloaded.contains(builder)
    }

    /// Whether every builder's window has been filled from the store.
    pub fn windows_loaded(&self) -> bool {
        self.unloaded.is_empty()
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

    /// Whether the master is shutting down: after a `MasterStopping`, until a `MasterStarted`
    /// (as the stores answer from their journal).
    pub fn master_stopping(&self) -> bool {
        self.master_stopping
    }

    /// The open buildsets with their pending requests (see [`OpenBuildset`]).
    pub fn open_buildsets(&self) -> Vec<OpenBuildset> {
        let pending: Vec<BuildRequest> = self.pending.values().cloned().collect();
        OpenBuildset::gather(self.buildsets.values().cloned(), &pending)
    }

    /// The builder's state ([`BuilderState::of`]): building if a build runs, idle if one of
    /// its workers is connected, else offline (also for a builder not configured).
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
    ///
    /// One method per event, grouped by family in this module's files (`topology.rs`:
    /// builders and workers; `builds.rs`: requests, buildsets and builds; `steps.rs`: steps
    /// and logs; `records.rs`: changes, users and the master). Each either refuses the event
    /// having changed nothing, or applies all of it. Then the builders' states it changed are
    /// announced (`derived.rs`).
    pub fn apply_deferred(&mut self, event: &StatusEvent) -> Result<Applied, ApplyError> {
        use StatusEvent as E;
        let mut out = Applied::default();
        match event {
            E::BuilderAdded { builder } => self.add_builder(builder, &mut out),
            E::BuilderRemoved { name } => self.remove_builder(name, &mut out)?,
            E::BuilderStateChanged { name, .. } => self.claim_builder_state(name, &mut out)?,
            E::BuildRequestSubmitted { request } => self.submit_request(request, &mut out)?,
            E::BuildRequestCancelled { request_id, .. } => self.cancel_request(*request_id, &mut out),
            E::BuildsetSubmitted { buildset } => self.submit_buildset(buildset, &mut out)?,
            E::BuildsetFinished { id, result, at } => self.finish_buildset(*id, *result, *at, &mut out)?,
            E::BuildStarted { build, requests } => self.start_build(build, requests, &mut out)?,
            E::BuildFinished { builder, number, result, text, at, properties } => {
                let finish = BuildFinish { result: *result, text, at: *at, properties };
                self.finish_build(BuildKey { builder: builder.clone(), number: *number }, finish, &mut out)?
            }
            E::BuildPropertiesChanged { builder, number, properties } => {
                self.set_properties(BuildKey { builder: builder.clone(), number: *number }, properties)?
            }
            E::TestResultsAdded { builder, number, tests } => {
                self.add_tests(BuildKey { builder: builder.clone(), number: *number }, tests)?
            }
            E::StepStarted { builder, number, step } => self.start_step(builder, *number, step)?,
            E::StepFinished { builder, number, step, result, text, text2, at } => {
                let finish = StepFinish { result: *result, text, text2, at: *at };
                self.finish_step(builder, *number, *step, finish, &mut out)?
            }
            E::StepTextChanged { builder, number, step, text, text2 } => {
                self.change_step_text(builder, *number, *step, text.as_deref(), text2.as_deref())?
            }
            E::StepUrlAdded { builder, number, step, name, url } => {
                self.add_step_url(builder, *number, *step, name, url)?
            }
            E::LogStarted { builder, number, step, log, kind } => {
                self.start_log(builder, *number, *step, log, *kind)?
            }
            E::LogChunk { builder, number, step, log, text, .. } => {
                self.grow_log(builder, *number, *step, log, text.len(), &mut out)?
            }
            E::LogFinished { builder, number, step, log } => self.finish_log(builder, *number, *step, log, &mut out)?,
            E::ChangeAdded { change } => self.add_change(change, &mut out)?,
            E::WorkerAdded { worker } => self.describe_worker(worker, &mut out),
            E::WorkerConnected { worker, at } => self.connect_worker(worker, *at, &mut out),
            E::WorkerDisconnected { name, at } => self.disconnect_worker(name, *at, &mut out)?,
            E::WorkerPaused { name } => self.pause_worker(name, true, &mut out)?,
            E::WorkerUnpaused { name } => self.pause_worker(name, false, &mut out)?,
            E::UserChanged { user } => self.change_user(user, &mut out)?,
            E::MasterStarted { .. } => self.master_stopping = false,
            E::MasterStopping { .. } => self.master_stopping = true,
            E::Reconfigured { .. } => {}
        }
        let touched = self.builders_touched_by(event);
        self.announce(touched, &mut out);
        Ok(out)
    }

    fn require_builder(&self, name: &str) -> Result<(), ApplyError> {
        match self.builders.contains_key(name) {
            true => Ok(()),
            false => Err(ApplyError::UnknownBuilder(name.to_owned())),
        }
    }

    /// Why `key` is not a running build: it finished (it is in the window), or is unknown.
    fn not_running(&self, key: BuildKey) -> ApplyError {
        match self.build(&key.builder, key.number) {
            Some(_) => ApplyError::BuildFinished(key),
            None => ApplyError::UnknownBuild(key),
        }
    }

    /// The writes of the running builds changed since the last call, each with its ETA and its
    /// steps' estimated anew (unless its sender gives them). A build that finished meanwhile
    /// was written when it finished.
    pub fn take_changed_builds(&mut self) -> Vec<Mutation> {
        let changed = std::mem::take(&mut self.changed);
        let mut out = Vec::with_capacity(changed.len());
        for key in changed {
            if !self.sender_eta.contains(&key) {
                let expectations = self.expectations(&key.builder);
                if let Some(build) = self.running.get_mut(&key) {
                    fill_eta(build, &expectations);
                }
            }
            out.extend(self.running.get(&key).map(|b| Mutation::PutBuild(b.clone())));
        }
        out
    }

    /// What `builder`'s successful builds in the window lead us to expect of its builds.
    pub fn expectations(&self, builder: &str) -> Expectations {
        Expectations::learn(self.recent(builder))
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

/// Sets the ETA of a running `build` and of its unfinished steps from `expectations` (none
/// where they allow no estimate).
fn fill_eta(build: &mut Build, expectations: &Expectations) {
    let estimate = expectations.estimate(build);
    build.eta = estimate.build;
    for step in build.steps.iter_mut().filter(|s| s.finished.is_none()) {
        step.eta = estimate.steps.get(&step.number).copied();
    }
}

/// `n` if it is at most [`MAX_NUMBER`].
fn within_range(what: &'static str, n: u64) -> Result<u64, ApplyError> {
    if n > MAX_NUMBER { Err(ApplyError::NumberTooLarge(what, n)) } else { Ok(n) }
}

#[cfg(test)]
mod tests;
