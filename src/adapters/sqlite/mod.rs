//! The status store on SQLite, through sqlx: the embedded default behind the hub.
//!
//! Guarantees:
//! - a commit is one transaction: its records, its journaled events and the counters are
//!   written all together or, on any error, not at all;
//! - the database runs in WAL mode (`synchronous = NORMAL`, foreign keys on, 5 s busy
//!   timeout), so pages read while the hub writes; a process crash loses no commit, a power
//!   loss at most the last ones, and neither loses consistency;
//! - the notifiers' outbox is a second database file beside this one ([`outbox_path`]), with
//!   its own write lock: a notifier's packets and a worker's outcomes never hold the hub's
//!   commits back (nothing is written to both in one transaction);
//! - each database's writers (the hub's commits; the outbox's writes) take turns on that
//!   database's [`WriteGate`] before they begin, so none of them meets SQLite's write lock
//!   taken: a writer that did would wait in SQLite's busy handler, which sleeps 1 ms, then 2,
//!   5, 10 … (the busy timeout stays for other processes on the same file);
//! - the schemas are migrated at open by sqlx's migrator (`migrations/` for the status
//!   database, `migrations/outbox/` for the outbox's, one file per version, checksummed in
//!   each database's `_sqlx_migrations`); the outbox the status database held until its
//!   version 8 is moved into the outbox's file at open;
//! - every listing walks an index in the listing's own order and stops at its limit; a
//!   listing of several builders (or branches) is a union of such walks, each cut at the
//!   limit. Only sets that are small by nature are sorted (running builds, the builds of one
//!   revision, the union's few rows). Filters without an index of their own (a build's
//!   branch, a time range) are applied during the walk;
//! - `snapshot` reads only what is current (builders, workers, running builds, requests, open
//!   buildsets, one index probe per builder, the newest changes, the newest master event), in
//!   one read transaction, so start-up costs the same with 100 builds or 10 million.
//! - opening checks a file of up to 256 MiB whole first (SQLite's `quick_check`, one read of
//!   every page): a damaged file is refused, naming it, before anything is served from it. A
//!   larger one is refused when what opening and start-up read is damaged;
//! - a full disk is told apart ([`StoreError::Full`]): nothing of the failed commit is
//!   written, and writes resume when space returns, on the same connections.
//!
//! Records are stored whole as JSON in `data`, beside the columns that are indexed; times are
//! epoch milliseconds. A record that does not decode is reported as [`StoreError::Corrupt`]
//! naming its table and key.
//!
//! Tests (`tests/it/contracts/store_contract.rs`) run the real SQLite: a database file in a temporary
//! directory (reopened to check durability, filled with 20,000 builds to check the query
//! plans with `EXPLAIN QUERY PLAN`, before and after `ANALYZE`) and a private in-memory
//! database. The `explain*` methods exist for those tests and for diagnosis.

mod copy;
mod outbox;
mod queries;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqliteConnection};

/// A query with its bound arguments, as `sqlx::query` and a `QueryBuilder` make them.
type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>;

use crate::domain::event::SequencedEvent;
use crate::domain::model::{Build, BuildRequest, Builder, BuilderState, Buildset, Change, OpenBuildset, User, Worker};
use crate::domain::state::{Mutation, Snapshot};
use crate::ports::{BuildQuery, ChangeQuery, Commit, StatusReader, StatusStore, StoreError, StoreMeta, cause};

pub use outbox::SqliteOutbox;

/// The schema's versions, in order (what `sqlx::migrate!` would embed; that macro needs
/// sqlx's `macros` feature, which this crate does not otherwise use).
const MIGRATIONS: [(i64, &str, &str); 7] = [
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "listing order indexes", include_str!("migrations/0002_listing_order_indexes.sql")),
    (4, "outbox", include_str!("migrations/0004_outbox.sql")),
    (5, "activity index", include_str!("migrations/0005_activity_index.sql")),
    (6, "ingest receipts", include_str!("migrations/0006_ingest_receipts.sql")),
    (7, "target kinds", include_str!("migrations/0007_target_kinds.sql")),
    (8, "master events index", include_str!("migrations/0008_master_events_index.sql")),
];

/// The outbox database's versions (its own file since the status database's version 8).
const OUTBOX_MIGRATIONS: [(i64, &str, &str); 1] = [(1, "outbox", include_str!("migrations/outbox/0001_outbox.sql"))];

// The fixed queries. Listings select `(key, data)` so that a bad record can be named.
const BUILDERS: &str = "SELECT name, data FROM builders ORDER BY name";
const WORKERS: &str = "SELECT name, data FROM workers ORDER BY name";
const NEWEST_NUMBER: &str = "SELECT MAX(number) FROM builds WHERE builder = ?";
const BUILD_NUMBERS: &str = "SELECT number FROM builds WHERE builder = ? ORDER BY number DESC LIMIT ?";
const RUNNING: &str = "SELECT builder || ' #' || number, data FROM builds WHERE finished IS NULL";
const PENDING: &str = "SELECT CAST(id AS TEXT), data FROM requests ORDER BY submitted, id";
const PENDING_OF: &str = "SELECT CAST(id AS TEXT), data FROM requests WHERE builder = ? ORDER BY submitted, id";
const OPEN_BUILDSETS: &str = "SELECT CAST(id AS TEXT), data FROM buildsets WHERE complete = 0 ORDER BY id";
const LAST_CHANGE: &str = "SELECT MAX(number) FROM changes";
/// Walks the partial index of migration 5; its condition must stay the index's, word for word.
const ACTIVITY: &str = "SELECT CAST(seq AS TEXT), data FROM events WHERE json_extract(data, '$.event.type') IN \
    ('worker_connected', 'worker_disconnected', 'worker_paused', 'worker_unpaused', 'master_started', \
    'master_stopping', 'reconfigured') ORDER BY seq DESC LIMIT ?";
/// Walks the partial index of migration 8; its condition must stay the index's, word for word.
const MASTER_STATE: &str = "SELECT json_extract(data, '$.event.type') FROM events \
    WHERE json_extract(data, '$.event.type') IN ('master_started', 'master_stopping') ORDER BY seq DESC LIMIT 1";
const BUILDER: &str = "SELECT data FROM builders WHERE name = ?";
/// Walks the partial index of running builds.
const BUILDING: &str = "SELECT EXISTS (SELECT 1 FROM builds WHERE builder = ? AND finished IS NULL)";
const META: &str = "SELECT key, value FROM meta";
/// Both counters in one statement (a commit's every statement is a round trip to SQLite's
/// thread): `last_seq` only ever grows, `next_log_id` is set.
const SET_COUNTERS: &str = "INSERT INTO meta (key, value) VALUES ('last_seq', ?), ('next_log_id', ?) \
                            ON CONFLICT (key) DO UPDATE SET value = \
                            CASE key WHEN 'last_seq' THEN MAX(value, excluded.value) ELSE excluded.value END";
const PUT_RECEIPT: &str = "INSERT INTO ingest_receipts (id, seq) VALUES (?, ?)";
/// What `snapshot` runs besides the change listing, for [`SqliteStore::explain_snapshot`].
const SNAPSHOT_QUERIES: [&str; 9] =
    [BUILDERS, WORKERS, NEWEST_NUMBER, RUNNING, PENDING, OPEN_BUILDSETS, LAST_CHANGE, MASTER_STATE, META];

/// The SQLite store. See the module doc.
pub struct SqliteStore {
    pool: SqlitePool,
    writes: WriteGate,
    outbox: SqliteOutbox,
}

/// Turns at writing one database (the status database, or the outbox's): an async mutex, so a writer waits for
/// the one before it to commit by being woken, not by sleeping in SQLite's busy handler.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteGate(std::sync::Arc<tokio::sync::Mutex<()>>);

impl WriteGate {
    /// This writer's turn, until the guard is dropped (after its commit).
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// A sqlx error as the store's. A full disk is [`StoreError::Full`]: `SQLITE_FULL`, and an I/O
/// error while writing, which is how SQLite reports a write refused by a quota (`EDQUOT`) or
/// a file-size limit (`EFBIG`). A damaged file (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) is
/// [`StoreError::Corrupt`]; the rest (locked, cannot open, …) [`StoreError::Database`].
fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => match d.code().and_then(|c| c.parse::<i32>().ok()) {
            Some(code) if code & 0xff == SQLITE_FULL || WRITE_IO_ERRORS.contains(&code) => StoreError::Full(cause(e)),
            Some(code) if [SQLITE_CORRUPT, SQLITE_NOTADB].contains(&(code & 0xff)) => StoreError::corrupt(e),
            _ => StoreError::database(e),
        },
        sqlx::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge | std::io::ErrorKind::QuotaExceeded
            ) =>
        {
            StoreError::Full(cause(e))
        }
        _ => StoreError::database(e),
    }
}

// SQLite's result codes (`sqlite3.h`): primary codes are the low byte of extended ones.
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_NOTADB: i32 = 26;
/// `SQLITE_IOERR_WRITE`, `_FSYNC`, `_TRUNCATE` and `_SHMSIZE`: a write to the database, its
/// log or its shared memory refused.
const WRITE_IO_ERRORS: [i32; 4] = [10 | (3 << 8), 10 | (4 << 8), 10 | (6 << 8), 10 | (19 << 8)];

/// An id as SQLite stores it; a larger one cannot be written.
fn write_id(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::database(format!("id {n} is too large for SQLite")))
}

/// An id to look up; `None` when it is larger than any stored one can be.
fn stored_id(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::database(format!("cannot encode a record: {e}")))
}

fn decode<T: DeserializeOwned>(data: &str, table: &str, key: &dyn std::fmt::Display) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::corrupt(format!("{table} {key}: {e}")))
}

fn decode_rows<T: DeserializeOwned>(table: &str, rows: Vec<(String, String)>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|(key, data)| decode(data, table, key)).collect()
}

/// Reads `(key, data)` rows of `table` with a query that binds nothing.
async fn keyed<T: DeserializeOwned>(
    conn: &mut SqliteConnection,
    sql: &'static str,
    table: &str,
) -> Result<Vec<T>, StoreError> {
    decode_rows(table, sqlx::query_as(sql).fetch_all(conn).await.map_err(db)?)
}

async fn newest_number(conn: &mut SqliteConnection, builder: &str) -> Result<Option<u32>, StoreError> {
    let n: Option<i64> = sqlx::query_scalar(NEWEST_NUMBER).bind(builder).fetch_one(conn).await.map_err(db)?;
    Ok(n.and_then(|n| u32::try_from(n).ok()))
}

async fn master_stopping(conn: &mut SqliteConnection) -> Result<bool, StoreError> {
    let newest: Option<Option<String>> = sqlx::query_scalar(MASTER_STATE).fetch_optional(conn).await.map_err(db)?;
    Ok(newest.flatten().as_deref() == Some("master_stopping"))
}

async fn meta(conn: &mut SqliteConnection) -> Result<StoreMeta, StoreError> {
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

/// SQLite's `quick_check`: every page read, each b-tree's structure and each row's format
/// checked (not that indexes match their tables, which `integrity_check` adds at several
/// times the cost). Its first few findings, when it has any, are the error.
async fn check(pool: &SqlitePool) -> Result<(), StoreError> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(5)").fetch_all(pool).await.map_err(db)?;
    if problems.iter().all(|p| p == "ok") { Ok(()) } else { Err(StoreError::corrupt(problems.join("; "))) }
}

/// Pages are read through a memory map of the file (shared by the connections and the OS
/// cache) rather than copied into each connection's cache: reading a page costs no system call.
const MMAP_SIZE: u64 = 1 << 30;
/// Each connection's page cache, in KiB (negative, as SQLite takes it): writes of large
/// batches touch many index pages.
const CACHE_SIZE: i64 = -16 * 1024;
/// The largest file checked whole when it is opened: 256 MiB, read in a fraction of a second
/// from the OS cache (a GB took 1.2 s) but in seconds from a cold disk (2.2 GB took two
/// minutes on the project's machine).
pub const WHOLE_CHECK_BYTES: u64 = 256 << 20;

/// Pages the write-ahead log grows to before it is copied into the database, which costs two
/// disk flushes: 32 MB (SQLite's default is 4 MB), so a bulk import flushes a few times, not dozens.
const WAL_PAGES: u32 = 8192;

/// Where the outbox of the status database at `path` is kept: beside it, `NAME-outbox.sqlite`
/// for `NAME.sqlite`.
pub fn outbox_path(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}-outbox.sqlite"))
}

/// A pool of at most `connections` to the database file at `path` (created if missing), in WAL
/// mode (see the module doc).
async fn connect_file(path: &Path, connections: u32) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("mmap_size", MMAP_SIZE.to_string())
        .pragma("cache_size", CACHE_SIZE.to_string())
        .pragma("wal_autocheckpoint", WAL_PAGES.to_string());
    // Connections are to a local file: no need to ping one before each query, nor to close
    // one that idles (making one again costs a thread and a read of the schema).
    SqlitePoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(db)
}

/// A private database in memory: one connection, kept open for the pool's life.
async fn connect_memory() -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?.foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(db)
}

/// Brings the database of `pool` to the last of `versions`.
async fn migrate(pool: &SqlitePool, versions: &[(i64, &'static str, &'static str)]) -> Result<(), StoreError> {
    let migrations = versions.iter().map(|(version, description, sql)| {
        Migration::new(*version, (*description).into(), MigrationType::Simple, sql.into_sql_str(), false)
    });
    let migrator = Migrator::with_migrations(migrations.collect());
    let failed = |e: sqlx::migrate::MigrateError| StoreError::database(format!("cannot migrate the schema: {e}"));
    // Databases made before sqlx's migrator was used kept their version in `user_version`.
    let legacy: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(pool).await.map_err(db)?;
    let tracked: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')")
            .fetch_one(pool)
            .await
            .map_err(db)?;
    if legacy > 0 && !tracked {
        migrator.skip(pool, Some(legacy)).await.map_err(failed)?;
    }
    migrator.run(pool).await.map_err(failed)
}

/// A pool of `connections` to the database file at `path`, checked whole when small enough
/// ([`WHOLE_CHECK_BYTES`]) and migrated to the last of `versions`; errors name the file.
async fn open_checked(
    path: &Path,
    connections: u32,
    versions: &[(i64, &'static str, &'static str)],
) -> Result<SqlitePool, StoreError> {
    let named = |e| SqliteStore::named(path, e);
    let pool = connect_file(path, connections).await.map_err(named)?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size <= WHOLE_CHECK_BYTES {
        check(&pool).await.map_err(named)?;
    } else {
        tracing::info!(
            "{} holds {size} bytes: not checked whole at start (PRAGMA quick_check checks it)",
            path.display()
        );
    }
    migrate(&pool, versions).await.map_err(named)?;
    Ok(pool)
}

/// Connections of the outbox's pool.
const OUTBOX_CONNECTIONS: u32 = 2;

/// The outbox's pool at `path`, opened, checked and migrated on a thread of its own that runs
/// `setup` first, with all its connections made there.
async fn open_outbox(path: std::path::PathBuf, setup: fn()) -> Result<SqlitePool, StoreError> {
    let runtime = tokio::runtime::Handle::current();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let opening = move || {
        setup();
        let opened = runtime.block_on(async {
            let pool = open_checked(&path, OUTBOX_CONNECTIONS, &OUTBOX_MIGRATIONS).await?;
            let all = (0..OUTBOX_CONNECTIONS).map(|_| pool.acquire());
            let made = futures_util::future::try_join_all(all).await;
            drop(made.map_err(|e| SqliteStore::named(&path, db(e)))?);
            Ok(pool)
        });
        let _ = sender.send(opened);
    };
    let thread = std::thread::Builder::new().name("outbox-open".into()).spawn(opening);
    thread.map_err(|e| StoreError::database(format!("cannot start a thread to open the outbox: {e}")))?;
    receiver.await.map_err(|_| StoreError::database("the thread opening the outbox ended early"))?
}

impl SqliteStore {
    /// Opens (creating them if missing) the database at `path` and its outbox's beside it
    /// ([`outbox_path`]), checks that each is whole, and migrates them; an outbox the status
    /// database still holds (from before the outbox had a file of its own) is moved into its
    /// file. A damaged file is refused with an error naming it ([`SqliteStore::named`]).
    /// A file of up to [`WHOLE_CHECK_BYTES`] is checked whole (SQLite's `quick_check` reads
    /// every page once), so a page damaged anywhere is found now rather than by the request
    /// that happens to read it; a larger one only as far as opening and start-up read it, so
    /// that a start costs the same with 100 builds or 10 million.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_outbox_threads(path, || ()).await
    }

    /// Like [`SqliteStore::open`], with the outbox's connections made on a thread that runs
    /// `setup` first: sqlx gives each connection a thread of its own, started by the thread
    /// that opens it, and a thread inherits its starter's scheduling priority (the server
    /// lowers it: the outbox's writes are the notifiers' background work). The connections
    /// are kept for the pool's life, so none is made again elsewhere.
    pub async fn open_with_outbox_threads(path: &Path, setup: fn()) -> Result<Self, StoreError> {
        let pool = open_checked(path, 4, &MIGRATIONS).await?;
        let outbox_pool = open_outbox(outbox_path(path), setup).await?;
        outbox::move_in(&pool, path, &outbox_pool).await.map_err(|e| Self::named(path, e))?;
        Ok(Self::of(pool, outbox_pool))
    }

    /// An error of the database at `path`, naming it; damage says what to do about it.
    pub fn named(path: &Path, e: StoreError) -> StoreError {
        match e {
            StoreError::Corrupt(why) => StoreError::corrupt(format!(
                "{} is damaged ({why}); restore it from a backup, or move it away to start with an empty one",
                path.display()
            )),
            StoreError::Full(why) => StoreError::Full(cause(format!("{}: {why}", path.display()))),
            StoreError::Database(why) => StoreError::database(format!("{}: {why}", path.display())),
        }
    }

    /// A private database in memory, and another for the outbox: one connection each, kept
    /// open for the store's life.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let pool = connect_memory().await?;
        migrate(&pool, &MIGRATIONS).await?;
        let outbox_pool = connect_memory().await?;
        migrate(&outbox_pool, &OUTBOX_MIGRATIONS).await?;
        outbox::drop_moved(&pool).await?;
        Ok(Self::of(pool, outbox_pool))
    }

    /// Each database with its own turns at writing: the hub's commits never wait for an
    /// outbox write, nor the other way round.
    fn of(pool: SqlitePool, outbox_pool: SqlitePool) -> Self {
        let outbox = SqliteOutbox { pool: outbox_pool, writes: WriteGate::default() };
        Self { pool, writes: WriteGate::default(), outbox }
    }

    /// The plan SQLite chooses for `sql`, one line per step (`SCAN`, `SEARCH`, `USE TEMP B-TREE`).
    pub async fn explain(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        self.plan(sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))).await
    }

    /// The plan of the very query [`StatusReader::builds`] runs for `query`.
    pub async fn explain_builds(&self, query: &BuildQuery) -> Result<Vec<String>, StoreError> {
        self.plan(queries::builds("EXPLAIN QUERY PLAN ", query).build()).await
    }

    /// The plan of the very query [`StatusReader::changes`] runs for `query`.
    pub async fn explain_changes(&self, query: &ChangeQuery) -> Result<Vec<String>, StoreError> {
        self.plan(queries::changes("EXPLAIN QUERY PLAN ", query).build()).await
    }

    /// Each query [`StatusStore::snapshot`] runs, with its plan.
    pub async fn explain_snapshot(&self, changes: usize) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut out = Vec::new();
        for sql in SNAPSHOT_QUERIES {
            out.push((sql.to_owned(), self.explain(sql).await?));
        }
        let listing = ChangeQuery { limit: changes, ..ChangeQuery::default() };
        let (sql, plan) = (queries::changes("", &listing).into_string(), self.explain_changes(&listing).await?);
        out.push((sql, plan));
        Ok(out)
    }

    /// Runs an `EXPLAIN QUERY PLAN` on a connection whose schema is current. EXPLAIN opens no
    /// read transaction, so a pooled connection that loaded the schema before a migration or
    /// an `ANALYZE` ran on another one would describe the old plan; a read first makes it
    /// notice the change. The statement is not cached, for the same reason.
    async fn plan(&self, explain: SqliteQuery<'_>) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn().await?;
        sqlx::query("SELECT 1 FROM sqlite_master LIMIT 1").fetch_optional(&mut *conn).await.map_err(db)?;
        let rows = explain.persistent(false).fetch_all(&mut *conn).await.map_err(db)?;
        rows.iter().map(|r| r.try_get::<String, _>("detail").map_err(db)).collect()
    }

    /// The notifiers' outbox, in its own database beside this one.
    pub fn outbox(&self) -> SqliteOutbox {
        self.outbox.clone()
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
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
impl StatusReader for SqliteStore {
    async fn builders(&self) -> Result<Vec<Builder>, StoreError> {
        keyed(&mut *self.conn().await?, BUILDERS, "builders").await
    }

    async fn workers(&self) -> Result<Vec<Worker>, StoreError> {
        keyed(&mut *self.conn().await?, WORKERS, "workers").await
    }

    async fn build(&self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT data FROM builds WHERE builder = ? AND number = ?")
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

    async fn build_numbers(&self, builder: &str, limit: usize) -> Result<Vec<u32>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let numbers: Vec<i64> =
            sqlx::query_scalar(BUILD_NUMBERS).bind(builder).bind(limit).fetch_all(&self.pool).await.map_err(db)?;
        Ok(numbers.into_iter().filter_map(|n| u32::try_from(n).ok()).collect())
    }

    async fn builds(&self, query: &BuildQuery) -> Result<Vec<Arc<Build>>, StoreError> {
        let rows = queries::builds("", query).build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        Ok(decode_rows::<Build>("builds", rows)?.into_iter().map(Arc::new).collect())
    }

    async fn change(&self, number: u64) -> Result<Option<Change>, StoreError> {
        let Some(key) = stored_id(number) else { return Ok(None) };
        self.one("SELECT data FROM changes WHERE number = ?", "changes", number, key).await
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
        keyed(&mut *self.conn().await?, "SELECT CAST(uid AS TEXT), data FROM users ORDER BY uid", "users").await
    }

    async fn user(&self, uid: u64) -> Result<Option<User>, StoreError> {
        let Some(key) = stored_id(uid) else { return Ok(None) };
        self.one("SELECT data FROM users WHERE uid = ?", "users", uid, key).await
    }

    async fn activity(&self, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let rows = sqlx::query_as(ACTIVITY)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        decode_rows("events", rows)
    }

    async fn open_buildsets(&self) -> Result<Vec<OpenBuildset>, StoreError> {
        // Open buildsets and pending requests are few by nature; one read transaction.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let buildsets: Vec<Buildset> = keyed(&mut tx, OPEN_BUILDSETS, "buildsets").await?;
        let pending: Vec<BuildRequest> = keyed(&mut tx, PENDING, "requests").await?;
        tx.commit().await.map_err(db)?;
        Ok(OpenBuildset::gather(buildsets, &pending))
    }

    async fn buildset(&self, id: u64) -> Result<Option<Buildset>, StoreError> {
        let Some(key) = stored_id(id) else { return Ok(None) };
        self.one("SELECT data FROM buildsets WHERE id = ?", "buildsets", id, key).await
    }

    async fn builder_state(&self, builder: &str) -> Result<Option<BuilderState>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row: Option<String> =
            sqlx::query_scalar(BUILDER).bind(builder).fetch_optional(&mut *tx).await.map_err(db)?;
        let Some(found) = row.map(|data| decode::<Builder>(&data, "builders", &builder)).transpose()? else {
            return Ok(None);
        };
        let building: bool = sqlx::query_scalar(BUILDING).bind(builder).fetch_one(&mut *tx).await.map_err(db)?;
        let mut connected = Vec::new();
        if !found.workers.is_empty() {
            let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT name, data FROM workers WHERE name IN (");
            let mut list = sql.separated(", ");
            for w in &found.workers {
                list.push_bind(w.clone());
            }
            sql.push(")");
            let workers: Vec<Worker> =
                decode_rows("workers", sql.build_query_as().fetch_all(&mut *tx).await.map_err(db)?)?;
            connected.extend(workers.into_iter().filter(|w| w.connected).map(|w| w.name));
        }
        tx.commit().await.map_err(db)?;
        Ok(Some(BuilderState::of(&found, |w| connected.iter().any(|c| c == w), building)))
    }

    async fn master_stopping(&self) -> Result<bool, StoreError> {
        master_stopping(&mut *self.conn().await?).await
    }
}

#[async_trait]
impl StatusStore for SqliteStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let _turn = self.writes.turn().await;
        // Dropping `tx` on an error rolls everything back.
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Runs of changes, and runs of builds, go in one statement each; everything else one
        // by one, in order.
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
        for (id, seq) in &commit.receipts {
            sqlx::query(PUT_RECEIPT).bind(id).bind(write_id(*seq)?).execute(&mut *tx).await.map_err(db)?;
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

    async fn meta(&self) -> Result<StoreMeta, StoreError> {
        meta(&mut *self.conn().await?).await
    }

    async fn stored_bytes(&self) -> Result<Option<u64>, StoreError> {
        let pages: (i64, i64) = sqlx::query_as("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size")
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db)?;
        Ok(u64::try_from(pages.0.saturating_mul(pages.1)).ok())
    }

    async fn snapshot(&self, changes: usize) -> Result<Snapshot, StoreError> {
        // One read transaction: every part of the snapshot sees the same commits.
        let mut tx = self.pool.begin().await.map_err(db)?;
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
        // One query per batch of ids (below SQLite's limit of bound parameters).
        let mut known = std::collections::HashMap::new();
        for part in ids.chunks(500) {
            let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT id, seq FROM ingest_receipts WHERE id IN (");
            let mut list = sql.separated(", ");
            for id in part {
                list.push_bind(id);
            }
            sql.push(")");
            let rows: Vec<(String, i64)> = sql.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
            known.extend(rows);
        }
        Ok(ids.iter().map(|id| known.get(id).and_then(|s| u64::try_from(*s).ok())).collect())
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<SequencedEvent>, StoreError> {
        let Some(after) = stored_id(after) else { return Ok(Vec::new()) };
        let rows = sqlx::query_as("SELECT CAST(seq AS TEXT), data FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        decode_rows("events", rows)
    }
}
