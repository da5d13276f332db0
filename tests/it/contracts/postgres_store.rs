//! What only the PostgreSQL store does, beside the contracts it shares (`store_contract`,
//! `outbox_contract`, `log_store`): everything kept across a reopen, one writing instance per
//! database, a schema newer than the binary refused, and a configuration naming a bad URL.

use buildstatus::adapters::postgres::{self, PgStore};
use buildstatus::domain::event::{Channel, SequencedEvent, StatusEvent};
use buildstatus::domain::model::{Builder, Timestamp};
use buildstatus::domain::notify::outbox::OutboxMessage;
use buildstatus::domain::state::Mutation;
use buildstatus::ports::{Commit, LogSize, LogStore, Outbox, StatusReader, StatusStore, StoreMeta};
use futures_util::StreamExt;

use crate::common::postgres::database;

fn at(minute: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).expect("time")
}

#[tokio::test]
async fn everything_is_kept_across_a_reopen() {
    let url = database();
    {
        let store = PgStore::open(&url).await.expect("open");
        let commit = Commit {
            events: vec![SequencedEvent { seq: 1, event: StatusEvent::Reconfigured { at: at(0) } }],
            mutations: vec![Mutation::PutBuilder(Builder { name: "a".into(), ..Builder::default() })],
            next_log_id: 3,
            receipts: vec![("sender-1".into(), 1)],
        };
        store.commit(&commit).await.expect("commit");
        store.logs().append(2, Channel::Stdout, b"hello\n").await.expect("append");
        store.logs().finish(2).await.expect("finish");
        let outbox = store.outbox();
        assert!(
            outbox
                .enqueue(&OutboxMessage::new("mail/m", "x", "body".into(), "about x".into(), at(1)))
                .await
                .expect("enqueue")
        );
        outbox.set_cursor("mail/m", 1).await.expect("cursor");
        outbox.set_note("mail/m", "k", Some("v")).await.expect("note");
    }
    let store = PgStore::open(&url).await.expect("reopen");
    assert_eq!(store.meta().await.expect("meta"), StoreMeta { last_seq: 1, next_log_id: 3 });
    assert_eq!(store.builders().await.expect("builders").len(), 1);
    assert_eq!(store.events_after(0, 10).await.expect("events").len(), 1);
    assert_eq!(store.receipts(&["sender-1".into(), "other".into()]).await.expect("receipts"), [Some(1), None]);
    let logs = store.logs();
    assert_eq!(logs.size(2).await.expect("size"), LogSize { total: 6, header: 0 });
    let piece = logs.stream(2, 0, false).next().await.expect("a piece").expect("readable");
    assert_eq!(&piece.data[..], b"hello\n");
    let outbox = store.outbox();
    assert_eq!(outbox.message("mail/m", "x").await.expect("read").map(|m| m.payload), Some("body".into()));
    assert_eq!(outbox.cursor("mail/m").await.expect("cursor"), Some(1));
    assert_eq!(outbox.note("mail/m", "k").await.expect("note"), Some("v".into()));
}

#[tokio::test]
async fn a_second_instance_is_refused_while_the_first_writes_the_database() {
    let url = database();
    let first = PgStore::open(&url).await.expect("open");
    let refused = PgStore::open(&url).await.expect_err("a second writer is refused").to_string();
    assert!(refused.contains("is in use by buildstatus pid"), "{refused}");
    assert!(refused.contains(&format!("pid {}", std::process::id())), "names the holder: {refused}");
    drop(first);
    // The server releases the lock when it sees the first one's connection close.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match PgStore::open(&url).await {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("is in use"), "{e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("still refused after the first one closed: {e}"),
        }
    }
}

#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused_naming_both_versions() {
    let url = database();
    drop(PgStore::open(&url).await.expect("create"));
    let raw = sqlx::PgPool::connect(&url).await.expect("raw connection");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(&raw)
    .await
    .expect("a newer version recorded");
    raw.close().await;
    let refused = PgStore::open(&url).await.expect_err("a newer schema is refused").to_string();
    let expected = format!(
        "has schema version 99, newer than this buildstatus {} knows (version {})",
        env!("CARGO_PKG_VERSION"),
        postgres::SCHEMA_VERSION
    );
    assert!(refused.contains(&expected), "{refused}");
    assert!(refused.contains(url.trim_start_matches("postgresql://")), "names the database: {refused}");
}

#[test]
fn urls_are_checked_and_passwords_kept_out_of_messages() {
    assert_eq!(postgres::check_url("postgresql://u:secret@db.example:5432/status"), Ok(()));
    assert_eq!(postgres::check_url("postgres://localhost/status"), Ok(()));
    let wrong = postgres::check_url("mysql://u:secret@db/status").expect_err("not PostgreSQL");
    assert_eq!(wrong, "'mysql://u:***@db/status' is not a postgresql:// URL");
    let bad_port = postgres::check_url("postgresql://u:secret@db:port/status").expect_err("a bad port");
    assert!(bad_port.starts_with("'postgresql://u:***@db:port/status' cannot be read"), "{bad_port}");
    assert!(!bad_port.contains("secret"), "{bad_port}");
}

/// A page costs what it shows on PostgreSQL too: on 20,000 builds, each listing a page makes
/// reads (rows returned plus rows filtered out, counted by `EXPLAIN ANALYZE`) about what it
/// shows, never the history, once the planner has its statistics.
#[tokio::test]
async fn with_20000_builds_every_listing_reads_about_what_it_shows() {
    use super::store_contract::{big_history, page_queries};
    use buildstatus::domain::web::args::BranchFilter;
    use buildstatus::ports::{BuildQuery, ChangeQuery};

    let store = PgStore::open(&database()).await.expect("open");
    store.commit(&Commit { mutations: big_history(), next_log_id: 1, ..Commit::default() }).await.expect("commit");
    // What a listing may read: what it shows (its limit per builder asked, or all builders),
    // or the rows its scan bounds; running builds are few (40).
    let bound = |q: &BuildQuery| {
        let builders = if q.builders.is_empty() { 20 } else { q.builders.len() };
        match (q.scan, q.finished) {
            (Some(scan), _) => builders * scan,
            (None, Some(false)) => 40,
            (None, _) => builders * q.limit.min(1000),
        }
    };
    let changes = [
        ChangeQuery { before: Some(100), limit: 20, ..ChangeQuery::default() },
        ChangeQuery {
            branches: BranchFilter(vec!["main".into(), "trunk".into()]),
            limit: 20,
            ..ChangeQuery::default()
        },
    ];
    // The planner's statistics as autovacuum leaves them within a minute of a bulk write.
    // (Before them, right after this one commit, a branch filter and a scan read each
    // builder's whole history, 1,000 rows here, and the 20 builders' scan 20,000: it guesses
    // a branch rare.)
    store.analyze().await.expect("analyze");
    let mut over = Vec::new();
    for q in page_queries() {
        let read = store.rows_read_by_builds(&q).await.expect("explain");
        if read as usize > bound(&q) + 20 {
            over.push(format!("{q:?} read {read} rows"));
        }
    }
    for q in &changes {
        let read = store.rows_read_by_changes(q).await.expect("explain");
        if read > 2 * 20 + 1 {
            over.push(format!("{q:?} read {read} rows"));
        }
    }
    assert!(over.is_empty(), "listings reading more than they show:\n{}", over.join("\n"));
    // The count counts: a listing of everything reads everything.
    let everything = BuildQuery { limit: 20_000, ..BuildQuery::default() };
    assert_eq!(store.rows_read_by_builds(&everything).await.expect("explain"), 20_000);
}
