//! The status store on PostgreSQL: the queries of the pages and the hub's transactional
//! commit (records, journal, receipts, counters). See the module doc of `adapters::postgres`.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::logs::PgLogStore;
use super::outbox::PgOutbox;
use super::{WriterLock, connect, db, decode, decode_rows, limit, migrate, queries, redacted, stored_id, write_id};
use crate::domain::event::SequencedEvent;
use crate::domain::model::{Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker};
use crate::domain::state::{Mutation, Snapshot};
use crate::ports::{BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta};

// The fixed queries. Listings select `(key, data)` so that a bad record can be named.
const BUILDERS: &str = "SELECT name, data FROM builders ORDER BY name";
const WORKERS: &str = "SELECT name, data FROM workers ORDER BY name";
const NEWEST_NUMBER: &str = "SELECT MAX(number) FROM builds WHERE builder = $1";
const BUILD_NUMBERS: &str = "SELECT number FROM builds WHERE builder = $1 ORDER BY number DESC LIMIT $2";
const RUNNING: &str = "SELECT builder || ' #' || number, data FROM builds WHERE finished IS NULL";
const PENDING: &str = "SELECT CAST(id AS TEXT) AS key, data FROM requests ORDER BY submitted, id";
const PENDING_OF: &str = "SELECT CAST(id AS TEXT) AS key, data FROM requests WHERE builder = $1 ORDER BY submitted, id";
const OPEN_BUILDSETS: &str = "SELECT CAST(id AS TEXT) AS key, data FROM buildsets WHERE NOT complete ORDER BY id";
const LAST_CHANGE: &str = "SELECT MAX(number) FROM changes";
/// Walks the partial index `events_activity`; its condition must stay the index's.
const ACTIVITY: &str = "SELECT CAST(seq AS TEXT) AS key, data FROM events WHERE kind IN \
    ('worker_connected', 'worker_disconnected', 'worker_paused', 'worker_unpaused', 'master_started', \
    'master_stopping', 'reconfigured') ORDER BY seq DESC LIMIT $1";
/// Walks the partial index `events_master`; its condition must stay the index's.
const MASTER_STATE: &str =
    "SELECT kind FROM events WHERE kind IN ('master_started', 'master_stopping') ORDER BY seq DESC LIMIT 1";
const BUILDER: &str = "SELECT data FROM builders WHERE name = $1";
const BUILDING: &str = "SELECT EXISTS (SELECT 1 FROM builds WHERE builder = $1 AND finished IS NULL)";
const META: &str = "SELECT key, value FROM meta";
/// Both counters in one statement: `last_seq` only ever grows, `next_log_id` is set.
const SET_COUNTERS: &str = "INSERT INTO meta (key, value) VALUES ('last_seq', $1), ('next_log_id', $2) \
    ON CONFLICT (key) DO UPDATE SET value = \
    CASE meta.key WHEN 'last_seq' THEN GREATEST(meta.value, excluded.value) ELSE excluded.value END";

/// What [`PgStore::rows_read_by_builds`] prefixes a listing with.
const EXPLAIN: &str = "EXPLAIN (ANALYZE, FORMAT JSON) ";

/// The history tables' rows a plan (`EXPLAIN (ANALYZE, FORMAT JSON)`) read, in all its nodes.
fn rows_read(plan: &serde_json::Value) -> u64 {
    let count = |key: &str| plan.get(key).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    let mut own = 0.0;
    let history = plan
        .get("Relation Name")
        .and_then(|r| r.as_str())
        .is_some_and(|r| ["builds", "changes", "events"].contains(&r));
    if history {
        own = (count("Actual Rows") + count("Rows Removed by Filter")) * count("Actual Loops").max(1.0);
    }
    let inner = match plan {
        serde_json::Value::Array(items) => items.iter().map(rows_read).sum(),
        serde_json::Value::Object(map) => {
            map.get("Plan").map(rows_read).unwrap_or(0) + map.get("Plans").map(rows_read).unwrap_or(0)
        }
        _ => 0,
    };
    own as u64 + inner
}

/// The PostgreSQL store, with the outbox and the logs in the same database. See the module doc.
pub struct PgStore {
    pool: PgPool,
    outbox: PgOutbox,
    logs: Arc<PgLogStore>,
    /// This instance writes the database while the store lives; commits go through it.
    writer: WriterLock,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

async fn keyed<T: DeserializeOwned>(
    conn: &mut PgConnection,
    sql: &'static str,
    table: &str,
) -> Result<Vec<T>, StoreError> {
    decode_rows(table, sqlx::query_as(sql).fetch_all(conn).await.map_err(db)?)
}

async fn newest_number(conn: &mut PgConnection, builder: &str) -> Result<Option<u32>, StoreError> {
    let n: Option<i64> = sqlx::query_scalar(NEWEST_NUMBER).bind(builder).fetch_one(conn).await.map_err(db)?;
    Ok(n.and_then(|n| u32::try_from(n).ok()))
}

async fn master_stopping(conn: &mut PgConnection) -> Result<bool, StoreError> {
    let newest: Option<String> = sqlx::query_scalar(MASTER_STATE).fetch_optional(conn).await.map_err(db)?;
    Ok(newest.as_deref() == Some("master_stopping"))
}

async fn meta(conn: &mut PgConnection) -> Result<StoreMeta, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(META).fetch_all(conn).await.map_err(db)?;
    let mut meta = StoreMeta { last_seq: 0, next_log_id: 1 };
    for (key, value) in rows {
        let value = u64::try_from(value).map_err(|_| StoreError::corrupt(format!("meta {key}: {value}")))?;
        match key.as_str() {
            "last_seq" => meta.last_seq = value,
            "next_log_id" => meta.next_log_id = value.max(1),
            _ => {}
        }
    }
    Ok(meta)
}

/// Writes `commit` in one transaction on `conn`; dropping the transaction on an error rolls
/// everything back.
pub(super) async fn write_commit(conn: &mut PgConnection, commit: &Commit) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await.map_err(db)?;
    // Runs of changes, and runs of builds, go in one statement each; everything else one by
    // one, in order.
    let (mut changes, mut builds) = (Vec::new(), Vec::new());
    for mutation in &commit.mutations {
        match mutation {
            Mutation::PutChange(change) if builds.is_empty() => changes.push(change),
            Mutation::PutBuild(build) if changes.is_empty() => builds.push(build),
            _ => {
                queries::put_changes(&mut tx, &std::mem::take(&mut changes)).await?;
                queries::put_builds(&mut tx, &std::mem::take(&mut builds)).await?;
                match mutation {
                    Mutation::PutChange(change) => changes.push(change),
                    Mutation::PutBuild(build) => builds.push(build),
                    other => queries::apply(&mut tx, other).await?,
                }
            }
        }
    }
    queries::put_changes(&mut tx, &changes).await?;
    queries::put_builds(&mut tx, &builds).await?;
    queries::journal(&mut tx, &commit.events).await?;
    if !commit.receipts.is_empty() {
        let ids: Vec<&str> = commit.receipts.iter().map(|(id, _)| id.as_str()).collect();
        let seqs = commit.receipts.iter().map(|(_, seq)| write_id(*seq)).collect::<Result<Vec<_>, _>>()?;
        sqlx::query("INSERT INTO ingest_receipts (id, seq) SELECT * FROM UNNEST($1::text[], $2::bigint[])")
            .bind(ids)
            .bind(seqs)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let last_seq = commit.events.iter().map(|e| e.seq).max().unwrap_or(0);
    sqlx::query(SET_COUNTERS)
        .bind(write_id(last_seq)?)
        .bind(write_id(commit.next_log_id)?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)
}

impl PgStore {
    /// Connects to the database of `url`, takes it for this instance (a second instance is
    /// refused, naming the first), refuses a schema newer than this binary's, and migrates it.
    /// Errors name the database (never its password).
    /// A database whose copy by `buildstatus migrate` is not finished is refused.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::open_to_copy(url).await?;
        let unfinished: Option<String> = sqlx::query_scalar("SELECT source FROM migration WHERE NOT finished")
            .fetch_optional(&store.pool)
            .await
            .map_err(|e| Self::named(url, db(e)))?;
        if let Some(source) = unfinished {
            return Err(StoreError::database(format!(
                "{} is being migrated from {source}, and that copy is not finished: run `buildstatus migrate` \
                 again to finish it",
                redacted(url)
            )));
        }
        Ok(store)
    }

    /// Like [`PgStore::open`], also when a copy into the database is not finished (for the
    /// copy itself, `buildstatus migrate`).
    pub async fn open_to_copy(url: &str) -> Result<Self, StoreError> {
        let named = |e| Self::named(url, e);
        let pool = connect(url).await.map_err(named)?;
        let writer = WriterLock::take(url).await?;
        migrate(&pool, url).await.map_err(named)?;
        let outbox = PgOutbox { pool: pool.clone() };
        let logs = Arc::new(PgLogStore::new(pool.clone()));
        Ok(Self { pool, outbox, logs, writer })
    }

    /// An error of the database at `url`, naming it (without its password).
    pub fn named(url: &str, e: StoreError) -> StoreError {
        let place = redacted(url);
        match e {
            StoreError::Corrupt(why) => StoreError::corrupt(format!("{place}: {why}")),
            StoreError::Full(why) => StoreError::Full(crate::ports::cause(format!("{place}: {why}"))),
            StoreError::Database(why) if why.to_string().contains(&place) => StoreError::Database(why),
            StoreError::Database(why) => StoreError::database(format!("{place}: {why}")),
        }
    }

    /// The connections, for the copy of `buildstatus migrate` (`copy.rs`).
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The notifiers' outbox, in the same database.
    pub fn outbox(&self) -> PgOutbox {
        self.outbox.clone()
    }

    /// The logs' content, in the same database.
    pub fn logs(&self) -> Arc<PgLogStore> {
        self.logs.clone()
    }

    /// How many rows of the history tables (builds, changes, events) the very query
    /// [`StatusReader::builds`] runs for `query` reads, counted by running it under
    /// `EXPLAIN ANALYZE`: rows returned and rows a filter removed, over every scan of those
    /// tables. For the tests that hold listings to what they show, and for diagnosis.
    pub async fn rows_read_by_builds(&self, query: &BuildQuery) -> Result<u64, StoreError> {
        self.rows_read(queries::builds(EXPLAIN, query)).await
    }

    /// [`PgStore::rows_read_by_builds`] for [`StatusReader::changes`].
    pub async fn rows_read_by_changes(&self, query: &ChangeQuery) -> Result<u64, StoreError> {
        self.rows_read(queries::changes(EXPLAIN, query)).await
    }

    /// Refreshes the planner's statistics (`ANALYZE`), as autovacuum does after many writes.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await.map(|_| ()).map_err(db)
    }

    async fn rows_read(&self, mut explain: sqlx::QueryBuilder<Postgres>) -> Result<u64, StoreError> {
        let plan: sqlx::types::Json<serde_json::Value> =
            explain.build_query_scalar().fetch_one(&self.pool).await.map_err(db)?;
        Ok(rows_read(&plan.0))
    }

    /// A read transaction that sees one state of the database throughout.
    async fn read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, StoreError> {
        self.pool.acquire().await.map_err(db)
    }

    /// The one record of `table` that `sql` finds with `key` bound, if any.
    async fn one<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        table: &str,
        key: impl std::fmt::Display,
        bind: i64,
    ) -> Result<Option<T>, StoreError> {
        let row: Option<String> = sqlx::query_scalar(sql).bind(bind).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(|data| decode(&data, table, &key)).transpose()
    }
}

#[async_trait]
impl StatusReader for PgStore {
    async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
        keyed(&mut *self.conn().await?, BUILDERS, "builders").await
    }

    async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
        keyed(&mut *self.conn().await?, WORKERS, "workers").await
    }

    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT data FROM builds WHERE builder = $1 AND number = $2")
            .bind(builder)
            .bind(i64::from(number))
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|data| decode(&data, "builds", &format!("{builder} #{number}"))).transpose()
    }

    async fn newest_build_number(&self, builder: &str) -> Result<Option<u32>, StoreError> {
        newest_number(&mut *self.conn().await?, builder).await
    }

    async fn build_numbers(&self, builder: &str, n: usize) -> Result<Vec<u32>, StoreError> {
        let numbers: Vec<i64> =
            sqlx::query_scalar(BUILD_NUMBERS).bind(builder).bind(limit(n)).fetch_all(&self.pool).await.map_err(db)?;
        Ok(numbers.into_iter().filter_map(|n| u32::try_from(n).ok()).collect())
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Arc<Build>>, StoreError> {
        let rows = queries::builds("", query).build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        Ok(decode_rows::<Build>("builds", rows)?.into_iter().map(Arc::new).collect())
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        let Some(key) = stored_id(number) else { return Ok(None) };
        self.one("SELECT data FROM changes WHERE number = $1", "changes", number, key).await
    }

    async fn changes(&self, query: &ChangeQuery) -> Result<Vec<Change>, StoreError> {
        let rows = queries::changes("", query).build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        decode_rows("changes", rows)
    }

    async fn pending_requests(&self, builder: Option<&str>) -> Result<Vec<BuildRequest>, StoreError> {
        let rows = match builder {
            Some(b) => sqlx::query_as(PENDING_OF).bind(b).fetch_all(&self.pool).await.map_err(db)?,
            None => sqlx::query_as(PENDING).fetch_all(&self.pool).await.map_err(db)?,
        };
        decode_rows("requests", rows)
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        keyed(&mut *self.conn().await?, "SELECT CAST(uid AS TEXT) AS key, data FROM users ORDER BY uid", "users").await
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        let Some(key) = stored_id(uid) else { return Ok(None) };
        self.one("SELECT data FROM users WHERE uid = $1", "users", uid, key).await
    }

    async fn activity(&self, n: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let rows = sqlx::query_as(ACTIVITY).bind(limit(n)).fetch_all(&self.pool).await.map_err(db)?;
        decode_rows("events", rows)
    }

    async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError> {
        let mut tx = self.read().await?;
        let buildsets: Vec<Buildset> = keyed(&mut tx, OPEN_BUILDSETS, "buildsets").await?;
        let pending: Vec<BuildRequest> = keyed(&mut tx, PENDING, "requests").await?;
        tx.commit().await.map_err(db)?;
        Ok(OpenBuildset::gather(buildsets, &pending))
    }

    async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError> {
        let Some(key) = stored_id(id) else { return Ok(None) };
        self.one("SELECT data FROM buildsets WHERE id = $1", "buildsets", id, key).await
    }

    async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError> {
        let mut tx = self.read().await?;
        let row: Option<String> =
            sqlx::query_scalar(BUILDER).bind(builder).fetch_optional(&mut *tx).await.map_err(db)?;
        let Some(found) = row.map(|data| decode::<Builder>(&data, "builders", &builder)).transpose()? else {
            return Ok(None);
        };
        let building: bool = sqlx::query_scalar(BUILDING).bind(builder).fetch_one(&mut *tx).await.map_err(db)?;
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, data FROM workers WHERE name = ANY($1)")
            .bind(&found.workers)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let workers: Vec<Worker> = decode_rows("workers", rows)?;
        let connected: Vec<String> = workers.into_iter().filter(|w| w.connected).map(|w| w.name).collect();
        tx.commit().await.map_err(db)?;
        Ok(Some(BuilderState::of(&found, |w| connected.iter().any(|c| c == w), building)))
    }

    async fn master_stopping(&self) -> Result<bool, StoreError> {
        master_stopping(&mut *self.conn().await?).await
    }
}

#[async_trait]
impl StatusStore for PgStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        self.writer.commit(commit).await
    }

    async fn meta(&self) -> Result<StoreMeta, StoreError> {
        meta(&mut *self.conn().await?).await
    }

    async fn stored_bytes(&self) -> Result<Option<u64>, StoreError> {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(u64::try_from(bytes).ok())
    }

    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
        // One read transaction: every part of the snapshot sees the same commits.
        let mut tx = self.read().await?;
        let builders: Vec<Builder> = keyed(&mut tx, BUILDERS, "builders").await?;
        let mut newest = Vec::new();
        for b in &builders {
            newest.extend(newest_number(&mut tx, &b.name).await?.map(|n| (b.name.clone(), n)));
        }
        let listing = ChangeQuery { limit: changes, ..ChangeQuery::default() };
        let rows = queries::changes("", &listing).build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        let last_change: Option<i64> = sqlx::query_scalar(LAST_CHANGE).fetch_one(&mut *tx).await.map_err(db)?;
        let snapshot = Snapshot {
            workers: keyed(&mut tx, WORKERS, "workers").await?,
            running: keyed(&mut tx, RUNNING, "builds").await?,
            newest,
            pending: keyed(&mut tx, PENDING, "requests").await?,
            buildsets: keyed(&mut tx, OPEN_BUILDSETS, "buildsets").await?,
            changes: decode_rows("changes", rows)?,
            last_change: last_change.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            master_stopping: master_stopping(&mut tx).await?,
            next_log_id: meta(&mut tx).await?.next_log_id,
            builders,
        };
        tx.commit().await.map_err(db)?;
        Ok(snapshot)
    }

    async fn receipts(&self, ids: &[String]) -> Result<Vec<Option<u64>>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT id, seq FROM ingest_receipts WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let known: std::collections::HashMap<String, i64> = rows.into_iter().collect();
        Ok(ids.iter().map(|id| known.get(id).and_then(|s| u64::try_from(*s).ok())).collect())
    }

    async fn events_after(&self, after: u64, n: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let Some(after) = stored_id(after) else { return Ok(Vec::new()) };
        let rows =
            sqlx::query_as("SELECT CAST(seq AS TEXT) AS key, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after)
                .bind(limit(n))
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        decode_rows("events", rows)
    }
}
