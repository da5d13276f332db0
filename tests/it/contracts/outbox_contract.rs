//! The `Outbox` contract, run against every implementation: memory (the reference), SQLite
//! in memory, SQLite on a file (which is also reopened, to check that nothing is lost) and
//! PostgreSQL (a database of its own on the tests' server):
//! queuing, the claim of each delivery discipline, outcomes, pruning, cursors and notes.

use std::sync::Arc;

use crate::common::postgres;

use buildstatus::adapters::memory::MemoryOutbox;
use buildstatus::adapters::postgres::PgStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::domain::model::Timestamp;
use buildstatus::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};
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
        ("postgres", Arc::new(PgStore::open(&postgres::database()).await.expect("postgres store").outbox()), None),
    ]
}

fn message(target: &str, id: &str, second: i64) -> OutboxMessage {
    OutboxMessage::new(target, id, format!("payload of {id}"), format!("about {id}"), at(second))
}

fn ids(messages: Vec<OutboxMessage>) -> Vec<String> {
    messages.into_iter().map(|m| m.id).collect()
}

/// `target`'s messages that `discipline` lets go at `now` (leased for a minute).
async fn claim(outbox: &dyn Outbox, discipline: Discipline, now: i64, limit: usize) -> Vec<String> {
    ids(outbox.claim("mail/m", discipline, at(now), at(now + 60), limit).await.expect("claim"))
}

fn one(id: &str) -> Vec<String> {
    vec![id.to_owned()]
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
async fn concurrent_claims_take_due_messages_longest_due_first_and_lease_them() {
    for (name, outbox, _dir) in outboxes().await {
        for (id, second) in [("b", 2), ("a", 1), ("later", 100), ("c", 3)] {
            outbox.enqueue(&message("mail/m", id, second)).await.expect("enqueue");
        }
        outbox.enqueue(&message("irc/i", "x", 0)).await.expect("enqueue");
        assert_eq!(claim(outbox.as_ref(), Discipline::Concurrent, 10, 2).await, ["b", "a"], "{name}: in queue order");
        let a = outbox.message("mail/m", "a").await.expect("read").expect("a");
        assert_eq!((a.state, a.next_attempt), (DeliveryState::Sending, at(70)), "{name}: leased");
        // Leased: not due again until the lease ends; the rest still are.
        assert_eq!(claim(outbox.as_ref(), Discipline::Concurrent, 10, 10).await, ["c"], "{name}");
        assert!(claim(outbox.as_ref(), Discipline::Concurrent, 69, 10).await.is_empty(), "{name}");
        assert_eq!(
            claim(outbox.as_ref(), Discipline::Concurrent, 75, 10).await,
            ["b", "a", "c"],
            "{name}: a lease that ran out makes a message due again"
        );
        assert_eq!(outbox.next_due("mail/m").await.expect("next"), Some(at(100)), "{name}");
        assert_eq!(outbox.next_due("gerrit/g").await.expect("next"), None, "{name}");
    }
}

#[tokio::test]
async fn an_ordered_claim_waits_for_the_oldest_open_message() {
    for (name, outbox, _dir) in outboxes().await {
        for (id, second) in [("1", 0), ("2", 1), ("3", 2), ("4", 3)] {
            outbox.enqueue(&message("mail/m", id, second)).await.expect("enqueue");
        }
        assert_eq!(
            claim(outbox.as_ref(), Discipline::Ordered, 10, 2).await,
            ["1", "2"],
            "{name}: a batch from the head"
        );
        assert!(claim(outbox.as_ref(), Discipline::Ordered, 10, 2).await.is_empty(), "{name}: one batch in flight");
        outbox.mark_failed("mail/m", &["1".into(), "2".into()], "503", Some(at(100)), at(11)).await.expect("failed");
        assert!(
            claim(outbox.as_ref(), Discipline::Ordered, 50, 10).await.is_empty(),
            "{name}: nothing overtakes a retry"
        );
        assert_eq!(claim(outbox.as_ref(), Discipline::Ordered, 100, 1).await, ["1"], "{name}");
        outbox.mark_sent("mail/m", &one("1"), at(101)).await.expect("sent");
        assert_eq!(claim(outbox.as_ref(), Discipline::Ordered, 101, 10).await, ["2", "3", "4"], "{name}");
        outbox.mark_failed("mail/m", &one("2"), "400", None, at(102)).await.expect("given up");
        outbox.mark_sent("mail/m", &["3".into(), "4".into()], at(102)).await.expect("sent");
        outbox.enqueue(&message("mail/m", "5", 103)).await.expect("enqueue");
        assert_eq!(
            claim(outbox.as_ref(), Discipline::Ordered, 103, 10).await,
            ["5"],
            "{name}: a given-up one is passed"
        );
    }
}

#[tokio::test]
async fn a_latest_per_key_claim_supersedes_older_messages_and_keeps_one_in_flight_per_key() {
    for (name, outbox, _dir) in outboxes().await {
        let keyed = |id: &str, key: &str, second| message("mail/m", id, second).with_key(key);
        for m in [keyed("a1", "a", 0), keyed("b1", "b", 1), message("mail/m", "free", 2)] {
            outbox.enqueue(&m).await.expect("enqueue");
        }
        assert_eq!(claim(outbox.as_ref(), Discipline::LatestPerKey, 10, 1).await, ["a1"], "{name}");
        // A newer state of "a" while "a1" is in flight, and one of "b" before "b1" went.
        outbox.enqueue(&keyed("a2", "a", 11)).await.expect("enqueue");
        outbox.enqueue(&keyed("b2", "b", 12)).await.expect("enqueue");
        assert_eq!(
            claim(outbox.as_ref(), Discipline::LatestPerKey, 20, 10).await,
            ["free", "b2"],
            "{name}: b1 is superseded, a2 waits for a1"
        );
        let b1 = outbox.message("mail/m", "b1").await.expect("read").expect("b1");
        assert_eq!(b1.state, DeliveryState::Superseded, "{name}");
        // a1 fails: it is never retried after a2, which goes once a1 is done.
        outbox.mark_failed("mail/m", &one("a1"), "502", Some(at(21)), at(21)).await.expect("failed");
        assert_eq!(claim(outbox.as_ref(), Discipline::LatestPerKey, 30, 10).await, ["a2"], "{name}");
        let a1 = outbox.message("mail/m", "a1").await.expect("read").expect("a1");
        assert_eq!(a1.state, DeliveryState::Superseded, "{name}: the retry of an old state is dropped");
        let counts = outbox.counts().await.expect("counts");
        assert_eq!((counts[0].sending, counts[0].superseded), (3, 2), "{name}: {counts:?}");
    }
}

/// A notifier's messages, notes and cursor are written at once; a repeated id is not stored
/// again, and a message of another target is refused with nothing written.
#[tokio::test]
async fn a_record_writes_messages_notes_and_cursor_together() {
    for (name, outbox, _dir) in outboxes().await {
        outbox.enqueue(&message("push/p", "1", 0)).await.expect("enqueue");
        outbox.set_note("push/p", "gone", Some("x")).await.expect("note");
        let record = Record {
            messages: vec![message("push/p", "1", 5), message("push/p", "2", 5), message("push/p", "3", 5)],
            notes: vec![("next_id".into(), Some("4".into())), ("gone".into(), None)],
            cursor: Some(17),
        };
        assert_eq!(outbox.record("push/p", &record).await.expect("record"), 2, "{name}: 1 was there");
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 10).await, ["1", "2", "3"], "{name}: in the order given");
        assert_eq!(outbox.message("push/p", "1").await.expect("read").expect("1").created, at(0), "{name}");
        assert_eq!(outbox.note("push/p", "next_id").await.expect("note").as_deref(), Some("4"), "{name}");
        assert_eq!(outbox.note("push/p", "gone").await.expect("note"), None, "{name}");
        assert_eq!(outbox.cursor("push/p").await.expect("cursor"), Some(17), "{name}");
        let back = Record { cursor: Some(3), ..Record::default() };
        outbox.record("push/p", &back).await.expect("record");
        assert_eq!(outbox.cursor("push/p").await.expect("cursor"), Some(17), "{name}: never back");

        let mixed = Record {
            messages: vec![message("push/p", "4", 6), message("mail/m", "x", 6)],
            notes: vec![("next_id".into(), Some("9".into()))],
            cursor: Some(30),
        };
        assert!(outbox.record("push/p", &mixed).await.is_err(), "{name}: another target's message");
        assert_eq!(outbox.message("push/p", "4").await.expect("read"), None, "{name}: nothing written");
        assert_eq!(outbox.note("push/p", "next_id").await.expect("note").as_deref(), Some("4"), "{name}");
        assert_eq!(outbox.cursor("push/p").await.expect("cursor"), Some(17), "{name}");
    }
}

/// A large record (more messages than one statement inserts, some already there) keeps the
/// order given, and a batch's outcome is recorded on all its messages at once.
#[tokio::test]
async fn a_large_batch_is_queued_in_order_and_settled_at_once() {
    for (name, outbox, _dir) in outboxes().await {
        outbox.enqueue(&message("push/p", "7", 0)).await.expect("enqueue");
        let messages: Vec<OutboxMessage> = (1..=1200).map(|i| message("push/p", &i.to_string(), 1)).collect();
        let record = Record { messages, ..Record::default() };
        assert_eq!(outbox.record("push/p", &record).await.expect("record"), 1199, "{name}: 7 was there");
        let claimed = ids(outbox.claim("push/p", Discipline::Ordered, at(5), at(65), 2000).await.expect("claim"));
        let order: Vec<String> =
            std::iter::once("7".to_owned()).chain((1..=1200).filter(|i| *i != 7).map(|i| i.to_string())).collect();
        assert_eq!(claimed, order, "{name}: in the order queued");
        let (sent, rest) = claimed.split_at(700);
        outbox.mark_sent("push/p", sent, at(6)).await.expect("sent");
        outbox.mark_failed("push/p", &rest[..1], "503", Some(at(30)), at(6)).await.expect("failed");
        outbox.release("push/p", &rest[1..], at(30)).await.expect("released");
        let counts = outbox.counts().await.expect("counts");
        let p = counts.iter().find(|c| c.target == "push/p").expect("push/p");
        assert_eq!((p.sent, p.pending, p.sending), (700, 500, 0), "{name}");
        let head = outbox.head("push/p").await.expect("head").expect("a head");
        assert_eq!((head.id.as_str(), head.attempts, head.next_attempt), (rest[0].as_str(), 1, at(30)), "{name}");
    }
}

/// An outcome that names a message not stored is refused, and changes none of the others.
#[tokio::test]
async fn an_outcome_naming_an_unknown_message_changes_nothing() {
    for (name, outbox, _dir) in outboxes().await {
        for id in ["a", "b"] {
            outbox.enqueue(&message("push/p", id, 0)).await.expect("enqueue");
        }
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 10).await, ["a", "b"], "{name}");
        let named = vec!["a".to_owned(), "nope".to_owned(), "b".to_owned()];
        assert!(outbox.mark_sent("push/p", &named, at(11)).await.is_err(), "{name}");
        assert!(outbox.mark_failed("push/p", &named, "503", None, at(11)).await.is_err(), "{name}");
        assert!(outbox.release("push/p", &named, at(11)).await.is_err(), "{name}");
        assert!(outbox.mark_deferred("push/p", &named, "429", at(90)).await.is_err(), "{name}");
        for id in ["a", "b"] {
            let m = outbox.message("push/p", id).await.expect("read").expect("stored");
            assert_eq!((m.state, m.attempts, m.next_attempt), (DeliveryState::Sending, 0, at(70)), "{name}: {id}");
        }
        // The same id twice is one message.
        outbox.mark_sent("push/p", &["a".into(), "a".into(), "b".into()], at(12)).await.expect("sent");
        let a = outbox.message("push/p", "a").await.expect("read").expect("a");
        assert_eq!((a.state, a.attempts), (DeliveryState::Sent, 1), "{name}");
    }
}

async fn claim_of(outbox: &dyn Outbox, target: &str, now: i64) -> Vec<String> {
    ids(outbox.claim(target, Discipline::Ordered, at(now), at(now + 60), 100).await.expect("claim"))
}

/// Trimming drops the oldest waiting messages beyond the number kept, never one in flight,
/// and they are counted as dropped, with the reason.
#[tokio::test]
async fn trimming_drops_the_oldest_waiting_messages() {
    for (name, outbox, _dir) in outboxes().await {
        for i in 1..=6 {
            outbox.enqueue(&message("push/p", &i.to_string(), i)).await.expect("enqueue");
        }
        outbox.enqueue(&message("mail/m", "x", 0)).await.expect("enqueue");
        // 1 and 2 in flight, 3 sent.
        outbox.claim("push/p", Discipline::Ordered, at(10), at(70), 3).await.expect("claim");
        outbox.mark_sent("push/p", &one("3"), at(11)).await.expect("sent");
        let trimmed = outbox.trim_open("push/p", 10, "full", at(12)).await.expect("trim");
        assert_eq!(trimmed, Trimmed { dropped: 0, open: 5 }, "{name}: room enough");
        let trimmed = outbox.trim_open("push/p", 3, "full", at(12)).await.expect("trim");
        assert_eq!(trimmed, Trimmed { dropped: 2, open: 3 }, "{name}");
        let state = |m: Option<OutboxMessage>| m.map(|m| (m.state, m.last_error));
        assert_eq!(
            state(outbox.message("push/p", "4").await.expect("read")),
            Some((DeliveryState::Dropped, Some("full".into()))),
            "{name}: the oldest waiting one"
        );
        assert_eq!(state(outbox.message("push/p", "6").await.expect("read")), Some((DeliveryState::Pending, None)));
        let trimmed = outbox.trim_open("push/p", 0, "full", at(12)).await.expect("trim");
        assert_eq!(trimmed, Trimmed { dropped: 1, open: 2 }, "{name}: those in flight stay");
        let counts = outbox.counts().await.expect("counts");
        let push = counts.iter().find(|c| c.target == "push/p").expect("push counts");
        assert_eq!((push.dropped, push.sending, push.sent), (3, 2, 1), "{name}");
        assert_eq!(
            counts.iter().find(|c| c.target == "mail/m").map(|c| c.pending),
            Some(1),
            "{name}: others untouched"
        );
        let keep = Retention { max_age: std::time::Duration::from_secs(3600), max_count: 1 };
        assert_eq!(outbox.prune("push/p", keep, at(20)).await.expect("prune"), 3, "{name}: dropped ones are done");
    }
}

/// The head is the oldest open message, in flight or waiting; released messages wait again,
/// with no attempt counted.
#[tokio::test]
async fn the_head_and_released_messages() {
    for (name, outbox, _dir) in outboxes().await {
        assert_eq!(outbox.head("push/p").await.expect("head"), None, "{name}");
        for i in 1..=4 {
            outbox.enqueue(&message("push/p", &i.to_string(), i)).await.expect("enqueue");
        }
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 10).await, ["1", "2", "3", "4"], "{name}");
        outbox.mark_sent("push/p", &one("1"), at(11)).await.expect("sent");
        outbox.mark_failed("push/p", &one("2"), "503", Some(at(40)), at(11)).await.expect("failed");
        outbox.release("push/p", &["3".into(), "4".into()], at(40)).await.expect("release");
        let head = outbox.head("push/p").await.expect("head").expect("2");
        assert_eq!((head.id.as_str(), head.last_error.as_deref(), head.next_attempt), ("2", Some("503"), at(40)));
        let three = outbox.message("push/p", "3").await.expect("read").expect("3");
        assert_eq!((three.state, three.attempts, three.next_attempt), (DeliveryState::Pending, 0, at(40)), "{name}");
        assert!(outbox.release("push/p", &one("nope"), at(40)).await.is_err(), "{name}: an unknown id");
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 40).await, ["2", "3", "4"], "{name}");
        assert_eq!(outbox.head("push/p").await.expect("head").map(|m| m.state), Some(DeliveryState::Sending));
    }
}

/// At start, what a dead process was sending is due at once, leases and all.
#[tokio::test]
async fn released_leases_make_messages_in_flight_due() {
    for (name, outbox, _dir) in outboxes().await {
        for i in 1..=3 {
            outbox.enqueue(&message("push/p", &i.to_string(), i)).await.expect("enqueue");
        }
        outbox.enqueue(&message("mail/m", "x", 0)).await.expect("enqueue");
        outbox.claim("mail/m", Discipline::Concurrent, at(10), at(1000), 10).await.expect("claim");
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 10).await, ["1", "2", "3"], "{name}");
        assert!(claim_of(outbox.as_ref(), "push/p", 20).await.is_empty(), "{name}: leased");
        assert_eq!(outbox.release_leases("push/p", at(20)).await.expect("release"), 3, "{name}");
        assert_eq!(claim_of(outbox.as_ref(), "push/p", 20).await, ["1", "2", "3"], "{name}: due again");
        let mail = outbox.message("mail/m", "x").await.expect("read").expect("x");
        assert_eq!(mail.state, DeliveryState::Sending, "{name}: other targets keep theirs");
    }
}

/// A rate limit holds the whole target back without counting the attempt: the deferred
/// message and every other waiting one are due at the reset, none before; one in flight is
/// left to finish; other targets are not touched.
#[tokio::test]
async fn a_deferral_holds_the_target_back_without_counting_the_attempt() {
    for (name, outbox, _dir) in outboxes().await {
        for id in ["a", "b", "c"] {
            outbox.enqueue(&message("github/g", id, 0)).await.expect("enqueue");
        }
        outbox.enqueue(&message("mail/m", "other", 0)).await.expect("enqueue");
        let claimed = outbox.claim("github/g", Discipline::Concurrent, at(1), at(9999), 2).await.expect("claim");
        assert_eq!(ids(claimed), ["a", "b"], "{name}");
        outbox.mark_deferred("github/g", &one("a"), "403 rate limit", at(600)).await.expect("deferred");
        let a = outbox.message("github/g", "a").await.expect("read").expect("a");
        assert_eq!((a.state, a.attempts, a.next_attempt), (DeliveryState::Pending, 0, at(600)), "{name}");
        assert_eq!(a.last_error.as_deref(), Some("403 rate limit"), "{name}");
        let c = outbox.message("github/g", "c").await.expect("read").expect("c");
        assert_eq!(c.next_attempt, at(600), "{name}: the waiting message waits for the reset too");
        let b = outbox.message("github/g", "b").await.expect("read").expect("b");
        assert_eq!((b.state, b.next_attempt), (DeliveryState::Sending, at(9999)), "{name}: in flight, untouched");
        assert_eq!(claim_concurrent(outbox.as_ref(), "github/g", 599).await, Vec::<String>::new(), "{name}");
        assert_eq!(claim_concurrent(outbox.as_ref(), "github/g", 600).await, ["a", "c"], "{name}");
        assert_eq!(claim_concurrent(outbox.as_ref(), "mail/m", 1).await, ["other"], "{name}: other targets go on");
    }
}

async fn claim_concurrent(outbox: &dyn Outbox, target: &str, now: i64) -> Vec<String> {
    ids(outbox.claim(target, Discipline::Concurrent, at(now), at(now + 60), 10).await.expect("claim"))
}

#[tokio::test]
async fn pruning_keeps_open_messages_and_the_newest_done_ones() {
    for (name, outbox, _dir) in outboxes().await {
        for (i, second) in [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)] {
            outbox.enqueue(&message("mail/m", &i.to_string(), second)).await.expect("enqueue");
        }
        outbox.enqueue(&message("irc/i", "0", 0)).await.expect("enqueue");
        outbox.mark_sent("irc/i", &one("0"), at(0)).await.expect("sent");
        for (i, second) in [(0, 0), (1, 10), (2, 20)] {
            outbox.mark_sent("mail/m", &one(&i.to_string()), at(second)).await.expect("sent");
        }
        outbox.mark_failed("mail/m", &one("3"), "550", None, at(30)).await.expect("given up");
        // Kept: done within the last 25 s of 50, at most two of them; 4 is still open.
        let keep = Retention { max_age: std::time::Duration::from_secs(25), max_count: 2 };
        assert_eq!(outbox.prune("mail/m", keep, at(50)).await.expect("prune"), 3, "{name}");
        let left = ids(outbox.log("mail/m", None, 10).await.expect("log"));
        assert_eq!(left, ["4", "3"], "{name}: 2 is too old, 0 and 1 beyond the count");
        let keep_two = Retention { max_age: std::time::Duration::from_secs(3600), max_count: 2 };
        assert_eq!(outbox.prune("mail/m", keep_two, at(50)).await.expect("prune"), 0, "{name}: nothing more");
        assert_eq!(outbox.log("irc/i", None, 10).await.expect("log").len(), 1, "{name}: other targets untouched");
    }
}

#[tokio::test]
async fn outcomes_are_recorded_and_listed_newest_first() {
    for (name, outbox, _dir) in outboxes().await {
        for id in ["a", "b", "c"] {
            outbox.enqueue(&message("mail/m", id, 0)).await.expect("enqueue");
        }
        outbox
            .enqueue(&OutboxMessage::unbuildable("mail/m", "d", "about d".into(), "bad template".into(), at(1)))
            .await
            .expect("enqueue");
        outbox.mark_sent("mail/m", &one("a"), at(5)).await.expect("sent");
        outbox.mark_failed("mail/m", &one("b"), "connection refused", Some(at(60)), at(5)).await.expect("failed");
        outbox.mark_failed("mail/m", &one("c"), "550 no such user", None, at(6)).await.expect("failed");
        assert!(outbox.mark_sent("mail/m", &one("nope"), at(5)).await.is_err(), "{name}: an unknown id is an error");

        let a = outbox.message("mail/m", "a").await.expect("read").expect("a");
        assert_eq!((a.state, a.attempts, a.last_error), (DeliveryState::Sent, 1, None), "{name}");
        let b = outbox.message("mail/m", "b").await.expect("read").expect("b");
        assert_eq!((b.state, b.attempts, b.next_attempt), (DeliveryState::Pending, 1, at(60)), "{name}");
        assert_eq!(b.last_error.as_deref(), Some("connection refused"));
        let c = outbox.message("mail/m", "c").await.expect("read").expect("c");
        assert_eq!(c.state, DeliveryState::Failed, "{name}");
        let due = claim(outbox.as_ref(), Discipline::Concurrent, 1000, 10).await;
        assert_eq!(due, ["b"], "{name}: only the message to retry comes due again");

        let log = ids(outbox.log("mail/m", None, 10).await.expect("log"));
        assert_eq!(log, ["d", "c", "b", "a"], "{name}");
        let failed = ids(outbox.log("mail/m", Some(DeliveryState::Failed), 1).await.expect("log"));
        assert_eq!(failed, ["d"], "{name}");
        outbox.enqueue(&message("irc/i", "x", 0)).await.expect("enqueue");
        assert_eq!(
            outbox.counts().await.expect("counts"),
            [
                TargetCounts { target: "irc/i".into(), pending: 1, ..TargetCounts::default() },
                TargetCounts { target: "mail/m".into(), sending: 1, sent: 1, failed: 2, ..TargetCounts::default() },
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
        outbox.mark_sent("mail", &one("a"), at(1)).await.expect("sent");
        outbox.set_cursor("mail", 42).await.expect("cursor");
        outbox.set_cursor("irc", 0).await.expect("cursor");
        outbox.set_note("mail", "k", Some("v")).await.expect("note");
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let outbox = store.outbox();
    assert_eq!(outbox.cursor("mail").await.expect("cursor"), Some(42));
    assert_eq!(outbox.cursor("irc").await.expect("cursor"), Some(0), "a cursor of 0 is kept as one");
    assert_eq!(outbox.note("mail", "k").await.expect("note").as_deref(), Some("v"));
    let due = ids(outbox.claim("mail", Discipline::Concurrent, at(10), at(20), 10).await.expect("claim"));
    assert_eq!(due, ["b"]);
    assert_eq!(outbox.message("mail", "a").await.expect("read").expect("a").state, DeliveryState::Sent);
}

/// Takes the data directory of the status database at `path` back to before the outbox had a
/// file of its own: no outbox file, and the status database's outbox tables as the migrations
/// `made` (of `migrations/`) made them, with the record of the versions `forgotten` removed
/// (migrations that run again when it is opened).
async fn outbox_in_the_status_database(path: &std::path::Path, made: &[&str], forgotten: &[i64]) -> sqlx::SqlitePool {
    drop(SqliteStore::open(path).await.expect("create"));
    let outbox = buildstatus::adapters::sqlite::outbox_path(path);
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", outbox.display()));
        if file.exists() {
            std::fs::remove_file(&file).expect("outbox file removed");
        }
    }
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("raw");
    for sql in made {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&pool).await.expect("old schema");
    }
    for version in forgotten {
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?").bind(version).execute(&pool).await.expect("v");
    }
    pool
}

const V4: &str = include_str!("../../../src/adapters/sqlite/migrations/0004_outbox.sql");
const V7: &str = include_str!("../../../src/adapters/sqlite/migrations/0007_target_kinds.sql");

/// A database written before targets had kinds: its mail targets' rows, cursors and notes are
/// renamed `mail/NAME` when it is opened, so the mail target resumes where it stopped.
#[tokio::test]
async fn targets_named_before_kinds_existed_become_mail_targets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    // Back to schema version 6, as an older buildstatus left it.
    let pool = outbox_in_the_status_database(&path, &[V4], &[7]).await;
    for sql in [
        "INSERT INTO outbox (target, id, state, attempts, created, next_attempt, summary, payload) \
         VALUES ('ops', 'm1', 'pending', 0, 0, 0, 's', 'p')",
        "INSERT INTO notifier_cursors (target, seq) VALUES ('ops', 12)",
        "INSERT INTO notifier_notes (target, key, value) VALUES ('ops', 'buildset:1', '5')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pool.close().await;
    let outbox = SqliteStore::open(&path).await.expect("migrated").outbox();
    assert_eq!(outbox.cursor("mail/ops").await.expect("cursor"), Some(12));
    assert_eq!(outbox.note("mail/ops", "buildset:1").await.expect("note").as_deref(), Some("5"));
    assert_eq!(outbox.message("mail/ops", "m1").await.expect("read").map(|m| m.summary), Some("s".to_owned()));
    assert_eq!(outbox.cursor("ops").await.expect("cursor"), None);
}

/// A data directory from before the outbox had a file of its own (the status database of
/// version 8 holding it): opened, its outbox moves into the outbox file whole (every message in
/// its state and its place in the queue, cursors, notes) and leaves the status database; a
/// target resumes where it stopped, and what it queues next goes after what it had queued.
#[tokio::test]
async fn an_outbox_kept_in_the_status_database_moves_to_its_own_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    let pool = outbox_in_the_status_database(&path, &[V4, V7], &[]).await;
    for sql in [
        // Queued out of id order, on purpose: the queue's order is `n`.
        "INSERT INTO outbox (n, target, id, state, attempts, created, next_attempt, summary, payload) VALUES \
         (1, 'http-push/p', '1', 'sent', 1, 0, 0, 'one', '{\"id\":1}'), \
         (2, 'http-push/p', '3', 'pending', 0, 0, 0, 'three', '{\"id\":3}'), \
         (3, 'http-push/p', '2', 'sending', 0, 0, 0, 'two', '{\"id\":2}')",
        "INSERT INTO notifier_cursors (target, seq) VALUES ('http-push/p', 40)",
        "INSERT INTO notifier_notes (target, key, value) VALUES ('http-push/p', 'next_id', '4')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pool.close().await;
    {
        let store = SqliteStore::open(&path).await.expect("moved");
        let outbox = store.outbox();
        assert_eq!(outbox.cursor("http-push/p").await.expect("cursor"), Some(40));
        assert_eq!(outbox.note("http-push/p", "next_id").await.expect("note").as_deref(), Some("4"));
        let sent = outbox.message("http-push/p", "1").await.expect("read").expect("moved");
        assert_eq!((sent.state, sent.attempts, sent.payload.as_str()), (DeliveryState::Sent, 1, r#"{"id":1}"#));
        outbox.enqueue(&message("http-push/p", "4", 0)).await.expect("enqueue");
        assert_eq!(outbox.release_leases("http-push/p", at(0)).await.expect("released"), 1, "'2' was in flight");
        let claimed = outbox.claim("http-push/p", Discipline::Ordered, at(1), at(60), 10).await.expect("claim");
        assert_eq!(ids(claimed), ["3", "2", "4"], "the queue's order is kept, and new messages go last");
    }
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("raw");
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE name IN ('outbox', 'notifier_cursors', 'notifier_notes')",
    )
    .fetch_all(&raw)
    .await
    .expect("schema");
    assert!(left.is_empty(), "the status database still holds {left:?}");
    raw.close().await;
    let outbox = SqliteStore::open(&path).await.expect("opens again").outbox();
    assert_eq!(outbox.cursor("http-push/p").await.expect("cursor"), Some(40));
    assert_eq!(outbox.log("http-push/p", None, 10).await.expect("log").len(), 4);
}

/// A move interrupted after its copy, before the status database dropped its outbox: the next
/// open copies nothing twice and moves no cursor back, then drops it.
#[tokio::test]
async fn a_move_interrupted_after_its_copy_is_finished_without_copying_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sqlite");
    let old = "INSERT INTO outbox (n, target, id, state, attempts, created, next_attempt, summary, payload) \
               VALUES (1, 'mail/m', 'a', 'pending', 0, 0, 0, 'a', 'pa'); \
               INSERT INTO notifier_cursors (target, seq) VALUES ('mail/m', 5);";
    let pool = outbox_in_the_status_database(&path, &[V4, V7], &[]).await;
    sqlx::raw_sql(old).execute(&pool).await.expect("old outbox");
    pool.close().await;
    {
        let outbox = SqliteStore::open(&path).await.expect("moved").outbox();
        outbox.mark_sent("mail/m", &one("a"), at(1)).await.expect("sent");
        outbox.set_cursor("mail/m", 9).await.expect("cursor");
    }
    // The status database as if the move had stopped before its drop.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("raw");
    for sql in [V4, V7, old] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("old outbox again");
    }
    pool.close().await;
    let outbox = SqliteStore::open(&path).await.expect("opens").outbox();
    assert_eq!(outbox.cursor("mail/m").await.expect("cursor"), Some(9), "not moved back");
    let log = outbox.log("mail/m", None, 10).await.expect("log");
    assert_eq!(log.iter().map(|m| (m.id.as_str(), m.state)).collect::<Vec<_>>(), [("a", DeliveryState::Sent)]);
}
