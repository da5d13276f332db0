//! The outbox on SQLite, in the status database (migrations 0004 and 0007). A message is one
//! row, unique by (target, id), so enqueuing twice stores once; a claim is one transaction
//! (superseding outdated messages, then one `UPDATE … RETURNING`), so it is atomic even with
//! several workers; the outcomes of a batch are recorded in one transaction.

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, query, query_scalar};

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};
use crate::ports::{Outbox, OutboxError, TargetCounts};

const COLUMNS: &str = "target, id, key, state, attempts, created, next_attempt, last_error, summary, payload";

/// What a claim returns: the columns and the insertion order.
const RETURNING: &str =
    "RETURNING n, target, id, key, state, attempts, created, next_attempt, last_error, summary, payload";

/// The outbox sharing a [`super::SqliteStore`]'s database.
#[derive(Clone, Debug)]
pub struct SqliteOutbox {
    pub(super) pool: SqlitePool,
}

fn db(e: sqlx::Error) -> OutboxError {
    OutboxError::storage(e)
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

/// The states of messages that are done with (pruned by age and count).
const DONE: &str = "('sent', 'failed', 'superseded', 'dropped')";

#[async_trait]
impl Outbox for SqliteOutbox {
    async fn enqueue(&self, m: &OutboxMessage) -> Result<bool, OutboxError> {
        insert(&self.pool, m).await
    }

    async fn record(&self, target: &str, record: &Record) -> Result<usize, OutboxError> {
        if let Some(m) = record.messages.iter().find(|m| m.target != target) {
            return Err(OutboxError::storage(format!(
                "message '{}' is of target '{}', not '{target}'",
                m.id, m.target
            )));
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut stored = 0;
        for m in &record.messages {
            stored += usize::from(insert(&mut *tx, m).await?);
        }
        for (key, value) in &record.notes {
            match value {
                Some(v) => query(
                    "INSERT INTO notifier_notes (target, key, value) VALUES (?, ?, ?) \
                     ON CONFLICT (target, key) DO UPDATE SET value = excluded.value",
                )
                .bind(target)
                .bind(key)
                .bind(v),
                None => query("DELETE FROM notifier_notes WHERE target = ? AND key = ?").bind(target).bind(key),
            }
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        for id in ids {
            let done = query("UPDATE outbox SET state = 'pending', next_attempt = ? WHERE target = ? AND id = ?")
                .bind(ms(at))
                .bind(target)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            found(done.rows_affected(), target, id)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn release_leases(&self, target: &str, at: Timestamp) -> Result<u64, OutboxError> {
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Which messages the discipline lets go now; the UPDATE below leases them.
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
                "SELECT n FROM outbox m WHERE target = ?1 AND state IN ('pending', 'sending') AND next_attempt <= ?2 \
                   AND NOT EXISTS (SELECT 1 FROM outbox busy WHERE busy.target = ?1 AND busy.key = m.key \
                                   AND busy.state = 'sending' AND busy.next_attempt > ?2) \
                 ORDER BY next_attempt, n LIMIT ?3"
            }
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET state = 'sending', next_attempt = ?4 WHERE n IN ({chosen}) {RETURNING}"
        ));
        let rows =
            query(sql).bind(target).bind(now).bind(limit(n)).bind(lease).fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        for id in ids {
            let done = query(
                "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt = ? WHERE target = ? AND id = ?",
            )
            .bind(error)
            .bind(ms(until))
            .bind(target)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            found(done.rows_affected(), target, id)?;
        }
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
    /// Records an attempt's outcome for messages `ids`, in one transaction: their new state,
    /// when they are due next (or were done), and the error, when there was one.
    async fn record(
        &self,
        target: &str,
        ids: &[String],
        state: DeliveryState,
        next: Timestamp,
        error: Option<&str>,
    ) -> Result<(), OutboxError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for id in ids {
            let done = query(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, next_attempt = ?, \
                 last_error = COALESCE(?, last_error) WHERE target = ? AND id = ?",
            )
            .bind(state.name())
            .bind(ms(next))
            .bind(error)
            .bind(target)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            found(done.rows_affected(), target, id)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn remove_note(&self, target: &str, key: &str) -> Result<(), OutboxError> {
        query("DELETE FROM notifier_notes WHERE target = ? AND key = ?")
            .bind(target)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

fn found(rows: u64, target: &str, id: &str) -> Result<(), OutboxError> {
    if rows == 1 { Ok(()) } else { Err(OutboxError::storage(format!("no message '{id}' for target '{target}'"))) }
}
