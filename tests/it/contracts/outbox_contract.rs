//! The `Outbox` contract, run against every implementation: memory (the reference), SQLite
//! in memory and SQLite on a file (which is also reopened, to check that nothing is lost).

use std::sync::Arc;

use buildstatus::adapters::memory::MemoryOutbox;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::domain::model::Timestamp;
use buildstatus::domain::notify::outbox::{DeliveryState, OutboxMessage};
use buildstatus::ports::{Outbox, TargetCounts};

fn at(second: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000 + second, 0).expect("time")
}

async fn outboxes() -> Vec<(&'static str, Arc<dyn Outbox>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(&dir.path().join("s.sqlite")).await.expect("file store");
    let memory_db = SqliteStore::open_in_memory().await.expect("sqlite");
    vec![
        ("memory", Arc::new(MemoryOutbox::new()), None),
        ("sqlite-memory", Arc::new(memory_db.outbox()), None),
        ("sqlite-file", Arc::new(file.outbox()), Some(dir)),
    ]
}

fn message(target: &str, id: &str, second: i64) -> OutboxMessage {
    OutboxMessage::new(target, id, format!("payload of {id}"), format!("about {id}"), at(second))
}

#[tokio::test]
async fn enqueuing_is_idempotent_by_target_and_id() {
    for (name, outbox, _dir) in outboxes().await {
        assert!(outbox.enqueue(&message("mail", "a", 0)).await.expect("enqueue"), "{name}");
        let mut again = message("mail", "a", 5);
        again.payload = "something else".into();
        assert!(!outbox.enqueue(&again).await.expect("enqueue"), "{name}: a repeat is not stored");
        assert!(outbox.enqueue(&message("irc", "a", 0)).await.expect("enqueue"), "{name}: ids are per target");
        let stored = outbox.message("mail", "a").await.expect("read").expect("stored");
        assert_eq!(stored, message("mail", "a", 0), "{name}: the first one is kept whole");
        assert_eq!(outbox.message("mail", "zzz").await.expect("read"), None);
    }
}

#[tokio::test]
async fn claims_take_due_messages_oldest_first_and_lease_them() {
    for (name, outbox, _dir) in outboxes().await {
        for (id, second) in [("b", 2), ("a", 1), ("later", 100), ("c", 3)] {
            outbox.enqueue(&message("mail", id, second)).await.expect("enqueue");
        }
        outbox.enqueue(&message("irc", "x", 0)).await.expect("enqueue");
        let claimed = outbox.claim_due("mail", at(10), at(70), 2).await.expect("claim");
        let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"], "{name}: the longest due, in the order they were queued");
        // Leased: not due again until the lease ends; the rest still are.
        let ids: Vec<String> =
            outbox.claim_due("mail", at(10), at(70), 10).await.expect("claim").into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["c"], "{name}");
        assert!(outbox.claim_due("mail", at(69), at(130), 10).await.expect("claim").is_empty(), "{name}");
        let ids: Vec<String> =
            outbox.claim_due("mail", at(70), at(130), 10).await.expect("claim").into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["b", "a", "c"], "{name}: a lease that ran out makes a message due again");
        assert_eq!(outbox.next_due("mail").await.expect("next"), Some(at(100)), "{name}");
        assert_eq!(outbox.next_due("gerrit").await.expect("next"), None, "{name}");
    }
}

#[tokio::test]
async fn outcomes_are_recorded_and_listed_newest_first() {
    for (name, outbox, _dir) in outboxes().await {
        for id in ["a", "b", "c"] {
            outbox.enqueue(&message("mail", id, 0)).await.expect("enqueue");
        }
        outbox
            .enqueue(&OutboxMessage::unbuildable("mail", "d", "about d".into(), "bad template".into(), at(1)))
            .await
            .expect("enqueue");
        outbox.mark_sent("mail", "a", at(5)).await.expect("sent");
        outbox.mark_failed("mail", "b", "connection refused", Some(at(60)), at(5)).await.expect("failed");
        outbox.mark_failed("mail", "c", "550 no such user", None, at(6)).await.expect("failed");
        assert!(outbox.mark_sent("mail", "nope", at(5)).await.is_err(), "{name}: an unknown id is an error");

        let a = outbox.message("mail", "a").await.expect("read").expect("a");
        assert_eq!((a.state, a.attempts, a.last_error), (DeliveryState::Sent, 1, None), "{name}");
        let b = outbox.message("mail", "b").await.expect("read").expect("b");
        assert_eq!((b.state, b.attempts, b.next_attempt), (DeliveryState::Pending, 1, at(60)), "{name}");
        assert_eq!(b.last_error.as_deref(), Some("connection refused"));
        let c = outbox.message("mail", "c").await.expect("read").expect("c");
        assert_eq!(c.state, DeliveryState::Failed, "{name}");
        let due: Vec<String> =
            outbox.claim_due("mail", at(1000), at(2000), 10).await.expect("claim").into_iter().map(|m| m.id).collect();
        assert_eq!(due, ["b"], "{name}: only the message to retry comes due again");

        let log: Vec<String> = outbox.log("mail", None, 10).await.expect("log").into_iter().map(|m| m.id).collect();
        assert_eq!(log, ["d", "c", "b", "a"], "{name}");
        let failed: Vec<String> =
            outbox.log("mail", Some(DeliveryState::Failed), 1).await.expect("log").into_iter().map(|m| m.id).collect();
        assert_eq!(failed, ["d"], "{name}");
        outbox.enqueue(&message("irc", "x", 0)).await.expect("enqueue");
        assert_eq!(
            outbox.counts().await.expect("counts"),
            [
                TargetCounts { target: "irc".into(), pending: 1, sent: 0, failed: 0 },
                TargetCounts { target: "mail".into(), pending: 1, sent: 1, failed: 2 },
            ],
            "{name}"
        );
    }
}

#[tokio::test]
async fn cursors_only_move_forward() {
    for (name, outbox, _dir) in outboxes().await {
        assert_eq!(outbox.cursor("mail").await.expect("cursor"), None, "{name}: never set");
        outbox.set_cursor("mail", 0).await.expect("set");
        assert_eq!(outbox.cursor("mail").await.expect("cursor"), Some(0), "{name}: 0 is a cursor, not none");
        outbox.set_cursor("mail", 7).await.expect("set");
        outbox.set_cursor("mail", 3).await.expect("set");
        outbox.set_cursor("irc", 1).await.expect("set");
        assert_eq!(outbox.cursor("mail").await.expect("cursor"), Some(7), "{name}");
        assert_eq!(outbox.cursor("irc").await.expect("cursor"), Some(1), "{name}");
        assert_eq!(outbox.cursor("gerrit").await.expect("cursor"), None, "{name}");
    }
}

#[tokio::test]
async fn notes_are_kept_per_target_and_removed() {
    for (name, outbox, _dir) in outboxes().await {
        assert_eq!(outbox.note("mail", "buildset:1").await.expect("note"), None, "{name}");
        outbox.set_note("mail", "buildset:1", Some("17")).await.expect("set");
        outbox.set_note("mail", "buildset:1", Some("18")).await.expect("set");
        outbox.set_note("irc", "buildset:1", Some("5")).await.expect("set");
        assert_eq!(outbox.note("mail", "buildset:1").await.expect("note").as_deref(), Some("18"), "{name}");
        outbox.set_note("mail", "buildset:1", None).await.expect("remove");
        assert_eq!(outbox.note("mail", "buildset:1").await.expect("note"), None, "{name}");
        assert_eq!(outbox.note("irc", "buildset:1").await.expect("note").as_deref(), Some("5"), "{name}");
    }
}

#[tokio::test]
async fn the_sqlite_outbox_keeps_everything_across_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    {
        let store = SqliteStore::open(&path).await.expect("open");
        let outbox = store.outbox();
        outbox.enqueue(&message("mail", "a", 0)).await.expect("enqueue");
        outbox.enqueue(&message("mail", "b", 0)).await.expect("enqueue");
        outbox.mark_sent("mail", "a", at(1)).await.expect("sent");
        outbox.set_cursor("mail", 42).await.expect("cursor");
        outbox.set_cursor("irc", 0).await.expect("cursor");
        outbox.set_note("mail", "k", Some("v")).await.expect("note");
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let outbox = store.outbox();
    assert_eq!(outbox.cursor("mail").await.expect("cursor"), Some(42));
    assert_eq!(outbox.cursor("irc").await.expect("cursor"), Some(0), "a cursor of 0 is kept as one");
    assert_eq!(outbox.note("mail", "k").await.expect("note").as_deref(), Some("v"));
    let due: Vec<String> =
        outbox.claim_due("mail", at(10), at(20), 10).await.expect("claim").into_iter().map(|m| m.id).collect();
    assert_eq!(due, ["b"]);
    assert_eq!(outbox.message("mail", "a").await.expect("read").expect("a").state, DeliveryState::Sent);
}
