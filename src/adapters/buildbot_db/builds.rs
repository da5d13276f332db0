//! Reading finished builds whole, a run of one builder's builds at a time: each table is read
//! once for the run (by builder and number range), not once per build, so an import costs a
//! few queries per 50 builds.

use std::collections::{BTreeMap, BTreeSet};

use super::{BuildRow, BuildbotDb, BuildbotError, ImportedBuild, chunks, read, result, time};
use crate::domain::event::{Channel, StatusEvent};
use crate::domain::model::{Build, LogKind, LogRef, Property, SourceStamp, Step};

// Every query selects the rows of the builds of one builder numbered in a range (`$1`, `$2`, `$3`).
const HEADS: &str = "SELECT b.id, b.started_at, b.complete_at, b.state_string, b.results, w.name, s.reason \
    FROM builds b LEFT JOIN workers w ON w.id = b.workerid \
    LEFT JOIN buildrequests q ON q.id = b.buildrequestid LEFT JOIN buildsets s ON s.id = q.buildsetid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3";
const PROPERTIES: &str = "SELECT p.buildid, p.name, p.value, p.source FROM build_properties p \
    JOIN builds b ON b.id = p.buildid WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3";
const SOURCESTAMPS: &str = "SELECT b.id, ss.id, ss.codebase, ss.repository, ss.project, ss.branch, ss.revision \
    FROM builds b JOIN buildrequests q ON q.id = b.buildrequestid \
    JOIN buildset_sourcestamps bs ON bs.buildsetid = q.buildsetid JOIN sourcestamps ss ON ss.id = bs.sourcestampid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY b.id, ss.codebase";
const CHANGES: &str = "SELECT DISTINCT c.sourcestampid, c.changeid, c.author FROM builds b \
    JOIN buildrequests q ON q.id = b.buildrequestid JOIN buildset_sourcestamps bs ON bs.buildsetid = q.buildsetid \
    JOIN changes c ON c.sourcestampid = bs.sourcestampid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY c.changeid";
const STEPS: &str = "SELECT s.buildid, s.id, s.number, s.name, s.started_at, s.complete_at, s.state_string, \
    s.results, s.urls_json, s.hidden FROM steps s JOIN builds b ON b.id = s.buildid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY s.buildid, s.number";
const LOGS: &str = "SELECT l.stepid, l.id, l.name, l.type FROM logs l JOIN steps s ON s.id = l.stepid \
    JOIN builds b ON b.id = s.buildid WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY l.id";
const CHUNKS: &str = "SELECT c.logid, c.first_line, c.last_line, c.content, c.compressed FROM logchunks c \
    JOIN logs l ON l.id = c.logid JOIN steps s ON s.id = l.stepid JOIN builds b ON b.id = s.buildid \
    WHERE b.builderid = $1 AND b.number BETWEEN $2 AND $3 ORDER BY c.logid, c.first_line";

type Head = (i64, i64, Option<i64>, String, Option<i64>, Option<String>, Option<String>);
type StampRow = (i64, i64, String, String, String, Option<String>, Option<String>);
type StepRow = (i64, i64, i64, String, Option<i64>, Option<i64>, String, Option<i64>, String, i64);
type ChunkRow = (i64, i64, i64, Option<Vec<u8>>, i64);

fn group<K: Ord, V>(rows: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, Vec<V>> {
    let mut map: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

impl BuildbotDb {
    async fn rows<T>(&self, sql: &'static str, range: (i64, i64, i64)) -> Result<Vec<T>, BuildbotError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        sqlx::query_as(sql).bind(range.0).bind(range.1).bind(range.2).fetch_all(&self.pool).await.map_err(read)
    }

    /// Finished builds of one builder (`rows`, in number order), each whole, as the events
    /// that record it.
    pub async fn read_builds(&self, rows: &[BuildRow]) -> Result<Vec<ImportedBuild>, BuildbotError> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(Vec::new()) };
        let range = (first.builder_id, i64::from(first.number), i64::from(last.number));
        let heads: BTreeMap<i64, Head> = self.rows::<Head>(HEADS, range).await?.into_iter().map(|h| (h.0, h)).collect();
        let properties = group(
            self.rows::<(i64, String, String, String)>(PROPERTIES, range)
                .await?
                .into_iter()
                .map(|(b, n, v, s)| (b, (n, super::property(&v, Some(s))))),
        );
        let stamps = group(self.rows::<StampRow>(SOURCESTAMPS, range).await?.into_iter().map(|r| (r.0, r)));
        let changes =
            group(self.rows::<(i64, i64, String)>(CHANGES, range).await?.into_iter().map(|(ss, c, a)| (ss, (c, a))));
        let steps = group(self.rows::<StepRow>(STEPS, range).await?.into_iter().map(|r| (r.0, r)));
        let logs = group(
            self.rows::<(i64, i64, String, String)>(LOGS, range).await?.into_iter().map(|(s, l, n, t)| (s, (l, n, t))),
        );
        let chunks =
            group(self.rows::<ChunkRow>(CHUNKS, range).await?.into_iter().map(|(l, f, t, c, z)| (l, (f, t, c, z))));

        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let what = format!("build {} #{}", row.builder, row.number);
            let Some((_, started, complete, state, results, worker, reason)) = heads.get(&row.id).cloned() else {
                return Err(BuildbotError::Read(format!("{what} vanished while it was read")));
            };
            let finished =
                time(complete.ok_or_else(|| BuildbotError::Read(format!("{what} has not finished")))?, &what)?;
            let mut blamelist = BTreeSet::new();
            let mut sourcestamps = Vec::new();
            for (_, ss, codebase, repository, project, branch, revision) in stamps.get(&row.id).into_iter().flatten() {
                let of_stamp = changes.get(ss).map(Vec::as_slice).unwrap_or_default();
                blamelist.extend(of_stamp.iter().map(|(_, author)| author.clone()));
                sourcestamps.push(SourceStamp {
                    codebase: codebase.clone(),
                    repository: repository.clone(),
                    project: project.clone(),
                    branch: branch.clone(),
                    revision: revision.clone(),
                    changes: of_stamp.iter().filter_map(|(c, _)| u64::try_from(*c).ok()).collect(),
                    patch: None,
                });
            }
            let mut build_steps = Vec::new();
            let mut contents = Vec::new();
            let mut damaged_logs = Vec::new();
            for (_, step_id, number, name, s_started, s_complete, s_state, s_results, urls, hidden) in
                steps.get(&row.id).into_iter().flatten()
            {
                let number =
                    u32::try_from(*number).map_err(|_| BuildbotError::Read(format!("{what}: step {number}")))?;
                let mut refs = Vec::new();
                for (log_id, log_name, kind) in logs.get(step_id).into_iter().flatten() {
                    let (runs, damage) =
                        log_text(chunks.get(log_id).map(Vec::as_slice).unwrap_or_default(), kind == "s");
                    if let Some(why) = damage {
                        damaged_logs.push(format!("{what} step '{name}' log '{log_name}': {why}"));
                    }
                    let kind = if kind == "h" { LogKind::Html } else { LogKind::Text };
                    refs.push(LogRef { id: 0, name: log_name.clone(), kind, size: 0, finished: false });
                    contents.push((number, log_name.clone(), runs));
                }
                let urls: Vec<serde_json::Value> = serde_json::from_str(urls).unwrap_or_default();
                let urls = urls
                    .iter()
                    .filter_map(|u| Some((u.get("name")?.as_str()?.to_owned(), u.get("url")?.as_str()?.to_owned())))
                    .collect();
                let s_finished = s_complete.map(|t| time(t, &what)).transpose()?;
                build_steps.push(Step {
                    number,
                    name: name.clone(),
                    text: vec![s_state.clone()],
                    text2: Vec::new(),
                    result: s_finished.map(|_| result(*s_results)),
                    started: s_started.map(|t| time(t, &what)).transpose()?,
                    finished: s_finished,
                    logs: refs,
                    urls,
                    hidden: *hidden != 0,
                    statistics: BTreeMap::new(),
                });
            }
            let props: BTreeMap<String, Property> =
                properties.get(&row.id).cloned().unwrap_or_default().into_iter().collect();
            let build = Build {
                builder: row.builder.clone(),
                number: row.number,
                reason: reason.unwrap_or_default(),
                properties: props,
                sourcestamps,
                blamelist: blamelist.into_iter().collect(),
                worker: worker.unwrap_or_default(),
                started: time(started, &what)?,
                finished: None,
                result: None,
                text: Vec::new(),
                steps: build_steps,
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
            let result = result(results);
            events.push(StatusEvent::BuildFinished { builder, number, result, text: vec![state], at: finished });
            out.push(ImportedBuild { events, steps: step_count, logs: log_count, damaged_logs });
        }
        Ok(out)
    }
}

/// A log's text in channel runs, and why part of it could not be read (if so).
fn log_text(chunks: &[(i64, i64, Option<Vec<u8>>, i64)], stream: bool) -> (Vec<(Channel, String)>, Option<String>) {
    let mut runs: Vec<(Channel, String)> = Vec::new();
    let mut damage = None;
    for (first, last, content, code) in chunks {
        let text = chunks::decompress(*code, content.as_deref().unwrap_or_default())
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
