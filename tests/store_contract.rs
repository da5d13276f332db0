//! The `StatusStore` contract, run against every implementation: the memory store, SQLite in
//! memory, and SQLite on a file (reopened where it matters).

use std::sync::Arc;

use buildstatus::adapters::memory_store::MemoryStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::domain::event::{Channel, SequencedEvent, StatusEvent};
use buildstatus::domain::model::*;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::state::Mutation;
use buildstatus::domain::web::args::BranchFilter;
use buildstatus::ports::{BuildOrder, BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreMeta};

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).expect("time")
}

async fn stores() -> Vec<(&'static str, Arc<dyn StatusStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(&dir.path().join("s.sqlite")).await.expect("file store");
    vec![
        ("memory", Arc::new(MemoryStore::new()), None),
        ("sqlite-memory", Arc::new(SqliteStore::open_in_memory().await.expect("sqlite")), None),
        ("sqlite-file", Arc::new(file), Some(dir)),
    ]
}

fn build(builder: &str, number: u32, branch: Option<&str>, finished: bool, worker: &str) -> Build {
    Build {
        builder: builder.into(),
        number,
        reason: "test".into(),
        properties: Default::default(),
        sourcestamps: vec![SourceStamp {
            branch: branch.map(str::to_owned),
            revision: Some(format!("rev{number}")),
            ..SourceStamp::default()
        }],
        blamelist: vec![],
        worker: worker.into(),
        started: at(i64::from(number) * 10),
        finished: finished.then(|| at(i64::from(number) * 10 + 5)),
        result: finished.then_some(BuildResult::Success),
        text: vec![],
        steps: vec![],
        eta: None,
    }
}

fn change(number: u64, branch: Option<&str>) -> Change {
    Change {
        number,
        who: "ann".into(),
        files: vec![],
        comments: String::new(),
        revision: Some(format!("c{number}")),
        when: at(number as i64),
        branch: branch.map(str::to_owned),
        category: None,
        revlink: None,
        properties: Default::default(),
        repository: String::new(),
        project: String::new(),
        codebase: String::new(),
    }
}

async fn put(store: &dyn StatusStore, mutations: Vec<Mutation>) {
    store.commit(&Commit { mutations, next_log_id: 1, ..Commit::default() }).await.expect("commit");
}

/// Builders a, b; a has builds 0..10 (0..8 finished; even on main, odd on no branch), b has 0..3.
async fn history(store: &dyn StatusStore) {
    let mut m = vec![
        Mutation::PutBuilder(Builder { name: "a".into(), ..Builder::default() }),
        Mutation::PutBuilder(Builder { name: "b".into(), ..Builder::default() }),
    ];
    for n in 0..10 {
        m.push(Mutation::PutBuild(build(
            "a",
            n,
            (n % 2 == 0).then_some("main"),
            n < 8,
            if n < 5 { "w1" } else { "w2" },
        )));
    }
    for n in 0..3 {
        m.push(Mutation::PutBuild(build("b", n, Some("dev"), true, "w1")));
    }
    put(store, m).await;
}

fn numbers(builds: &[Build]) -> Vec<(String, u32)> {
    builds.iter().map(|b| (b.builder.clone(), b.number)).collect()
}

fn a(ns: &[u32]) -> Vec<(String, u32)> {
    ns.iter().map(|n| ("a".to_owned(), *n)).collect()
}

#[tokio::test]
async fn records_are_read_back_as_written() {
    for (name, store, _dir) in stores().await {
        let worker = Worker { name: "w1".into(), connected: true, ..Worker::default() };
        let user =
            User { uid: 3, identifier: "ann".into(), attributes: [("git".to_owned(), "Ann <a@x>".to_owned())].into() };
        let request = BuildRequest {
            id: 9,
            buildset_id: Some(1),
            builder: "a".into(),
            submitted_at: at(1),
            reason: "r".into(),
            properties: Default::default(),
            sourcestamps: vec![],
        };
        let set = Buildset {
            id: 1,
            reason: "r".into(),
            external_id: None,
            submitted_at: at(0),
            sourcestamps: vec![],
            builders: vec!["a".into()],
            complete_at: None,
            result: None,
        };
        put(
            store.as_ref(),
            vec![
                Mutation::PutBuilder(Builder { name: "a".into(), tags: vec!["t".into()], ..Builder::default() }),
                Mutation::PutWorker(worker.clone()),
                Mutation::PutChange(change(1, Some("main"))),
                Mutation::PutBuild(build("a", 0, Some("main"), true, "w1")),
                Mutation::PutRequest(request.clone()),
                Mutation::PutBuildset(set.clone()),
                Mutation::PutUser(user.clone()),
            ],
        )
        .await;
        assert_eq!(store.builders().await.expect("builders")[0].tags, ["t"], "{name}");
        assert_eq!(store.workers().await.expect("workers"), [worker], "{name}");
        assert_eq!(store.change(1).await.expect("change"), Some(change(1, Some("main"))), "{name}");
        assert_eq!(store.build("a", 0).await.expect("build"), Some(build("a", 0, Some("main"), true, "w1")), "{name}");
        assert_eq!(store.build("a", 1).await.expect("build"), None, "{name}");
        assert_eq!(store.pending_requests(Some("a")).await.expect("requests"), [request], "{name}");
        assert!(store.pending_requests(Some("b")).await.expect("requests").is_empty(), "{name}");
        assert_eq!(store.users().await.expect("users"), std::slice::from_ref(&user), "{name}");
        assert_eq!(store.user(3).await.expect("user"), Some(user), "{name}");
        assert_eq!(store.snapshot(5).await.expect("snapshot").buildsets, [set], "{name}");
        put(store.as_ref(), vec![Mutation::RemoveRequest(9), Mutation::RemoveBuilder("a".into())]).await;
        assert!(store.pending_requests(None).await.expect("requests").is_empty(), "{name}");
        assert!(store.builders().await.expect("builders").is_empty(), "{name}");
        assert!(store.build("a", 0).await.expect("build").is_some(), "{name}: a removed builder's builds stay");
    }
}

#[tokio::test]
async fn build_listings_honour_every_filter() {
    for (name, store, _dir) in stores().await {
        history(store.as_ref()).await;
        let q = |f: &dyn Fn(&mut BuildQuery)| {
            let mut q = BuildQuery::of_builder("a", 100);
            f(&mut q);
            q
        };
        let cases: Vec<(BuildQuery, Vec<(String, u32)>)> = vec![
            (q(&|_| {}), a(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0])),
            (q(&|q| q.limit = 3), a(&[9, 8, 7])),
            (q(&|q| q.finished = Some(true)), a(&[7, 6, 5, 4, 3, 2, 1, 0])),
            (q(&|q| q.finished = Some(false)), a(&[9, 8])),
            (q(&|q| q.branches = BranchFilter(vec!["main".into()])), a(&[8, 6, 4, 2, 0])),
            (q(&|q| q.branches = BranchFilter(vec!["trunk".into()])), a(&[9, 7, 5, 3, 1])),
            (q(&|q| q.revision = Some("rev4".into())), a(&[4])),
            (q(&|q| q.worker = Some("w2".into())), a(&[9, 8, 7, 6, 5])),
            (q(&|q| q.started_after = Some(at(30))), a(&[9, 8, 7, 6, 5, 4, 3])),
            (q(&|q| q.started_before = Some(at(30))), a(&[2, 1, 0])),
            (q(&|q| q.before_number = Some(3)), a(&[2, 1, 0])),
        ];
        for (query, expected) in cases {
            assert_eq!(numbers(&store.builds(&query).await.expect("builds")), expected, "{name}: {query:?}");
        }
        let recent = BuildQuery { order: BuildOrder::FinishedDesc, limit: 4, ..BuildQuery::default() };
        let expected = vec![("a".into(), 7), ("a".into(), 6), ("a".into(), 5), ("a".into(), 4)];
        assert_eq!(numbers(&store.builds(&recent).await.expect("builds")), expected, "{name}");
        let both = BuildQuery { builders: vec!["b".into()], order: BuildOrder::FinishedDesc, ..BuildQuery::default() };
        assert_eq!(numbers(&store.builds(&both).await.expect("builds")).len(), 3, "{name}");
        assert_eq!(store.newest_build_number("a").await.expect("newest"), Some(9), "{name}");
        assert_eq!(store.newest_build_number("zz").await.expect("newest"), None, "{name}");
    }
}

#[tokio::test]
async fn change_listings_filter_by_branch_and_page_back() {
    for (name, store, _dir) in stores().await {
        let m = (1..=6).map(|n| Mutation::PutChange(change(n, if n % 2 == 0 { Some("main") } else { None }))).collect();
        put(store.as_ref(), m).await;
        let list = |q: ChangeQuery| {
            let store = store.clone();
            async move { store.changes(&q).await.expect("changes").iter().map(|c| c.number).collect::<Vec<_>>() }
        };
        assert_eq!(list(ChangeQuery { limit: 3, ..ChangeQuery::default() }).await, [6, 5, 4], "{name}");
        assert_eq!(list(ChangeQuery { before: Some(3), ..ChangeQuery::default() }).await, [2, 1], "{name}");
        let main = ChangeQuery { branches: BranchFilter(vec!["main".into()]), ..ChangeQuery::default() };
        assert_eq!(list(main).await, [6, 4, 2], "{name}");
        let trunk = ChangeQuery { branches: BranchFilter(vec!["trunk".into()]), ..ChangeQuery::default() };
        assert_eq!(list(trunk).await, [5, 3, 1], "{name}");
    }
}

#[tokio::test]
async fn snapshots_hold_the_window_and_the_counters() {
    for (name, store, _dir) in stores().await {
        history(store.as_ref()).await;
        let event = |seq, event| SequencedEvent { seq, event };
        let chunk = StatusEvent::LogChunk {
            builder: "a".into(),
            number: 9,
            step: 0,
            log: "stdio".into(),
            channel: Channel::Stdout,
            text: "x".into(),
        };
        let commit = Commit {
            events: vec![
                event(1, StatusEvent::Reconfigured { at: at(0) }),
                event(2, chunk),
                event(3, StatusEvent::MasterStarted { at: at(1) }),
            ],
            mutations: vec![Mutation::PutChange(change(4, None))],
            next_log_id: 42,
        };
        store.commit(&commit).await.expect("commit");
        assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 3, next_log_id: 42 }, "{name}");
        let journal: Vec<u64> = store.events_after(0, 10).await.expect("events").iter().map(|e| e.seq).collect();
        assert_eq!(journal, [1, 3], "{name}: log chunks are not journaled");
        assert_eq!(store.events_after(1, 10).await.expect("events").len(), 1, "{name}");
        let snapshot = store.snapshot(3).await.expect("snapshot");
        let mut newest = snapshot.newest.clone();
        newest.sort();
        assert_eq!(newest, [("a".to_owned(), 9), ("b".to_owned(), 2)], "{name}: each builder's newest number");
        let changes: Vec<u64> = snapshot.changes.iter().map(|c| c.number).collect();
        assert_eq!(changes, [4], "{name}");
        let mut running = numbers(&snapshot.running);
        running.sort();
        assert_eq!(running, a(&[8, 9]), "{name}");
        assert_eq!((snapshot.last_change, snapshot.next_log_id), (4, 42), "{name}");
    }
}

#[tokio::test]
async fn a_file_store_keeps_everything_across_a_reopen_and_a_failed_commit_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    {
        let store = SqliteStore::open(&path).await.expect("open");
        history(&store).await;
        // Ids beyond what SQLite can hold make the commit fail half-way: none of it may stay.
        let bad = Commit {
            mutations: vec![Mutation::PutChange(change(50, None)), Mutation::PutChange(change(u64::MAX, None))],
            next_log_id: 7,
            ..Commit::default()
        };
        assert!(store.commit(&bad).await.is_err());
        assert_eq!(store.change(50).await.expect("change"), None, "the failed commit's first part was rolled back");
        assert_eq!(store.meta().await.expect("meta").next_log_id, 1);
    }
    let reopened = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(reopened.builds(&BuildQuery::of_builder("a", 100)).await.expect("builds").len(), 10);
    assert_eq!(reopened.builders().await.expect("builders").len(), 2);
}

#[tokio::test]
async fn every_page_query_uses_an_index() {
    let store = SqliteStore::open_in_memory().await.expect("store");
    let queries = [
        "SELECT data FROM builds WHERE builder = 'a' AND number = 3",
        "SELECT data FROM builds WHERE builder IN ('a') AND finished IS NOT NULL ORDER BY number DESC LIMIT 5",
        "SELECT data FROM builds WHERE finished IS NOT NULL ORDER BY finished DESC, builder DESC, number DESC LIMIT 20",
        "SELECT data FROM builds ORDER BY started DESC, builder DESC, number DESC LIMIT 20",
        "SELECT data FROM builds WHERE worker = 'w' AND finished IS NOT NULL ORDER BY finished DESC, builder DESC, number DESC LIMIT 10",
        "SELECT data FROM builds WHERE revision = 'abc'",
        "SELECT data FROM builds WHERE finished IS NULL",
        "SELECT MAX(number) FROM builds WHERE builder = 'a'",
        "SELECT data FROM changes WHERE number < 10 ORDER BY number DESC LIMIT 5",
        "SELECT data FROM requests WHERE builder = 'a' ORDER BY submitted, id",
    ];
    for sql in queries {
        let plan = store.explain(sql).await.expect("plan");
        // A bare `SCAN table` reads every row; `SCAN table USING INDEX` walks an index in order.
        let full_scan = plan.iter().any(|step| step.starts_with("SCAN") && !step.contains("USING"));
        assert!(!full_scan, "{sql} reads the whole table: {plan:?}");
        assert!(!plan.iter().any(|s| s.contains("TEMP B-TREE")), "{sql} sorts instead of using an index: {plan:?}");
    }
}
