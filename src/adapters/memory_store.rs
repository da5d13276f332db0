//! The status store in memory: the reference semantics of [`StatusStore`], for tests, the
//! examples, and masters that keep their own history. Nothing survives the process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, BuildRequest, Builder, Buildset, Change, User, Worker};
use crate::domain::state::{Mutation, Snapshot};
use crate::ports::{BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta};

#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
}

#[derive(Debug, Default)]
struct Data {
    builders: BTreeMap<String, Builder>,
    workers: BTreeMap<String, Worker>,
    builds: BTreeMap<(String, u32), Build>,
    changes: BTreeMap<u64, Change>,
    requests: BTreeMap<u64, BuildRequest>,
    buildsets: BTreeMap<u64, Buildset>,
    users: BTreeMap<u64, User>,
    events: BTreeMap<u64, SequencedEvent>,
    meta: StoreMeta,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
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
        Ok(self.data().builds.keys().filter(|(b, _)| b == builder).map(|(_, n)| *n).max())
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Build>, StoreError> {
        let mut found: Vec<Build> = self.data().builds.values().filter(|b| query.matches(b)).cloned().collect();
        query.order.sort(&mut found, query.builders.len() == 1);
        found.truncate(query.limit);
        Ok(found)
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        Ok(self.data().changes.get(&number).cloned())
    }

    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
        let data = self.data();
        let matching = data.changes.values().rev().filter(|c| query.before.is_none_or(|b| c.number < b));
        Ok(matching.filter(|c| query.branches.matches(c.branch.as_deref())).take(query.limit).cloned().collect())
    }

    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
        let mut out: Vec<BuildRequest> =
            self.data().requests.values().filter(|r| builder.is_none_or(|b| r.builder == b)).cloned().collect();
        out.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.data().users.values().cloned().collect())
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        Ok(self.data().users.get(&uid).cloned())
    }
}

#[async_trait]
impl StatusStore for MemoryStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut data = self.data();
        for m in &commit.mutations {
            match m {
                Mutation::PutBuilder(b) => _ = data.builders.insert(b.name.clone(), b.clone()),
                Mutation::RemoveBuilder(name) => _ = data.builders.remove(name),
                Mutation::PutWorker(w) => _ = data.workers.insert(w.name.clone(), w.clone()),
                Mutation::PutChange(c) => _ = data.changes.insert(c.number, c.clone()),
                Mutation::PutBuild(b) => _ = data.builds.insert((b.builder.clone(), b.number), b.clone()),
                Mutation::PutRequest(r) => _ = data.requests.insert(r.id, r.clone()),
                Mutation::RemoveRequest(id) => _ = data.requests.remove(id),
                Mutation::PutBuildset(s) => _ = data.buildsets.insert(s.id, s.clone()),
                Mutation::PutUser(u) => _ = data.users.insert(u.uid, u.clone()),
            }
        }
        for e in &commit.events {
            if !matches!(e.event, StatusEvent::LogChunk { .. }) {
                data.events.insert(e.seq, e.clone());
            }
            data.meta.last_seq = data.meta.last_seq.max(e.seq);
        }
        data.meta.next_log_id = commit.next_log_id;
        Ok(())
    }

    async fn meta(&self) -> Result<StoreMeta, StoreError> {
        let meta = self.data().meta;
        Ok(StoreMeta { next_log_id: meta.next_log_id.max(1), ..meta })
    }

    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
        let data = self.data();
        let mut newest = Vec::new();
        for name in data.builders.keys() {
            let last = data.builds.range((name.clone(), 0)..=(name.clone(), u32::MAX)).next_back();
            newest.extend(last.map(|((b, n), _)| (b.clone(), *n)));
        }
        Ok(Snapshot {
            builders: data.builders.values().cloned().collect(),
            workers: data.workers.values().cloned().collect(),
            running: data.builds.values().filter(|b| !b.is_finished()).cloned().collect(),
            newest,
            pending: data.requests.values().cloned().collect(),
            buildsets: data.buildsets.values().filter(|s| s.complete_at.is_none()).cloned().collect(),
            changes: data.changes.values().rev().take(changes).cloned().collect(),
            last_change: data.changes.keys().next_back().copied().unwrap_or(0),
            next_log_id: data.meta.next_log_id.max(1),
        })
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        Ok(self.data().events.range(after + 1..).take(limit).map(|(_, e)| e.clone()).collect())
    }
}
