//! What a test reads of the data directory a killed `buildstatus` left: SQLite's own
//! integrity check, the journal's numbers, and the builds and changes stored. Read with sqlx
//! directly, not through the store, so that a fault of the store cannot hide itself.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// The database of the data directory `data`, opened as it is (never created).
pub async fn open(data: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(data.join("buildstatus.sqlite")).create_if_missing(false);
    SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("the database opens")
}

/// `PRAGMA integrity_check`'s findings: `["ok"]` when there are none.
pub async fn integrity(db: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar("PRAGMA integrity_check").fetch_all(db).await.expect("integrity_check runs")
}

/// The journal in order, each event's number and type, and the newest number the store says
/// it gave.
pub async fn journal(db: &SqlitePool) -> (Vec<(i64, String)>, i64) {
    let rows = sqlx::query("SELECT seq, json_extract(data, '$.event.type') AS type FROM events ORDER BY seq")
        .fetch_all(db)
        .await
        .expect("events");
    let events = rows.iter().map(|r| (r.get("seq"), r.get("type"))).collect();
    let last = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'last_seq'")
        .fetch_optional(db)
        .await
        .expect("meta")
        .unwrap_or(0);
    (events, last)
}

/// The numbers from 1 to the newest that the journal lacks, each with the types of the events
/// before and after it. Log chunks are numbered but not journaled (their text is in the log
/// store): a hole between a `log_started` and a `log_finished` is one.
pub async fn journal_holes(db: &SqlitePool) -> Vec<(i64, Option<String>, Option<String>)> {
    let (events, last) = journal(db).await;
    let by_seq: BTreeMap<i64, String> = events.into_iter().collect();
    (1..=last)
        .filter(|seq| !by_seq.contains_key(seq))
        .map(|seq| (seq, by_seq.get(&(seq - 1)).cloned(), by_seq.get(&(seq + 1)).cloned()))
        .collect()
}

/// The stored builds of `builder`: number → finished (whether it has an end).
pub async fn builds(db: &SqlitePool, builder: &str) -> BTreeMap<u32, bool> {
    let rows = sqlx::query("SELECT number, finished IS NOT NULL AS done FROM builds WHERE builder = ?")
        .bind(builder)
        .fetch_all(db)
        .await
        .expect("builds");
    rows.iter().map(|r| (r.get::<i64, _>("number") as u32, r.get::<bool, _>("done"))).collect()
}

/// The stored changes: number → comments.
pub async fn changes(db: &SqlitePool) -> BTreeMap<u64, String> {
    let rows = sqlx::query("SELECT number, data FROM changes").fetch_all(db).await.expect("changes");
    rows.iter()
        .map(|r| {
            let data: serde_json::Value = serde_json::from_str(r.get::<&str, _>("data")).expect("a change record");
            (r.get::<i64, _>("number") as u64, data["comments"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}
