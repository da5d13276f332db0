//! The SQL of the store that depends on its input: the filtered listings and the writes of a
//! commit. Kept apart from `mod.rs` so that the fixed queries and the connection handling read
//! on their own.

use std::collections::BTreeSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{db, json, stored_id, write_id};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Change};
use crate::domain::state::Mutation;
use crate::domain::web::args::BranchFilter;
use crate::ports::{BuildOrder, BuildQuery, ChangeQuery, StoreError};

/// Events per `INSERT` (SQLite allows 32,766 bound values in one statement).
const EVENTS_PER_INSERT: usize = 500;

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `AND (branch IN (…) OR branch IS NULL)`, the latter when `trunk` is asked for: the
/// semantics of [`BranchFilter::matches`].
fn push_branches(sql: &mut QueryBuilder<Sqlite>, branches: &BranchFilter) {
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

/// How many builders (or branches) a listing queries one by one; more are filtered in one
/// scan (SQLite allows 500 terms in a compound query). A builder's own listing is where a
/// `BuildQuery::scan` applies, hence the port's bound.
const LISTINGS_QUERIED_APART: usize = crate::ports::SCANNED_BUILDERS;

/// The listing of `q`, after `prefix` (empty, or `EXPLAIN QUERY PLAN `): the filters of
/// [`BuildQuery::matches`] and the order of [`BuildOrder::sort`]. Rows are `(key, data)`.
///
/// A listing of several builders is the union of each builder's own listing (each walks an
/// index in order and stops at the limit), sorted and limited again: it reads at most
/// `limit` builds per builder, however long their histories. Running builds are few and
/// indexed by builder, so a listing of them is one query, sorted.
pub fn builds(prefix: &str, q: &BuildQuery) -> QueryBuilder<Sqlite> {
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
            sql.push(if i == 0 { "SELECT * FROM (" } else { " UNION ALL SELECT * FROM (" });
            push_build_filters(&mut sql, q, std::slice::from_ref(builder));
            sql.push(order).push(" LIMIT ").push_bind(limit(q.limit)).push(")");
        }
        sql.push(")");
    } else {
        push_build_filters(&mut sql, q, &q.builders);
    }
    sql.push(order).push(" LIMIT ").push_bind(limit(q.limit));
    sql
}

/// `SELECT key, data, <order columns> FROM builds WHERE …` for `builders` (empty: all).
fn push_build_filters<S: AsRef<str>>(sql: &mut QueryBuilder<Sqlite>, q: &BuildQuery, builders: &[S]) {
    sql.push("SELECT builder || ' #' || number AS key, data, builder, number, started, finished FROM ");
    match (q.scan, builders) {
        // The builder's newest `scan` builds, walking its primary key: the filters below
        // look at no more rows than that.
        (Some(scan), [builder]) => {
            sql.push("(SELECT * FROM builds WHERE builder = ").push_bind(builder.as_ref().to_owned());
            if let Some(n) = q.before_number {
                sql.push(" AND number < ").push_bind(i64::from(n));
            }
            sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(scan)).push(")");
        }
        _ => _ = sql.push("builds"),
    }
    sql.push(" WHERE 1 = 1");
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
        (Some(false), BuildOrder::FinishedDesc) => _ = sql.push(" AND 0"),
        (Some(false), BuildOrder::NumberDesc) => _ = sql.push(" AND finished IS NULL"),
        (_, BuildOrder::FinishedDesc) => _ = sql.push(" AND finished IS NOT NULL"),
        // Most builds are finished: this term must not steer the plan away from the listing's
        // order (`+` keeps SQLite from using an index for it, whatever its statistics say).
        (Some(true), BuildOrder::NumberDesc) => _ = sql.push(" AND +finished IS NOT NULL"),
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

/// The listing of `q`, newest first, after `prefix`. Rows are `(key, data)`.
///
/// With a branch filter it is the union of each branch's own listing (`trunk` also lists the
/// changes on no branch), each walking the `(branch, number)` index and cut at the limit.
pub fn changes(prefix: &str, q: &ChangeQuery) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::new(prefix);
    let branches: BTreeSet<&str> = q.branches.0.iter().map(String::as_str).collect();
    if branches.is_empty() || branches.len() > LISTINGS_QUERIED_APART {
        push_change_filters(&mut sql, q);
        push_branches(&mut sql, &q.branches);
    } else {
        sql.push("SELECT key, data FROM (");
        let trunk = branches.contains("trunk").then_some(None);
        for (i, branch) in branches.iter().map(|b| Some(*b)).chain(trunk).enumerate() {
            sql.push(if i == 0 { "SELECT * FROM (" } else { " UNION ALL SELECT * FROM (" });
            push_change_filters(&mut sql, q);
            match branch {
                Some(b) => sql.push(" AND branch = ").push_bind(b.to_owned()),
                None => sql.push(" AND branch IS NULL"),
            };
            sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(q.limit)).push(")");
        }
        sql.push(")");
    }
    sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(q.limit));
    sql
}

/// `SELECT key, data, number FROM changes WHERE …`, without the branch filter.
fn push_change_filters(sql: &mut QueryBuilder<Sqlite>, q: &ChangeQuery) {
    sql.push("SELECT CAST(number AS TEXT) AS key, data, number FROM changes WHERE 1 = 1");
    // A bound beyond what SQLite holds is above every stored number: no condition.
    if let Some(before) = q.before.and_then(stored_id) {
        sql.push(" AND number < ").push_bind(before);
    }
}

/// The indexed time and result columns of a build, in epoch milliseconds.
fn build_columns(b: &Build) -> (i64, Option<i64>, Option<i64>) {
    (b.started.timestamp_millis(), b.finished.map(|t| t.timestamp_millis()), b.result.map(|r| i64::from(r.code())))
}

/// Writes one mutation (inside the commit's transaction).
pub async fn apply(conn: &mut SqliteConnection, m: &Mutation) -> Result<(), StoreError> {
    let query = match m {
        Mutation::PutBuilder(b) => sqlx::query(
            "INSERT INTO builders (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data",
        )
        .bind(b.name.clone())
        .bind(json(b)?),
        Mutation::RemoveBuilder(name) => sqlx::query("DELETE FROM builders WHERE name = ?").bind(name.clone()),
        Mutation::PutWorker(w) => sqlx::query(
            "INSERT INTO workers (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data",
        )
        .bind(w.name.clone())
        .bind(json(w)?),
        // One statement for changes, whether one or many.
        Mutation::PutChange(c) => return put_changes(conn, &[c]).await,
        Mutation::PutBuild(b) => return put_builds(conn, &[b]).await,
        Mutation::PutRequest(r) => sqlx::query(
            "INSERT INTO requests (id, builder, submitted, data) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE \
             SET builder = excluded.builder, submitted = excluded.submitted, data = excluded.data",
        )
        .bind(write_id(r.id)?)
        .bind(r.builder.clone())
        .bind(r.submitted_at.timestamp_millis())
        .bind(json(r)?),
        Mutation::RemoveRequest(rid) => match stored_id(*rid) {
            Some(rid) => sqlx::query("DELETE FROM requests WHERE id = ?").bind(rid),
            None => return Ok(()), // no stored request has such an id
        },
        Mutation::PutBuildset(s) => sqlx::query(
            "INSERT INTO buildsets (id, complete, data) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET complete = excluded.complete, data = excluded.data",
        )
        .bind(write_id(s.id)?)
        .bind(i64::from(s.complete_at.is_some()))
        .bind(json(s)?),
        Mutation::PutUser(u) => sqlx::query(
            "INSERT INTO users (uid, data) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE SET data = excluded.data",
        )
        .bind(write_id(u.uid)?)
        .bind(json(u)?),
    };
    query.execute(conn).await.map_err(db)?;
    Ok(())
}

/// Writes a run of changes in as few statements as the insert size allows: many hooks' changes
/// land in one group commit, and one statement each would make its transaction as slow as
/// the transactions it replaces.
pub async fn put_changes(conn: &mut SqliteConnection, changes: &[&Change]) -> Result<(), StoreError> {
    for rows in changes.chunks(EVENTS_PER_INSERT) {
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
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO changes (number, when_ms, branch, revision, data) ");
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

/// Writes a run of builds in as few statements as the insert size allows (a batch of events
/// writes each build it touched once, `state::compact`, so a run names a build once): a
/// burst of builds is a few statements, not one a build.
pub async fn put_builds(conn: &mut SqliteConnection, builds: &[&Build]) -> Result<(), StoreError> {
    for rows in builds.chunks(EVENTS_PER_INSERT) {
        let mut values = Vec::with_capacity(rows.len());
        for b in rows {
            let (started, finished, result) = build_columns(b);
            values.push((b, started, finished, result, json(b)?));
        }
        let mut insert = QueryBuilder::<Sqlite>::new(
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
pub async fn journal(conn: &mut SqliteConnection, events: &[SequencedEvent]) -> Result<(), StoreError> {
    let journaled: Vec<&SequencedEvent> =
        events.iter().filter(|e| !matches!(e.event, StatusEvent::LogChunk { .. })).collect();
    for rows in journaled.chunks(EVENTS_PER_INSERT) {
        let mut values = Vec::with_capacity(rows.len());
        for e in rows {
            values.push((write_id(e.seq)?, json(e)?));
        }
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO events (seq, data) ");
        insert.push_values(values, |mut row, (seq, data)| {
            row.push_bind(seq).push_bind(data);
        });
        insert.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}
