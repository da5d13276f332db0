//! The status store on SQLite, through sqlx.
//!
//! Guarantees: a commit is one transaction (all of it or none); the database runs in WAL mode,
//! so pages read while the hub writes; the schema is migrated at open (`PRAGMA user_version`
//! records the migrations applied); every query a page makes has an index, and `snapshot`
//! reads only what is current (no finished builds), so start-up does not grow with history.
//!
//! Records are stored whole as JSON beside the columns that are indexed. Tests run it on a
//! file in a temporary directory and in memory (`tests/store_contract.rs`).

mod queries;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row};

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, BuildRequest, Builder, Change, User, Worker};
use crate::domain::state::Snapshot;
use crate::ports::{BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta};

/// Migrations in order; the n-th brings the schema to version n.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

pub struct SqliteStore {
    pool: SqlitePool,
}

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

pub(crate) fn id(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Database(format!("id {n} is too large for the database")))
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Database(format!("cannot encode a record: {e}")))
}

/// Decodes a stored record; `what` names it in the error.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path`, and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(db)?;
        Self::migrated(pool).await
    }

    /// A private database in memory (one connection, kept open).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Self, StoreError> {
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&pool).await.map_err(db)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::Database(format!(
                "the database has schema version {version}, newer than this buildstatus knows ({known})"
            )));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::raw_sql(AssertSqlSafe(*sql)).execute(&mut *tx).await.map_err(db)?;
            let set = format!("PRAGMA user_version = {}", n + 1);
            sqlx::raw_sql(AssertSqlSafe(set)).execute(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
        }
        Ok(Self { pool })
    }

    /// The query plan SQLite chooses for `sql`, one line per step (for tests of indexes).
    pub async fn explain(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|r| r.try_get::<String, _>("detail").map_err(db)).collect()
    }

    async fn all<T: serde::de::DeserializeOwned>(&self, sql: &'static str, table: &str) -> Result<Vec<T>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().enumerate().map(|(i, r)| decode(r, || format!("{table} row {i}"))).collect()
    }
}

#[async_trait]
impl StatusReader for SqliteStore {
    async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
        self.all("SELECT data FROM builders ORDER BY name", "builders").await
    }

    async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
        self.all("SELECT data FROM workers ORDER BY name", "workers").await
    }

    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT data FROM builds WHERE builder = ? AND number = ?")
            .bind(builder)
            .bind(i64::from(number))
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| decode(&r, || format!("build {builder} #{number}"))).transpose()
    }

    async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(number) FROM builds WHERE builder = ?")
            .bind(builder)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(n.and_then(|n| u32::try_from(n).ok()))
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Build>, StoreError> {
        let mut sql = queries::builds(query)?;
        let rows: Vec<String> = sql.build_query_scalar().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|r| decode(r, || "a build".to_owned())).collect()
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT data FROM changes WHERE number = ?")
            .bind(id(number)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| decode(&r, || format!("change {number}"))).transpose()
    }

    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
        let mut sql = queries::changes(query)?;
        let rows: Vec<String> = sql.build_query_scalar().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|r| decode(r, || "a change".to_owned())).collect()
    }

    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
        let rows: Vec<String> = match builder {
            Some(b) => sqlx::query_scalar("SELECT data FROM requests WHERE builder = ? ORDER BY submitted, id").bind(b),
            None => sqlx::query_scalar("SELECT data FROM requests ORDER BY submitted, id"),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|r| decode(r, || "a build request".to_owned())).collect()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.all("SELECT data FROM users ORDER BY uid", "users").await
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT data FROM users WHERE uid = ?")
            .bind(id(uid)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| decode(&r, || format!("user {uid}"))).transpose()
    }
}

#[async_trait]
impl StatusStore for SqliteStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for mutation in &commit.mutations {
            queries::apply(&mut tx, mutation).await?;
        }
        let journaled: Vec<&SequencedEvent> =
            commit.events.iter().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. })).collect();
        // One statement per 500 events (SQLite allows 32,766 bound values per statement).
        for rows in journaled.chunks(500) {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO events (seq, data) ");
            let mut values = Vec::with_capacity(rows.len());
            for e in rows {
                values.push((id(e.seq)?, json(e)?));
            }
            insert.push_values(values, |mut row, (seq, data)| {
                row.push_bind(seq).push_bind(data);
            });
            insert.build().execute(&mut *tx).await.map_err(db)?;
        }
        let last_seq = commit.events.iter().map(|e| e.seq).max();
        let upsert =
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        if let Some(seq) = last_seq {
            sqlx::query(upsert).bind("last_seq").bind(id(seq)?).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query(upsert).bind("next_log_id").bind(id(commit.next_log_id)?).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn meta(&self) -> Result<StoreMeta, StoreError> {
        let rows = sqlx::query("SELECT key, value FROM meta").fetch_all(&self.pool).await.map_err(db)?;
        let mut meta = StoreMeta { last_seq: 0, next_log_id: 1 };
        for row in rows {
            let key: String = row.try_get("key").map_err(db)?;
            let value = u64::try_from(row.try_get::<i64, _>("value").map_err(db)?).unwrap_or(0);
            match key.as_str() {
                "last_seq" => meta.last_seq = value,
                "next_log_id" => meta.next_log_id = value.max(1),
                _ => {}
            }
        }
        Ok(meta)
    }

    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
        let builders: Vec<Builder> = self.builders().await?;
        let mut newest = Vec::new();
        for b in &builders {
            newest.extend(self.newest_build_number(&b.name).await?.map(|n| (b.name.clone(), n)));
        }
        let running = self.all("SELECT data FROM builds WHERE finished IS NULL", "builds").await?;
        let pending = self.pending_requests(None).await?;
        let buildsets = self.all("SELECT data FROM buildsets WHERE complete = 0 ORDER BY id", "buildsets").await?;
        let changes = self.changes(&ChangeQuery { limit: changes, ..ChangeQuery::default() }).await?;
        let last_change: Option<i64> =
            sqlx::query_scalar("SELECT MAX(number) FROM changes").fetch_one(&self.pool).await.map_err(db)?;
        Ok(Snapshot {
            workers: self.workers().await?,
            builders,
            running,
            newest,
            pending,
            buildsets,
            changes,
            last_change: last_change.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            next_log_id: self.meta().await?.next_log_id,
        })
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT data FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(id(after)?)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(|r| decode(r, || "an event".to_owned())).collect()
    }
}

/// The indexed time and result columns of a build.
pub(crate) fn build_columns(b: &Build) -> (i64, Option<i64>, Option<i64>) {
    (b.started.timestamp_millis(), b.finished.map(|t| t.timestamp_millis()), b.result.map(|r| i64::from(r.code())))
}
