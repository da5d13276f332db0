//! The status hub: the one writer. For each event it applies the domain rule, numbers it,
//! commits the result to the store, writes log content and publishes the event — in that
//! order, so nothing is published that is not stored (history, which is not published, has
//! its whole logs written before its commit). Concurrent writers share commits: the
//! submissions that queue while one round is written go into the next round's transaction.
//!
//! It is also the pages' reader: the state it keeps (running builds, a window of recent
//! history) answers most queries from memory; the rest go to the store.
//!
//! `round.rs` is the write path (submissions, rounds, group commit); this file is the hub's
//! state, its start, its readers and its event feed.

mod round;
mod stats;

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::hooks::NewChange;
use crate::domain::model::{Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker};
use crate::domain::state::StatusState;
use crate::ports::{
    BuildOrder, BuildQuery, ChangeError, ChangeQuery, ChangeSink, EventBus, EventFeed, EventStream, IngestSink,
    LogStore, Receipt, SinkError, StatusReader, StatusSink, StatusStore, StoreError,
};
use round::{Submission, Work};

pub struct Hub {
    store: Arc<dyn StatusStore>,
    logs: Arc<dyn LogStore>,
    bus: Arc<dyn EventBus>,
    /// Held by the writer of a round, across the store's awaits.
    writer: tokio::sync::Mutex<()>,
    /// Submissions waiting for the next round.
    queue: Mutex<Vec<Submission>>,
    /// The hub itself, for the writer tasks it spawns.
    me: Weak<Hub>,
    /// Read by pages without waiting for a writer's commit; never held across an await.
    live: Mutex<Live>,
    /// Builders whose window the filler task must load from the store.
    fills: mpsc::UnboundedSender<String>,
    /// The rounds' figures, for `/metrics`.
    stats: stats::Stats,
}

struct Live {
    state: StatusState,
    seq: u64,
}

impl Hub {
    /// Resumes from what `store` holds, keeping `window` finished builds per builder in memory.
    /// Start-up reads only what is current; a task fills the builders' windows afterwards
    /// (until then their listings come from the store).
    pub async fn open(
        store: Arc<dyn StatusStore>,
        logs: Arc<dyn LogStore>,
        bus: Arc<dyn EventBus>,
        window: usize,
    ) -> Result<Arc<Self>, StoreError> {
        let meta = store.meta().await?;
        let snapshot = store.snapshot(window.saturating_mul(10)).await?;
        let builders: Vec<String> = snapshot.builders.iter().map(|b| b.name.clone()).collect();
        let state = StatusState::from_snapshot(snapshot, window);
        let live = Mutex::new(Live { state, seq: meta.last_seq });
        let (fills, queue) = mpsc::unbounded_channel();
        let hub = Arc::new_cyclic(|me| Self {
            me: me.clone(),
            store,
            logs,
            bus,
            writer: tokio::sync::Mutex::new(()),
            queue: Mutex::default(),
            live,
            fills,
            stats: stats::Stats::default(),
        });
        for name in builders {
            let _ = hub.fills.send(name);
        }
        tokio::spawn(fill_windows(Arc::downgrade(&hub), queue));
        Ok(hub)
    }

    /// Loads `builder`'s newest finished builds and newest number into its window.
    async fn load_window(&self, builder: &str) -> Result<(), StoreError> {
        let window = self.live().state.window();
        let query = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(builder, window) };
        let finished = crate::ports::owned(self.store.builds(&query).await?);
        let newest = self.store.newest_build_number(builder).await?;
        self.live().state.fill_window(builder, finished, newest);
        Ok(())
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether every builder's window has been filled (until then, their listings come from
    /// the store): what a measurement of pages after start waits for.
    pub fn windows_loaded(&self) -> bool {
        self.live().state.windows_loaded()
    }

    /// The sequence number of the newest event.
    pub fn last_seq(&self) -> u64 {
        self.live().seq
    }

    /// Numbered events after `after`, then live ones (see [`EventBus::subscribe`]).
    pub fn subscribe(&self, after: u64) -> EventStream {
        self.bus.subscribe(after)
    }

    /// After a failed commit the state may hold what the store does not: rebuild it.
    async fn recover(&self, previous: Option<StatusState>) {
        if let Some(p) = previous {
            self.live().state = p;
            return;
        }
        let window = self.live().state.window();
        match self.store.snapshot(window.saturating_mul(10)).await {
            Ok(snapshot) => {
                let builders: Vec<String> = snapshot.builders.iter().map(|b| b.name.clone()).collect();
                self.live().state = StatusState::from_snapshot(snapshot, window);
                for name in builders {
                    let _ = self.fills.send(name);
                }
            }
            Err(e) => tracing::error!("state could not be reloaded after a failed commit: {e}"),
        }
    }

    /// Answers a build listing from memory when the window is known to hold the answer.
    fn builds_from_memory(&self, q: &BuildQuery) -> Option<Vec<Arc<Build>>> {
        let live = self.live();
        let state = &live.state;
        if q.finished == Some(false) {
            let mut out: Vec<&Build> = match q.builders.as_slice() {
                [one] => state.running_of(one).filter(|b| q.matches(b)).collect(),
                _ => state.running().filter(|b| q.matches(b)).collect(),
            };
            BuildOrder::NumberDesc.sort(&mut out, false);
            return Some(out.into_iter().take(q.limit).map(|b| Arc::new(b.clone())).collect());
        }
        // Builds of builders no longer configured live only in the store; a scan may reach
        // past the window.
        if q.scan.is_some() || q.builders.iter().any(|b| state.builder(b).is_none()) {
            return None;
        }
        // The builders asked for (each known, checked above), in name order as the state
        // keeps them; looked up by name, so that a page asking builder by builder costs no
        // walk over every builder each time.
        let names: Vec<&str> = if q.builders.is_empty() {
            state.builders().map(|b| b.name.as_str()).collect()
        } else {
            let mut names: Vec<&str> = q.builders.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let mut out = Vec::new();
        for name in &names {
            if !state.window_loaded(name) {
                return None;
            }
            let mut found: Vec<Arc<Build>> = Vec::new();
            if q.order == BuildOrder::NumberDesc && q.finished.is_none() {
                let running = state.running_of(name).filter(|b| q.matches(b));
                found.extend(running.map(|b| Arc::new(b.clone())));
            }
            found.extend(state.recent_shared(name).filter(|b| q.matches(b)).take(q.limit).cloned());
            // Fewer than asked, and older builds exist outside the window: the store must answer.
            if found.len() < q.limit && !state.recent_is_complete(name) {
                return None;
            }
            out.extend(found);
        }
        q.order.sort(&mut out, names.len() == 1);
        out.truncate(q.limit);
        Some(out)
    }
}

#[async_trait]
impl StatusSink for Hub {
    async fn record(&self, event: StatusEvent) -> Result<u64, SinkError> {
        self.submit(Work::Events(vec![event])).await.map(|done| done.seq)
    }

    async fn record_all(&self, events: Vec<StatusEvent>) -> Result<u64, SinkError> {
        if events.is_empty() {
            return Ok(self.last_seq());
        }
        self.submit(Work::Events(events)).await.map(|done| done.seq)
    }

    async fn record_history(&self, events: Vec<StatusEvent>) -> Result<(), SinkError> {
        if events.is_empty() {
            return Ok(());
        }
        self.submit(Work::History(events)).await.map(|_| ())
    }
}

/// The ingest API's events: the ids are looked up and the batch applied under the writer
/// lock, so two requests carrying the same id cannot both apply it.
#[async_trait]
impl IngestSink for Hub {
    async fn record_once(&self, events: Vec<(Option<String>, StatusEvent)>) -> Result<Receipt, SinkError> {
        let done = self.submit(Work::Ingest(events)).await?;
        Ok(Receipt { applied: done.applied, repeated: done.repeated, seq: done.seq })
    }
}

/// Hooks and pollers add changes here: numbered after the newest change, under the writer
/// lock (so a master's own `ChangeAdded` cannot take the same number), in one batch.
#[async_trait]
impl ChangeSink for Hub {
    async fn add_changes(&self, changes: Vec<NewChange>) -> Result<Vec<u64>, ChangeError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        match self.submit(Work::Changes(changes)).await {
            Ok(done) => Ok(done.changes),
            // Changes carry no log content, so this cannot happen; say so if it does.
            Err(e @ SinkError::LogContent { .. }) => Err(ChangeError::storage(e)),
            Err(SinkError::Rejected(e)) => Err(ChangeError::Rejected(e.to_string())),
            Err(SinkError::Storage(e)) => Err(ChangeError::storage(e)),
        }
    }
}

#[async_trait]
impl StatusReader for Hub {
    async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
        Ok(self.live().state.builders().cloned().collect())
    }

    async fn builder(&self, name: &str) -> Result<Option<Builder>, StoreError> {
        Ok(self.live().state.builder(name).cloned())
    }

    async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
        Ok(self.live().state.workers().cloned().collect())
    }

    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        let cached = self.live().state.build(builder, number).cloned();
        match cached {
            Some(b) => Ok(Some(b)),
            None => self.store.build(builder, number).await,
        }
    }

    async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError> {
        let cached = self.live().state.last_number(builder);
        match cached {
            Some(n) => Ok(Some(n)),
            None => self.store.newest_build_number(builder).await,
        }
    }

    async fn build_numbers(&self, builder: &str, limit: usize) -> Result<Vec<u32>, StoreError> {
        self.store.build_numbers(builder, limit).await
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Arc<Build>>, StoreError> {
        match self.builds_from_memory(query) {
            Some(builds) => Ok(builds),
            None => self.store.builds(query).await,
        }
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        let cached = self.live().state.changes().find(|c| c.number == number).cloned();
        match cached {
            Some(c) => Ok(Some(c)),
            None => self.store.change(number).await,
        }
    }

    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
        let cached: Vec<Change> = {
            let live = self.live();
            let matching = live.state.changes().filter(|c| query.before.is_none_or(|b| c.number < b));
            matching.filter(|c| query.branches.matches(c.branch.as_deref())).take(query.limit).cloned().collect()
        };
        if cached.len() == query.limit {
            return Ok(cached);
        }
        self.store.changes(query).await
    }

    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
        let live = self.live();
        let mut out: Vec<BuildRequest> =
            live.state.pending().filter(|r| builder.is_none_or(|b| r.builder == b)).cloned().collect();
        out.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.store.users().await
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        self.store.user(uid).await
    }

    async fn activity(&self, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        self.store.activity(limit).await
    }

    async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError> {
        Ok(self.live().state.open_buildsets())
    }

    async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError> {
        // Open ones are the state's; a finished one left it for the store.
        let open = self.live().state.buildsets().find(|s| s.id == id).cloned();
        match open {
            Some(set) => Ok(Some(set)),
            None => self.store.buildset(id).await,
        }
    }

    async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError> {
        let live = self.live();
        Ok(live.state.builder(builder).map(|_| live.state.builder_state(builder)))
    }

    async fn master_stopping(&self) -> Result<bool, StoreError> {
        Ok(self.live().state.master_stopping())
    }
}

impl EventFeed for Hub {
    fn follow(&self, after: u64) -> EventStream {
        let me = self.me.clone();
        let committed = move || me.upgrade().map_or(0, |hub| hub.last_seq());
        follow(self.store.clone(), self.bus.clone(), committed, after)
    }

    fn last_seq(&self) -> u64 {
        Hub::last_seq(self)
    }
}

/// Where a follower reads from: the bus while it holds what comes next, else the journal.
enum Source {
    Bus(EventStream),
    Journal,
}

/// Events after `after`: from the bus, and from the store's journal whenever the bus says it
/// no longer holds the next ones; never one twice, never one out of order. `committed` is the
/// newest number stored: a follower that fell behind during a burst of log chunks (which the
/// journal does not keep) steps over them to it, instead of lagging on them again and again.
fn follow(
    store: Arc<dyn StatusStore>,
    bus: Arc<dyn EventBus>,
    committed: impl Fn() -> u64 + Send + Sync + 'static,
    after: u64,
) -> EventStream {
    let committed = Arc::new(committed);
    const JOURNAL_PAGE: usize = 512;
    // The journal first: the bus cannot tell whether it still holds the events right after
    // `after` when it holds none older (a follower from 0 after the ring wrapped).
    let start = (Source::Journal, after, std::collections::VecDeque::new());
    Box::pin(futures_util::stream::unfold(start, move |(mut source, mut cursor, mut pending)| {
        let (store, bus, committed) = (store.clone(), bus.clone(), committed.clone());
        async move {
            loop {
                if let Some(event) = pending.pop_front() {
                    let event: SequencedEvent = event;
                    cursor = event.seq;
                    return Some((Ok(event), (source, cursor, pending)));
                }
                match &mut source {
                    Source::Bus(stream) => match futures_util::StreamExt::next(stream).await {
                        Some(Ok(event)) if event.seq > cursor => pending.push_back(event),
                        Some(Ok(_)) => {}
                        Some(Err(_lagged)) => source = Source::Journal,
                        None => return None,
                    },
                    // Everything numbered up to `stored` is in the journal, but log chunks.
                    Source::Journal => match (committed(), store.events_after(cursor, JOURNAL_PAGE).await) {
                        (stored, Ok(page)) if page.is_empty() => {
                            cursor = cursor.max(stored);
                            source = Source::Bus(bus.subscribe(cursor));
                        }
                        (_, Ok(page)) => pending.extend(page),
                        (_, Err(e)) => {
                            tracing::warn!("a follower stopped: the journal could not be read: {e}");
                            return None;
                        }
                    },
                }
            }
        }
    }))
}

/// Fills windows as builders are queued, for as long as the hub lives.
async fn fill_windows(hub: Weak<Hub>, mut queue: mpsc::UnboundedReceiver<String>) {
    while let Some(builder) = queue.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        if let Err(e) = hub.load_window(&builder).await {
            tracing::warn!("window of builder '{builder}' not loaded (its pages read the store): {e}");
        }
    }
}
