//! The outbox on SQLite, in a database file of its own beside the status database
//! (`migrations/outbox/`; the status database held it until its version 8, and an outbox found
//! there is moved, [`move_in`]): its writes take that file's write lock and their own turns, so
//! the hub's commits never wait for a notifier's packets or a worker's outcomes, and a delivery
//! log as large as its retention keeps adds nothing to the status database. A message is one
//! row, unique by (target, id), so enqueuing twice stores once; a claim is one `UPDATE …
//! RETURNING` (after superseding outdated messages, in the same transaction, for a
//! latest-per-key target), so it is atomic even with several workers.
//!
//! A batch is a few statements, not one per message: every statement is a round trip to
//! sqlx's SQLite thread (two task switches), and a write transaction holds the outbox
//! database's one write lock, which the other targets' writes wait for. A notifier's record inserts its messages with
//! multi-row `INSERT`s; an outcome updates its messages with one `UPDATE … WHERE id IN
//! (SELECT value FROM json_each(?))`, which changes them all or, when one of them is not
//! stored, none.

use std::path::Path;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool, query, query_scalar};

use super::{SqliteQuery, WriteGate};
use crate::ports::StoreError;

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};
use crate::ports::{Outbox, OutboxError, TargetCounts};

const COLUMNS: &str = "target, id, key, state, attempts, created, next_attempt, last_error, summary, payload";

/// What a claim returns: the columns and the insertion order.
const RETURNING: &str =
    "RETURNING n, target, id, key, state, attempts, created, next_attempt, last_error, summary, payload";

/// The outbox of a [`super::SqliteStore`], in its own database, and its turns at writing: every
/// method that writes takes its turn first.
#[derive(Clone, Debug)]
pub struct SqliteOutbox {
    pub(super) pool: SqlitePool,
    pub(super) writes: WriteGate,
}

/// Carries the store's reading of the error (a full disk, a damaged file) as its cause.
fn db(e: sqlx::Error) -> OutboxError {
    OutboxError::storage(super::db(e))
}

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64, what: &str) -> Result<Timestamp, OutboxError> {
    chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| OutboxError::Corrupt(format!("{what}: time {ms}")))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn decode(row: &SqliteRow) -> Result<OutboxMessage, OutboxError> {
    let get_err = |e: sqlx::Error| OutboxError::Corrupt(e.to_string());
    let id: String = row.try_get("id").map_err(get_err)?;
    let state: String = row.try_get("state").map_err(get_err)?;
    let attempts: i64 = row.try_get("attempts").map_err(get_err)?;
    Ok(OutboxMessage {
        target: row.try_get("target").map_err(get_err)?,
        key: row.try_get("key").map_err(get_err)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| OutboxError::Corrupt(format!("message {id}: state '{state}'")))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        created: time(row.try_get("created").map_err(get_err)?, &id)?,
        next_attempt: time(row.try_get("next_attempt").map_err(get_err)?, &id)?,
        last_error: row.try_get("last_error").map_err(get_err)?,
        summary: row.try_get("summary").map_err(get_err)?,
        payload: row.try_get("payload").map_err(get_err)?,
        id,
    })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Stores `m` unless its (target, id) is; true when it was stored.
async fn insert(executor: impl sqlx::SqliteExecutor<'_>, m: &OutboxMessage) -> Result<bool, OutboxError> {
    let done = query(
        "INSERT INTO outbox (target, id, key, state, attempts, created, next_attempt, last_error, summary, payload) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, id) DO NOTHING",
    )
    .bind(&m.target)
    .bind(&m.id)
    .bind(&m.key)
    .bind(m.state.name())
    .bind(i64::from(m.attempts))
    .bind(ms(m.created))
    .bind(ms(m.next_attempt))
    .bind(&m.last_error)
    .bind(&m.summary)
    .bind(&m.payload)
    .execute(executor)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

/// Rows of one multi-row `INSERT` at most: 10 bound values a row, well below SQLite's limit of
/// 32,766 bound values a statement.
const ROWS_PER_INSERT: usize = 500;

/// Stores each of `messages` unless its (target, id) is, in their order (a multi-row `INSERT`
/// inserts its rows in order, so `n` keeps the queue's order); how many were stored.
async fn insert_all(conn: &mut sqlx::SqliteConnection, messages: &[OutboxMessage]) -> Result<usize, OutboxError> {
    let mut stored = 0;
    for rows in messages.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO outbox (target, id, key, state, attempts, created, next_attempt, last_error, summary, payload) ",
        );
        insert.push_values(rows, |mut row, m| {
            row.push_bind(&m.target)
                .push_bind(&m.id)
                .push_bind(&m.key)
                .push_bind(m.state.name())
                .push_bind(i64::from(m.attempts))
                .push_bind(ms(m.created))
                .push_bind(ms(m.next_attempt))
                .push_bind(&m.last_error)
                .push_bind(&m.summary)
                .push_bind(&m.payload);
        });
        insert.push(" ON CONFLICT (target, id) DO NOTHING");
        let done = insert.build().execute(&mut *conn).await.map_err(db)?;
        stored += usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
    }
    Ok(stored)
}

/// Sets `set` on messages `ids` of `target` in one statement: on all of them or, when one of
/// them is not stored, on none (an error naming it). `set`'s values are bound from `?4` on by
/// `values` (`?1` is the target, `?2` the ids as a JSON list, `?3` how many distinct ones).
async fn update_all<'q>(
    conn: &mut SqliteConnection,
    target: &'q str,
    ids: &[String],
    set: &str,
    values: impl FnOnce(SqliteQuery<'q>) -> SqliteQuery<'q>,
) -> Result<(), OutboxError> {
    if ids.is_empty() {
        return Ok(());
    }
    let distinct = ids.iter().collect::<std::collections::BTreeSet<_>>().len();
    let list = serde_json::to_string(ids).map_err(OutboxError::storage)?;
    // The count is an uncorrelated subquery: SQLite computes it once.
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET {set} WHERE target = ?1 AND id IN (SELECT value FROM json_each(?2)) \
         AND (SELECT COUNT(*) FROM outbox WHERE target = ?1 AND id IN (SELECT value FROM json_each(?2))) = ?3"
    ));
    let query = query(sql).bind(target).bind(list.clone()).bind(i64::try_from(distinct).unwrap_or(i64::MAX));
    let done = values(query).execute(&mut *conn).await.map_err(db)?;
    if done.rows_affected() > 0 {
        return Ok(());
    }
    let missing: Option<String> = query_scalar(
        "SELECT value FROM json_each(?2) WHERE value NOT IN (SELECT id FROM outbox WHERE target = ?1) LIMIT 1",
    )
    .bind(target)
    .bind(list)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    Err(unknown(target, missing.as_deref().unwrap_or("?")))
}

/// The states of messages that are done with (pruned by age and count).
const DONE: &str = "('sent', 'failed', 'superseded', 'dropped')";

#[async_trait]
impl Outbox for SqliteOutbox {
    async fn enqueue(&self, m: &OutboxMessage) -> Result<bool, OutboxError> {
        let _turn = self.writes.turn().await;
        insert(&self.pool, m).await
    }

    async fn record(&self, target: &str, record: &Record) -> Result<usize, OutboxError> {
        if let Some(m) = record.messages.iter().find(|m| m.target != target) {
            return Err(OutboxError::storage(format!(
                "message '{}' is of target '{}', not '{target}'",
                m.id, m.target
            )));
        }
        let _turn = self.writes.turn().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let stored = insert_all(&mut tx, &record.messages).await?;
        // The notes written in one statement, those removed in another (the last word on a
        // key wins, as one by one).
        let mut last: Vec<(&String, &Option<String>)> = Vec::new();
        for (key, value) in record.notes.iter().rev() {
            if !last.iter().any(|(k, _)| *k == key) {
                last.push((key, value));
            }
        }
        let written: Vec<(&String, &String)> = last.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))).collect();
        if !written.is_empty() {
            let mut upsert =
                sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO notifier_notes (target, key, value) ");
            upsert.push_values(written, |mut row, (key, value)| {
                row.push_bind(target).push_bind(key).push_bind(value);
            });
            upsert.push(" ON CONFLICT (target, key) DO UPDATE SET value = excluded.value");
            upsert.build().execute(&mut *tx).await.map_err(db)?;
        }
        let removed: Vec<&String> = last.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
        if !removed.is_empty() {
            query("DELETE FROM notifier_notes WHERE target = ? AND key IN (SELECT value FROM json_each(?))")
                .bind(target)
                .bind(serde_json::to_string(&removed).map_err(OutboxError::storage)?)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if let Some(seq) = record.cursor {
            query(
                "INSERT INTO notifier_cursors (target, seq) VALUES (?, ?) \
                 ON CONFLICT (target) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            )
            .bind(target)
            .bind(i64::try_from(seq).map_err(|_| OutboxError::storage(format!("sequence {seq} is too large")))?)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(stored)
    }

    /// One UPDATE first, counting and dropping at once: a transaction that read before it
    /// wrote could not wait for another writer (SQLite answers "database is locked" at once
    /// when a reader's snapshot must become a writer's), so the write comes first and the busy
    /// timeout applies.
    async fn trim_open(&self, target: &str, keep: u64, reason: &str, at: Timestamp) -> Result<Trimmed, OutboxError> {
        let _turn = self.writes.turn().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = query(
            "UPDATE outbox SET state = 'dropped', last_error = ?1, next_attempt = ?2 WHERE n IN \
             (SELECT n FROM outbox WHERE target = ?3 AND state = 'pending' ORDER BY n LIMIT \
              MAX(0, (SELECT COUNT(*) FROM outbox WHERE target = ?3 AND state IN ('pending', 'sending')) - ?4))",
        )
        .bind(reason)
        .bind(ms(at))
        .bind(target)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let open: i64 =
            query_scalar("SELECT COUNT(*) FROM outbox WHERE target = ? AND state IN ('pending', 'sending')")
                .bind(target)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Trimmed { dropped: done.rows_affected(), open: count(open) })
    }

    async fn head(&self, target: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE target = ? AND state IN ('pending', 'sending') ORDER BY n LIMIT 1"
        ));
        let row = query(sql).bind(target).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(decode).transpose()
    }

    async fn release(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError> {
        let _turn = self.writes.turn().await;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        update_all(&mut conn, target, ids, "state = 'pending', next_attempt = ?4", |q| q.bind(ms(at))).await
    }

    async fn release_leases(&self, target: &str, at: Timestamp) -> Result<u64, OutboxError> {
        let _turn = self.writes.turn().await;
        let done =
            query("UPDATE outbox SET state = 'pending', next_attempt = ? WHERE target = ? AND state = 'sending'")
                .bind(ms(at))
                .bind(target)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn claim(
        &self,
        target: &str,
        discipline: Discipline,
        now: Timestamp,
        lease_until: Timestamp,
        n: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let (now, lease) = (ms(now), ms(lease_until));
        // Which messages the discipline lets go now; the UPDATE below leases them. The claim
        // is that one statement, atomic by itself; only a latest-per-key target's, which
        // supersedes first, takes a transaction.
        let chosen = match discipline {
            Discipline::Concurrent => {
                "SELECT n FROM outbox WHERE target = ?1 AND state IN ('pending', 'sending') AND next_attempt <= ?2 \
                 ORDER BY next_attempt, n LIMIT ?3"
            }
            Discipline::Ordered => {
                "SELECT n FROM (SELECT n, next_attempt FROM outbox \
                   WHERE target = ?1 AND state IN ('pending', 'sending') ORDER BY n LIMIT ?3) \
                 WHERE (SELECT next_attempt FROM outbox WHERE target = ?1 AND state IN ('pending', 'sending') \
                        ORDER BY n LIMIT 1) <= ?2"
            }
            Discipline::LatestPerKey => {
                "SELECT n FROM outbox m WHERE target = ?1 AND state IN ('pending', 'sending') AND next_attempt <= ?2 \
                   AND NOT EXISTS (SELECT 1 FROM outbox busy WHERE busy.target = ?1 AND busy.key = m.key \
                                   AND busy.state = 'sending' AND busy.next_attempt > ?2) \
                 ORDER BY next_attempt, n LIMIT ?3"
            }
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET state = 'sending', next_attempt = ?4 WHERE n IN ({chosen}) {RETURNING}"
        ));
        let claim = query(sql).bind(target).bind(now).bind(limit(n)).bind(lease);
        let _turn = self.writes.turn().await;
        let rows = if discipline == Discipline::LatestPerKey {
            let mut tx = self.pool.begin().await.map_err(db)?;
            // An open message with a newer one of its key is outdated, unless in flight.
            query(
                "UPDATE outbox SET state = 'superseded', next_attempt = ?2 \
                 WHERE target = ?1 AND key IS NOT NULL \
                   AND (state = 'pending' OR (state = 'sending' AND next_attempt <= ?2)) \
                   AND EXISTS (SELECT 1 FROM outbox newer \
                               WHERE newer.target = ?1 AND newer.key = outbox.key AND newer.n > outbox.n)",
            )
            .bind(target)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let rows = claim.fetch_all(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            rows
        } else {
            claim.fetch_all(&self.pool).await.map_err(db)?
        };
        // RETURNING gives no order: put them back in the order they were queued.
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let order: i64 = row.try_get("n").map_err(db)?;
            claimed.push((order, decode(row)?));
        }
        claimed.sort_by_key(|(order, _)| *order);
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn mark_sent(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError> {
        self.record(target, ids, DeliveryState::Sent, at, None).await
    }

    async fn mark_failed(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<(), OutboxError> {
        match retry_at {
            Some(retry) => self.record(target, ids, DeliveryState::Pending, retry, Some(error)).await,
            None => self.record(target, ids, DeliveryState::Failed, at, Some(error)).await,
        }
    }

    async fn mark_deferred(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        until: Timestamp,
    ) -> Result<(), OutboxError> {
        let _turn = self.writes.turn().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let set = "state = 'pending', last_error = ?4, next_attempt = ?5";
        update_all(&mut tx, target, ids, set, |q| q.bind(error).bind(ms(until))).await?;
        query("UPDATE outbox SET next_attempt = MAX(next_attempt, ?) WHERE target = ? AND state = 'pending'")
            .bind(ms(until))
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn next_due(&self, target: &str) -> Result<Option<Timestamp>, OutboxError> {
        let next: Option<i64> =
            query_scalar("SELECT MIN(next_attempt) FROM outbox WHERE target = ? AND state IN ('pending', 'sending')")
                .bind(target)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        next.map(|t| time(t, "next_due")).transpose()
    }

    async fn prune(&self, target: &str, keep: Retention, now: Timestamp) -> Result<u64, OutboxError> {
        let _turn = self.writes.turn().await;
        let done = query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM outbox WHERE target = ?1 AND state IN {DONE} \
                   AND (next_attempt < ?2 OR n < COALESCE((SELECT n FROM outbox \
                       WHERE target = ?1 AND state IN {DONE} \
                       ORDER BY n DESC LIMIT 1 OFFSET ?3), -1) + 1)"
        )))
        .bind(target)
        .bind(ms(keep.cutoff(now)))
        .bind(limit(keep.max_count))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn message(&self, target: &str, id: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM outbox WHERE target = ? AND id = ?"));
        let row = query(sql).bind(target).bind(id).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(decode).transpose()
    }

    async fn log(
        &self,
        target: &str,
        state: Option<DeliveryState>,
        n: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let rows = match state {
            Some(s) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox WHERE target = ? AND state = ? ORDER BY n DESC LIMIT ?"
                ));
                query(sql).bind(target).bind(s.name()).bind(limit(n)).fetch_all(&self.pool).await
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox WHERE target = ? ORDER BY n DESC LIMIT ?"
                ));
                query(sql).bind(target).bind(limit(n)).fetch_all(&self.pool).await
            }
        }
        .map_err(db)?;
        rows.iter().map(decode).collect()
    }

    async fn counts(&self) -> Result<Vec<TargetCounts>, OutboxError> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT target, state, COUNT(*) FROM outbox GROUP BY target, state ORDER BY target")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        let mut out: Vec<TargetCounts> = Vec::new();
        for (target, state, n) in rows {
            if out.last().is_none_or(|c| c.target != target) {
                out.push(TargetCounts { target: target.clone(), ..TargetCounts::default() });
            }
            if let Some(c) = out.last_mut() {
                match DeliveryState::parse(&state) {
                    Some(s) => *c.of(s) = count(n),
                    None => return Err(OutboxError::Corrupt(format!("target {target}: state '{state}'"))),
                }
            }
        }
        Ok(out)
    }

    async fn cursor(&self, target: &str) -> Result<Option<u64>, OutboxError> {
        let seq: Option<i64> = query_scalar("SELECT seq FROM notifier_cursors WHERE target = ?")
            .bind(target)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        seq.map(|n| u64::try_from(n).map_err(|_| OutboxError::Corrupt(format!("target {target}: cursor {n}"))))
            .transpose()
    }

    async fn set_cursor(&self, target: &str, seq: u64) -> Result<(), OutboxError> {
        let _turn = self.writes.turn().await;
        let seq = i64::try_from(seq).map_err(|_| OutboxError::storage(format!("sequence {seq} is too large")))?;
        query(
            "INSERT INTO notifier_cursors (target, seq) VALUES (?, ?) \
             ON CONFLICT (target) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        )
        .bind(target)
        .bind(seq)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn note(&self, target: &str, key: &str) -> Result<Option<String>, OutboxError> {
        query_scalar("SELECT value FROM notifier_notes WHERE target = ? AND key = ?")
            .bind(target)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn set_note(&self, target: &str, key: &str, value: Option<&str>) -> Result<(), OutboxError> {
        let Some(value) = value else { return self.remove_note(target, key).await };
        let _turn = self.writes.turn().await;
        query(
            "INSERT INTO notifier_notes (target, key, value) VALUES (?, ?, ?) \
             ON CONFLICT (target, key) DO UPDATE SET value = excluded.value",
        )
        .bind(target)
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

impl SqliteOutbox {
    /// Records an attempt's outcome for messages `ids`, in one statement: their new state,
    /// when they are due next (or were done), and the error, when there was one.
    async fn record(
        &self,
        target: &str,
        ids: &[String],
        state: DeliveryState,
        next: Timestamp,
        error: Option<&str>,
    ) -> Result<(), OutboxError> {
        let _turn = self.writes.turn().await;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let set = "state = ?4, attempts = attempts + 1, next_attempt = ?5, last_error = COALESCE(?6, last_error)";
        update_all(&mut conn, target, ids, set, |q| q.bind(state.name()).bind(ms(next)).bind(error)).await
    }

    async fn remove_note(&self, target: &str, key: &str) -> Result<(), OutboxError> {
        let _turn = self.writes.turn().await;
        query("DELETE FROM notifier_notes WHERE target = ? AND key = ?")
            .bind(target)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// The status database's tables that held the outbox before it had a file of its own.
const MOVED: [&str; 3] = ["outbox", "notifier_cursors", "notifier_notes"];

/// Moves the outbox that the status database at `status_path` (`status`) still holds into the
/// outbox database (`outbox`), keeping every message's place in the queue (`n`), then drops it
/// there. What the outbox database holds already stays (a copy that was made before a crash
/// kept the drop from happening is not made twice, and a cursor is not moved back).
pub(super) async fn move_in(status: &SqlitePool, status_path: &Path, outbox: &SqlitePool) -> Result<(), StoreError> {
    let held: bool =
        query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox')")
            .fetch_one(status)
            .await
            .map_err(super::db)?;
    if !held {
        return Ok(());
    }
    let mut conn = outbox.acquire().await.map_err(super::db)?;
    query("ATTACH DATABASE ? AS moved")
        .bind(status_path.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await
        .map_err(super::db)?;
    let copied = copy_moved(&mut conn).await;
    // Detached whatever the copy came to: the connection goes back to the pool.
    let detached = query("DETACH DATABASE moved").execute(&mut *conn).await.map_err(super::db);
    copied?;
    detached?;
    drop_moved(status).await
}

/// The copy of [`move_in`], in one transaction of the outbox database.
async fn copy_moved(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(super::db)?;
    let copy = "INSERT OR IGNORE INTO main.outbox \
                (n, target, id, key, state, attempts, created, next_attempt, last_error, summary, payload) \
                SELECT n, target, id, key, state, attempts, created, next_attempt, last_error, summary, payload \
                FROM moved.outbox ORDER BY n; \
                INSERT OR IGNORE INTO main.notifier_cursors (target, seq) SELECT target, seq FROM moved.notifier_cursors; \
                INSERT OR IGNORE INTO main.notifier_notes (target, key, value) \
                SELECT target, key, value FROM moved.notifier_notes;";
    sqlx::raw_sql(copy).execute(&mut *tx).await.map_err(super::db)?;
    tx.commit().await.map_err(super::db)
}

/// Drops the outbox tables the status database held (all together, or none).
pub(super) async fn drop_moved(status: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = status.begin().await.map_err(super::db)?;
    for table in MOVED {
        query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
            .execute(&mut *tx)
            .await
            .map_err(super::db)?;
    }
    tx.commit().await.map_err(super::db)
}

fn unknown(target: &str, id: &str) -> OutboxError {
    OutboxError::storage(format!("no message '{id}' for target '{target}'"))
}
