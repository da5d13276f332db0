//! The hub: pages read the same from its memory window as from the store, a batch is all or
//! nothing, and every stored event is published with its number, in order.
use crate::common;

use crate::common::{record_fixture, whole_build};
use buildstatus::adapters::memory::{MemoryBus, MemoryLogStore};
use buildstatus::adapters::postgres::PgStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::app::Hub;
use buildstatus::app::{Setup, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::web::args::BranchFilter;
use buildstatus::ports::{
    BuildOrder, BuildQuery, ChangeQuery, SinkError, StatusReader, StatusSink, StatusStore, owned,
};
use futures_util::StreamExt;
use std::sync::Arc;

async fn server(window: usize) -> StatusServer {
    let server = StatusServer::start(Setup { window, ..Setup::default() }).await.expect("server");
    record_fixture(&server.sink()).await;
    let sink = server.sink();
    for n in 5..25 {
        let result = BuildResult::ALL[n as usize % 7];
        let branch = if n % 3 == 0 { "release" } else { "main" };
        sink.record_all(whole_build("linux", n, 50 + 5 * i64::from(n), branch, result, Some(1))).await.expect("build");
    }
    server
}

#[tokio::test]
async fn the_memory_window_answers_exactly_what_the_store_answers() {
    let (small, large) = (server(2).await, server(1000).await);
    let mut queries = vec![
        BuildQuery::of_builder("linux", 5),
        BuildQuery::of_builder("linux", 30),
        BuildQuery { finished: Some(true), ..BuildQuery::of_builder("linux", 12) },
        BuildQuery { finished: Some(false), limit: 50, ..BuildQuery::default() },
        BuildQuery { order: BuildOrder::FinishedDesc, limit: 20, ..BuildQuery::default() },
        BuildQuery { branches: BranchFilter(vec!["release".into()]), ..BuildQuery::of_builder("linux", 4) },
        BuildQuery { before_number: Some(10), ..BuildQuery::of_builder("linux", 3) },
        BuildQuery { worker: Some("w1".into()), order: BuildOrder::FinishedDesc, limit: 7, ..BuildQuery::default() },
    ];
    queries.push(BuildQuery { builders: vec!["gone".into()], ..BuildQuery::default() });
    for q in &queries {
        let a = owned(small.reader().builds(q).await.expect("small window"));
        let b = owned(large.reader().builds(q).await.expect("large window"));
        let key = |v: &[buildstatus::domain::model::Build]| {
            v.iter().map(|b| (b.builder.clone(), b.number)).collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b), "{q:?}");
    }
    for q in
        [ChangeQuery { limit: 2, ..ChangeQuery::default() }, ChangeQuery { before: Some(3), ..ChangeQuery::default() }]
    {
        assert_eq!(
            small.reader().changes(&q).await.expect("changes"),
            large.reader().changes(&q).await.expect("changes")
        );
    }
    assert_eq!(
        small.reader().build("linux", 3).await.expect("deep build"),
        large.reader().build("linux", 3).await.expect("deep build")
    );
}

#[tokio::test]
async fn a_batch_with_a_bad_event_changes_nothing() {
    let server = server(10).await;
    let before = server.hub().last_seq();
    let mut batch = whole_build("linux", 100, 900, "main", BuildResult::Success, None);
    batch.push(StatusEvent::BuilderRemoved { name: "no-such-builder".into() });
    let err = server.sink().record_all(batch).await.expect_err("rejected");
    assert!(matches!(err, SinkError::Rejected(_)), "{err}");
    assert_eq!(err.to_string(), "event rejected: unknown builder 'no-such-builder'");
    assert_eq!(server.hub().last_seq(), before);
    assert_eq!(server.reader().build("linux", 100).await.expect("read"), None, "no part of the batch was applied");
    server
        .sink()
        .record_all(whole_build("linux", 100, 900, "main", BuildResult::Success, None))
        .await
        .expect("now it is valid");
}

#[tokio::test]
async fn stored_events_are_published_in_order_with_their_numbers() {
    let server = StatusServer::start(Setup::default()).await.expect("server");
    let mut events = server.hub().subscribe(0);
    record_fixture(&server.sink()).await;
    let last = server.hub().last_seq();
    let mut seen = Vec::new();
    while seen.len() < last as usize {
        seen.push(events.next().await.expect("an event").expect("not lagged").seq);
    }
    assert_eq!(seen, (1..=last).collect::<Vec<_>>());
    let mut late = server.hub().subscribe(last - 2);
    assert_eq!(
        late.next().await.expect("event").expect("held").seq,
        last - 1,
        "a late subscriber resumes after its number"
    );
}

#[tokio::test]
async fn numbering_and_history_resume_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = || Setup { storage: Storage::Directory(dir.path().to_path_buf()), ..Setup::default() };
    let last = {
        let server = StatusServer::start(setup()).await.expect("server");
        record_fixture(&server.sink()).await;
        server.hub().last_seq()
    };
    let server = StatusServer::start(setup()).await.expect("restart");
    assert_eq!(server.hub().last_seq(), last);
    let running =
        server.reader().builds(&BuildQuery { finished: Some(false), ..BuildQuery::default() }).await.expect("read");
    assert_eq!(running.len(), 1, "the running build is still running");
    let seq = server.sink().record(StatusEvent::MasterStarted { at: common::at(99) }).await.expect("record");
    assert_eq!(seq, last + 1);
    // Log ids keep counting: a new log does not reuse an old one's content.
    let sink = server.sink();
    sink.record_all(whole_build("linux", 50, 500, "main", BuildResult::Success, None)).await.expect("build");
    let build = server.reader().build("linux", 50).await.expect("read").expect("build");
    let old = server.reader().build("linux", 0).await.expect("read").expect("build");
    assert!(build.steps[0].logs[0].id > old.steps[1].logs[0].id);
}

#[tokio::test]
async fn lost_log_content_is_reported_and_numbering_goes_on() {
    use buildstatus::adapters::logs::DiskLogStore;
    use buildstatus::adapters::memory::MemoryBus;
    use buildstatus::adapters::memory::MemoryStore;
    use buildstatus::app::Hub;
    use std::sync::Arc;

    let dir = tempfile::tempdir().expect("tempdir");
    let logs = DiskLogStore::open(dir.path().join("logs")).await.expect("log store");
    // Logs 0..999 live in logs/0/: a file there makes every append fail, as a full or broken disk would.
    std::fs::write(dir.path().join("logs").join("0"), "not a directory").expect("write");
    let hub =
        Hub::open(Arc::new(MemoryStore::new()), Arc::new(logs), Arc::new(MemoryBus::default()), 10).await.expect("hub");
    let mut events = whole_build("linux", 0, 0, "main", BuildResult::Success, None);
    events.insert(
        0,
        StatusEvent::BuilderAdded {
            builder: buildstatus::domain::model::Builder { name: "linux".into(), ..Default::default() },
        },
    );
    // A batch bringing a log whole writes it before its commit: it cannot, so nothing of the
    // batch is stored (a crash between the two would otherwise leave the build without it).
    let before = hub.last_seq();
    let err = hub.record_all(events.clone()).await.expect_err("the log content cannot be written");
    assert!(matches!(err, SinkError::Storage(_)), "refused whole, got {err}");
    assert_eq!(hub.last_seq(), before, "no number was taken");
    assert!(hub.build("linux", 0).await.expect("read").is_none(), "nothing of the batch was stored");

    // A log begun in an earlier batch grows after the commit: its lost content is reported,
    // and the events stay stored with their numbers.
    let first_chunk = events.iter().position(|e| matches!(e, StatusEvent::LogChunk { .. })).expect("a chunk");
    let step_done = events.iter().position(|e| matches!(e, StatusEvent::StepFinished { .. })).expect("a step");
    let begun = events[..first_chunk].to_vec();
    let grown = events[first_chunk..=step_done].to_vec();
    hub.record_all(begun).await.expect("the build and its log begin");
    let err = hub.record_all(grown).await.expect_err("the log content cannot be written");
    let SinkError::LogContent { seq, .. } = err else { panic!("expected lost log content, got {err}") };
    assert_eq!(hub.last_seq(), seq, "the stored events keep their numbers");
    let stored = hub.build("linux", 0).await.expect("read").expect("the build was stored");
    assert!(stored.steps[0].finished.is_some(), "with its step's end");
    let next = hub.record(StatusEvent::MasterStarted { at: common::at(5) }).await.expect("the hub goes on");
    assert_eq!(next, seq + 1);
}

#[tokio::test]
async fn history_is_recorded_with_its_logs_or_not_at_all() {
    use buildstatus::adapters::logs::DiskLogStore;
    use buildstatus::adapters::memory::MemoryBus;
    use buildstatus::adapters::memory::MemoryStore;
    use buildstatus::app::Hub;
    use buildstatus::ports::LogStore;
    use std::sync::Arc;

    let dir = tempfile::tempdir().expect("tempdir");
    let logs: Arc<dyn LogStore> = Arc::new(DiskLogStore::open(dir.path().join("logs")).await.expect("log store"));
    let blocker = dir.path().join("logs").join("0");
    std::fs::write(&blocker, "not a directory").expect("write");
    let hub =
        Hub::open(Arc::new(MemoryStore::new()), logs.clone(), Arc::new(MemoryBus::default()), 10).await.expect("hub");
    let builder = buildstatus::domain::model::Builder { name: "linux".into(), ..Default::default() };
    hub.record_history(vec![StatusEvent::BuilderAdded { builder }]).await.expect("builder");
    let history = whole_build("linux", 3, 0, "main", BuildResult::Success, None);
    let err = hub.record_history(history.clone()).await.expect_err("the logs cannot be written");
    assert!(matches!(err, SinkError::Storage(_)), "{err}");
    assert!(hub.build("linux", 3).await.expect("read").is_none(), "no build without its logs");
    // The disk is mended: the same history goes in whole, as a re-run of an import would.
    std::fs::remove_file(&blocker).expect("remove");
    hub.record_history(history).await.expect("recorded");
    let build = hub.build("linux", 3).await.expect("read").expect("the build");
    let log = &build.steps[0].logs[0];
    let size = logs.size(log.id).await.expect("size");
    assert!(size.total > 0 && size.total == log.size, "the log's content is there: {size:?} vs {log:?}");
    assert_eq!(hub.last_seq(), 0, "history is not journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_each_gets_its_own_answer() {
    use buildstatus::domain::model::Worker;
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = || Setup { storage: Storage::Directory(dir.path().to_path_buf()), ..Setup::default() };
    let server = StatusServer::start(setup()).await.expect("server");
    record_fixture(&server.sink()).await;
    let before = server.hub().last_seq();
    let mut published = server.hub().subscribe(before);
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let sink = server.sink();
        tasks.push(tokio::spawn(async move {
            let worker = Worker { name: format!("w-{n}"), ..Worker::default() };
            let mut events = vec![StatusEvent::WorkerConnected { worker, at: common::at(60) }];
            // Every fourth submission ends with an event that contradicts what is known: the
            // whole submission is refused, its worker included.
            if n % 4 == 3 {
                events.push(StatusEvent::WorkerDisconnected { name: "never-seen".into(), at: common::at(61) });
            }
            (n, sink.record_all(events).await)
        }));
    }
    let mut answered = Vec::new();
    for task in tasks {
        let (n, result) = task.await.expect("task");
        match result {
            Ok(seq) => answered.push((n, seq)),
            Err(SinkError::Rejected(_)) => assert_eq!(n % 4, 3, "only the bad submissions are refused"),
            Err(e) => panic!("submission {n}: {e}"),
        }
    }
    assert_eq!(answered.len(), 30);
    let last = server.hub().last_seq();
    assert_eq!(last, before + 30, "refused submissions took no numbers");
    let mut seen = Vec::new();
    while seen.last() != Some(&last) {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), published.next()).await;
        seen.push(event.expect("in time").expect("more").expect("no gap").seq);
    }
    assert_eq!(seen, (before + 1..=last).collect::<Vec<_>>(), "published once each, in order");
    let mut seqs: Vec<u64> = answered.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, seen, "each submission is answered with its own number");
    drop(server);
    let again = StatusServer::start(setup()).await.expect("restart");
    assert_eq!(again.hub().last_seq(), last, "everything answered was stored");
    let workers = again.reader().workers().await.expect("read");
    for n in 0..40u32 {
        let stored = workers.iter().any(|w| w.name == format!("w-{n}"));
        assert_eq!(stored, n % 4 != 3, "worker w-{n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_id_sent_many_times_at_once_is_applied_once() {
    use buildstatus::domain::model::Worker;
    use buildstatus::ports::IngestSink;
    let server = StatusServer::start(Setup::default()).await.expect("server");
    let before = server.hub().last_seq();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let hub = server.hub().clone();
        tasks.push(tokio::spawn(async move {
            let worker = Worker { name: "w9".into(), ..Worker::default() };
            let event = StatusEvent::WorkerConnected { worker, at: common::at(1) };
            hub.record_once(vec![(Some("sender-1".into()), event)]).await.expect("recorded")
        }));
    }
    let mut applied = 0;
    for task in tasks {
        let receipt = task.await.expect("task");
        applied += receipt.applied;
        assert_eq!(receipt.applied + receipt.repeated, 1);
    }
    assert_eq!(applied, 1, "one request applied it; the others were told it was a repeat");
    assert_eq!(server.hub().last_seq(), before + 1);
}

/// A store whose commits wait at a gate and then fail: what a locked or broken database does.
struct FailingStore {
    inner: buildstatus::adapters::memory::MemoryStore,
    gate: tokio::sync::Semaphore,
}

mod failing_store {
    use async_trait::async_trait;
    use buildstatus::domain::event::SequencedEvent;
    use buildstatus::domain::model::{
        Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker,
    };
    use buildstatus::domain::state::Snapshot;
    use buildstatus::ports::{BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta};

    use super::FailingStore;

    #[async_trait]
    impl StatusReader for FailingStore {
        async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
            self.inner.builders().await
        }
        async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
            self.inner.workers().await
        }
        async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
            self.inner.build(builder, number).await
        }
        async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError> {
            self.inner.newest_build_number(builder).await
        }
        async fn build_numbers(&self, builder: &str, limit: usize) -> Result<Vec<u32>, StoreError> {
            self.inner.build_numbers(builder, limit).await
        }
        async fn builds(&self, query: &BuildQuery) -> Result<Vec<std::sync::Arc<Build>>, StoreError> {
            self.inner.builds(query).await
        }
        async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
            self.inner.change(number).await
        }
        async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
            self.inner.changes(query).await
        }
        async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
            self.inner.pending_requests(builder).await
        }
        async fn users(&self) -> Result<Vec<User>, StoreError> {
            self.inner.users().await
        }
        async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
            self.inner.user(uid).await
        }
        async fn activity(&self, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
            self.inner.activity(limit).await
        }
        async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError> {
            self.inner.open_buildsets().await
        }
        async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError> {
            self.inner.buildset(id).await
        }
        async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError> {
            self.inner.builder_state(builder).await
        }
        async fn master_stopping(&self) -> Result<bool, StoreError> {
            self.inner.master_stopping().await
        }
    }

    #[async_trait]
    impl StatusStore for FailingStore {
        async fn commit(&self, _commit: &Commit) -> Result<(), StoreError> {
            let _ = self.gate.acquire().await.map(|p| p.forget());
            Err(StoreError::database("database is locked"))
        }
        async fn meta(&self) -> Result<StoreMeta, StoreError> {
            self.inner.meta().await
        }
        async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
            self.inner.snapshot(changes).await
        }
        async fn receipts(&self, ids: &[String]) -> Result<Vec<Option<u64>>, StoreError> {
            self.inner.receipts(ids).await
        }
        async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
            self.inner.events_after(after, limit).await
        }
    }
}

/// A sender's retry that lands in the same round as its first try is answered with that
/// round's commit: when the commit fails, both hear it, and the retry is not told "done".
#[tokio::test]
async fn a_repeat_waits_for_the_commit_of_the_round_that_applies_it() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::Poll;

    use buildstatus::adapters::memory::MemoryBus;
    use buildstatus::adapters::memory::MemoryLogStore;
    use buildstatus::domain::model::Builder;
    use buildstatus::ports::{IngestSink, Receipt};

    type Answer = Pin<Box<dyn Future<Output = Result<Receipt, SinkError>> + Send>>;
    async fn poll_once(f: &mut Answer) -> Poll<Result<Receipt, SinkError>> {
        std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await
    }

    let store = Arc::new(FailingStore {
        inner: buildstatus::adapters::memory::MemoryStore::new(),
        gate: tokio::sync::Semaphore::new(0),
    });
    let hub = buildstatus::app::Hub::open(
        store.clone(),
        Arc::new(MemoryLogStore::new()),
        Arc::new(MemoryBus::new(64, 1 << 20)),
        5,
    )
    .await
    .expect("hub");
    let post = |id: &str, name: &str| -> Answer {
        let hub = hub.clone();
        let event = StatusEvent::BuilderAdded { builder: Builder { name: name.into(), ..Builder::default() } };
        let id = id.to_owned();
        Box::pin(async move { hub.record_once(vec![(Some(id), event)]).await })
    };
    // A first round holds the writer at its commit...
    let mut first = post("other", "a");
    assert!(poll_once(&mut first).await.is_pending());
    tokio::task::yield_now().await;
    // ...while a try and its retry queue up for the next round.
    let (mut try_, mut retry) = (post("x", "b"), post("x", "b"));
    assert!(poll_once(&mut try_).await.is_pending());
    assert!(poll_once(&mut retry).await.is_pending());
    store.gate.add_permits(2);
    assert!(matches!(first.await, Err(SinkError::Storage(_))));
    assert!(matches!(try_.await, Err(SinkError::Storage(_))), "the try's commit failed");
    let retried = retry.await;
    assert!(matches!(retried, Err(SinkError::Storage(_))), "the retry is told the same: {retried:?}");
}

/// A hub over `store`, as a server opens one: opening another is a restart.
async fn hub_on(store: &Arc<dyn StatusStore>) -> Arc<Hub> {
    let bus = Arc::new(MemoryBus::new(256, 1 << 20));
    Hub::open(store.clone(), Arc::new(MemoryLogStore::new()), bus, 10).await.expect("hub")
}

/// The kinds of the journaled events after `after`, with the state a builder state carries.
async fn journal_after(hub: &Hub, after: u64) -> Vec<(u64, String)> {
    let mut follow = buildstatus::ports::EventFeed::follow(hub, after);
    let mut out = Vec::new();
    while out.last().is_none_or(|(seq, _)| *seq < hub.last_seq()) {
        let e = follow.next().await.expect("an event").expect("readable");
        let kind = match &e.event {
            StatusEvent::BuilderStateChanged { name, state } => format!("{name} {}", state.name()),
            other => other.kind().to_owned(),
        };
        out.push((e.seq, kind));
    }
    out
}

/// A builder's state is derived, journaled right after the event that changed it (in its
/// commit, numbered next), published in that order, and kept across a restart; a sender's
/// own report of it is acknowledged but neither journaled nor published.
#[tokio::test]
async fn builder_states_are_derived_and_journaled_right_after_their_cause() {
    for store in stores().await {
        builder_states_on(store).await;
    }
}

/// SQLite's store and PostgreSQL's, each empty: what the hub's own tests run on.
async fn stores() -> [Arc<dyn StatusStore>; 2] {
    [
        Arc::new(SqliteStore::open_in_memory().await.expect("sqlite")),
        Arc::new(PgStore::open(&common::postgres::database()).await.expect("postgres")),
    ]
}

async fn builder_states_on(store: Arc<dyn StatusStore>) {
    use buildstatus::domain::model::{Builder, BuilderState, Worker};
    let hub = hub_on(&store).await;
    let mut live = hub.subscribe(0);
    let builder = Builder { name: "arm".into(), workers: vec!["pi".into()], ..Builder::default() };
    let worker = Worker { name: "pi".into(), ..Worker::default() };
    let mut batch = vec![
        StatusEvent::BuilderAdded { builder },
        // 0.8 says `building` before the build starts: a claim, not news.
        StatusEvent::BuilderStateChanged { name: "arm".into(), state: BuilderState::Building },
        StatusEvent::WorkerConnected { worker, at: common::at(0) },
    ];
    batch.extend(whole_build("arm", 0, 1, "main", BuildResult::Success, None));
    let last = hub.record_all(batch).await.expect("recorded");
    let journal = journal_after(&hub, 0).await;
    let kinds: Vec<&str> = journal.iter().map(|(_, k)| k.as_str()).filter(|k| !k.starts_with("log_")).collect();
    assert_eq!(
        kinds,
        [
            "builder_added",
            "arm offline",
            "worker_connected",
            "arm idle",
            "build_started",
            "arm building",
            "step_started",
            "step_finished",
            "step_started",
            "step_finished",
            "build_finished",
            "arm idle",
        ]
    );
    let seqs: Vec<u64> = journal.iter().map(|(s, _)| *s).collect();
    assert_eq!(last, *seqs.last().expect("events"), "the batch's answer is its last journaled event");
    // Numbers are consecutive but for the log chunks (numbered, not journaled).
    let numbered = 1..=last;
    let chunks = 6;
    assert_eq!(seqs.len() + chunks, numbered.count(), "{journal:?}");
    let mut published = Vec::new();
    while published.len() < last as usize - chunks {
        let e = live.next().await.expect("an event").expect("not lagged");
        if !matches!(e.event, StatusEvent::LogChunk { .. }) {
            published.push(e.seq);
        }
    }
    assert_eq!(published, seqs, "published in the journal's order");

    // A claim alone is acknowledged with the newest number, and changes nothing.
    let claim = StatusEvent::BuilderStateChanged { name: "arm".into(), state: BuilderState::Offline };
    assert_eq!(hub.record(claim).await.expect("acknowledged"), last);
    let hub = hub_on(&store).await;
    let seq = hub.record(StatusEvent::WorkerPaused { name: "pi".into() }).await.expect("recorded");
    assert_eq!(seq, last + 1, "paused, still idle: no state announced again after the restart");
    let gone = StatusEvent::WorkerDisconnected { name: "pi".into(), at: common::at(9) };
    let seq = hub.record(gone).await.expect("recorded");
    assert_eq!(
        journal_after(&hub, last + 1).await,
        [(last + 2, "worker_disconnected".into()), (seq, "arm offline".into())]
    );
}

/// What a notifier asks (open buildsets and their requests, a builder's state, whether the
/// master is stopping), the hub answers from memory exactly as its store does, before and
/// after a restart.
#[tokio::test]
async fn the_hub_answers_a_notifiers_queries_as_its_store_does() {
    for store in stores().await {
        notifiers_queries_on(store).await;
    }
}

async fn notifiers_queries_on(store: Arc<dyn StatusStore>) {
    use buildstatus::domain::model::{BuildRequest, Builder, Buildset, Worker};

    let hub = hub_on(&store).await;
    let builder = |name: &str, workers: &[&str]| StatusEvent::BuilderAdded {
        builder: Builder {
            name: name.into(),
            workers: workers.iter().map(|w| w.to_string()).collect(),
            ..Builder::default()
        },
    };
    let request = |id: u64, buildset: u64, builder: &str| StatusEvent::BuildRequestSubmitted {
        request: BuildRequest {
            id,
            buildset_id: Some(buildset),
            builder: builder.into(),
            submitted_at: common::at(id as i64),
            reason: "push".into(),
            properties: Default::default(),
            sourcestamps: vec![],
        },
    };
    let buildset = |id: u64| StatusEvent::BuildsetSubmitted {
        buildset: Buildset {
            id,
            reason: "push".into(),
            external_id: None,
            submitted_at: common::at(0),
            sourcestamps: vec![],
            builders: vec!["x".into(), "y".into()],
            complete_at: None,
            result: None,
        },
    };
    let mut events = vec![
        builder("x", &["w1"]),
        builder("y", &["w2"]),
        StatusEvent::WorkerConnected { worker: Worker { name: "w1".into(), ..Worker::default() }, at: common::at(0) },
        buildset(1),
        request(1, 1, "x"),
        request(2, 1, "y"),
        buildset(2),
        request(3, 2, "y"),
    ];
    let mut started = whole_build("x", 0, 1, "main", BuildResult::Success, None);
    started.truncate(1);
    if let StatusEvent::BuildStarted { requests, .. } = &mut started[0] {
        requests.push(1);
    }
    events.extend(started);
    events.push(StatusEvent::MasterStopping { at: common::at(2) });
    hub.record_all(events).await.expect("recorded");

    for hub in [hub, hub_on(&store).await] {
        let open_sets = hub.open_buildsets().await.expect("hub");
        assert_eq!(open_sets, store.open_buildsets().await.expect("store"));
        let shape: Vec<(u64, Vec<u64>)> =
            open_sets.iter().map(|o| (o.buildset.id, o.requests.iter().map(|r| r.id).collect())).collect();
        assert_eq!(shape, [(1, vec![2]), (2, vec![3])], "request 1 became build x #0");
        for name in ["x", "y", "z"] {
            assert_eq!(hub.builder_state(name).await.expect("hub"), store.builder_state(name).await.expect("store"));
        }
        assert_eq!(hub.builder_state("x").await.expect("x"), Some(buildstatus::domain::model::BuilderState::Building));
        assert!(hub.master_stopping().await.expect("hub") && store.master_stopping().await.expect("store"));
    }
    let hub = hub_on(&store).await;
    hub.record(StatusEvent::MasterStarted { at: common::at(3) }).await.expect("recorded");
    assert!(!hub.master_stopping().await.expect("hub") && !store.master_stopping().await.expect("store"));
    // One buildset by id (the PB clients): open from memory, finished from the store; the
    // build that claimed request 1 noted its buildset, kept across a restart.
    let finished = StatusEvent::BuildsetFinished { id: 2, result: BuildResult::Failure, at: common::at(4) };
    hub.record(finished).await.expect("recorded");
    for hub in [hub, hub_on(&store).await] {
        for id in [1, 2, 3] {
            assert_eq!(hub.buildset(id).await.expect("hub"), store.buildset(id).await.expect("store"), "{id}");
        }
        assert_eq!(hub.buildset(1).await.expect("hub").map(|s| s.complete_at), Some(None));
        assert_eq!(hub.buildset(2).await.expect("hub").and_then(|s| s.result), Some(BuildResult::Failure));
        assert_eq!(hub.build("x", 0).await.expect("hub").expect("build").buildsets, [1]);
    }
}
