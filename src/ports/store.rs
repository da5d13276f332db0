//! Status history: queries the pages make, and the transactional write of the hub.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::event::SequencedEvent;
use crate::domain::model::{
    Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, Timestamp, User, Worker,
};
use crate::domain::state::{Mutation, Snapshot};
use crate::domain::web::args::BranchFilter;

use super::{Cause, cause};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("database: {0}")]
    Database(#[source] Cause),
    /// The disk is full (no space, a quota, a file-size limit): nothing was written.
    #[error("the disk is full: {0}")]
    Full(#[source] Cause),
    /// A stored record could not be decoded.
    #[error("stored data unreadable: {0}")]
    Corrupt(#[source] Cause),
}

impl StoreError {
    pub fn database(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Database(cause(e))
    }

    pub fn corrupt(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Corrupt(cause(e))
    }
}

/// The order of a build listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuildOrder {
    /// Highest number first (one builder's history).
    #[default]
    NumberDesc,
    /// Latest finish first (recent builds across builders); implies finished builds only.
    FinishedDesc,
}

impl BuildOrder {
    /// Sorts `builds` in this order. A listing of several builders by number is by start time.
    /// Ties go to the later builder name, then the higher number (so one index serves the order).
    pub fn sort<B: std::borrow::Borrow<Build>>(self, builds: &mut [B], single_builder: bool) {
        match self {
            Self::NumberDesc if single_builder => builds.sort_by_key(|b| std::cmp::Reverse(b.borrow().number)),
            Self::NumberDesc => builds.sort_by(|a, b| {
                let (a, b) = (a.borrow(), b.borrow());
                b.started.cmp(&a.started).then_with(|| b.builder.cmp(&a.builder)).then(b.number.cmp(&a.number))
            }),
            Self::FinishedDesc => builds.sort_by(|a, b| {
                let (a, b) = (a.borrow(), b.borrow());
                b.finished.cmp(&a.finished).then_with(|| b.builder.cmp(&a.builder)).then(b.number.cmp(&a.number))
            }),
        }
    }
}

/// Builds read shared ([`StatusReader::builds`]) made owned, for code that keeps or changes
/// them: only those still shared elsewhere are copied.
pub fn owned(builds: Vec<Arc<Build>>) -> Vec<Build> {
    builds.into_iter().map(Arc::unwrap_or_clone).collect()
}

/// Which builds to list. Every field narrows; the defaults list everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildQuery {
    /// Only these builders; empty means all.
    pub builders: Vec<String>,
    pub branches: BranchFilter,
    /// Builds whose got_revision or requested revision is this.
    pub revision: Option<String>,
    pub worker: Option<String>,
    /// `Some(true)`: finished only; `Some(false)`: running only.
    pub finished: Option<bool>,
    pub started_after: Option<Timestamp>,
    pub started_before: Option<Timestamp>,
    /// Paging: only builds numbered below this.
    pub before_number: Option<u32>,
    /// Only each builder's this many highest-numbered builds (below `before_number`) are
    /// looked at: a filter that few builds pass (a branch) costs at most this many rows per
    /// builder, not the builder's whole history. Applies to queries naming 1 to
    /// [`SCANNED_BUILDERS`] builders.
    pub scan: Option<usize>,
    pub order: BuildOrder,
    pub limit: usize,
}

/// The most builders a query may name for its [`BuildQuery::scan`] to apply.
pub const SCANNED_BUILDERS: usize = 100;

impl Default for BuildQuery {
    fn default() -> Self {
        Self {
            builders: Vec::new(),
            branches: BranchFilter::default(),
            revision: None,
            worker: None,
            finished: None,
            started_after: None,
            started_before: None,
            before_number: None,
            scan: None,
            order: BuildOrder::NumberDesc,
            limit: 100,
        }
    }
}

impl BuildQuery {
    pub fn of_builder(builder: &str, limit: usize) -> Self {
        Self { builders: vec![builder.to_owned()], limit, ..Self::default() }
    }

    /// Whether `build` passes every filter (paging and order aside).
    pub fn matches(&self, build: &Build) -> bool {
        (self.builders.is_empty() || self.builders.contains(&build.builder))
            && self.branches.matches(build.branch())
            && self.revision.as_ref().is_none_or(|r| build.revision().as_ref() == Some(r))
            && self.worker.as_ref().is_none_or(|w| &build.worker == w)
            && self.finished.is_none_or(|f| f == build.is_finished())
            && (self.order != BuildOrder::FinishedDesc || build.is_finished())
            && self.started_after.is_none_or(|t| build.started >= t)
            && self.started_before.is_none_or(|t| build.started < t)
            && self.before_number.is_none_or(|n| build.number < n)
    }
}

/// Which changes to list, newest (highest number) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeQuery {
    pub branches: BranchFilter,
    /// Paging: only changes numbered below this.
    pub before: Option<u64>,
    pub limit: usize,
}

impl Default for ChangeQuery {
    fn default() -> Self {
        Self { branches: BranchFilter::default(), before: None, limit: 100 }
    }
}

/// One atomic write: the records an event batch changed and the events themselves.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub events: Vec<SequencedEvent>,
    pub mutations: Vec<Mutation>,
    /// The hub's log id counter after this commit.
    pub next_log_id: u64,
    /// Senders' ids of the events applied (see `/api/v1/events`), with the sequence number
    /// each event got: kept so that a repeat is recognised. An id is stored at most once.
    pub receipts: Vec<(String, u64)>,
}

/// Counters the hub resumes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreMeta {
    pub last_seq: u64,
    pub next_log_id: u64,
}

/// Read access to status history. Listings are bounded by their query's `limit`.
#[async_trait]
pub trait StatusReader: Send + Sync {
    /// Builders, in name order (pages apply natural order).
    async fn builders(&self) -> Result<Vec<Builder>, StoreError>;
    /// The builder `name`, if configured. (A reader that keeps builders by name answers
    /// without copying every builder; by default, the one of [`builders`](Self::builders).)
    async fn builder(&self, name: &str) -> Result<Option<Builder>, StoreError> {
        Ok(self.builders().await?.into_iter().find(|b| b.name == name))
    }
    async fn workers(&self) -> Result<Vec<Worker>, StoreError>;
    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError>;
    /// The highest build number started on `builder`.
    async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError>;
    /// The numbers of `builder`'s builds (running or finished), highest first, at most `limit`.
    async fn build_numbers(&self, builder: &str, limit: usize) -> Result<Vec<u32>, StoreError>;
    /// The builds `query` asks for, shared: a reader keeping builds in memory hands out its
    /// own, not copies (a page of 20 builders × 40 builds would otherwise copy 800 builds).
    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Arc<Build>>, StoreError>;
    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError>;
    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError>;
    /// Unclaimed build requests, oldest first; of one builder or all.
    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError>;
    /// The newest `limit` journaled events that are about the system rather than a build
    /// (see [`crate::domain::event::ACTIVITY_KINDS`]), newest first.
    async fn activity(&self, limit: usize) -> Result<Vec<SequencedEvent>, StoreError>;
    /// The buildsets not finished yet, by id, each with its requests still waiting for a
    /// build (see [`OpenBuildset`]).
    async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError>;
    /// One buildset, open or finished (with its result and completion time).
    async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError>;
    /// A builder's state as [`BuilderState::of`] derives it from the stored builder, its
    /// workers and its running builds; `None` for a builder not configured.
    async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError>;
    /// Whether the master is shutting down: the journal's newest `MasterStopping` is newer
    /// than its newest `MasterStarted`.
    async fn master_stopping(&self) -> Result<bool, StoreError>;
}

/// The durable store behind the hub.
#[async_trait]
pub trait StatusStore: StatusReader {
    /// Writes a commit atomically: all of it or, on error, none of it.
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError>;
    async fn meta(&self) -> Result<StoreMeta, StoreError>;
    /// What the hub's state is rebuilt from at start: builders, workers, running builds,
    /// pending requests, open buildsets, each builder's newest build number, the newest
    /// `changes` changes, and the counters. Its cost must not grow with the history.
    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError>;
    /// For each sender's event id, the sequence number it was applied as, if it was.
    async fn receipts(&self, ids: &[String]) -> Result<Vec<Option<u64>>, StoreError>;
    /// Journaled events with `seq > after`, oldest first (log chunks are not journaled).
    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError>;
    /// Bytes the store takes where it keeps its data (`None` when it keeps nothing: memory).
    async fn stored_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}
