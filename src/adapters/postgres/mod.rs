//! The whole store on PostgreSQL, through sqlx: status history, the event journal, ingest
//! receipts (`store.rs`, `queries.rs`), the notifiers' outbox with cursors and notes
//! (`outbox.rs`) and the logs' content (`logs.rs`), all in one database, so that an instance
//! keeps nothing of the history on its own disk. `[store] url = "postgresql://…"` selects it;
//! SQLite (`adapters::sqlite`, logs in files) stays the embedded default.
//!
//! Guarantees:
//! - a commit is one transaction: its records, its journaled events, its receipts and the
//!   counters are written all together or, on any error, not at all;
//! - the schema is migrated at open by sqlx's migrator (`migrations/`, one file per version,
//!   checksummed in `_sqlx_migrations`); a database whose schema is newer than this binary
//!   knows is refused before anything is read or written, naming both versions;
//! - one instance writes a database: opening takes a session advisory lock
//!   ([`WRITER_LOCK`]) on a connection of its own, held while the store lives, and a second
//!   instance is refused at start, naming the one holding it (ARCHITECTURE.md, "Several
//!   instances", says how several instances will share one database). Commits go through
//!   that connection, so an instance that lost the lock cannot commit; a lost connection is
//!   replaced, and the lock taken again, at the next commit;
//! - while the database is unreachable, reads and commits fail within [`ACQUIRE_TIMEOUT`] as
//!   errors of the storage (answered 503), and they work again once it is back;
//! - readings that must agree (the snapshot, a builder's state, the open buildsets) are one
//!   `REPEATABLE READ` transaction;
//! - listings walk an index in the listing's order and stop at the limit, as on SQLite (a
//!   listing of several builders is a union of each one's walk);
//! - a full disk on the server (`53100 disk_full`) is [`StoreError::Full`]: nothing of the
//!   failed commit is written.
//!
//! Records are stored whole as JSON text in `data`, beside the columns that are indexed;
//! times are epoch milliseconds. A record that does not decode is [`StoreError::Corrupt`],
//! naming its table and key.
//!
//! Tests: the store, outbox and log contract suites (`tests/it/contracts/`) run against a real
//! PostgreSQL that the tests start (`initdb` in a temporary directory), a database per test.

mod copy;
mod logs;
mod outbox;
mod queries;
mod store;

use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, SqlSafeStr};

use crate::ports::{StoreError, cause};

pub use logs::PgLogStore;
pub use outbox::PgOutbox;
pub use store::PgStore;

/// The schema's versions, in order (what `sqlx::migrate!` would embed; that macro needs
/// sqlx's `macros` feature, which this crate does not otherwise use).
const MIGRATIONS: [(i64, &str, &str); 2] = [
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "migration", include_str!("migrations/0002_migration.sql")),
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock the writing instance holds (a constant: advisory locks are per
/// database): "buildstatus" in ASCII, a number no other program is likely to take.
pub const WRITER_LOCK: i64 = 0x6275_696c_6473_7461;

/// Connections each instance's pool opens at most: pages read in parallel, the hub writes,
/// notifiers claim and record.
const CONNECTIONS: u32 = 8;

/// Whether `url` names a PostgreSQL database (`postgresql://` or `postgres://`).
pub fn is_url(url: &str) -> bool {
    url.starts_with("postgresql://") || url.starts_with("postgres://")
}

/// Checks `url` the way opening it will read it, without connecting: a clear message for
/// `check-config`.
pub fn check_url(url: &str) -> Result<(), String> {
    if !is_url(url) {
        return Err(format!("'{}' is not a postgresql:// URL", redacted(url)));
    }
    PgConnectOptions::from_str(url).map(|_| ()).map_err(|e| format!("'{}' cannot be read: {e}", redacted(url)))
}

/// `url` without its password, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A sqlx error as the store's: a full disk on the server is [`StoreError::Full`], damaged
/// data ([`XX001`, `XX002`]) [`StoreError::Corrupt`], the rest [`StoreError::Database`].
fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("53100") => StoreError::Full(cause(e)),
            Some("XX001" | "XX002") => StoreError::corrupt(e),
            _ => StoreError::database(e),
        },
        _ => StoreError::database(e),
    }
}

/// An id as PostgreSQL stores it (BIGINT); a larger one cannot be written.
fn write_id(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::database(format!("id {n} is too large for PostgreSQL")))
}

/// An id to look up; `None` when it is larger than any stored one can be.
fn stored_id(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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

/// How this instance names itself to the server (`pg_stat_activity.application_name`), so
/// that a refusal can say which instance holds the database.
fn application_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("buildstatus pid {} on {}", std::process::id(), host.trim())
}

/// The connection options of `url`.
fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
    check_url(url).map_err(StoreError::database)?;
    let options = PgConnectOptions::from_str(url).map_err(db)?;
    Ok(options.application_name(&application_name()))
}

/// How long a query waits for a connection: while the database is unreachable, a request
/// is answered 503 after this long rather than sqlx's default 30 s.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A pool of connections to `url`. Connections lost (the database restarted, the network cut)
/// are replaced as queries need them: reconnection needs no restart.
async fn connect(url: &str) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options(url)?)
        .await
        .map_err(db)
}

/// The newest schema version applied to the database of `pool`, 0 when none is.
async fn applied_version(pool: &PgPool) -> Result<i64, StoreError> {
    let tracked: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await.map_err(db)?;
    if !tracked {
        return Ok(0);
    }
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(newest.unwrap_or(0))
}

/// Refuses a database of a newer schema than this binary's, then brings it to
/// [`SCHEMA_VERSION`] (sqlx's migrator takes its own advisory lock while it migrates, so two
/// instances starting together migrate once).
async fn migrate(pool: &PgPool, url: &str) -> Result<(), StoreError> {
    let applied = applied_version(pool).await?;
    if applied > SCHEMA_VERSION {
        return Err(StoreError::database(format!(
            "{} has schema version {applied}, newer than this buildstatus {} knows (version {SCHEMA_VERSION}): \
             run a buildstatus at least as new as the one that wrote it",
            redacted(url),
            env!("CARGO_PKG_VERSION")
        )));
    }
    let migrations = MIGRATIONS.iter().map(|(version, description, sql)| {
        Migration::new(*version, (*description).into(), MigrationType::Simple, sql.into_sql_str(), false)
    });
    let migrator = Migrator::with_migrations(migrations.collect());
    migrator.run(pool).await.map_err(|e| StoreError::database(format!("cannot migrate the schema: {e}")))
}

/// The writer's hold on a database: a connection of its own holding [`WRITER_LOCK`], which
/// the server releases when the connection ends (the store dropped, the process gone, the
/// network cut). Commits go through this very connection, which fences them: an instance that
/// lost the lock lost the connection with it, so its commit fails rather than racing another
/// instance that took the database meanwhile. A lost connection is replaced, and the lock
/// taken again, at the next commit; when another instance holds it by then, the commit is
/// refused, naming that instance.
#[derive(Debug)]
struct WriterLock {
    url: String,
    /// The connection, and when it last answered.
    conn: tokio::sync::Mutex<Option<(PgConnection, std::time::Instant)>>,
}

/// How long the lock's connection may sit idle before a commit checks it first: a connection
/// that a firewall dropped during a quiet night is found and replaced before the commit, not
/// by failing it (a webhook is not always sent again).
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a start waits for the writer's lock before naming its holder.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl WriterLock {
    /// Takes the database of `url` for this instance, or says which instance has it.
    /// An instance that has just stopped (or a `migrate` that has just ended) holds the lock
    /// until PostgreSQL sees its connection close, a moment after the process is gone: a
    /// start waits up to [`START_WAIT`] for it before naming the holder.
    async fn take(url: &str) -> Result<Self, StoreError> {
        let mut conn = PgConnection::connect_with(&options(url)?).await.map_err(db)?;
        let give_up = std::time::Instant::now() + START_WAIT;
        while !Self::try_lock(&mut conn).await? {
            if std::time::Instant::now() >= give_up {
                return Err(Self::held(url, &mut conn).await);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(Self { url: url.to_owned(), conn: tokio::sync::Mutex::new(Some((conn, std::time::Instant::now()))) })
    }

    async fn try_lock(conn: &mut PgConnection) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(WRITER_LOCK).fetch_one(conn).await.map_err(db)
    }

    /// A connection holding the lock, or the error naming who holds it.
    async fn connect(url: &str) -> Result<PgConnection, StoreError> {
        let mut conn = PgConnection::connect_with(&options(url)?).await.map_err(db)?;
        if Self::try_lock(&mut conn).await? {
            return Ok(conn);
        }
        Err(Self::held(url, &mut conn).await)
    }

    /// The error naming the instance that holds the lock.
    async fn held(url: &str, conn: &mut PgConnection) -> StoreError {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT a.application_name || COALESCE(' from ' || host(a.client_addr), '') FROM pg_locks l \
             JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 LIMIT 1",
        )
        .bind(WRITER_LOCK)
        .fetch_optional(conn)
        .await
        .ok()
        .flatten();
        StoreError::database(format!(
            "{} is in use by {}: one buildstatus instance writes a database (several instances are not \
             supported yet)",
            redacted(url),
            holder.unwrap_or_else(|| "another buildstatus instance".to_owned())
        ))
    }

    /// Writes `commit` on the connection holding the lock (connecting and taking the lock
    /// again first if it was lost). After a failed write the connection is checked, and
    /// forgotten if it is gone, so that the next write starts from a new one.
    async fn commit(&self, commit: &crate::ports::Commit) -> Result<(), StoreError> {
        let mut held = self.conn.lock().await;
        if let Some((conn, used)) = held.as_mut()
            && used.elapsed() >= IDLE_CHECK
            && conn.ping().await.is_err()
        {
            *held = None;
        }
        let (conn, used) = match held.as_mut() {
            Some(held) => held,
            None => held.insert((Self::connect(&self.url).await?, std::time::Instant::now())),
        };
        let written = store::write_commit(conn, commit).await;
        if written.is_err() && conn.ping().await.is_err() {
            tracing::warn!("the connection holding {} was lost; the next commit takes it again", redacted(&self.url));
            *held = None;
        } else {
            *used = std::time::Instant::now();
        }
        written
    }
}
