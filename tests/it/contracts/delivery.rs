//! The delivery disciplines, proved over random failure schedules: two workers of one target
//! share an outbox (memory, SQLite and PostgreSQL), messages are queued between their rounds, the
//! transport fails temporarily or for good as a generated script says, and the clock jumps.
//! Whatever the schedule:
//!
//! - *concurrent*: every message not given up is delivered, once;
//! - *ordered*: messages are delivered in the order they were queued, never one before an
//!   earlier one is done, and one request at a time;
//! - *latest per key*: a key's messages are delivered oldest to newest, never an older one after
//!   a newer one, one at a time per key, and each key ends with its newest message delivered
//!   (unless that one was given up).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use buildstatus::adapters::memory::{MemoryClock, MemoryOutbox};
use buildstatus::adapters::postgres::PgStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::app::notify::worker::{Round, Worker};
use buildstatus::app::notify::{Deliver, Policy, WorkerOptions};
use buildstatus::domain::notify::outbox::{
    AttemptError, DeliveryState, Discipline, OutboxMessage, Retention, RetryPolicy, TargetId,
};
use buildstatus::ports::{Clock, Outbox};
use proptest::prelude::*;

use crate::common::postgres;

const TARGET: &str = "push/test";

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Ok,
    Temporary,
    Permanent,
}

#[derive(Clone, Debug)]
enum Step {
    /// Queue a message of key `0..3`.
    Queue(u8),
    /// Both workers take a round, at the same time.
    Rounds,
    /// The clock moves on by this many seconds.
    Wait(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![3 => (0u8..3).prop_map(Step::Queue), 4 => Just(Step::Rounds), 2 => (0u8..20).prop_map(Step::Wait)]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![5 => Just(Outcome::Ok), 3 => Just(Outcome::Temporary), 1 => Just(Outcome::Permanent)]
}

/// A transport that answers as its script says (then always yes), records what it accepted,
/// and counts calls in flight.
#[derive(Default)]
struct Scripted {
    state: Mutex<Script>,
}

#[derive(Default)]
struct Script {
    outcomes: std::collections::VecDeque<Outcome>,
    /// Accepted messages (their payloads), in the order they were accepted.
    accepted: Vec<String>,
    in_flight: Vec<Vec<String>>,
    /// The most calls in flight at once, and per key at once.
    most_calls: usize,
    most_per_key: usize,
}

#[async_trait]
impl Deliver for Scripted {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        let keys: Vec<String> = batch.iter().map(|m| m.key.clone().unwrap_or_else(|| m.id.clone())).collect();
        {
            let mut s = self.state.lock().expect("script");
            s.in_flight.push(keys.clone());
            s.most_calls = s.most_calls.max(s.in_flight.len());
            for key in &keys {
                let same = s.in_flight.iter().flatten().filter(|k| *k == key).count();
                s.most_per_key = s.most_per_key.max(same);
            }
        }
        // Let the other worker's calls start while this one is "on the wire".
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let mut s = self.state.lock().expect("script");
        if let Some(i) = s.in_flight.iter().position(|k| *k == keys) {
            s.in_flight.remove(i);
        }
        match s.outcomes.pop_front().unwrap_or(Outcome::Ok) {
            Outcome::Ok => {
                s.accepted.extend(batch.iter().map(|m| m.payload.clone()));
                Ok(())
            }
            Outcome::Temporary => Err(AttemptError::temporary("503 busy")),
            Outcome::Permanent => Err(AttemptError::Permanent("400 refused".into())),
        }
    }
}

fn worker(outbox: Arc<dyn Outbox>, deliver: Arc<Scripted>, clock: Arc<MemoryClock>, discipline: Discipline) -> Worker {
    let retry = RetryPolicy { first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(4), max_attempts: 3 };
    let policy = Policy {
        discipline,
        batch: 3,
        concurrency: 2,
        retry,
        retention: Retention::default(),
        lease: Duration::from_secs(30),
        ..Policy::defaults(&WorkerOptions::default())
    };
    Worker {
        target: TargetId::parse(TARGET).expect("id"),
        outbox,
        deliver,
        clock,
        policy,
        idle: Duration::from_millis(1),
        wake: Default::default(),
    }
}

/// What a run came to: the messages queued (payload, key) in order, those given up, and the
/// transport's record.
struct Run {
    queued: Vec<(String, u8)>,
    given_up: Vec<String>,
    accepted: Vec<String>,
    most_calls: usize,
    most_per_key: usize,
}

async fn run(outbox: Arc<dyn Outbox>, discipline: Discipline, steps: &[Step], outcomes: &[Outcome]) -> Run {
    let clock = Arc::new(MemoryClock::new(chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time")));
    let deliver = Arc::new(Scripted::default());
    deliver.state.lock().expect("script").outcomes = outcomes.iter().copied().collect();
    let one = worker(outbox.clone(), deliver.clone(), clock.clone(), discipline);
    let two = worker(outbox.clone(), deliver.clone(), clock.clone(), discipline);
    let mut queued = Vec::new();
    for step in steps {
        match step {
            Step::Queue(key) => {
                let id = format!("m{}", queued.len());
                let mut m = OutboxMessage::new(TARGET, &id, id.clone(), String::new(), clock.now());
                if discipline == Discipline::LatestPerKey {
                    m = m.with_key(&format!("k{key}"));
                }
                assert!(outbox.enqueue(&m).await.expect("enqueue"));
                queued.push((id, *key));
            }
            Step::Rounds => {
                tokio::join!(one.round(), two.round());
            }
            Step::Wait(seconds) => clock.advance(Duration::from_secs(u64::from(*seconds))),
        }
    }
    // Then the peer is well again: everything still open goes.
    deliver.state.lock().expect("script").outcomes.clear();
    for _ in 0..200 {
        clock.advance(Duration::from_secs(5));
        let (a, b) = tokio::join!(one.round(), two.round());
        if a == Round::Idle && b == Round::Idle && outbox.next_due(TARGET).await.expect("due").is_none() {
            break;
        }
    }
    let log = outbox.log(TARGET, None, 10_000).await.expect("log");
    assert!(log.iter().all(|m| !m.state.is_open()), "all done: {log:?}");
    let given_up = log.iter().filter(|m| m.state == DeliveryState::Failed).map(|m| m.id.clone()).collect();
    let s = deliver.state.lock().expect("script");
    Run { queued, given_up, accepted: s.accepted.clone(), most_calls: s.most_calls, most_per_key: s.most_per_key }
}

/// Runs the schedule against the memory outbox, SQLite's and PostgreSQL's (a database of its
/// own for each schedule).
fn each_outbox(discipline: Discipline, steps: &[Step], outcomes: &[Outcome], check: impl Fn(&str, Run)) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let sqlite = SqliteStore::open_in_memory().await.expect("sqlite");
        let pg = PgStore::open(&postgres::database()).await.expect("postgres");
        let outboxes: [(&str, Arc<dyn Outbox>); 3] = [
            ("memory", Arc::new(MemoryOutbox::new())),
            ("sqlite", Arc::new(sqlite.outbox())),
            ("postgres", Arc::new(pg.outbox())),
        ];
        for (name, outbox) in outboxes {
            check(name, run(outbox, discipline, steps, outcomes).await);
        }
    });
}

fn schedules() -> impl Strategy<Value = (Vec<Step>, Vec<Outcome>)> {
    (prop::collection::vec(step(), 1..40), prop::collection::vec(outcome(), 0..30))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_delivers_every_message_not_given_up_once((steps, outcomes) in schedules()) {
        each_outbox(Discipline::Concurrent, &steps, &outcomes, |name, run| {
            let mut accepted = run.accepted.clone();
            accepted.sort();
            let mut expected: Vec<String> =
                run.queued.iter().map(|(id, _)| id.clone()).filter(|id| !run.given_up.contains(id)).collect();
            expected.sort();
            assert_eq!(accepted, expected, "{name}");
        });
    }

    #[test]
    fn ordered_delivers_in_queue_order_one_request_at_a_time((steps, outcomes) in schedules()) {
        each_outbox(Discipline::Ordered, &steps, &outcomes, |name, run| {
            let expected: Vec<String> =
                run.queued.iter().map(|(id, _)| id.clone()).filter(|id| !run.given_up.contains(id)).collect();
            assert_eq!(run.accepted, expected, "{name}: in order, each once");
            assert!(run.most_calls <= 1, "{name}: {} requests in flight at once", run.most_calls);
        });
    }

    #[test]
    fn latest_per_key_never_sends_an_older_state_after_a_newer_one((steps, outcomes) in schedules()) {
        each_outbox(Discipline::LatestPerKey, &steps, &outcomes, |name, run| {
            let order: BTreeMap<&str, (usize, u8)> =
                run.queued.iter().enumerate().map(|(i, (id, key))| (id.as_str(), (i, *key))).collect();
            let mut last_sent: BTreeMap<u8, usize> = BTreeMap::new();
            for id in &run.accepted {
                let (i, key) = order[id.as_str()];
                if let Some(before) = last_sent.insert(key, i) {
                    assert!(i > before, "{name}: {id} (key {key}) sent after a newer one");
                }
            }
            for key in 0..3u8 {
                let newest = run.queued.iter().rposition(|(_, k)| *k == key);
                if let Some(newest) = newest.filter(|n| !run.given_up.contains(&run.queued[*n].0)) {
                    assert_eq!(last_sent.get(&key), Some(&newest), "{name}: key {key} ends with its newest state");
                }
            }
            assert!(run.most_per_key <= 1, "{name}: {} messages of one key in flight", run.most_per_key);
        });
    }
}
