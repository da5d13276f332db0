//! The `StatusStore` contract, run against every implementation: the memory store (the
//! reference), SQLite in memory, SQLite on a file in a temporary directory, and PostgreSQL
//! (a database of its own on the tests' server, `common::postgres`). The last tests
//! are SQLite's own: roll-back of a half-done commit, reopening, corrupt records, migration of
//! an older database, and the query plans on a history of 20,000 builds.

use std::sync::Arc;

use crate::common::postgres;

use buildstatus::adapters::memory::MemoryStore;
use buildstatus::adapters::postgres::PgStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::domain::event::{ACTIVITY_KINDS, Channel, SequencedEvent, StatusEvent};
use buildstatus::domain::model::*;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::state::Mutation;
use buildstatus::domain::web::args::BranchFilter;
use buildstatus::ports::{
    BuildOrder, BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta, owned,
};

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).expect("time")
}

/// Every store, named, with the directory that must outlive a file store.
async fn stores() -> Vec<(&'static str, Arc<dyn StatusStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(&dir.path().join("s.sqlite")).await.expect("file store");
    vec![
        ("memory", Arc::new(MemoryStore::new()), None),
        ("sqlite-memory", Arc::new(SqliteStore::open_in_memory().await.expect("sqlite")), None),
        ("sqlite-file", Arc::new(file), Some(dir)),
        ("postgres", Arc::new(PgStore::open(&postgres::database()).await.expect("postgres store")), None),
    ]
}

fn build(builder: &str, number: u32, started: i64, finished: Option<i64>) -> Build {
    Build {
        builder: builder.into(),
        number,
        reason: "test".into(),
        properties: Default::default(),
        sourcestamps: vec![SourceStamp { revision: Some(format!("rev{number}")), ..SourceStamp::default() }],
        blamelist: vec![],
        worker: "w1".into(),
        started: at(started),
        finished: finished.map(at),
        result: finished.map(|_| BuildResult::Success),
        text: vec![],
        steps: vec![],
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

fn on_branch(mut b: Build, branch: Option<&str>) -> Build {
    b.sourcestamps[0].branch = branch.map(str::to_owned);
    b
}

fn change(number: u64, branch: Option<&str>) -> Change {
    Change {
        number,
        who: "ann".into(),
        revision: Some(format!("c{number}")),
        when: at(number as i64),
        branch: branch.map(str::to_owned),
        ..Change::default()
    }
}

fn builder(name: &str) -> Mutation {
    Mutation::PutBuilder(Builder { name: name.into(), ..Builder::default() })
}

fn event(seq: u64, event: StatusEvent) -> SequencedEvent {
    SequencedEvent { seq, event }
}

async fn put(store: &dyn StatusStore, mutations: Vec<Mutation>) {
    store.commit(&Commit { mutations, next_log_id: 1, ..Commit::default() }).await.expect("commit");
}

fn keys(builds: &[Build]) -> Vec<(String, u32)> {
    builds.iter().map(|b| (b.builder.clone(), b.number)).collect()
}

/// Builders a, b, c with 12 builds each. a and b start and finish at the same minutes (ties),
/// c three minutes later; the newest builds are running. Branches cycle main, dev, none;
/// workers alternate; c's builds report a got_revision that differs from the stamp's.
fn grid_history() -> Vec<Build> {
    let mut builds = Vec::new();
    for (name, offset, running_from) in [("a", 0, 9), ("b", 0, 10), ("c", 3, 11)] {
        for n in 0..12u32 {
            let start = i64::from(n) * 10 + offset;
            // c #4 finishes after c #7: finish order is not number order.
            let took = if (name, n) == ("c", 4) { 40 } else { 5 };
            let mut b = build(name, n, start, (n < running_from).then_some(start + took));
            b = on_branch(b, [Some("main"), Some("dev"), None][n as usize % 3]);
            b.worker = if n % 2 == 0 { "w2".into() } else { "w1".into() };
            if name == "c" {
                let got = Property { value: serde_json::json!(format!("got{n}")), source: "Git".into() };
                b.properties.insert("got_revision".into(), got);
            }
            builds.push(b);
        }
    }
    builds
}

/// Queries combining every filter of `BuildQuery`, in both orders.
fn query_grid() -> Vec<BuildQuery> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let narrowings: [&dyn Fn(&mut BuildQuery); 6] = [
        &|_| {},
        &|q| (q.worker, q.before_number) = (Some("w2".into()), Some(7)),
        &|q| q.revision = Some("rev4".into()),
        &|q| q.revision = Some("got4".into()),
        &|q| q.started_after = Some(at(30)),
        &|q| (q.started_before, q.worker) = (Some(at(60)), Some("w1".into())),
    ];
    let mut out = Vec::new();
    for builders in [s(&[]), s(&["a"]), s(&["c"]), s(&["a", "b"]), s(&["c", "b", "a"]), s(&["a", "a"])] {
        for branches in [s(&[]), s(&["main"]), s(&["trunk"]), s(&["dev", "trunk"])] {
            for finished in [None, Some(true), Some(false)] {
                for narrow in narrowings {
                    for (order, limit) in
                        [(BuildOrder::NumberDesc, 5), (BuildOrder::FinishedDesc, 4), (BuildOrder::NumberDesc, 100)]
                    {
                        let mut q = BuildQuery {
                            builders: builders.clone(),
                            branches: BranchFilter(branches.clone()),
                            finished,
                            order,
                            limit,
                            ..BuildQuery::default()
                        };
                        narrow(&mut q);
                        out.push(q);
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_mutation_is_written_and_read_back() {
    for (name, store, _dir) in stores().await {
        let worker = Worker { name: "w1".into(), connected: true, ..Worker::default() };
        let user = User { uid: 3, identifier: "ann".into(), attributes: [("git".into(), "Ann <a@x>".into())].into() };
        let request = BuildRequest {
            id: 9,
            buildset_id: Some(1),
            builder: "a".into(),
            submitted_at: at(1),
            reason: "r".into(),
            properties: Default::default(),
            sourcestamps: vec![],
        };
        let open = Buildset {
            id: 1,
            reason: "r".into(),
            external_id: None,
            submitted_at: at(0),
            sourcestamps: vec![],
            builders: vec!["a".into()],
            complete_at: None,
            result: None,
        };
        let running = build("a", 0, 0, None);
        put(
            store.as_ref(),
            vec![
                Mutation::PutBuilder(Builder { name: "a".into(), tags: vec!["t".into()], ..Builder::default() }),
                Mutation::PutWorker(worker.clone()),
                Mutation::PutChange(change(1, Some("main"))),
                Mutation::PutBuild(running.clone()),
                Mutation::PutRequest(request.clone()),
                Mutation::PutBuildset(open.clone()),
                Mutation::PutUser(user.clone()),
            ],
        )
        .await;
        assert_eq!(store.builders().await.expect("builders")[0].tags, ["t"], "{name}");
        assert_eq!(store.workers().await.expect("workers"), std::slice::from_ref(&worker), "{name}");
        assert_eq!(store.change(1).await.expect("change"), Some(change(1, Some("main"))), "{name}");
        assert_eq!(store.change(u64::MAX).await.expect("change"), None, "{name}");
        assert_eq!(store.build("a", 0).await.expect("build"), Some(running), "{name}");
        assert_eq!(store.build("a", 1).await.expect("build"), None, "{name}");
        assert_eq!(store.pending_requests(Some("a")).await.expect("requests"), [request], "{name}");
        assert!(store.pending_requests(Some("b")).await.expect("requests").is_empty(), "{name}");
        assert_eq!(store.users().await.expect("users"), std::slice::from_ref(&user), "{name}");
        assert_eq!(store.user(3).await.expect("user"), Some(user), "{name}");
        assert_eq!(store.user(u64::MAX).await.expect("user"), None, "{name}");
        assert_eq!(store.snapshot(5).await.expect("snapshot").buildsets, std::slice::from_ref(&open), "{name}");

        // Overwrites: the same keys, new contents (and new indexed columns).
        let finished = build("a", 0, 0, Some(5));
        let worker = Worker { connected: false, ..worker };
        let user = User { uid: 3, identifier: "ann.lee".into(), attributes: Default::default() };
        let done = Buildset { complete_at: Some(at(9)), result: Some(BuildResult::Success), ..open };
        put(
            store.as_ref(),
            vec![
                Mutation::PutBuild(finished.clone()),
                Mutation::PutWorker(worker.clone()),
                Mutation::PutUser(user.clone()),
                Mutation::PutBuildset(done),
                Mutation::RemoveRequest(9),
                Mutation::RemoveRequest(u64::MAX),
                Mutation::RemoveBuilder("a".into()),
            ],
        )
        .await;
        let finished_query = BuildQuery { finished: Some(true), ..BuildQuery::of_builder("a", 5) };
        assert_eq!(owned(store.builds(&finished_query).await.expect("builds")), [finished], "{name}");
        assert_eq!(store.workers().await.expect("workers"), [worker], "{name}");
        assert_eq!(store.users().await.expect("users"), [user], "{name}");
        assert!(store.pending_requests(None).await.expect("requests").is_empty(), "{name}");
        assert!(store.builders().await.expect("builders").is_empty(), "{name}");
        assert!(store.build("a", 0).await.expect("build").is_some(), "{name}: a removed builder's builds stay");
        let snapshot = store.snapshot(5).await.expect("snapshot");
        assert!(snapshot.buildsets.is_empty() && snapshot.running.is_empty(), "{name}");
        assert!(snapshot.newest.is_empty(), "{name}: a removed builder has no newest number");
    }
}

#[tokio::test]
async fn build_listings_are_exactly_the_matching_builds_in_the_port_order() {
    let history = grid_history();
    let queries = query_grid();
    for (name, store, _dir) in stores().await {
        put(store.as_ref(), history.iter().cloned().map(Mutation::PutBuild).collect()).await;
        for query in &queries {
            let mut expected: Vec<Build> = history.iter().filter(|b| query.matches(b)).cloned().collect();
            query.order.sort(&mut expected, query.builders.len() == 1);
            expected.truncate(query.limit);
            let found = owned(store.builds(query).await.expect("builds"));
            assert_eq!(keys(&found), keys(&expected), "{name}: {query:?}");
        }
    }
}

#[tokio::test]
async fn build_listings_examples() {
    let history = grid_history();
    let a = |ns: &[u32]| ns.iter().map(|n| ("a".to_owned(), *n)).collect::<Vec<_>>();
    for (name, store, _dir) in stores().await {
        put(store.as_ref(), history.iter().cloned().map(Mutation::PutBuild).collect()).await;
        let of_a = |f: &dyn Fn(&mut BuildQuery)| {
            let mut q = BuildQuery::of_builder("a", 100);
            f(&mut q);
            q
        };
        let cases = [
            (of_a(&|q| q.limit = 3), a(&[11, 10, 9])),
            (of_a(&|q| q.limit = 0), a(&[])),
            (of_a(&|q| q.finished = Some(false)), a(&[11, 10, 9])),
            (of_a(&|q| q.branches = BranchFilter(vec!["trunk".into()])), a(&[11, 8, 5, 2])),
            (of_a(&|q| q.revision = Some("rev4".into())), a(&[4])),
            (of_a(&|q| q.before_number = Some(3)), a(&[2, 1, 0])),
            (of_a(&|q| q.started_before = Some(at(30))), a(&[2, 1, 0])),
        ];
        for (query, expected) in cases {
            assert_eq!(keys(&owned(store.builds(&query).await.expect("builds"))), expected, "{name}: {query:?}");
        }
        // Across builders: latest finish first; a tie goes to the later builder name.
        let recent = BuildQuery { order: BuildOrder::FinishedDesc, limit: 6, ..BuildQuery::default() };
        let expected = [("c", 10), ("c", 9), ("b", 9), ("c", 8), ("b", 8), ("a", 8)].map(|(b, n)| (b.to_owned(), n));
        assert_eq!(keys(&owned(store.builds(&recent).await.expect("builds"))), expected, "{name}");
        // Running builds have no place in a listing by finish time.
        let none = BuildQuery { finished: Some(false), ..recent };
        assert!(store.builds(&none).await.expect("builds").is_empty(), "{name}");
        assert_eq!(store.newest_build_number("a").await.expect("newest"), Some(11), "{name}");
        assert_eq!(store.newest_build_number("zz").await.expect("newest"), None, "{name}");
    }
}

#[tokio::test]
async fn change_listings_filter_by_branch_and_page_back() {
    for (name, store, _dir) in stores().await {
        let branches = [Some("main"), None, Some("dev")];
        let mut m: Vec<Mutation> = (1..=9).map(|n| Mutation::PutChange(change(n, branches[n as usize % 3]))).collect();
        m.push(Mutation::PutChange(change(10, Some("trunk"))));
        put(store.as_ref(), m).await;
        let list = |branches: &[&str], before, limit| {
            let store = store.clone();
            let branches = BranchFilter(branches.iter().map(|b| b.to_string()).collect());
            async move {
                let q = ChangeQuery { branches, before, limit };
                store.changes(&q).await.expect("changes").iter().map(|c| c.number).collect::<Vec<_>>()
            }
        };
        assert_eq!(list(&[], None, 3).await, [10, 9, 8], "{name}");
        assert_eq!(list(&[], Some(3), 100).await, [2, 1], "{name}");
        assert_eq!(list(&[], Some(u64::MAX), 2).await, [10, 9], "{name}");
        assert_eq!(list(&["main"], None, 100).await, [9, 6, 3], "{name}");
        assert_eq!(list(&["main", "main"], None, 2).await, [9, 6], "{name}");
        assert_eq!(list(&["trunk"], None, 100).await, [10, 7, 4, 1], "{name}: trunk is also no branch");
        assert_eq!(list(&["dev", "trunk"], Some(8), 3).await, [7, 5, 4], "{name}");
        assert_eq!(list(&["nowhere"], None, 100).await, [] as [u64; 0], "{name}");
    }
}

#[tokio::test]
async fn pending_requests_are_oldest_first() {
    for (name, store, _dir) in stores().await {
        let request = |id, builder: &str, minute| {
            Mutation::PutRequest(BuildRequest {
                id,
                buildset_id: None,
                builder: builder.into(),
                submitted_at: at(minute),
                reason: String::new(),
                properties: Default::default(),
                sourcestamps: vec![],
            })
        };
        put(store.as_ref(), vec![request(5, "a", 2), request(4, "b", 1), request(7, "a", 1), request(6, "a", 1)]).await;
        let ids = |rs: Vec<BuildRequest>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(store.pending_requests(None).await.expect("all")), [4, 6, 7, 5], "{name}");
        assert_eq!(ids(store.pending_requests(Some("a")).await.expect("a")), [6, 7, 5], "{name}");
        assert_eq!(ids(store.snapshot(1).await.expect("snapshot").pending), [4, 6, 7, 5], "{name}");
    }
}

/// The SQLite store selects the activity in SQL of its own (walking a partial index); this
/// ties it to `ACTIVITY_KINDS`, with one journaled event of every kind.
#[tokio::test]
async fn activity_is_exactly_the_journaled_events_of_the_activity_kinds() {
    let path = format!("{}/docs/events.schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema")).expect("JSON");
    let examples = buildstatus::domain::ingest::parse(schema["examples"][0].to_string().as_bytes()).expect("examples");
    let events: Vec<SequencedEvent> = examples.into_iter().zip(1..).map(|(p, seq)| event(seq, p.event)).collect();
    for (name, store, _dir) in stores().await {
        let commit = Commit { events: events.clone(), next_log_id: 1, ..Commit::default() };
        store.commit(&commit).await.expect("commit");
        let found = store.activity(100).await.expect("activity");
        let kinds: std::collections::BTreeSet<&str> = found.iter().map(|e| e.event.kind()).collect();
        assert_eq!(kinds, ACTIVITY_KINDS.into_iter().collect(), "{name}: every activity kind and no other");
        let seqs: Vec<u64> = found.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = events.iter().rev().filter(|e| e.event.is_activity()).map(|e| e.seq).collect();
        assert_eq!(seqs, expected, "{name}: newest first");
        let newest: Vec<u64> = store.activity(2).await.expect("activity").iter().map(|e| e.seq).collect();
        assert_eq!(newest, expected[..2], "{name}: cut at the limit");
    }
}

#[tokio::test]
async fn build_numbers_are_those_stored_highest_first() {
    for (name, store, _dir) in stores().await {
        let mut m = vec![builder("a"), builder("b")];
        for n in [0, 1, 5, 4_000_000_000] {
            m.push(Mutation::PutBuild(build("a", n, i64::from(n % 1000), Some(i64::from(n % 1000) + 1))));
        }
        m.push(Mutation::PutBuild(build("b", 7, 0, None)));
        put(&*store, m).await;
        assert_eq!(store.build_numbers("a", 10).await.expect("numbers"), [4_000_000_000, 5, 1, 0], "{name}");
        assert_eq!(store.build_numbers("a", 2).await.expect("numbers"), [4_000_000_000, 5], "{name}");
        assert_eq!(store.build_numbers("b", 10).await.expect("numbers"), [7], "{name}: running builds too");
        assert!(store.build_numbers("c", 10).await.expect("numbers").is_empty(), "{name}");
    }
}

/// A scan looks at each builder's newest builds only: a branch that none of them is on finds
/// nothing, however deep the history, and paging moves the scan down.
#[tokio::test]
async fn a_scan_looks_at_each_builders_newest_builds_only() {
    for (name, store, _dir) in stores().await {
        let mut m = vec![builder("a"), builder("b")];
        for n in 0..30u32 {
            let branch = if n < 5 { "old" } else { "main" };
            m.push(Mutation::PutBuild(on_branch(build("a", n, i64::from(n), Some(i64::from(n) + 1)), Some(branch))));
            m.push(Mutation::PutBuild(on_branch(build("b", n, i64::from(n), Some(i64::from(n) + 1)), Some(branch))));
        }
        put(&*store, m).await;
        let old = |builders: &[&str], scan: usize, before: Option<u32>| BuildQuery {
            builders: builders.iter().map(|b| b.to_string()).collect(),
            branches: BranchFilter(vec!["old".into()]),
            scan: Some(scan),
            before_number: before,
            limit: 10,
            ..BuildQuery::default()
        };
        assert!(store.builds(&old(&["a"], 20, None)).await.expect("builds").is_empty(), "{name}: #10..#29 are on main");
        assert_eq!(
            keys(&owned(store.builds(&old(&["a"], 26, None)).await.expect("builds"))),
            [("a".to_owned(), 4)],
            "{name}"
        );
        assert_eq!(
            keys(&owned(store.builds(&old(&["a"], 3, Some(6))).await.expect("builds"))),
            [("a".to_owned(), 4), ("a".to_owned(), 3)],
            "{name}: below #6"
        );
        let both = keys(&owned(store.builds(&old(&["a", "b"], 27, None)).await.expect("builds")));
        assert_eq!(both.len(), 4, "{name}: #4 and #3 of each: {both:?}");
        let unscanned = BuildQuery { scan: None, ..old(&["a"], 0, None) };
        assert_eq!(
            store.builds(&unscanned).await.expect("builds").len(),
            5,
            "{name}: without a scan, the whole history"
        );
    }
}

#[tokio::test]
async fn the_journal_skips_log_chunks_and_the_counters_resume() {
    for (name, store, _dir) in stores().await {
        assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 0, next_log_id: 1 }, "{name}: empty");
        let chunk = StatusEvent::LogChunk {
            builder: "a".into(),
            number: 0,
            step: 0,
            log: "stdio".into(),
            channel: Channel::Stdout,
            text: "x".into(),
        };
        let events = vec![
            event(1, StatusEvent::Reconfigured { at: at(0) }),
            event(2, chunk.clone()),
            event(3, StatusEvent::MasterStarted { at: at(1) }),
        ];
        store
            .commit(&Commit { events, mutations: vec![], next_log_id: 42, ..Commit::default() })
            .await
            .expect("commit");
        assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 3, next_log_id: 42 }, "{name}");
        // A commit of only a log chunk still moves the counter.
        store
            .commit(&Commit { events: vec![event(4, chunk)], mutations: vec![], next_log_id: 43, ..Commit::default() })
            .await
            .expect("c");
        assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 4, next_log_id: 43 }, "{name}");
        let seqs = |es: Vec<SequencedEvent>| es.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(store.events_after(0, 10).await.expect("events")), [1, 3], "{name}: chunks not journaled");
        assert_eq!(store.events_after(0, 10).await.expect("events")[1].event, StatusEvent::MasterStarted { at: at(1) });
        assert_eq!(seqs(store.events_after(0, 1).await.expect("events")), [1], "{name}");
        assert_eq!(seqs(store.events_after(1, 10).await.expect("events")), [3], "{name}");
        assert!(store.events_after(3, 10).await.expect("events").is_empty(), "{name}");
        assert!(store.events_after(u64::MAX, 10).await.expect("events").is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_snapshot_holds_what_is_current_and_the_window_query_the_newest() {
    for (name, store, _dir) in stores().await {
        let mut m = vec![builder("a"), builder("b"), builder("idle")];
        for n in 0..30 {
            m.push(Mutation::PutBuild(build("a", n, i64::from(n), Some(i64::from(n) + 1))));
            m.push(Mutation::PutBuild(build("b", n, i64::from(n), Some(i64::from(n) + 1))));
        }
        m.push(Mutation::PutBuild(build("a", 30, 40, None)));
        m.push(Mutation::PutBuild(build("a", 31, 41, None)));
        m.extend((1..=40).map(|n| Mutation::PutChange(change(n, None))));
        store.commit(&Commit { mutations: m, next_log_id: 17, ..Commit::default() }).await.expect("commit");

        let snapshot = store.snapshot(10).await.expect("snapshot");
        let names: Vec<&str> = snapshot.builders.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "idle"], "{name}");
        let mut running = keys(&snapshot.running);
        running.sort();
        assert_eq!(running, [("a".to_owned(), 30), ("a".to_owned(), 31)], "{name}");
        let mut newest = snapshot.newest.clone();
        newest.sort();
        assert_eq!(newest, [("a".to_owned(), 31), ("b".to_owned(), 29)], "{name}");
        let mut changes: Vec<u64> = snapshot.changes.iter().map(|c| c.number).collect();
        changes.sort_unstable();
        assert_eq!(changes, (31..=40).collect::<Vec<_>>(), "{name}: the 10 newest changes");
        assert_eq!((snapshot.last_change, snapshot.next_log_id), (40, 17), "{name}");

        // What the hub fills a builder's window with afterwards.
        let window = BuildQuery { finished: Some(true), ..BuildQuery::of_builder("a", 10) };
        let numbers: Vec<u32> = store.builds(&window).await.expect("window").iter().map(|b| b.number).collect();
        assert_eq!(numbers, (20..30).rev().collect::<Vec<_>>(), "{name}");
    }
}

#[tokio::test]
async fn a_commit_that_fails_leaves_nothing() {
    for (name, store, _dir) in stores().await {
        let first = Commit {
            events: vec![event(1, StatusEvent::Reconfigured { at: at(0) })],
            mutations: vec![builder("a")],
            next_log_id: 5,
            ..Commit::default()
        };
        store.commit(&first).await.expect("commit");
        // Everything is fine up to the last event, whose sequence number is journaled already.
        let bad = Commit {
            events: vec![
                event(2, StatusEvent::Reconfigured { at: at(1) }),
                event(1, StatusEvent::Reconfigured { at: at(1) }),
            ],
            mutations: vec![
                builder("z"),
                Mutation::PutChange(change(9, None)),
                Mutation::PutBuild(build("a", 0, 0, None)),
            ],
            next_log_id: 77,
            ..Commit::default()
        };
        assert!(store.commit(&bad).await.is_err(), "{name}");
        let names: Vec<String> = store.builders().await.expect("builders").into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["a"], "{name}");
        assert_eq!(store.change(9).await.expect("change"), None, "{name}");
        assert_eq!(store.build("a", 0).await.expect("build"), None, "{name}");
        assert_eq!(store.events_after(0, 10).await.expect("events").len(), 1, "{name}");
        assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 1, next_log_id: 5 }, "{name}");
    }
}

#[tokio::test]
async fn sqlite_rolls_back_a_half_done_commit_and_keeps_everything_across_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    {
        let store = SqliteStore::open(&path).await.expect("open");
        let good = Commit {
            events: vec![event(1, StatusEvent::Reconfigured { at: at(0) })],
            mutations: vec![
                builder("a"),
                Mutation::PutBuild(build("a", 0, 0, Some(1))),
                Mutation::PutChange(change(1, None)),
            ],
            next_log_id: 3,
            ..Commit::default()
        };
        store.commit(&good).await.expect("commit");
        // An id SQLite cannot hold fails the second mutation, after the first was written.
        let bad = Commit {
            mutations: vec![Mutation::PutChange(change(50, None)), Mutation::PutChange(change(u64::MAX, None))],
            next_log_id: 7,
            ..Commit::default()
        };
        assert!(matches!(store.commit(&bad).await, Err(StoreError::Database(_))));
        assert_eq!(store.change(50).await.expect("change"), None, "the first part was rolled back");
        assert_eq!(store.meta().await.expect("meta").next_log_id, 3);
    }
    let reopened = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        owned(reopened.builds(&BuildQuery::of_builder("a", 100)).await.expect("builds")),
        [build("a", 0, 0, Some(1))]
    );
    assert_eq!(reopened.builders().await.expect("builders").len(), 1);
    assert_eq!(reopened.change(1).await.expect("change"), Some(change(1, None)));
    assert_eq!(reopened.meta().await.expect("meta"), StoreMeta { last_seq: 1, next_log_id: 3 });
    assert_eq!(reopened.events_after(0, 10).await.expect("events").len(), 1);
}

async fn raw(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    sqlx::SqlitePool::connect_with(options).await.expect("raw connection")
}

#[tokio::test]
async fn a_corrupt_record_is_an_error_naming_its_table_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    let store = SqliteStore::open(&path).await.expect("open");
    put(&store, vec![builder("a"), Mutation::PutBuild(build("a", 1, 0, None))]).await;
    let pool = raw(&path).await;
    sqlx::query("UPDATE builds SET data = '{\"builder\": 1}'").execute(&pool).await.expect("damage");
    sqlx::query("UPDATE builders SET data = 'not json'").execute(&pool).await.expect("damage");
    let corrupt = |r: Result<String, StoreError>| match r {
        Err(StoreError::Corrupt(message)) => message.to_string(),
        other => panic!("expected a corrupt record, got {other:?}"),
    };
    let one = store.build("a", 1).await.map(|_| String::new());
    assert!(corrupt(one).starts_with("builds a #1:"));
    let listed = store.builds(&BuildQuery::of_builder("a", 5)).await.map(|_| String::new());
    assert!(corrupt(listed).starts_with("builds a #1:"));
    let snapshot = store.snapshot(5).await.map(|_| String::new());
    assert!(corrupt(snapshot).starts_with("builders a:"));
}

#[tokio::test]
async fn a_database_versioned_before_sqlx_migrations_is_adopted_and_migrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    let pool = raw(&path).await;
    let init = include_str!("../../../src/adapters/sqlite/migrations/0001_init.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(init)).execute(&pool).await.expect("old schema");
    sqlx::raw_sql("PRAGMA user_version = 1; INSERT INTO builders VALUES ('old', '{\"name\": \"old\"}')")
        .execute(&pool)
        .await
        .expect("old data");
    pool.close().await;
    let store = SqliteStore::open(&path).await.expect("open");
    assert_eq!(store.builders().await.expect("builders")[0].name, "old");
    let two = BuildQuery { builders: vec!["a".into(), "b".into()], ..BuildQuery::default() };
    let plan = store.explain_builds(&two).await.expect("plan").join("; ");
    assert!(plan.contains("builds_by_builder_started"), "migration 2 ran: {plan}");
    drop(store);
    SqliteStore::open(&path).await.expect("a migrated database opens again");
}

/// A database of the version before builder states, properties during builds and ETAs: its
/// journal and builds, in their old shape, read; its master's state comes from its journal.
#[tokio::test]
async fn records_written_before_the_event_model_grew_still_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    let pool = raw(&path).await;
    for sql in [
        include_str!("../../../src/adapters/sqlite/migrations/0001_init.sql"),
        include_str!("../../../src/adapters/sqlite/migrations/0002_listing_order_indexes.sql"),
        include_str!("../../../src/adapters/sqlite/migrations/0004_outbox.sql"),
        include_str!("../../../src/adapters/sqlite/migrations/0005_activity_index.sql"),
        include_str!("../../../src/adapters/sqlite/migrations/0006_ingest_receipts.sql"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("old schema");
    }
    let old = r#"
        PRAGMA user_version = 6;
        INSERT INTO builders VALUES ('a', '{"name": "a", "workers": ["w"]}');
        INSERT INTO builds (builder, number, started, finished, result, worker, data) VALUES ('a', 1, 0, 60000, 0, 'w',
            '{"builder": "a", "number": 1, "started": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:01:00Z",
              "result": "success", "eta": null,
              "steps": [{"number": 0, "name": "compile", "started": "2026-01-01T00:00:00Z"}]}');
        INSERT INTO events VALUES (1, '{"seq": 1, "event": {"type": "build_finished", "builder": "a", "number": 1,
            "result": "success", "text": [], "at": "2026-01-01T00:01:00Z"}}');
        INSERT INTO events VALUES (2, '{"seq": 2, "event": {"type": "builder_state_changed", "name": "a", "state": "idle"}}');
        INSERT INTO events VALUES (3, '{"seq": 3, "event": {"type": "master_stopping", "at": "2026-01-01T00:02:00Z"}}');
        INSERT INTO meta VALUES ('last_seq', 3), ('next_log_id', 1);
    "#;
    sqlx::raw_sql(old).execute(&pool).await.expect("old data");
    pool.close().await;
    let store = SqliteStore::open(&path).await.expect("open");
    let journal = store.events_after(0, 10).await.expect("the old journal reads");
    let StatusEvent::BuildFinished { properties, .. } = &journal[0].event else { panic!("{journal:?}") };
    assert!(properties.is_empty());
    assert_eq!(journal[1].event, StatusEvent::BuilderStateChanged { name: "a".into(), state: BuilderState::Idle });
    let build = store.build("a", 1).await.expect("the old build reads").expect("stored");
    assert_eq!((build.eta, build.steps[0].eta), (None, None));
    assert!(store.master_stopping().await.expect("read"), "migration 8 indexed the journal it found");
    assert_eq!(store.builder_state("a").await.expect("read"), Some(BuilderState::Offline));
}

#[tokio::test]
async fn a_plan_sees_an_index_made_by_another_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    let store = SqliteStore::open(&path).await.expect("open");
    let by_size = "SELECT data FROM builds WHERE length(data) = 7";
    assert_eq!(store.explain(by_size).await.expect("plan"), ["SCAN builds"]);
    let other = raw(&path).await;
    sqlx::query("CREATE INDEX builds_by_size ON builds (length(data))").execute(&other).await.expect("index");
    let plan = store.explain(by_size).await.expect("plan").join("; ");
    assert!(plan.contains("USING INDEX builds_by_size"), "the plan is of the old schema: {plan}");
}

/// Fails if a plan reads rows in proportion to the history: a sort (unless `small_sort`: it
/// sorts rows already bounded), or a scan of a history table that is not cut by a LIMIT in the
/// scan's own order (a scan that a sort follows is not in the listing's order).
fn assert_bounded(what: &str, plan: &[String], limited: bool, small_sort: bool) {
    let sorts = plan.iter().any(|s| s.contains("TEMP B-TREE"));
    assert!(!sorts || small_sort, "{what} sorts the history: {plan:?}");
    for (i, step) in plan.iter().enumerate() {
        let partial = step.ends_with("USING INDEX buildsets_open");
        let scans_history = ["builds", "changes", "buildsets", "events"]
            .iter()
            .any(|t| step.strip_prefix("SCAN ").is_some_and(|rest| rest == *t || rest.starts_with(&format!("{t} "))));
        let sorted_next = plan.get(i + 1).is_some_and(|s| s.contains("TEMP B-TREE"));
        assert!(!scans_history || partial || (limited && !sorted_next), "{what} scans the history: {plan:?}");
    }
}

/// 20 builders (`b00`…`b19`) of 1,000 builds each on `main` (the last two of each running,
/// workers `w0`…`w4` in turn), and 2,000 changes: a history whose listings must use indexes.
pub(super) fn big_history() -> Vec<Mutation> {
    let names: Vec<String> = (0..20).map(|i| format!("b{i:02}")).collect();
    let mut m: Vec<Mutation> = names.iter().map(|n| builder(n)).collect();
    for (i, name) in names.iter().enumerate() {
        for n in 0..1000u32 {
            let start = i64::from(n) * 30 + i as i64;
            let running = n >= 998;
            let mut b = on_branch(build(name, n, start, (!running).then_some(start + 20)), Some("main"));
            b.worker = format!("w{}", n % 5);
            m.push(Mutation::PutBuild(b));
        }
    }
    m.extend((1..=2000).map(|n| Mutation::PutChange(change(n, Some("main")))));
    m
}

#[tokio::test]
async fn with_20000_builds_the_snapshot_and_every_listing_use_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("big.sqlite")).await.expect("open");
    let m = big_history();
    store.commit(&Commit { mutations: m, next_log_id: 1, ..Commit::default() }).await.expect("one big commit");

    let snapshot = store.snapshot(50).await.expect("snapshot");
    assert_eq!((snapshot.running.len(), snapshot.newest.len(), snapshot.changes.len()), (40, 20, 50));
    let recent = store.builds(&BuildQuery::of_builder("b07", 20)).await.expect("builds");
    assert_eq!(recent.iter().map(|b| b.number).collect::<Vec<_>>(), (980..1000).rev().collect::<Vec<_>>());

    let changes = ChangeQuery { before: Some(100), limit: 20, ..ChangeQuery::default() };
    assert_eq!(store.changes(&changes).await.expect("changes").len(), 20);
    assert_plans_bounded(&store).await;
    let plans = store.explain_snapshot(50).await.expect("snapshot plans");
    let master = plans.iter().find(|(sql, _)| sql.contains("'master_stopping'")).expect("the master query");
    assert!(master.1.iter().any(|s| s.contains("USING INDEX events_master")), "{master:?}");

    // Statistics (from `ANALYZE`, or `PRAGMA optimize`) must not turn a plan into a sort.
    let pool = raw(&dir.path().join("big.sqlite")).await;
    sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
    pool.close().await;
    drop(store);
    assert_plans_bounded(&SqliteStore::open(&dir.path().join("big.sqlite")).await.expect("reopen")).await;
}

/// Whether the plan's only sort is the last step of a union of listings, each cut at the limit.
fn sorts_only_a_union(plan: &[String]) -> bool {
    let sorts = plan.iter().filter(|s| s.contains("TEMP B-TREE")).count();
    plan.iter().any(|s| s == "COMPOUND QUERY") && sorts == 1 && plan.last().is_some_and(|s| s.contains("TEMP B-TREE"))
}

/// The build listings the pages make, on [`big_history`].
pub(super) fn page_queries() -> Vec<BuildQuery> {
    let several = vec!["b01".to_owned(), "b02".to_owned()];
    let main = BranchFilter(vec!["main".into()]);
    let nosuch = BranchFilter(vec!["nosuch".into()]);
    let finished = Some(true);
    vec![
        BuildQuery::of_builder("b07", 20),
        BuildQuery { finished, ..BuildQuery::of_builder("b07", 20) },
        BuildQuery { finished, branches: main.clone(), ..BuildQuery::of_builder("b07", 1) },
        BuildQuery { finished: Some(false), ..BuildQuery::of_builder("b07", 1000) },
        BuildQuery { before_number: Some(500), ..BuildQuery::of_builder("b07", 20) },
        BuildQuery { finished: Some(false), limit: 1000, ..BuildQuery::default() },
        BuildQuery { finished: Some(false), worker: Some("w3".into()), limit: 1000, ..BuildQuery::default() },
        BuildQuery { limit: 1, ..BuildQuery::default() },
        BuildQuery { finished, order: BuildOrder::FinishedDesc, limit: 20, ..BuildQuery::default() },
        BuildQuery { finished, order: BuildOrder::FinishedDesc, branches: main, limit: 20, ..BuildQuery::default() },
        BuildQuery {
            builders: several.clone(),
            finished,
            order: BuildOrder::FinishedDesc,
            limit: 20,
            ..Default::default()
        },
        BuildQuery { builders: several.clone(), limit: 20, ..BuildQuery::default() },
        BuildQuery { builders: several, finished: Some(false), ..BuildQuery::default() },
        BuildQuery {
            worker: Some("w3".into()),
            finished,
            order: BuildOrder::FinishedDesc,
            limit: 10,
            ..Default::default()
        },
        BuildQuery { revision: Some("rev7".into()), limit: 20, ..BuildQuery::default() },
        // A branch no build is on, looked for among each builder's newest 200.
        BuildQuery { finished, branches: nosuch.clone(), scan: Some(200), ..BuildQuery::of_builder("b07", 1) },
        BuildQuery {
            builders: (0..20).map(|i| format!("b{i:02}")).collect(),
            finished,
            branches: nosuch,
            scan: Some(200),
            order: BuildOrder::FinishedDesc,
            limit: 20,
            ..Default::default()
        },
    ]
}

/// Checks the plans of the snapshot and of every listing a page makes.
async fn assert_plans_bounded(store: &SqliteStore) {
    for (sql, plan) in store.explain_snapshot(50).await.expect("snapshot plans") {
        assert_bounded(&sql, &plan, sql.contains("LIMIT"), false);
    }
    let page_queries = page_queries();
    for q in &page_queries {
        let plan = store.explain_builds(q).await.expect("plan");
        // Sorting is fine for running builds, a revision's few builds, a scan's few rows, or
        // (as the last step only) the union of per-builder listings each cut at the limit.
        let small = q.finished == Some(false) || q.revision.is_some() || q.scan.is_some() || sorts_only_a_union(&plan);
        assert_bounded(&format!("{q:?}"), &plan, true, small);
    }
    let main = BranchFilter(vec!["main".into(), "trunk".into()]);
    for q in [
        ChangeQuery { before: Some(100), limit: 20, ..ChangeQuery::default() },
        ChangeQuery { branches: main, limit: 20, ..ChangeQuery::default() },
    ] {
        let plan = store.explain_changes(&q).await.expect("plan");
        assert_bounded(&format!("{q:?}"), &plan, true, sorts_only_a_union(&plan));
    }
}

#[tokio::test]
async fn ingest_receipts_are_kept_with_their_commit_and_never_twice() {
    for (name, store, _dir) in stores().await {
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let commit = Commit {
            events: vec![event(1, StatusEvent::Reconfigured { at: at(0) })],
            receipts: vec![("ci-1".into(), 1)],
            next_log_id: 1,
            ..Commit::default()
        };
        store.commit(&commit).await.expect("commit");
        assert_eq!(store.receipts(&ids(&["ci-1", "ci-2"])).await.expect("receipts"), [Some(1), None], "{name}");
        // A commit repeating a receipt fails whole: its event is not journaled either.
        let again = Commit {
            events: vec![event(2, StatusEvent::Reconfigured { at: at(1) })],
            receipts: vec![("ci-2".into(), 2), ("ci-1".into(), 2)],
            next_log_id: 1,
            ..Commit::default()
        };
        assert!(store.commit(&again).await.is_err(), "{name}");
        assert_eq!(store.receipts(&ids(&["ci-2"])).await.expect("receipts"), [None], "{name}");
        assert_eq!(store.events_after(0, 10).await.expect("events").len(), 1, "{name}");
    }
}

fn request(id: u64, buildset: Option<u64>, minute: i64) -> Mutation {
    Mutation::PutRequest(BuildRequest {
        id,
        buildset_id: buildset,
        builder: "a".into(),
        submitted_at: at(minute),
        reason: String::new(),
        properties: Default::default(),
        sourcestamps: vec![],
    })
}

fn buildset(id: u64, complete: bool) -> Mutation {
    Mutation::PutBuildset(Buildset {
        id,
        reason: "push".into(),
        external_id: None,
        submitted_at: at(0),
        sourcestamps: vec![],
        builders: vec!["a".into()],
        complete_at: complete.then(|| at(9)),
        result: complete.then_some(BuildResult::Success),
    })
}

#[tokio::test]
async fn open_buildsets_come_with_the_requests_still_waiting_oldest_first() {
    for (name, store, _dir) in stores().await {
        assert!(store.open_buildsets().await.expect("none").is_empty(), "{name}");
        let mut m = vec![builder("a"), buildset(3, false), buildset(1, false), buildset(2, true)];
        m.extend([request(10, Some(1), 5), request(11, Some(1), 4), request(12, None, 1), request(13, Some(2), 1)]);
        put(&*store, m).await;
        let shape = |open: Vec<OpenBuildset>| -> Vec<(u64, Vec<u64>)> {
            open.into_iter().map(|o| (o.buildset.id, o.requests.iter().map(|r| r.id).collect())).collect()
        };
        assert_eq!(shape(store.open_buildsets().await.expect("open")), [(1, vec![11, 10]), (3, vec![])], "{name}");
        // A build claimed request 11; buildset 1 finished later, and 3 stays open.
        put(&*store, vec![Mutation::RemoveRequest(11)]).await;
        assert_eq!(shape(store.open_buildsets().await.expect("open")), [(1, vec![10]), (3, vec![])], "{name}");
        put(&*store, vec![buildset(1, true)]).await;
        assert_eq!(shape(store.open_buildsets().await.expect("open")), [(3, vec![])], "{name}");
        // One buildset by id, finished ones too (with their result), for the PB clients.
        let finished = store.buildset(1).await.expect("read").expect("kept once finished");
        assert_eq!((finished.complete_at, finished.result), (Some(at(9)), Some(BuildResult::Success)), "{name}");
        assert_eq!(store.buildset(3).await.expect("read").map(|s| s.complete_at), Some(None), "{name}");
        assert_eq!(store.buildset(4).await.expect("read"), None, "{name}");
    }
}

#[tokio::test]
async fn a_builders_state_is_derived_from_its_workers_and_running_builds() {
    for (name, store, _dir) in stores().await {
        let with_workers = |name: &str, workers: &[&str]| {
            Mutation::PutBuilder(Builder {
                name: name.into(),
                workers: workers.iter().map(|w| w.to_string()).collect(),
                ..Builder::default()
            })
        };
        let worker = |name: &str, connected: bool, paused: bool| {
            Mutation::PutWorker(Worker { name: name.into(), connected, paused, ..Worker::default() })
        };
        put(
            &*store,
            vec![
                with_workers("a", &["w1", "w2"]),
                with_workers("b", &["w3"]),
                with_workers("c", &[]),
                worker("w1", false, false),
                worker("w2", true, true),
                worker("w3", false, false),
                Mutation::PutBuild(build("b", 4, 0, None)),
                Mutation::PutBuild(build("c", 1, 0, Some(2))),
            ],
        )
        .await;
        let state = |b: &'static str| {
            let store = store.clone();
            async move { store.builder_state(b).await.expect("state") }
        };
        assert_eq!(state("a").await, Some(BuilderState::Idle), "{name}: a paused worker is connected");
        assert_eq!(state("b").await, Some(BuilderState::Building), "{name}: a build runs, its worker gone");
        assert_eq!(state("c").await, Some(BuilderState::Offline), "{name}: no worker, builds finished");
        assert_eq!(state("nope").await, None, "{name}");
        put(&*store, vec![worker("w2", false, false), Mutation::PutBuild(build("b", 4, 0, Some(3)))]).await;
        assert_eq!((state("a").await, state("b").await), (Some(BuilderState::Offline), Some(BuilderState::Offline)));
    }
}

#[tokio::test]
async fn the_master_is_stopping_from_master_stopping_until_master_started() {
    for (name, store, _dir) in stores().await {
        assert!(!store.master_stopping().await.expect("empty"), "{name}");
        let journal = |events: Vec<SequencedEvent>| Commit { events, next_log_id: 1, ..Commit::default() };
        store.commit(&journal(vec![event(1, StatusEvent::MasterStarted { at: at(0) })])).await.expect("commit");
        assert!(!store.master_stopping().await.expect("started"), "{name}");
        let worker = Worker { name: "w".into(), ..Worker::default() };
        store
            .commit(&journal(vec![
                event(2, StatusEvent::MasterStopping { at: at(1) }),
                event(3, StatusEvent::WorkerConnected { worker, at: at(2) }),
                event(4, StatusEvent::Reconfigured { at: at(3) }),
            ]))
            .await
            .expect("commit");
        assert!(store.master_stopping().await.expect("stopping"), "{name}: later events change nothing");
        assert!(store.snapshot(1).await.expect("snapshot").master_stopping, "{name}: the hub starts knowing it");
        store.commit(&journal(vec![event(5, StatusEvent::MasterStarted { at: at(4) })])).await.expect("commit");
        assert!(!store.master_stopping().await.expect("started again"), "{name}");
    }
}

/// Numbers sort as numbers (10 after 9), in every listing keyed by one: a store that sorted
/// them as the text it names records with would put 10 before 2.
#[tokio::test]
async fn listings_keyed_by_a_number_are_in_numeric_order_past_nine() {
    for (name, store, _dir) in stores().await {
        let events: Vec<SequencedEvent> =
            (1..=12).map(|seq| event(seq, StatusEvent::Reconfigured { at: at(seq as i64) })).collect();
        let user = |uid| Mutation::PutUser(User { uid, identifier: format!("u{uid}"), attributes: Default::default() });
        let mutations = vec![
            builder("a"),
            request(10, Some(10), 5),
            request(2, Some(2), 5),
            buildset(10, false),
            buildset(2, false),
            user(10),
            user(2),
        ];
        store.commit(&Commit { events, mutations, next_log_id: 1, ..Commit::default() }).await.expect("commit");
        let seqs = |events: Vec<SequencedEvent>| events.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(store.events_after(0, 100).await.expect("journal")), (1..=12).collect::<Vec<_>>(), "{name}");
        assert_eq!(seqs(store.events_after(0, 3).await.expect("journal")), [1, 2, 3], "{name}: the first page");
        assert_eq!(seqs(store.activity(3).await.expect("activity")), [12, 11, 10], "{name}");
        let pending: Vec<u64> = store.pending_requests(None).await.expect("pending").iter().map(|r| r.id).collect();
        assert_eq!(pending, [2, 10], "{name}: same time, by id");
        let open: Vec<u64> = store.open_buildsets().await.expect("open").iter().map(|b| b.buildset.id).collect();
        assert_eq!(open, [2, 10], "{name}");
        let users: Vec<u64> = store.users().await.expect("users").iter().map(|u| u.uid).collect();
        assert_eq!(users, [2, 10], "{name}");
    }
}
