//! The SQLite store read whole, table by table, for `buildstatus migrate` (the port's
//! `CopySource`): each table walked in the order of its key (the rowid, or the primary key of
//! a table without one), a page at a time, so that memory stays bounded whatever its size.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::{SqliteStore, db};
use crate::ports::{Cell, CopySource, Kind, Rows, StoreError, Table};

impl SqliteStore {
    /// The database that holds `table`.
    fn pool_of(&self, table: &Table) -> &SqlitePool {
        if table.outbox { &self.outbox.pool } else { &self.pool }
    }
}

/// The value of column `i` of `row`, as `kind`.
fn cell(row: &SqliteRow, i: usize, kind: Kind) -> Result<Cell, StoreError> {
    Ok(match kind {
        Kind::Int => Cell::Int(row.try_get(i).map_err(db)?),
        Kind::Text => Cell::Text(row.try_get(i).map_err(db)?),
        // SQLite stores a boolean as an integer.
        Kind::Bool => Cell::Bool(row.try_get::<i64, _>(i).map_err(db)? != 0),
    })
}

#[async_trait]
impl CopySource for SqliteStore {
    async fn count(&self, table: &Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(self.pool_of(table)).await.map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn rows(&self, table: &Table, after: Option<&Cell>, n: usize) -> Result<Rows, StoreError> {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let key_kind = if table.key == "rowid" {
            Kind::Int
        } else {
            table.columns.iter().find(|(c, _)| *c == table.key).map_or(Kind::Text, |(_, k)| *k)
        };
        let filter = if after.is_some() { format!("WHERE {} > ?", table.key) } else { String::new() };
        let sql = format!(
            "SELECT {key}, {columns} FROM {table} {filter} ORDER BY {key} LIMIT ?",
            key = table.key,
            columns = columns.join(", "),
            table = table.name
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        match after {
            Some(Cell::Int(k)) => query = query.bind(*k),
            Some(Cell::Text(k)) => query = query.bind(k.clone()),
            Some(Cell::Bool(k)) => query = query.bind(*k),
            None => {}
        }
        let found =
            query.bind(i64::try_from(n).unwrap_or(i64::MAX)).fetch_all(self.pool_of(table)).await.map_err(db)?;
        let mut rows = Rows::default();
        for row in &found {
            rows.last = Some(cell(row, 0, key_kind)?);
            let cells = table.columns.iter().enumerate().map(|(i, (_, kind))| cell(row, i + 1, *kind));
            rows.rows.push(cells.collect::<Result<_, _>>()?);
        }
        Ok(rows)
    }
}
