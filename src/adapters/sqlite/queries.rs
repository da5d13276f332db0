//! The SQL of the store that depends on its input: filtered listings and mutations.

use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::{build_columns, db, id, json};
use crate::domain::state::Mutation;
use crate::domain::web::args::BranchFilter;
use crate::ports::{BuildOrder, BuildQuery, ChangeQuery, StoreError};

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `AND (branch IN (…) OR branch IS NULL)`, the latter when `trunk` is asked for.
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

/// The listing of [`BuildQuery`]; the same filters as `BuildQuery::matches`.
pub fn builds(q: &BuildQuery) -> Result<QueryBuilder<Sqlite>, StoreError> {
    let mut sql = QueryBuilder::new("SELECT data FROM builds WHERE 1 = 1");
    if !q.builders.is_empty() {
        sql.push(" AND builder IN (");
        let mut list = sql.separated(", ");
        for b in &q.builders {
            list.push_bind(b.clone());
        }
        sql.push(")");
    }
    push_branches(&mut sql, &q.branches);
    if let Some(r) = &q.revision {
        sql.push(" AND revision = ").push_bind(r.clone());
    }
    if let Some(w) = &q.worker {
        sql.push(" AND worker = ").push_bind(w.clone());
    }
    match (q.finished, q.order) {
        (Some(false), _) => _ = sql.push(" AND finished IS NULL"),
        (Some(true), _) | (None, BuildOrder::FinishedDesc) => _ = sql.push(" AND finished IS NOT NULL"),
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
    sql.push(match q.order {
        BuildOrder::NumberDesc if q.builders.len() == 1 => " ORDER BY number DESC",
        BuildOrder::NumberDesc => " ORDER BY started DESC, builder DESC, number DESC",
        BuildOrder::FinishedDesc => " ORDER BY finished DESC, builder DESC, number DESC",
    });
    sql.push(" LIMIT ").push_bind(limit(q.limit));
    Ok(sql)
}

pub fn changes(q: &ChangeQuery) -> Result<QueryBuilder<Sqlite>, StoreError> {
    let mut sql = QueryBuilder::new("SELECT data FROM changes WHERE 1 = 1");
    if let Some(before) = q.before {
        sql.push(" AND number < ").push_bind(id(before)?);
    }
    push_branches(&mut sql, &q.branches);
    sql.push(" ORDER BY number DESC LIMIT ").push_bind(limit(q.limit));
    Ok(sql)
}

/// Writes one mutation inside the commit's transaction.
pub async fn apply(tx: &mut Transaction<'static, Sqlite>, m: &Mutation) -> Result<(), StoreError> {
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
        Mutation::PutChange(c) => sqlx::query(
            "INSERT INTO changes (number, when_ms, branch, revision, data) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (number) DO UPDATE SET when_ms = excluded.when_ms, branch = excluded.branch, \
             revision = excluded.revision, data = excluded.data",
        )
        .bind(id(c.number)?)
        .bind(c.when.timestamp_millis())
        .bind(c.branch.clone())
        .bind(c.revision.clone())
        .bind(json(c)?),
        Mutation::PutBuild(b) => {
            let (started, finished, result) = build_columns(b);
            sqlx::query(
                "INSERT INTO builds (builder, number, started, finished, result, branch, revision, worker, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (builder, number) DO UPDATE SET \
                 started = excluded.started, finished = excluded.finished, result = excluded.result, \
                 branch = excluded.branch, revision = excluded.revision, worker = excluded.worker, data = excluded.data",
            )
            .bind(b.builder.clone())
            .bind(i64::from(b.number))
            .bind(started)
            .bind(finished)
            .bind(result)
            .bind(b.branch().map(str::to_owned))
            .bind(b.revision())
            .bind(b.worker.clone())
            .bind(json(b)?)
        }
        Mutation::PutRequest(r) => sqlx::query(
            "INSERT INTO requests (id, builder, submitted, data) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET builder = excluded.builder, submitted = excluded.submitted, data = excluded.data",
        )
        .bind(id(r.id)?)
        .bind(r.builder.clone())
        .bind(r.submitted_at.timestamp_millis())
        .bind(json(r)?),
        Mutation::RemoveRequest(rid) => sqlx::query("DELETE FROM requests WHERE id = ?").bind(id(*rid)?),
        Mutation::PutBuildset(s) => sqlx::query(
            "INSERT INTO buildsets (id, complete, data) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET complete = excluded.complete, data = excluded.data",
        )
        .bind(id(s.id)?)
        .bind(i64::from(s.complete_at.is_some()))
        .bind(json(s)?),
        Mutation::PutUser(u) => {
            sqlx::query("INSERT INTO users (uid, data) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE SET data = excluded.data")
                .bind(id(u.uid)?)
                .bind(json(u)?)
        }
    };
    query.execute(&mut **tx).await.map_err(db)?;
    Ok(())
}
