//! Reading finished builds whole, a run of one builder's builds at a time, in two queries
//! per run: one row per build, with its properties, source stamps (and their changes) and
//! steps (and their logs) aggregated as JSON by the database, and the log chunks. Rows cost
//! far more to carry out of the database than bytes, so the builds come as few rows as can be.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{BuildRow, BuildbotDb, BuildbotError, BuildsRead, ImportedBuild, chunks, read, result, time};
use crate::domain::event::{Channel, StatusEvent};
use crate::domain::model::{Build, LogKind, LogRef, Property, SourceStamp, Step};

/// The builds of one builder numbered in a range (`$1`, `$2`, `$3`), written for SQLite;
/// [`builds_sql`] turns it into PostgreSQL's spelling.
const BUILDS: &str = "SELECT b.id, b.buildrequestid, b.started_at, b.complete_at, b.state_string, b.results, \
    w.name, s.reason, \
    CAST((SELECT json_group_array(json_array(p.name, p.value, p.source)) FROM build_properties p \
        WHERE p.buildid = b.id) AS TEXT), \
    CAST((SELECT json_group_array(json_array(ss.id, ss.codebase, ss.repository, ss.project, ss.branch, ss.revision, \
        json((SELECT json_group_array(json_array(c.changeid, c.author)) FROM changes c \
            WHERE c.sourcestampid = ss.id)))) \
        FROM buildset_sourcestamps bs JOIN sourcestamps ss ON ss.id = bs.sourcestampid \
        WHERE bs.buildsetid = q.buildsetid) AS TEXT), \
    CAST((SELECT json_group_array(json_array(st.id, st.number, st.name, st.started_at, st.complete_at, \
        st.state_string, st.results, st.urls_json, st.hidden, \
        json((SELECT json_group_array(json_array(l.id, l.name, l.type)) FROM logs l WHERE l.stepid = st.id)))) \
        FROM steps st WHERE st.buildid = b.id) AS TEXT) \
    FROM builds b LEFT JOIN workers w ON w.id = b.workerid \
    LEFT JOIN buildrequests q ON q.id = b.buildrequestid LEFT JOIN buildsets s ON s.id = q.buildsetid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3";
const CHUNKS: &str = "SELECT c.logid, c.first_line, c.last_line, c.content, c.compressed FROM logchunks c \
    JOIN logs l ON l.id = c.logid JOIN steps s ON s.id = l.stepid JOIN builds b ON b.id = s.buildid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY c.logid, c.first_line";

/// The query reading builds, for PostgreSQL or SQLite: PostgreSQL has other names for the
/// same JSON functions, and nests a JSON value as it is.
pub(super) fn builds_sql(postgres: bool) -> String {
    if !postgres {
        return BUILDS.to_owned();
    }
    BUILDS.replace("json_group_array(", "json_agg(").replace("json_array(", "json_build_array(").replace("json((", "((")
}

type Head = (
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// The most log text one build may hold once decompressed: Buildbot's chunks are small and
/// compressed, so a build's stored bytes do not bound its text (a damaged or hostile
/// database could make a few megabytes of chunks into terabytes). Past it, the rest of the
/// build's chunks are marked unreadable.
pub const MAX_BUILD_TEXT: u64 = 1 << 30;

type ChunkRow = (i64, i64, i64, Option<Vec<u8>>, i64);
/// A log chunk: its first and last line, its content, its compression code.
type Chunk = (i64, i64, Option<Vec<u8>>, i64);

/// A JSON array aggregated by the database; PostgreSQL's is null when there are no rows.
#[derive(Deserialize)]
#[serde(transparent)]
struct Rows<T>(Option<Vec<T>>);

impl<T> Rows<T> {
    fn into_vec(self) -> Vec<T> {
        self.0.unwrap_or_default()
    }
}

type StampJson = (i64, String, String, String, Option<String>, Option<String>, Rows<(i64, String)>);
type StepJson =
    (i64, i64, String, Option<i64>, Option<i64>, String, Option<i64>, String, i64, Rows<(i64, String, String)>);

fn rows_of<T: for<'de> Deserialize<'de>>(json: Option<&str>, what: &str) -> Result<Vec<T>, String> {
    let Some(json) = json else { return Ok(Vec::new()) };
    serde_json::from_str::<Rows<T>>(json).map(Rows::into_vec).map_err(|e| format!("{what}: {e}"))
}

impl BuildbotDb {
    async fn rows<T>(&self, sql: &str, range: (i64, i64, i64)) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        // Our own constant text (in the database's spelling); the values are bound.
        sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(range.0)
            .bind(range.1)
            .bind(range.2)
            .fetch_all(&self.pool)
            .await
    }

    /// Finished builds of one builder (`rows`, in number order), each whole, as the events
    /// that record it: the first of them, up to the first that cannot be read (and why), or
    /// up to the one whose log text takes the text read past `text_budget` bytes (the rest
    /// are for another call). A query that fails is an error; a row holding what Buildbot
    /// never writes (a time out of range, a negative step number, a null property, a value
    /// of the wrong type in the build's row or a log chunk's) only makes its build unreadable.
    pub async fn read_builds(&self, rows: &[BuildRow], text_budget: u64) -> Result<BuildsRead, BuildbotError> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(BuildsRead::default()) };
        let range = (first.builder_id, i64::from(first.number), i64::from(last.number));
        let (heads, bad_head) = self.per_build::<Head>(&self.builds_sql, rows, range, "its row").await?;
        let (chunk_rows, bad_chunk) = self.per_build::<ChunkRow>(CHUNKS, rows, range, "a log chunk").await?;
        let mut heads: BTreeMap<i64, Head> = heads.into_iter().map(|h| (h.0, h)).collect();
        let mut chunks: BTreeMap<i64, Vec<Chunk>> = BTreeMap::new();
        for (log, first, last, content, code) in chunk_rows {
            chunks.entry(log).or_default().push((first, last, content, code));
        }
        // The first build a query could not read stops the run there.
        let bad = [bad_head, bad_chunk].into_iter().flatten().min_by_key(|(at, _)| *at);
        let readable = bad.as_ref().map_or(rows.len(), |(at, _)| *at);
        let mut out = BuildsRead::default();
        let mut text = 0;
        for row in &rows[..readable] {
            let what = format!("build {} #{}", row.builder, row.number);
            let head = heads.remove(&row.id).ok_or_else(|| "it vanished while it was read".to_owned());
            match head.and_then(|head| build(row, head, &chunks, &what)) {
                Ok((build, bytes)) => {
                    out.builds.push(build);
                    text += bytes;
                    if text >= text_budget {
                        return Ok(out);
                    }
                }
                Err(why) => {
                    out.unreadable = Some(why);
                    return Ok(out);
                }
            }
        }
        out.unreadable = bad.map(|(_, why)| why);
        Ok(out)
    }

    /// The rows `sql` gives for a run's builds. When the database cannot give a value of one
    /// of them the type it should have, each build is asked for alone: the rows of the builds
    /// before the bad one are returned, with its place in the run and the error (`what` says
    /// which row it is).
    async fn per_build<T>(
        &self,
        sql: &str,
        rows: &[BuildRow],
        range: (i64, i64, i64),
        what: &str,
    ) -> Result<(Vec<T>, Option<(usize, String)>), BuildbotError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let of_row = |e: &sqlx::Error| matches!(e, sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_));
        match self.rows::<T>(sql, range).await {
            Ok(all) => return Ok((all, None)),
            Err(e) if !of_row(&e) => return Err(read(e)),
            Err(_) => {}
        }
        let mut all = Vec::new();
        for (at, row) in rows.iter().enumerate() {
            let number = i64::from(row.number);
            match self.rows::<T>(sql, (row.builder_id, number, number)).await {
                Ok(some) => all.extend(some),
                Err(e) if of_row(&e) => return Ok((all, Some((at, format!("{what}: {e}"))))),
                Err(e) => return Err(read(e)),
            }
        }
        Ok((all, None))
    }
}

/// One build whole, as the events that record it, and the bytes of its log text; or why it
/// cannot be read. `what` names it in the damaged logs' list.
fn build(
    row: &BuildRow,
    head: Head,
    chunks: &BTreeMap<i64, Vec<Chunk>>,
    what: &str,
) -> Result<(ImportedBuild, u64), String> {
    let bad = |e: BuildbotError| match e {
        BuildbotError::Read(why) => why,
        other => other.to_string(),
    };
    let (_, request, started, complete, state, results, worker, reason, props, stamps, steps) = head;
    let finished = time(complete.ok_or("it has not finished")?, "end").map_err(bad)?;
    let mut blamelist = BTreeSet::new();
    let mut sourcestamps = Vec::new();
    let mut stamps: Vec<StampJson> = rows_of(stamps.as_deref(), "source stamps")?;
    stamps.sort_by(|a, b| a.1.cmp(&b.1));
    for (_, codebase, repository, project, branch, revision, changes) in stamps {
        let mut changes = changes.into_vec();
        changes.sort();
        blamelist.extend(changes.iter().map(|(_, author)| author.clone()));
        sourcestamps.push(SourceStamp {
            codebase,
            repository,
            project,
            branch,
            revision,
            changes: changes.iter().filter_map(|(c, _)| u64::try_from(*c).ok()).collect(),
            patch: None,
        });
    }
    let mut build_steps = Vec::new();
    let mut contents = Vec::new();
    let mut damaged_logs = Vec::new();
    // What is left of the build's log text allowance.
    let mut allowance = MAX_BUILD_TEXT;
    let mut steps: Vec<StepJson> = rows_of(steps.as_deref(), "steps")?;
    steps.sort_by_key(|s| s.1);
    for (_, number, name, s_started, s_complete, s_state, s_results, urls, hidden, logs) in steps {
        let number = u32::try_from(number).map_err(|_| format!("step number {number}"))?;
        let mut refs = Vec::new();
        let mut logs = logs.into_vec();
        logs.sort();
        for (log_id, log_name, kind) in logs {
            let chunks = chunks.get(&log_id).map(Vec::as_slice).unwrap_or_default();
            let (runs, damage) = log_text(chunks, kind == "s", &mut allowance);
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
        let s_finished = s_complete.map(|t| time(t, &format!("step {number} end"))).transpose().map_err(bad)?;
        build_steps.push(Step {
            number,
            name,
            text: vec![s_state],
            text2: Vec::new(),
            result: s_finished.map(|_| result(s_results)),
            started: s_started.map(|t| time(t, &format!("step {number} start"))).transpose().map_err(bad)?,
            finished: s_finished,
            logs: refs,
            urls,
            hidden: hidden != 0,
            statistics: BTreeMap::new(),
            eta: None,
        });
    }
    let props: BTreeMap<String, Property> = rows_of::<(String, String, String)>(props.as_deref(), "properties")?
        .into_iter()
        .map(|(n, v, s)| (n, super::property(&v, Some(s))))
        .collect();
    let build = Build {
        builder: row.builder.clone(),
        number: row.number,
        reason: reason.unwrap_or_default(),
        properties: props,
        sourcestamps,
        blamelist: blamelist.into_iter().collect(),
        worker: worker.unwrap_or_default(),
        started: time(started, "start").map_err(bad)?,
        finished: None,
        result: None,
        text: Vec::new(),
        steps: build_steps,
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    };
    let (builder, number) = (row.builder.clone(), row.number);
    let (step_count, log_count) = (build.steps.len(), contents.len());
    // The request the build claimed: recording the build takes it off the queue here, as a
    // build reported by `HttpStatusPush` does.
    let requests = request.and_then(|id| u64::try_from(id).ok()).into_iter().collect();
    let mut events = vec![StatusEvent::BuildStarted { build, requests }];
    for (step, log, runs) in contents {
        for (channel, text) in runs {
            let (builder, log) = (builder.clone(), log.clone());
            events.push(StatusEvent::LogChunk { builder, number, step, log, channel, text });
        }
        events.push(StatusEvent::LogFinished { builder: builder.clone(), number, step, log });
    }
    let result = result(results);
    // The properties are Buildbot's final ones, and the start carries them already.
    let properties = Default::default();
    events.push(StatusEvent::BuildFinished { builder, number, result, text: vec![state], at: finished, properties });
    let text = MAX_BUILD_TEXT - allowance;
    Ok((ImportedBuild { events, steps: step_count, logs: log_count, damaged_logs }, text))
}

/// A log's text in channel runs, and why part of it could not be read (if so).
/// `allowance` is what is left of the build's log text allowance: a chunk that would pass it
/// is not read (each chunk is at most [`chunks::MAX_CHUNK_TEXT`] once decompressed).
fn log_text(chunks: &[Chunk], stream: bool, allowance: &mut u64) -> (Vec<(Channel, String)>, Option<String>) {
    let mut runs: Vec<(Channel, String)> = Vec::new();
    let mut damage = None;
    for (first, last, content, code) in chunks {
        let text = chunks::decompress(*code, content.as_deref().unwrap_or_default())
            .and_then(|bytes| match allowance.checked_sub(bytes.len() as u64) {
                Some(left) => {
                    *allowance = left;
                    Ok(bytes)
                }
                None => Err(format!("the build's log text passes {} MiB", MAX_BUILD_TEXT >> 20)),
            })
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
    (runs, damage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_past_its_text_allowance_has_its_later_chunks_marked() {
        let chunks: Vec<Chunk> = vec![(0, 1, Some(b"one\ntwo".to_vec()), 0), (2, 3, Some(b"three\nfour".to_vec()), 0)];
        let mut allowance = 10;
        let (runs, damage) = log_text(&chunks, false, &mut allowance);
        let text: String = runs.iter().map(|(_, t)| t.as_str()).collect();
        assert!(text.starts_with("one\ntwo\n[buildstatus import: lines 2-3 of this log could not be read"), "{text}");
        assert_eq!(damage.as_deref(), Some("lines 2-3: the build's log text passes 1024 MiB"));
        assert_eq!(allowance, 3, "the first chunk's 7 bytes were taken");
        let mut plenty = MAX_BUILD_TEXT;
        let (_, damage) = log_text(&chunks, false, &mut plenty);
        assert_eq!(damage, None);
    }
}
