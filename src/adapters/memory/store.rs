//! The status store in memory: the reference semantics of [`StatusStore`], used by tests, the
//! examples, and the server when it is told to keep nothing. Nothing survives the process.
//!
//! Guarantees: a commit is checked before anything is written, so it is all or nothing; every
//! call takes one `std::sync::Mutex` for its whole duration (never across an `.await`), so
//! readers see whole commits. Listings filter with [`BuildQuery::matches`] and order with
//! [`BuildOrder::sort`], the definitions the SQL stores follow;
//! `tests/it/contracts/store_contract.rs` runs the same tests against this store and SQLite.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker};
use crate::domain::state::{Mutation, Snapshot};
use crate::ports::{
    BuildOrder, BuildQuery, ChangeQuery, Commit, SCANNED_BUILDERS, StatusReader, StatusStore, StoreError, StoreMeta,
};

#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
}

#[derive(Debug, Default)]
struct Data {
    builders: BTreeMap<String, Builder>,
    workers: BTreeMap<String, Worker>,
    builds: BTreeMap<(String, u32), Build>,
    /// The keys of the unfinished builds, so that a snapshot does not scan the history.
    running: BTreeSet<(String, u32)>,
    changes: BTreeMap<u64, Change>,
    requests: BTreeMap<u64, BuildRequest>,
    buildsets: BTreeMap<u64, Buildset>,
    users: BTreeMap<u64, User>,
    events: BTreeMap<u64, SequencedEvent>,
    /// Senders' event ids and the sequence number each was applied as.
    receipts: BTreeMap<String, u64>,
    meta: StoreMeta,
    /// Whether the journal's newest master event is a `MasterStopping`.
    master_stopping: bool,
}

impl Data {
    /// The builds of `builder`, highest number first.
    fn builds_of<'a>(&'a self, builder: &str) -> impl Iterator<Item = &'a Build> + 'a {
        let range = (builder.to_owned(), 0)..=(builder.to_owned(), u32::MAX);
        self.builds.range(range).rev().map(|(_, b)| b)
    }

    fn apply(&mut self, m: &Mutation) {
        match m {
            Mutation::PutBuilder(b) => _ = self.builders.insert(b.name.clone(), b.clone()),
            Mutation::RemoveBuilder(name) => _ = self.builders.remove(name),
            Mutation::PutWorker(w) => _ = self.workers.insert(w.name.clone(), w.clone()),
            Mutation::PutChange(c) => _ = self.changes.insert(c.number, c.clone()),
            Mutation::PutBuild(b) => {
                let key = (b.builder.clone(), b.number);
                match b.is_finished() {
                    true => _ = self.running.remove(&key),
                    false => _ = self.running.insert(key.clone()),
                }
                self.builds.insert(key, b.clone());
            }
            Mutation::PutRequest(r) => _ = self.requests.insert(r.id, r.clone()),
            Mutation::RemoveRequest(id) => _ = self.requests.remove(id),
            Mutation::PutBuildset(s) => _ = self.buildsets.insert(s.id, s.clone()),
            Mutation::PutUser(u) => _ = self.users.insert(u.uid, u.clone()),
        }
    }

    fn pending(&self, builder: Option<&str>) -> Vec<BuildRequest> {
        let mut out: Vec<BuildRequest> =
            self.requests.values().filter(|r| builder.is_none_or(|b| r.builder == b)).cloned().collect();
        out.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id)));
        out
    }
}

/// Log chunks are never journaled (their content goes to the log store).
fn journaled(e: &SequencedEvent) -> bool {
    !matches!(e.event, StatusEvent::LogChunk { .. })
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        // A panic elsewhere while holding the lock cannot leave a half-applied commit (commits
        // are checked first and applying cannot fail), so the data stays usable.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl StatusReader for MemoryStore {
    async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
        Ok(self.data().builders.values().cloned().collect())
    }

    async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
        Ok(self.data().workers.values().cloned().collect())
    }

    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        Ok(self.data().builds.get(&(builder.to_owned(), number)).cloned())
    }

    async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError> {
        Ok(self.data().builds_of(builder).next().map(|b| b.number))
    }

    async fn build_numbers(&self, builder: &str, limit: usize) -> Result<Vec<u32>, StoreError> {
        Ok(self.data().builds_of(builder).take(limit).map(|b| b.number).collect())
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Arc<Build>>, StoreError> {
        let data = self.data();
        if let Some(scan) = query.scan.filter(|_| (1..=SCANNED_BUILDERS).contains(&query.builders.len())) {
            let below = |b: &&Build| query.before_number.is_none_or(|n| b.number < n);
            let scanned = query.builders.iter().flat_map(|name| data.builds_of(name).filter(below).take(scan));
            let mut found: Vec<&Build> = scanned.filter(|b| query.matches(b)).collect();
            query.order.sort(&mut found, query.builders.len() == 1);
            return Ok(found.into_iter().take(query.limit).cloned().map(Arc::new).collect());
        }
        if let ([builder], BuildOrder::NumberDesc) = (query.builders.as_slice(), query.order) {
            // One builder's history by number is already in order: stop at the limit.
            let found = data.builds_of(builder).filter(|b| query.matches(b)).take(query.limit);
            return Ok(found.cloned().map(Arc::new).collect());
        }
        let mut found: Vec<&Build> = data.builds.values().filter(|b| query.matches(b)).collect();
        query.order.sort(&mut found, false);
        Ok(found.into_iter().take(query.limit).cloned().map(Arc::new).collect())
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        Ok(self.data().changes.get(&number).cloned())
    }

    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
        let data = self.data();
        let below = query.before.map_or(Bound::Unbounded, Bound::Excluded);
        let newest_first = data.changes.range((Bound::Unbounded, below)).rev().map(|(_, c)| c);
        let matching = newest_first.filter(|c| query.branches.matches(c.branch.as_deref()));
        Ok(matching.take(query.limit).cloned().collect())
    }

    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
        Ok(self.data().pending(builder))
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.data().users.values().cloned().collect())
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        Ok(self.data().users.get(&uid).cloned())
    }

    async fn activity(&self, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let data = self.data();
        Ok(data.events.values().rev().filter(|e| e.event.is_activity()).take(limit).cloned().collect())
    }

    async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError> {
        let data = self.data();
        Ok(OpenBuildset::gather(data.buildsets.values().cloned(), &data.pending(None)))
    }

    async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError> {
        Ok(self.data().buildsets.get(&id).cloned())
    }

    async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError> {
        let data = self.data();
        let Some(b) = data.builders.get(builder) else { return Ok(None) };
        let connected = |w: &str| data.workers.get(w).is_some_and(|w| w.connected);
        let building = data.running.iter().any(|(name, _)| name == builder);
        Ok(Some(BuilderState::of(b, connected, building)))
    }

    async fn master_stopping(&self) -> Result<bool, StoreError> {
        Ok(self.data().master_stopping)
    }
}

#[async_trait]
impl StatusStore for MemoryStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut data = self.data();
        // The only way a commit can fail: a sequence number journaled twice. Checked before
        // anything is written, so a failed commit leaves nothing.
        let mut seqs = BTreeSet::new();
        for e in commit.events.iter().filter(|e| journaled(e)) {
            if data.events.contains_key(&e.seq) || !seqs.insert(e.seq) {
                return Err(StoreError::database(format!("event {} is journaled already", e.seq)));
            }
        }
        let mut ids = BTreeSet::new();
        for (id, _) in &commit.receipts {
            if data.receipts.contains_key(id) || !ids.insert(id) {
                return Err(StoreError::database(format!("event id '{id}' was applied already")));
            }
        }
        data.receipts.extend(commit.receipts.iter().cloned());
        for m in &commit.mutations {
            data.apply(m);
        }
        for e in commit.events.iter().filter(|e| journaled(e)) {
            match e.event {
                StatusEvent::MasterStopping { .. } => data.master_stopping = true,
                StatusEvent::MasterStarted { .. } => data.master_stopping = false,
                _ => {}
            }
            data.events.insert(e.seq, e.clone());
        }
        if let Some(seq) = commit.events.iter().map(|e| e.seq).max() {
            data.meta.last_seq = data.meta.last_seq.max(seq);
        }
        data.meta.next_log_id = commit.next_log_id;
        Ok(())
    }

    async fn receipts(&self, ids: &[String]) -> Result<Vec<Option<u64>>, StoreError> {
        let data = self.data();
        Ok(ids.iter().map(|id| data.receipts.get(id).copied()).collect())
    }

    async fn meta(&self) -> Result<StoreMeta, StoreError> {
        let meta = self.data().meta;
        Ok(StoreMeta { next_log_id: meta.next_log_id.max(1), ..meta })
    }

    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
        let data = self.data();
        let newest = data.builders.keys().filter_map(|name| Some((name.clone(), data.builds_of(name).next()?.number)));
        Ok(Snapshot {
            builders: data.builders.values().cloned().collect(),
            workers: data.workers.values().cloned().collect(),
            running: data.running.iter().filter_map(|key| data.builds.get(key)).cloned().collect(),
            newest: newest.collect(),
            pending: data.pending(None),
            buildsets: data.buildsets.values().filter(|s| s.complete_at.is_none()).cloned().collect(),
            changes: data.changes.values().rev().take(changes).cloned().collect(),
            last_change: data.changes.keys().next_back().copied().unwrap_or(0),
            next_log_id: data.meta.next_log_id.max(1),
            master_stopping: data.master_stopping,
        })
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let data = self.data();
        let later = data.events.range((Bound::Excluded(after), Bound::Unbounded));
        Ok(later.take(limit).map(|(_, e)| e.clone()).collect())
    }
}
