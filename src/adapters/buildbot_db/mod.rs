//! Reading a Buildbot 4 database (SQLite) into our status events, for `import-buildbot`.
//!
//! The database is opened read-only and checked before anything is read: it must have
//! Buildbot's tables and a schema version (`alembic_version`) whose layout this reader knows.
//! Builders keep their names, builds their numbers, changes their numbers, so links into
//! Buildbot's history still make sense here.
//!
//! A finished build becomes one batch: `BuildStarted` carrying the whole build (its steps,
//! results and times, its logs still open), then each log's content and `LogFinished`, then
//! `BuildFinished`. A log chunk that cannot be decompressed is replaced by a header line
//! saying so, and the log is counted as damaged; the import goes on.

mod chunks;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::DateTime;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::domain::event::{Channel, StatusEvent};
use crate::domain::model::{Build, Builder, Change, LogKind, LogRef, Property, SourceStamp, Step, Timestamp};
use crate::domain::result::BuildResult;

pub use chunks::SUPPORTED as SUPPORTED_COMPRESSIONS;

/// Schema versions (`alembic_version.version_num`) whose layout this reader was checked
/// against, and the Buildbot release that writes them.
pub const KNOWN_SCHEMAS: [(&str, &str); 1] = [("067", "Buildbot 4.3")];

/// The tables read.
const TABLES: [&str; 14] = [
    "builders",
    "builders_tags",
    "tags",
    "workers",
    "changes",
    "change_files",
    "change_properties",
    "sourcestamps",
    "buildsets",
    "buildset_sourcestamps",
    "buildrequests",
    "builds",
    "build_properties",
    "steps",
];

#[derive(Debug)]
pub enum BuildbotError {
    /// The database could not be opened.
    Open(String),
    /// It is not a Buildbot database.
    NotBuildbot(String),
    /// A Buildbot database of a schema version this reader does not know.
    UnknownSchema(String),
    /// A query failed, or a row holds what Buildbot never writes.
    Read(String),
}

impl std::fmt::Display for BuildbotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open(e) => write!(f, "cannot open the database: {e}"),
            Self::NotBuildbot(e) => write!(f, "not a Buildbot database: {e}"),
            Self::UnknownSchema(v) => {
                let known: Vec<String> = KNOWN_SCHEMAS.iter().map(|(v, bb)| format!("{v} ({bb})")).collect();
                write!(f, "Buildbot schema version '{v}' is not one this importer knows (known: {})", known.join(", "))
            }
            Self::Read(e) => write!(f, "reading the Buildbot database: {e}"),
        }
    }
}

impl std::error::Error for BuildbotError {}

fn read(e: sqlx::Error) -> BuildbotError {
    BuildbotError::Read(e.to_string())
}

/// A build as listed, before its details are read.
#[derive(Clone, Debug)]
pub struct BuildRow {
    pub id: i64,
    pub builder: String,
    pub number: u32,
    pub finished: bool,
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

/// An open Buildbot database.
pub struct BuildbotDb {
    pool: SqlitePool,
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
        if location.starts_with("postgres://") || location.starts_with("postgresql://") || location.starts_with("mysql")
        {
            return Err(BuildbotError::Open(format!(
                "'{}': only SQLite databases can be imported by this build (PostgreSQL and MySQL are not supported yet)",
                location.split('@').next_back().unwrap_or("")
            )));
        }
        let path =
            location.strip_prefix("sqlite:///").or_else(|| location.strip_prefix("sqlite://")).unwrap_or(location);
        if !std::path::Path::new(path).is_file() {
            return Err(BuildbotError::Open(format!("'{path}' is not a file")));
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| BuildbotError::Open(e.to_string()))?
            .read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|e| BuildbotError::Open(e.to_string()))?;
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&pool)
            .await
            .map_err(|e| BuildbotError::NotBuildbot(format!("'{path}' is not an SQLite database ({e})")))?;
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
        Ok(Self { pool, schema })
    }

    /// The builders, with their description and tags.
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
        Ok(rows
            .into_iter()
            .map(|(id, name, description)| Builder {
                name,
                description,
                tags: tags.iter().filter(|(b, _)| *b == id).map(|(_, t)| t.clone()).collect(),
                workers: Vec::new(),
            })
            .collect())
    }

    /// How many rows `table` (one of the tables read) has.
    pub async fn count(&self, table: &'static str) -> Result<u64, BuildbotError> {
        let sql = match table {
            "workers" => "SELECT COUNT(*) FROM workers",
            "buildrequests_pending" => "SELECT COUNT(*) FROM buildrequests WHERE complete = 0",
            _ => "SELECT COUNT(*) FROM builds",
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await.map_err(read)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every change, oldest first, with its files and properties.
    pub async fn changes(&self) -> Result<Vec<Change>, BuildbotError> {
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
        for (id, author, comments, branch, revision, revlink, when, category, repository, codebase, project) in rows {
            let mut files = files_of.remove(&id).unwrap_or_default();
            files.sort();
            out.push(Change {
                number: u64::try_from(id).map_err(|_| BuildbotError::Read(format!("change id {id}")))?,
                who: author,
                files,
                comments,
                revision,
                when: time(when, "change")?,
                branch,
                category,
                revlink,
                properties: props_of.remove(&id).unwrap_or_default(),
                repository,
                project,
                codebase,
            });
        }
        Ok(out)
    }

    /// Every build, by builder and number.
    pub async fn builds(&self) -> Result<Vec<BuildRow>, BuildbotError> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT b.id, r.name, b.number, b.complete_at FROM builds b JOIN builders r ON r.id = b.builderid \
             ORDER BY r.name, b.number",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        rows.into_iter()
            .map(|(id, builder, number, complete)| {
                let number =
                    u32::try_from(number).map_err(|_| BuildbotError::Read(format!("build {id}: number {number}")))?;
                Ok(BuildRow { id, builder, number, finished: complete.is_some() })
            })
            .collect()
    }

    /// One finished build, whole, as the events that record it.
    pub async fn build(&self, row: &BuildRow) -> Result<ImportedBuild, BuildbotError> {
        type Head = (i64, Option<i64>, String, Option<i64>, Option<String>, Option<String>, i64);
        let (started, complete, state, results, worker, reason, buildrequest): Head = sqlx::query_as(
            "SELECT b.started_at, b.complete_at, b.state_string, b.results, w.name, s.reason, b.buildrequestid \
             FROM builds b LEFT JOIN workers w ON w.id = b.workerid \
             LEFT JOIN buildrequests q ON q.id = b.buildrequestid LEFT JOIN buildsets s ON s.id = q.buildsetid \
             WHERE b.id = ?",
        )
        .bind(row.id)
        .fetch_one(&self.pool)
        .await
        .map_err(read)?;
        let what = format!("build {} #{}", row.builder, row.number);
        let finished = time(complete.ok_or_else(|| BuildbotError::Read(format!("{what} has not finished")))?, &what)?;
        let properties: Vec<(String, String, String)> =
            sqlx::query_as("SELECT name, value, source FROM build_properties WHERE buildid = ?")
                .bind(row.id)
                .fetch_all(&self.pool)
                .await
                .map_err(read)?;
        let sourcestamps = self.sourcestamps(buildrequest).await?;
        let blamelist = self.blamelist(&sourcestamps).await?;
        type StepRow = (i64, i64, String, Option<i64>, Option<i64>, String, Option<i64>, String, i64);
        let step_rows: Vec<StepRow> = sqlx::query_as(
            "SELECT id, number, name, started_at, complete_at, state_string, results, urls_json, hidden \
             FROM steps WHERE buildid = ? ORDER BY number",
        )
        .bind(row.id)
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let mut steps = Vec::with_capacity(step_rows.len());
        let mut contents = Vec::new();
        let mut damaged_logs = Vec::new();
        for (step_id, number, name, s_started, s_complete, s_state, s_results, urls, hidden) in step_rows {
            let number = u32::try_from(number).map_err(|_| BuildbotError::Read(format!("{what}: step {number}")))?;
            let logs: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, name, type FROM logs WHERE stepid = ? ORDER BY id")
                    .bind(step_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(read)?;
            let mut refs = Vec::with_capacity(logs.len());
            for (log_id, log_name, kind) in logs {
                let (runs, damage) = self.log_text(log_id, kind == "s").await?;
                if let Some(why) = damage {
                    damaged_logs.push(format!("{what} step '{name}' log '{log_name}': {why}"));
                }
                let kind = if kind == "h" { LogKind::Html } else { LogKind::Text };
                refs.push(LogRef { id: 0, name: log_name.clone(), kind, size: 0, finished: false });
                contents.push((number, log_name, runs));
            }
            let urls: Vec<serde_json::Value> = serde_json::from_str(&urls).unwrap_or_default();
            let urls = urls
                .iter()
                .filter_map(|u| Some((u.get("name")?.as_str()?.to_owned(), u.get("url")?.as_str()?.to_owned())))
                .collect();
            let s_finished = s_complete.map(|t| time(t, &what)).transpose()?;
            steps.push(Step {
                number,
                name,
                text: vec![s_state],
                text2: Vec::new(),
                result: s_finished.map(|_| result(s_results)),
                started: s_started.map(|t| time(t, &what)).transpose()?,
                finished: s_finished,
                logs: refs,
                urls,
                hidden: hidden != 0,
                statistics: BTreeMap::new(),
            });
        }
        let build = Build {
            builder: row.builder.clone(),
            number: row.number,
            reason: reason.unwrap_or_default(),
            properties: properties.into_iter().map(|(n, v, s)| (n, property(&v, Some(s)))).collect(),
            sourcestamps,
            blamelist,
            worker: worker.unwrap_or_default(),
            started: time(started, &what)?,
            finished: None,
            result: None,
            text: Vec::new(),
            steps,
            eta: None,
        };
        let (builder, number) = (row.builder.clone(), row.number);
        let (step_count, log_count) = (build.steps.len(), contents.len());
        let mut events = vec![StatusEvent::BuildStarted { build, requests: Vec::new() }];
        for (step, log, runs) in contents {
            for (channel, text) in runs {
                let (builder, log) = (builder.clone(), log.clone());
                events.push(StatusEvent::LogChunk { builder, number, step, log, channel, text });
            }
            events.push(StatusEvent::LogFinished { builder: builder.clone(), number, step, log });
        }
        events.push(StatusEvent::BuildFinished {
            builder,
            number,
            result: result(results),
            text: vec![state],
            at: finished,
        });
        Ok(ImportedBuild { events, steps: step_count, logs: log_count, damaged_logs })
    }

    async fn sourcestamps(&self, buildrequest: i64) -> Result<Vec<SourceStamp>, BuildbotError> {
        type Row = (i64, String, String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT ss.id, ss.codebase, ss.repository, ss.project, ss.branch, ss.revision FROM buildrequests q \
             JOIN buildset_sourcestamps bs ON bs.buildsetid = q.buildsetid JOIN sourcestamps ss ON ss.id = bs.sourcestampid \
             WHERE q.id = ? ORDER BY ss.codebase",
        )
        .bind(buildrequest)
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, codebase, repository, project, branch, revision) in rows {
            let changes: Vec<i64> =
                sqlx::query_scalar("SELECT changeid FROM changes WHERE sourcestampid = ? ORDER BY changeid")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(read)?;
            let changes = changes.into_iter().filter_map(|c| u64::try_from(c).ok()).collect();
            out.push(SourceStamp { codebase, repository, project, branch, revision, changes, patch: None });
        }
        Ok(out)
    }

    /// The authors of the changes a build built, as 0.8's blamelist: distinct and sorted.
    async fn blamelist(&self, sourcestamps: &[SourceStamp]) -> Result<Vec<String>, BuildbotError> {
        let mut who = std::collections::BTreeSet::new();
        for change in sourcestamps.iter().flat_map(|s| &s.changes) {
            let author: Option<String> = sqlx::query_scalar("SELECT author FROM changes WHERE changeid = ?")
                .bind(i64::try_from(*change).unwrap_or(i64::MAX))
                .fetch_optional(&self.pool)
                .await
                .map_err(read)?;
            who.extend(author);
        }
        Ok(who.into_iter().collect())
    }

    /// A log's text in channel runs, and why part of it could not be read (if so).
    async fn log_text(
        &self,
        log_id: i64,
        stream: bool,
    ) -> Result<(Vec<(Channel, String)>, Option<String>), BuildbotError> {
        let chunks: Vec<(i64, i64, Option<Vec<u8>>, i64)> = sqlx::query_as(
            "SELECT first_line, last_line, content, compressed FROM logchunks WHERE logid = ? ORDER BY first_line",
        )
        .bind(log_id)
        .fetch_all(&self.pool)
        .await
        .map_err(read)?;
        let mut runs: Vec<(Channel, String)> = Vec::new();
        let mut damage = None;
        for (first, last, content, code) in chunks {
            let text = chunks::decompress(code, content.as_deref().unwrap_or_default())
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned()));
            let mut add = |channel: Channel, text: String| match runs.last_mut() {
                Some((c, run)) if *c == channel => run.push_str(&text),
                _ => runs.push((channel, text)),
            };
            match text {
                Ok(mut text) => {
                    // Buildbot drops the last newline of a chunk; lines are whole again here.
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                    for (channel, run) in chunks::channels(&text, stream) {
                        add(channel, run);
                    }
                }
                Err(why) => {
                    add(
                        Channel::Header,
                        format!("[buildstatus import: lines {first}-{last} of this log could not be read: {why}]\n"),
                    );
                    damage.get_or_insert(format!("lines {first}-{last}: {why}"));
                }
            }
        }
        Ok((runs, damage))
    }
}
