//! What Buildbot has not built yet: the build requests that wait for a worker (neither
//! complete nor claimed by a build), with their buildsets, so that builder pages show the
//! same queue here. Requests keep Buildbot's ids: a build that later claims one (reported by
//! `HttpStatusPush` with its `buildrequestid`) takes it off the queue here too.

use std::collections::BTreeMap;

use super::{BuildbotDb, BuildbotError, property, read, time};
use crate::domain::model::{BuildRequest, Buildset, Properties, SourceStamp};

/// Every request not complete, and whether a build claimed it (a count: 0 or 1).
const REQUESTS: &str = "SELECT q.id, q.buildsetid, r.name, q.submitted_at, \
    (SELECT COUNT(*) FROM buildrequest_claims c WHERE c.brid = q.id) FROM buildrequests q \
    JOIN builders r ON r.id = q.builderid WHERE q.complete = 0 ORDER BY q.id";
const BUILDSETS: &str = "SELECT s.id, s.reason, s.external_idstring, s.submitted_at FROM buildsets s \
    WHERE s.complete = 0 ORDER BY s.id";
const STAMPS: &str = "SELECT bs.buildsetid, ss.id, ss.codebase, ss.repository, ss.project, ss.branch, ss.revision \
    FROM buildset_sourcestamps bs JOIN sourcestamps ss ON ss.id = bs.sourcestampid JOIN buildsets s ON s.id = bs.buildsetid \
    WHERE s.complete = 0 ORDER BY bs.buildsetid, ss.codebase";
const CHANGES: &str = "SELECT DISTINCT c.sourcestampid, c.changeid FROM changes c JOIN buildset_sourcestamps bs \
    ON bs.sourcestampid = c.sourcestampid JOIN buildsets s ON s.id = bs.buildsetid WHERE s.complete = 0 ORDER BY c.changeid";
const PROPERTIES: &str = "SELECT p.buildsetid, p.property_name, p.property_value FROM buildset_properties p \
    JOIN buildsets s ON s.id = p.buildsetid WHERE s.complete = 0";

type StampRow = (i64, i64, String, String, String, Option<String>, Option<String>);

/// The queue as Buildbot holds it.
#[derive(Debug, Default)]
pub struct Pending {
    /// The buildsets not complete.
    pub buildsets: Vec<Buildset>,
    /// The requests waiting for a worker, oldest first.
    pub requests: Vec<BuildRequest>,
    /// Requests claimed by a build still running (that build is not imported).
    pub claimed: u64,
    /// Requests and buildsets whose row holds what Buildbot never writes (an id or time out
    /// of range), and why.
    pub unreadable: Vec<String>,
}

fn id(n: i64, what: &str) -> Result<u64, BuildbotError> {
    u64::try_from(n).map_err(|_| BuildbotError::Read(format!("{what} id {n}")))
}

impl BuildbotDb {
    /// Of the requests `ids` (queued here by an earlier import), those Buildbot no longer
    /// has waiting: complete (built or cancelled) or claimed by a build. Each with its
    /// builder's name.
    pub async fn requests_gone(&self, ids: &[u64]) -> Result<Vec<(u64, String)>, BuildbotError> {
        let mut gone = Vec::new();
        for part in ids.chunks(500) {
            let marks: Vec<String> = (1..=part.len()).map(|i| format!("${i}")).collect();
            // Our own text: only numbered placeholders are added; the ids are bound.
            let sql = format!(
                "SELECT q.id, r.name FROM buildrequests q JOIN builders r ON r.id = q.builderid \
                 WHERE q.id IN ({}) AND (q.complete <> 0 OR EXISTS (SELECT 1 FROM buildrequest_claims c \
                 WHERE c.brid = q.id)) ORDER BY q.id",
                marks.join(", ")
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
            for id in part {
                query = query.bind(i64::try_from(*id).unwrap_or(i64::MAX));
            }
            for (request, builder) in query.fetch_all(&self.pool).await.map_err(read)? {
                gone.push((id(request, "build request")?, builder));
            }
        }
        Ok(gone)
    }

    pub async fn pending(&self) -> Result<Pending, BuildbotError> {
        let sets: Vec<(i64, Option<String>, Option<String>, i64)> =
            sqlx::query_as(BUILDSETS).fetch_all(&self.pool).await.map_err(read)?;
        let stamps: Vec<StampRow> = sqlx::query_as(STAMPS).fetch_all(&self.pool).await.map_err(read)?;
        let changes: Vec<(i64, i64)> = sqlx::query_as(CHANGES).fetch_all(&self.pool).await.map_err(read)?;
        let props: Vec<(i64, String, String)> = sqlx::query_as(PROPERTIES).fetch_all(&self.pool).await.map_err(read)?;
        let rows: Vec<(i64, i64, String, i64, i64)> =
            sqlx::query_as(REQUESTS).fetch_all(&self.pool).await.map_err(read)?;

        let mut changes_of: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
        for (stamp, change) in changes {
            changes_of.entry(stamp).or_default().extend(u64::try_from(change).ok());
        }
        let mut stamps_of: BTreeMap<i64, Vec<SourceStamp>> = BTreeMap::new();
        for (set, stamp, codebase, repository, project, branch, revision) in stamps {
            stamps_of.entry(set).or_default().push(SourceStamp {
                codebase,
                repository,
                project,
                branch,
                revision,
                changes: changes_of.get(&stamp).cloned().unwrap_or_default(),
                patch: None,
            });
        }
        let mut props_of: BTreeMap<i64, Properties> = BTreeMap::new();
        for (set, name, value) in props {
            props_of.entry(set).or_default().insert(name, property(&value, None));
        }
        let mut builders_of: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut requests = Vec::with_capacity(rows.len());
        let mut claimed = 0;
        let mut unreadable = Vec::new();
        let reasons: BTreeMap<i64, String> =
            sets.iter().map(|(set, reason, _, _)| (*set, reason.clone().unwrap_or_default())).collect();
        for (request, set, builder, submitted, claims) in rows {
            let builders = builders_of.entry(set).or_default();
            if !builders.contains(&builder) {
                builders.push(builder.clone());
            }
            if claims > 0 {
                claimed += 1;
                continue;
            }
            let (Ok(id), Ok(set_id), Ok(submitted_at)) =
                (u64::try_from(request), u64::try_from(set), time(submitted, "time"))
            else {
                unreadable.push(format!(
                    "build request {request}: cannot be read (an id or its time {submitted} is out of range)"
                ));
                continue;
            };
            requests.push(BuildRequest {
                id,
                buildset_id: Some(set_id),
                builder,
                submitted_at,
                reason: reasons.get(&set).cloned().unwrap_or_default(),
                properties: props_of.get(&set).cloned().unwrap_or_default(),
                sourcestamps: stamps_of.get(&set).cloned().unwrap_or_default(),
            });
        }
        let mut buildsets = Vec::with_capacity(sets.len());
        for (set, reason, external_id, submitted) in sets {
            let (Ok(id), Ok(submitted_at)) = (u64::try_from(set), time(submitted, "time")) else {
                let why = format!("its id or time {submitted} is out of range; its requests are queued without it");
                unreadable.push(format!("buildset {set}: cannot be read ({why})"));
                continue;
            };
            buildsets.push(Buildset {
                id,
                reason: reason.unwrap_or_default(),
                external_id,
                submitted_at,
                sourcestamps: stamps_of.remove(&set).unwrap_or_default(),
                builders: builders_of.remove(&set).unwrap_or_default(),
                complete_at: None,
                result: None,
            });
        }
        Ok(Pending { buildsets, requests, claimed, unreadable })
    }
}
