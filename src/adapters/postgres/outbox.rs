//! The outbox on PostgreSQL, in the store's database: the same queue, delivery log, cursors
//! and notes as SQLite's (`adapters::sqlite::outbox`), one row a message, unique by
//! (target, id), `n` giving the queue's order.
//!
//! Every write to a target's messages runs in a transaction that first takes that target's
//! transaction advisory lock ([`turn`]): a target's claims and outcomes take turns, whichever
//! instance or worker makes them, as SQLite's take turns at its one write lock, while other
//! targets' go on. A claim is then one `UPDATE … RETURNING`; its conditions are written so
//! that they hold again on the row it changes (a message leased already is not due).

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row, Transaction, query, query_scalar};

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};
use crate::ports::{Outbox, OutboxError, TargetCounts};

const COLUMNS: &str = "n, target, id, key, state, attempts, created, next_attempt, last_error, summary, payload";

/// The states of messages that are done with (pruned by age and count).
const DONE: &str = "('sent', 'failed', 'superseded', 'dropped')";

/// Rows of one multi-row `INSERT` at most (10 bound values a row; PostgreSQL allows 65,535).
const ROWS_PER_INSERT: usize = 1000;

/// The outbox of a [`super::PgStore`].
#[derive(Clone, Debug)]
pub struct PgOutbox {
    pub(super) pool: PgPool,
}

/// Carries the store's reading of the error (a full disk) as its cause.
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

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn seq(seq: u64) -> Result<i64, OutboxError> {
    i64::try_from(seq).map_err(|_| OutboxError::storage(format!("sequence {seq} is too large")))
}

fn decode(row: &PgRow) -> Result<OutboxMessage, OutboxError> {
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

fn unknown(target: &str, id: &str) -> OutboxError {
    OutboxError::storage(format!("no message '{id}' for target '{target}'"))
}

/// Stores each of `messages` unless its (target, id) is, in their order (a multi-row `INSERT`
/// takes its identity values in row order, so `n` keeps the queue's order); how many were.
async fn insert_all(conn: &mut PgConnection, messages: &[OutboxMessage]) -> Result<usize, OutboxError> {
    let mut stored = 0;
    for rows in messages.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Postgres>::new(
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
/// them is not stored, on none (an error naming it). `set`'s values are bound from `$4` on by
/// `values` (`$1` is the target, `$2` the ids, `$3` how many distinct ones).
async fn update_all<'q>(
    conn: &mut PgConnection,
    target: &'q str,
    ids: &'q [String],
    set: &str,
    values: impl FnOnce(
        sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
) -> Result<(), OutboxError> {
    if ids.is_empty() {
        return Ok(());
    }
    let distinct = ids.iter().collect::<std::collections::BTreeSet<_>>().len();
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET {set} WHERE target = $1 AND id = ANY($2) \
         AND (SELECT COUNT(*) FROM outbox WHERE target = $1 AND id = ANY($2)) = $3"
    ));
    let update = query(sql).bind(target).bind(ids).bind(limit(distinct));
    let done = values(update).execute(&mut *conn).await.map_err(db)?;
    if done.rows_affected() > 0 {
        return Ok(());
    }
    let missing: Option<String> = query_scalar(
        "SELECT wanted FROM UNNEST($2::text[]) AS wanted \
         WHERE wanted NOT IN (SELECT id FROM outbox WHERE target = $1) LIMIT 1",
    )
    .bind(target)
    .bind(ids)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    Err(unknown(target, missing.as_deref().unwrap_or("?")))
}

impl PgOutbox {
    /// A transaction holding `target`'s turn at writing (released at its end).
    async fn turn(&self, target: &str) -> Result<Transaction<'static, Postgres>, OutboxError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        query("SELECT pg_advisory_xact_lock(hashtext('buildstatus outbox'), hashtext($1))")
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
    }

    /// Records an attempt's outcome for messages `ids`, in one statement.
    async fn outcome(
        &self,
        target: &str,
        ids: &[String],
        state: DeliveryState,
        next: Timestamp,
        error: Option<&str>,
    ) -> Result<(), OutboxError> {
        let mut tx = self.turn(target).await?;
        let set = "state = $4, attempts = attempts + 1, next_attempt = $5, last_error = COALESCE($6, last_error)";
        let error = error.map(str::to_owned);
        update_all(&mut tx, target, ids, set, |q| q.bind(state.name()).bind(ms(next)).bind(error)).await?;
        tx.commit().await.map_err(db)
    }
}

#[async_trait]
impl Outbox for PgOutbox {
    async fn enqueue(&self, m: &OutboxMessage) -> Result<bool, OutboxError> {
        let mut tx = self.turn(&m.target).await?;
        let stored = insert_all(&mut tx, std::slice::from_ref(m)).await?;
        tx.commit().await.map_err(db)?;
        Ok(stored == 1)
    }

    async fn record(&self, target: &str, record: &Record) -> Result<usize, OutboxError> {
        if let Some(m) = record.messages.iter().find(|m| m.target != target) {
            return Err(OutboxError::storage(format!(
                "message '{}' is of target '{}', not '{target}'",
                m.id, m.target
            )));
        }
        let mut tx = self.turn(target).await?;
        let stored = insert_all(&mut tx, &record.messages).await?;
        // The last word on each key wins, as one by one.
        let mut last: Vec<(&String, &Option<String>)> = Vec::new();
        for (key, value) in record.notes.iter().rev() {
            if !last.iter().any(|(k, _)| *k == key) {
                last.push((key, value));
            }
        }
        let written: Vec<(&String, &String)> = last.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))).collect();
        if !written.is_empty() {
            let mut upsert = QueryBuilder::<Postgres>::new("INSERT INTO notifier_notes (target, key, value) ");
            upsert.push_values(written, |mut row, (key, value)| {
                row.push_bind(target).push_bind(key).push_bind(value);
            });
            upsert.push(" ON CONFLICT (target, key) DO UPDATE SET value = excluded.value");
            upsert.build().execute(&mut *tx).await.map_err(db)?;
        }
        let removed: Vec<&String> = last.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
        if !removed.is_empty() {
            query("DELETE FROM notifier_notes WHERE target = $1 AND key = ANY($2)")
                .bind(target)
                .bind(removed)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if let Some(cursor) = record.cursor {
            query(
                "INSERT INTO notifier_cursors (target, seq) VALUES ($1, $2) \
                 ON CONFLICT (target) DO UPDATE SET seq = GREATEST(notifier_cursors.seq, excluded.seq)",
            )
            .bind(target)
            .bind(seq(cursor)?)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(stored)
    }

    async fn trim_open(&self, target: &str, keep: u64, reason: &str, at: Timestamp) -> Result<Trimmed, OutboxError> {
        let mut tx = self.turn(target).await?;
        let done = query(
            "UPDATE outbox SET state = 'dropped', last_error = $1, next_attempt = $2 WHERE n IN \
             (SELECT n FROM outbox WHERE target = $3 AND state = 'pending' ORDER BY n LIMIT \
              GREATEST(0, (SELECT COUNT(*) FROM outbox WHERE target = $3 AND state IN ('pending', 'sending')) - $4))",
        )
        .bind(reason)
        .bind(ms(at))
        .bind(target)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let open: i64 =
            query_scalar("SELECT COUNT(*) FROM outbox WHERE target = $1 AND state IN ('pending', 'sending')")
                .bind(target)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Trimmed { dropped: done.rows_affected(), open: count(open) })
    }

    async fn head(&self, target: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE target = $1 AND state IN ('pending', 'sending') ORDER BY n LIMIT 1"
        ));
        let row = query(sql).bind(target).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(decode).transpose()
    }

    async fn release(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError> {
        let mut tx = self.turn(target).await?;
        update_all(&mut tx, target, ids, "state = 'pending', next_attempt = $4", |q| q.bind(ms(at))).await?;
        tx.commit().await.map_err(db)
    }

    async fn release_leases(&self, target: &str, at: Timestamp) -> Result<u64, OutboxError> {
        let mut tx = self.turn(target).await?;
        let done =
            query("UPDATE outbox SET state = 'pending', next_attempt = $1 WHERE target = $2 AND state = 'sending'")
                .bind(ms(at))
                .bind(target)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
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
        // Which messages the discipline lets go now; the UPDATE below leases them.
        let chosen = match discipline {
            Discipline::Concurrent => {
                "SELECT n FROM outbox WHERE target = $1 AND state IN ('pending', 'sending') AND next_attempt <= $2 \
                 ORDER BY next_attempt, n LIMIT $3"
            }
            Discipline::Ordered => {
                "SELECT n FROM (SELECT n FROM outbox \
                   WHERE target = $1 AND state IN ('pending', 'sending') ORDER BY n LIMIT $3) AS open \
                 WHERE (SELECT next_attempt FROM outbox WHERE target = $1 AND state IN ('pending', 'sending') \
                        ORDER BY n LIMIT 1) <= $2"
            }
            Discipline::LatestPerKey => {
                "SELECT n FROM outbox m WHERE target = $1 AND state IN ('pending', 'sending') AND next_attempt <= $2 \
                   AND NOT EXISTS (SELECT 1 FROM outbox busy WHERE busy.target = $1 AND busy.key = m.key \
                                   AND busy.state = 'sending' AND busy.next_attempt > $2) \
                 ORDER BY next_attempt, n LIMIT $3"
            }
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET state = 'sending', next_attempt = $4 WHERE n IN ({chosen}) RETURNING {COLUMNS}"
        ));
        let mut tx = self.turn(target).await?;
        if discipline == Discipline::LatestPerKey {
            // An open message with a newer one of its key is outdated, unless in flight.
            query(
                "UPDATE outbox SET state = 'superseded', next_attempt = $2 \
                 WHERE target = $1 AND key IS NOT NULL \
                   AND (state = 'pending' OR (state = 'sending' AND next_attempt <= $2)) \
                   AND EXISTS (SELECT 1 FROM outbox newer \
                               WHERE newer.target = $1 AND newer.key = outbox.key AND newer.n > outbox.n)",
            )
            .bind(target)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
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
        self.outcome(target, ids, DeliveryState::Sent, at, None).await
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
            Some(retry) => self.outcome(target, ids, DeliveryState::Pending, retry, Some(error)).await,
            None => self.outcome(target, ids, DeliveryState::Failed, at, Some(error)).await,
        }
    }

    async fn mark_deferred(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        until: Timestamp,
    ) -> Result<(), OutboxError> {
        let mut tx = self.turn(target).await?;
        let set = "state = 'pending', last_error = $4, next_attempt = $5";
        let error = error.to_owned();
        update_all(&mut tx, target, ids, set, |q| q.bind(error).bind(ms(until))).await?;
        query("UPDATE outbox SET next_attempt = GREATEST(next_attempt, $1) WHERE target = $2 AND state = 'pending'")
            .bind(ms(until))
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn next_due(&self, target: &str) -> Result<Option<Timestamp>, OutboxError> {
        let next: Option<i64> =
            query_scalar("SELECT MIN(next_attempt) FROM outbox WHERE target = $1 AND state IN ('pending', 'sending')")
                .bind(target)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        next.map(|t| time(t, "next_due")).transpose()
    }

    async fn prune(&self, target: &str, keep: Retention, now: Timestamp) -> Result<u64, OutboxError> {
        let mut tx = self.turn(target).await?;
        let done = query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM outbox WHERE target = $1 AND state IN {DONE} \
                   AND (next_attempt < $2 OR n < COALESCE((SELECT n FROM outbox \
                       WHERE target = $1 AND state IN {DONE} \
                       ORDER BY n DESC LIMIT 1 OFFSET $3), -1) + 1)"
        )))
        .bind(target)
        .bind(ms(keep.cutoff(now)))
        .bind(limit(keep.max_count))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn message(&self, target: &str, id: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM outbox WHERE target = $1 AND id = $2"));
        let row = query(sql).bind(target).bind(id).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(decode).transpose()
    }

    async fn log(
        &self,
        target: &str,
        state: Option<DeliveryState>,
        n: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE target = $1 AND ($2::text IS NULL OR state = $2) \
             ORDER BY n DESC LIMIT $3"
        ));
        let rows = query(sql)
            .bind(target)
            .bind(state.map(DeliveryState::name))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
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
        let seq: Option<i64> = query_scalar("SELECT seq FROM notifier_cursors WHERE target = $1")
            .bind(target)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        seq.map(|n| u64::try_from(n).map_err(|_| OutboxError::Corrupt(format!("target {target}: cursor {n}"))))
            .transpose()
    }

    async fn set_cursor(&self, target: &str, cursor: u64) -> Result<(), OutboxError> {
        query(
            "INSERT INTO notifier_cursors (target, seq) VALUES ($1, $2) \
             ON CONFLICT (target) DO UPDATE SET seq = GREATEST(notifier_cursors.seq, excluded.seq)",
        )
        .bind(target)
        .bind(seq(cursor)?)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn note(&self, target: &str, key: &str) -> Result<Option<String>, OutboxError> {
        query_scalar("SELECT value FROM notifier_notes WHERE target = $1 AND key = $2")
            .bind(target)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn set_note(&self, target: &str, key: &str, value: Option<&str>) -> Result<(), OutboxError> {
        let done = match value {
            Some(value) => query(
                "INSERT INTO notifier_notes (target, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (target, key) DO UPDATE SET value = excluded.value",
            )
            .bind(target)
            .bind(key)
            .bind(value.to_owned()),
            None => query("DELETE FROM notifier_notes WHERE target = $1 AND key = $2").bind(target).bind(key),
        };
        done.execute(&self.pool).await.map_err(db)?;
        Ok(())
    }
}
