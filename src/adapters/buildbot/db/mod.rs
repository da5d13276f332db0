//! Reading a Buildbot 4 database (SQLite or PostgreSQL, through sqlx's `Any` driver: the
//! queries are plain SQL both accept) into our status events, for `import-buildbot`.
//!
//! The database is opened read-only and checked before anything is read: it must have
//! Buildbot's tables and a schema version (`alembic_version`) whose layout this reader knows.
//! Builders keep their names, builds their numbers, changes their numbers, so links into
//! Buildbot's history still make sense here.
//!
//! A finished build becomes these events: `BuildStarted` carrying the whole build (its steps,
//! results and times, its logs still open), then each log's content and `LogFinished`, then
//! `BuildFinished` (`builds.rs` reads a run of builds at a time, in two queries). A log chunk that cannot be
//! decompressed (or would grow past `MAX_CHUNK_TEXT`) is replaced by a header line saying so,
//! and the log is counted as damaged; the import goes on. A build whose row holds what
//! Buildbot never writes is returned as unreadable, with the reason, not as an error.

mod builds;
// `pub(crate)` for `crate::fuzzing`, which hands `decompress` to the fuzz targets.
pub(crate) mod chunks;
mod pending;

use std::collections::BTreeMap;

use chrono::DateTime;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::domain::event::StatusEvent;
use crate::domain::model::{Builder, Change, Property, Timestamp, Worker};
use crate::domain::result::BuildResult;

pub use builds::MAX_BUILD_TEXT;
pub use chunks::MAX_CHUNK_TEXT;
pub use pending::Pending;

/// Schema versions (`alembic_version.version_num`) whose layout this reader was checked
/// against, and the Buildbot release that writes them.
pub const KNOWN_SCHEMAS: [(&str, &str); 1] = [("067", "Buildbot 4.3")];

/// The tables read.
const TABLES: [&str; 18] = [
    "builders",
    "builders_tags",
    "tags",
    "workers",
    "configured_workers",
    "builder_masters",
    "changes",
    "change_files",
    "change_properties",
    "sourcestamps",
    "buildsets",
    "buildset_sourcestamps",
    "buildrequests",
    "buildrequest_claims",
    "buildset_properties",
    "builds",
    "build_properties",
    "steps",
];

#[derive(Debug, thiserror::Error)]
pub enum BuildbotError {
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// It is not a Buildbot database.
    #[error("not a Buildbot database: {0}")]
    NotBuildbot(String),
    /// A Buildbot database of a schema version this reader does not know.
    #[error("Buildbot schema version '{0}' is not one this importer knows (known: {known})", known = known_schemas())]
    UnknownSchema(String),
    /// A query failed, or a row holds what Buildbot never writes.
    #[error("reading the Buildbot database: {0}")]
    Read(String),
}

fn known_schemas() -> String {
    let known: Vec<String> = KNOWN_SCHEMAS.iter().map(|(v, bb)| format!("{v} ({bb})")).collect();
    known.join(", ")
}

fn read(e: sqlx::Error) -> BuildbotError {
    BuildbotError::Read(e.to_string())
}

/// A build as listed, before its details are read.
#[derive(Clone, Debug)]
pub struct BuildRow {
    pub id: i64,
    pub builder_id: i64,
    pub builder: String,
    pub number: u32,
    pub finished: bool,
    /// The bytes its log chunks take in the database (compressed or not).
    pub log_bytes: u64,
}

/// A build read whole, as the events that record it.
#[derive(Debug)]
pub struct ImportedBuild {
    pub events: Vec<StatusEvent>,
    pub steps: usize,
    pub logs: usize,
    /// Logs with a chunk that could not be read, and why.
    pub damaged_logs: Vec<String>,
}

/// What [`BuildbotDb::read_builds`] read of a run of builds.
#[derive(Debug, Default)]
pub struct BuildsRead {
    /// The first builds of the run, each whole.
    pub builds: Vec<ImportedBuild>,
    /// Why the build after them cannot be read, when that is where reading stopped (when it
    /// stopped for the text budget instead, the rest of the run is still to be read).
    pub unreadable: Option<String>,
}

/// Every build, as [`BuildbotDb::builds`] lists them.
#[derive(Debug, Default)]
pub struct BuildList {
    /// By builder name and number.
    pub rows: Vec<BuildRow>,
    /// Builds that cannot be imported at all (a number that is no build number), and why.
    pub unreadable: Vec<String>,
}

/// An open Buildbot database.
pub struct BuildbotDb {
    pool: AnyPool,
    /// The query reading builds, in the database's spelling.
    builds_sql: String,
    /// Its schema version.
    pub schema: String,
}

fn time(seconds: i64, what: &str) -> Result<Timestamp, BuildbotError> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| BuildbotError::Read(format!("{what}: bad time {seconds}")))
}

fn result(code: Option<i64>) -> BuildResult {
    // A finished build or step without a result, or with a code Buildbot does not define.
    code.and_then(BuildResult::from_code).unwrap_or(BuildResult::Exception)
}

/// Buildbot keeps a property as the JSON `[value, source]` (changes) or value + source.
fn property(value: &str, source: Option<String>) -> Property {
    let parsed: serde_json::Value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.into()));
    match (parsed, source) {
        (value, Some(source)) => Property { value, source },
        (serde_json::Value::Array(mut pair), None) if pair.len() == 2 => {
            let source = crate::domain::model::property_string(&pair[1]);
            Property { value: pair.swap_remove(0), source }
        }
        (value, None) => Property { value, source: String::new() },
    }
}

impl BuildbotDb {
    /// Opens `location` (a file path or `sqlite:` URL) read-only and checks it is a Buildbot
    /// database this reader knows. Nothing is read before the checks pass.
    pub async fn open(location: &str) -> Result<Self, BuildbotError> {
        sqlx::any::install_default_drivers();
        let postgres = location.starts_with("postgres://") || location.starts_with("postgresql://");
        let (url, path) = if postgres {
            // Name the database without its credentials.
            (location.to_owned(), location.split('@').next_back().unwrap_or_default().to_owned())
        } else {
            if location.contains("://") && !location.starts_with("sqlite:") {
                return Err(BuildbotError::Open(format!(
                    "'{}': only SQLite files and PostgreSQL URLs can be imported",
                    location.split('@').next_back().unwrap_or_default()
                )));
            }
            let path =
                location.strip_prefix("sqlite:///").or_else(|| location.strip_prefix("sqlite://")).unwrap_or(location);
            if !std::path::Path::new(path).is_file() {
                return Err(BuildbotError::Open(format!("'{path}' is not a file")));
            }
            // The path is percent-encoded, so that a `?`, `#` or `%` in it stays part of it
            // (sqlx decodes it again) and `mode=ro` stays the only parameter.
            const IN_PATH: &percent_encoding::AsciiSet =
                &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');
            let absolute = std::path::absolute(path).map_err(|e| BuildbotError::Open(format!("'{path}': {e}")))?;
            let absolute = absolute.to_str().ok_or_else(|| BuildbotError::Open(format!("'{path}': not UTF-8")))?;
            (format!("sqlite://{}?mode=ro", percent_encoding::utf8_percent_encode(absolute, IN_PATH)), path.to_owned())
        };
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // SQLite: pages are read through a memory map, not copied into a small cache.
                    if !postgres {
                        sqlx::Executor::execute(conn, "PRAGMA mmap_size = 1073741824").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| BuildbotError::Open(format!("'{path}': {e}")))?;
        let tables_sql = if postgres {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema()"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        };
        let kind = if postgres { "a PostgreSQL" } else { "an SQLite" };
        let tables: Vec<String> = sqlx::query_scalar(tables_sql)
            .fetch_all(&pool)
            .await
            .map_err(|e| BuildbotError::NotBuildbot(format!("'{path}' is not {kind} database ({e})")))?;
        if !tables.iter().any(|t| t == "alembic_version") {
            return Err(BuildbotError::NotBuildbot(format!("'{path}' has no alembic_version table")));
        }
        if let Some(missing) =
            TABLES.iter().chain(["logs", "logchunks"].iter()).find(|t| !tables.iter().any(|have| have == *t))
        {
            return Err(BuildbotError::NotBuildbot(format!("'{path}' has no {missing} table")));
        }
        let schema: Option<String> =
            sqlx::query_scalar("SELECT version_num FROM alembic_version").fetch_optional(&pool).await.map_err(read)?;
        let schema = schema.unwrap_or_default();
        if !KNOWN_SCHEMAS.iter().any(|(v, _)| *v == schema) {
            return Err(BuildbotError::UnknownSchema(schema));
        }
        Ok(Self { pool, schema, builds_sql: builds::builds_sql(postgres) })
    }

    /// The builders, with their description, tags and the workers they are configured with.
    pub async fn builders(&self) -> Result<Vec<Builder>, BuildbotError> {
        let rows: Vec<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT id, name, description FROM builders ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(read)?;
        let tags: Vec<(i64, String)> = sqlx::query_as(
            "SELECT bt.builderid, t.name FROM builders_tags bt JOIN tags t ON t.id = bt.tagid ORDER BY bt.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let workers: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT bm.builderid, w.name FROM configured_workers cw \
             JOIN builder_masters bm ON bm.id = cw.buildermasterid JOIN workers w ON w.id = cw.workerid ORDER BY w.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let of =
            |list: &[(i64, String)], id: i64| list.iter().filter(|(b, _)| *b == id).map(|(_, n)| n.clone()).collect();
        Ok(rows
            .into_iter()
            .map(|(id, name, description)| Builder {
                name,
                description,
                tags: of(&tags, id),
                workers: of(&workers, id),
            })
            .collect())
    }

    /// Every worker, as it last described itself to Buildbot (admin, host, version, access
    /// URI: Buildbot keeps them in `info`). Whether it is connected now is not imported:
    /// buildstatus learns that when it connects.
    pub async fn workers(&self) -> Result<Vec<Worker>, BuildbotError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT name, info, paused FROM workers ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(read)?;
        Ok(rows
            .into_iter()
            .map(|(name, info, paused)| {
                let info: serde_json::Value = serde_json::from_str(&info).unwrap_or_default();
                let text = |key: &str| info[key].as_str().map(str::to_owned).filter(|s| !s.is_empty());
                Worker {
                    name,
                    paused: paused != 0,
                    admin: text("admin"),
                    host: text("host"),
                    version: text("version"),
                    access_uri: text("access_uri"),
                    ..Worker::default()
                }
            })
            .collect())
    }

    /// Every change, oldest first, with its files and properties; and the changes whose row
    /// holds what Buildbot never writes (an id or time out of range), and why.
    pub async fn changes(&self) -> Result<(Vec<Change>, Vec<String>), BuildbotError> {
        type Row = (
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT changeid, author, comments, branch, revision, revlink, when_timestamp, category, repository, \
             codebase, project FROM changes ORDER BY changeid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let files: Vec<(i64, String)> =
            sqlx::query_as("SELECT changeid, filename FROM change_files").fetch_all(&self.pool).await.map_err(read)?;
        let props: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT changeid, property_name, property_value FROM change_properties")
                .fetch_all(&self.pool)
                .await
                .map_err(read)?;
        let mut files_of: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (id, f) in files {
            files_of.entry(id).or_default().push(f);
        }
        let mut props_of: BTreeMap<i64, BTreeMap<String, Property>> = BTreeMap::new();
        for (id, name, value) in props {
            props_of.entry(id).or_default().insert(name, property(&value, None));
        }
        let mut out = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for (id, author, comments, branch, revision, revlink, when, category, repository, codebase, project) in rows {
            let (Ok(number), Ok(when)) = (u64::try_from(id), time(when, "time")) else {
                unreadable.push(format!("{id}: cannot be read (its id or time {when} is out of range)"));
                continue;
            };
            let mut files = files_of.remove(&id).unwrap_or_default();
            files.sort();
            out.push(Change {
                number,
                who: author,
                files,
                comments,
                revision,
                when,
                branch,
                category,
                revlink,
                properties: props_of.remove(&id).unwrap_or_default(),
                repository,
                project,
                codebase,
            });
        }
        Ok((out, unreadable))
    }

    /// Every build, by builder and number.
    pub async fn builds(&self) -> Result<BuildList, BuildbotError> {
        let rows: Vec<(i64, i64, String, i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT b.id, b.builderid, r.name, b.number, b.complete_at, \
             (SELECT COALESCE(SUM(LENGTH(c.content)), 0) FROM steps s JOIN logs l ON l.stepid = s.id \
              JOIN logchunks c ON c.logid = l.id WHERE s.buildid = b.id) \
             FROM builds b JOIN builders r ON r.id = b.builderid ORDER BY r.name, b.number",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let mut list = BuildList::default();
        for (id, builder_id, builder, number, complete, log_bytes) in rows {
            let Ok(number) = u32::try_from(number) else {
                list.unreadable.push(format!("{builder} #{number} (id {id}): not a build number"));
                continue;
            };
            let log_bytes = u64::try_from(log_bytes).unwrap_or(0);
            list.rows.push(BuildRow { id, builder_id, builder, number, finished: complete.is_some(), log_bytes });
        }
        Ok(list)
    }
}
