//! The SQL of the PostgreSQL store that depends on its input: the filtered listings and the
//! writes of a commit. The same listings as SQLite's (`adapters::sqlite::queries`), in
//! PostgreSQL's dialect: a union's parts are parenthesised and its subqueries named.

use std::collections::BTreeSet;

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{db, json, limit, stored_id, write_id};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Change};
use crate::domain::state::Mutation;
use crate::domain::web::args::BranchFilter;
use crate::ports::{BuildOrder, BuildQuery, ChangeQuery, StoreError};

/// Rows per multi-row `INSERT`: at most 9 bound values a row, well below PostgreSQL's limit
/// of 65,535 bound values a statement.
const ROWS_PER_INSERT: usize = 1000;

/// How many builders (or branches) a listing queries one by one; more are filtered in one scan.
const LISTINGS_QUERIED_APART: usize = crate::ports::SCANNED_BUILDERS;

/// `AND (branch IN (…) OR branch IS NULL)`, the latter when `trunk` is asked for: the
/// semantics of [`BranchFilter::matches`].
fn push_branches(sql: &mut QueryBuilder<Postgres>, branches: &BranchFilter) {
    if branches.is_all() {
        return;
    }
    sql.push(" AND (branch IN (");
    let mut list = sql.separated(", ");
    for b in &branches.0 {
        list.push_bind(b.clone());
    }
    sql.push(")");
    if branches.0.iter().any(|b| b == "trunk") {
        sql.push(" OR branch IS NULL");
    }
    sql.push(")");
}

/// The listing of `q`, after `prefix` (empty, or an `EXPLAIN`): the filters of [`BuildQuery::matches`] and the order of
/// [`BuildOrder::sort`]. Rows are `(key, data)`. A listing of several builders is the union
/// of each builder's own listing, each cut at the limit, sorted and limited again.
pub fn builds(prefix: &str, q: &BuildQuery) -> QueryBuilder<Postgres> {
    let order = match q.order {
        BuildOrder::NumberDesc if q.builders.len() == 1 => " ORDER BY number DESC",
        BuildOrder::NumberDesc => " ORDER BY started DESC, builder DESC, number DESC",
        BuildOrder::FinishedDesc => " ORDER BY finished DESC, builder DESC, number DESC",
    };
    let builders: BTreeSet<&String> = q.builders.iter().collect();
    let mut sql = QueryBuilder::new(prefix);
    let apart = q.finished != Some(false) && builders.len() > 1 && builders.len() <= LISTINGS_QUERIED_APART;
    if apart {
        sql.push("SELECT key, data FROM (");
        for (i, builder) in builders.into_iter().enumerate() {
            sql.push(if i == 0 { "(" } else { " UNION ALL (" });
            push_build_filters(&mut sql, q, std::slice::from_ref(builder));
            sql.push(order).push(" LIMIT ").push_bind(limit(q.limit)).push(")");
        }
        sql.push(") AS listed");
    } else {
        sql.push("SELECT key, data FROM (");
        push_build_filters(&mut sql, q, &q.builders);
        sql.push(") AS listed");
    }
    sql.push(order).push(" LIMIT ").push_bind(limit(q.limit));
    sql
}

/// `SELECT key, data, <order columns> FROM builds WHERE …` for `builders` (empty: all).
fn push_build_filters<S: AsRef<str>>(sql: &mut QueryBuilder<Postgres>, q: &BuildQuery, builders: &[S]) {
    sql.push("SELECT builder || ' #' || number AS key, data, builder, number, started, finished FROM ");
    match (q.scan, builders) {
        // The builder's newest `scan` builds, walking its primary key: the filters below
        // look at no more rows than that.
        (Some(scan), [builder]) => {
            sql.push("(SELECT * FROM builds WHERE builder = ").push_bind(builder.as_ref().to_owned());
            if let Some(n) = q.before_number {
                sql.push(" AND number < ").push_bind(i64::from(n));
            }
            sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(scan)).push(") AS scanned");
        }
        _ => _ = sql.push("builds"),
    }
    sql.push(" WHERE TRUE");
    if !builders.is_empty() {
        sql.push(" AND builder IN (");
        let mut list = sql.separated(", ");
        for b in builders {
            list.push_bind(b.as_ref().to_owned());
        }
        sql.push(")");
    }
    push_branches(sql, &q.branches);
    if let Some(r) = &q.revision {
        sql.push(" AND revision = ").push_bind(r.clone());
    }
    if let Some(w) = &q.worker {
        sql.push(" AND worker = ").push_bind(w.clone());
    }
    match (q.finished, q.order) {
        // Running builds have no finish time to be listed by.
        (Some(false), BuildOrder::FinishedDesc) => _ = sql.push(" AND FALSE"),
        (Some(false), BuildOrder::NumberDesc) => _ = sql.push(" AND finished IS NULL"),
        (_, BuildOrder::FinishedDesc) | (Some(true), BuildOrder::NumberDesc) => {
            _ = sql.push(" AND finished IS NOT NULL")
        }
        (None, BuildOrder::NumberDesc) => {}
    }
    if let Some(t) = q.started_after {
        sql.push(" AND started >= ").push_bind(t.timestamp_millis());
    }
    if let Some(t) = q.started_before {
        sql.push(" AND started < ").push_bind(t.timestamp_millis());
    }
    if let Some(n) = q.before_number {
        sql.push(" AND number < ").push_bind(i64::from(n));
    }
}

/// The listing of `q`, newest first, after `prefix`. Rows are `(key, data)`. With a branch filter it is the
/// union of each branch's own listing (`trunk` also lists the changes on no branch).
pub fn changes(prefix: &str, q: &ChangeQuery) -> QueryBuilder<Postgres> {
    let mut sql = QueryBuilder::new(prefix);
    sql.push("SELECT key, data FROM (");
    let branches: BTreeSet<&str> = q.branches.0.iter().map(String::as_str).collect();
    if branches.is_empty() || branches.len() > LISTINGS_QUERIED_APART {
        push_change_filters(&mut sql, q);
        push_branches(&mut sql, &q.branches);
    } else {
        let trunk = branches.contains("trunk").then_some(None);
        for (i, branch) in branches.iter().map(|b| Some(*b)).chain(trunk).enumerate() {
            sql.push(if i == 0 { "(" } else { " UNION ALL (" });
            push_change_filters(&mut sql, q);
            match branch {
                Some(b) => sql.push(" AND branch = ").push_bind(b.to_owned()),
                None => sql.push(" AND branch IS NULL"),
            };
            sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(q.limit)).push(")");
        }
    }
    sql.push(") AS listed ORDER BY number DESC LIMIT ").push_bind(limit(q.limit));
    sql
}

/// `SELECT key, data, number FROM changes WHERE …`, without the branch filter.
fn push_change_filters(sql: &mut QueryBuilder<Postgres>, q: &ChangeQuery) {
    sql.push("SELECT CAST(number AS TEXT) AS key, data, number FROM changes WHERE TRUE");
    // A bound beyond what BIGINT holds is above every stored number: no condition.
    if let Some(before) = q.before.and_then(stored_id) {
        sql.push(" AND number < ").push_bind(before);
    }
}

/// Writes one mutation (inside the commit's transaction).
pub async fn apply(conn: &mut PgConnection, m: &Mutation) -> Result<(), StoreError> {
    let query = match m {
        Mutation::PutBuilder(b) => sqlx::query(
            "INSERT INTO builders (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = excluded.data",
        )
        .bind(b.name.clone())
        .bind(json(b)?),
        Mutation::RemoveBuilder(name) => sqlx::query("DELETE FROM builders WHERE name = $1").bind(name.clone()),
        Mutation::PutWorker(w) => sqlx::query(
            "INSERT INTO workers (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = excluded.data",
        )
        .bind(w.name.clone())
        .bind(json(w)?),
        Mutation::PutChange(c) => return put_changes(conn, &[c]).await,
        Mutation::PutBuild(b) => return put_builds(conn, &[b]).await,
        Mutation::PutRequest(r) => sqlx::query(
            "INSERT INTO requests (id, builder, submitted, data) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
             SET builder = excluded.builder, submitted = excluded.submitted, data = excluded.data",
        )
        .bind(write_id(r.id)?)
        .bind(r.builder.clone())
        .bind(r.submitted_at.timestamp_millis())
        .bind(json(r)?),
        Mutation::RemoveRequest(rid) => match stored_id(*rid) {
            Some(rid) => sqlx::query("DELETE FROM requests WHERE id = $1").bind(rid),
            None => return Ok(()), // no stored request has such an id
        },
        Mutation::PutBuildset(s) => sqlx::query(
            "INSERT INTO buildsets (id, complete, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET complete = excluded.complete, data = excluded.data",
        )
        .bind(write_id(s.id)?)
        .bind(s.complete_at.is_some())
        .bind(json(s)?),
        Mutation::PutUser(u) => sqlx::query(
            "INSERT INTO users (uid, data) VALUES ($1, $2) ON CONFLICT (uid) DO UPDATE SET data = excluded.data",
        )
        .bind(write_id(u.uid)?)
        .bind(json(u)?),
    };
    query.execute(conn).await.map_err(db)?;
    Ok(())
}

/// The last record of each key in `run`, in the order of those last ones: one statement's
/// `ON CONFLICT DO UPDATE` may touch a row once only (SQLite's applies its rows in turn).
fn last_of_each<'a, T, K: Ord>(run: &[&'a T], key: impl Fn(&T) -> K) -> Vec<&'a T> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<&T> = run.iter().rev().filter(|r| seen.insert(key(r))).copied().collect();
    out.reverse();
    out
}

/// Writes a run of changes in as few statements as the insert size allows.
pub async fn put_changes(conn: &mut PgConnection, changes: &[&Change]) -> Result<(), StoreError> {
    let changes = last_of_each(changes, |c| c.number);
    for rows in changes.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(rows.len());
        for c in rows {
            values.push((
                write_id(c.number)?,
                c.when.timestamp_millis(),
                c.branch.clone(),
                c.revision.clone(),
                json(c)?,
            ));
        }
        let mut insert =
            QueryBuilder::<Postgres>::new("INSERT INTO changes (number, when_ms, branch, revision, data) ");
        insert.push_values(values, |mut row, (number, when, branch, revision, data)| {
            row.push_bind(number).push_bind(when).push_bind(branch).push_bind(revision).push_bind(data);
        });
        insert.push(
            " ON CONFLICT (number) DO UPDATE SET when_ms = excluded.when_ms, branch = excluded.branch, \
             revision = excluded.revision, data = excluded.data",
        );
        insert.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Writes a run of builds in as few statements as the insert size allows (a run names a build
/// once, `state::compact`).
pub async fn put_builds(conn: &mut PgConnection, builds: &[&Build]) -> Result<(), StoreError> {
    let builds = last_of_each(builds, |b| (b.builder.clone(), b.number));
    for rows in builds.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(rows.len());
        for b in rows {
            let finished = b.finished.map(|t| t.timestamp_millis());
            let result = b.result.map(|r| i64::from(r.code()));
            values.push((b, b.started.timestamp_millis(), finished, result, json(b)?));
        }
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO builds (builder, number, started, finished, result, branch, revision, worker, data) ",
        );
        insert.push_values(values, |mut row, (b, started, finished, result, data)| {
            row.push_bind(b.builder.clone())
                .push_bind(i64::from(b.number))
                .push_bind(started)
                .push_bind(finished)
                .push_bind(result)
                .push_bind(b.branch().map(str::to_owned))
                .push_bind(b.revision())
                .push_bind(b.worker.clone())
                .push_bind(data);
        });
        insert.push(
            " ON CONFLICT (builder, number) DO UPDATE SET \
             started = excluded.started, finished = excluded.finished, result = excluded.result, \
             branch = excluded.branch, revision = excluded.revision, worker = excluded.worker, data = excluded.data",
        );
        insert.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Appends the events to the journal, log chunks excepted. A sequence number that is
/// journaled already fails the insert (and so the commit).
pub async fn journal(conn: &mut PgConnection, events: &[SequencedEvent]) -> Result<(), StoreError> {
    let journaled: Vec<&SequencedEvent> =
        events.iter().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. })).collect();
    for rows in journaled.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(rows.len());
        for e in rows {
            values.push((write_id(e.seq)?, e.event.kind(), json(e)?));
        }
        let mut insert = QueryBuilder::<Postgres>::new("INSERT INTO events (seq, kind, data) ");
        insert.push_values(values, |mut row, (seq, kind, data)| {
            row.push_bind(seq).push_bind(kind).push_bind(data);
        });
        insert.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}
