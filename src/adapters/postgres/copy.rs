//! The PostgreSQL store written by `buildstatus migrate` (the port's `CopyTarget`): rows as
//! the source stored them, each batch in one transaction with the record of how far the copy
//! went (`migration_progress`), so that a copy interrupted anywhere goes on from its last
//! batch. A row already there is left as it is, so a batch written twice adds nothing.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder};

use super::store::PgStore;
use super::{db, decode, json};
use crate::domain::event::SequencedEvent;
use crate::ports::{Cell, CopyTarget, Progress, StoreError, Table};

/// The tables a store with a history has rows in (any of them non-empty: not a target).
const HISTORY: &str = "SELECT (SELECT COUNT(*) FROM builders) + (SELECT COUNT(*) FROM workers) \
    + (SELECT COUNT(*) FROM builds) + (SELECT COUNT(*) FROM changes) + (SELECT COUNT(*) FROM events) \
    + (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM logs) + (SELECT COUNT(*) FROM ingest_receipts)";

const MARK: &str = "INSERT INTO migration_progress (part, last, done) VALUES ($1, $2, $3) \
    ON CONFLICT (part) DO UPDATE SET last = excluded.last, done = excluded.done";

fn push(row: &mut sqlx::query_builder::Separated<'_, Postgres, &'static str>, cell: Cell) {
    match cell {
        Cell::Int(v) => row.push_bind(v),
        Cell::Text(v) => row.push_bind(v),
        Cell::Bool(v) => row.push_bind(v),
    };
}

#[async_trait]
impl CopyTarget for PgStore {
    async fn begin(&self, source: &str) -> Result<Progress, StoreError> {
        let pool = self.pool();
        let earlier: Option<(String, bool)> =
            sqlx::query_as("SELECT source, finished FROM migration").fetch_optional(pool).await.map_err(db)?;
        match earlier {
            Some((from, _)) if from == source => {}
            Some((from, finished)) => {
                let what = if finished { "was migrated" } else { "is being migrated" };
                return Err(StoreError::database(format!(
                    "the database {what} from {from}, not from {source}: migrate into an empty database"
                )));
            }
            None => {
                let rows: i64 = sqlx::query_scalar(HISTORY).fetch_one(pool).await.map_err(db)?;
                if rows > 0 {
                    return Err(StoreError::database(format!(
                        "the database is not empty ({rows} rows of builders, workers, builds, changes, events, \
                         notifications, logs and receipts): migrate into an empty database"
                    )));
                }
                sqlx::query("INSERT INTO migration (source, finished) VALUES ($1, false)")
                    .bind(source)
                    .execute(pool)
                    .await
                    .map_err(db)?;
            }
        }
        let rows: Vec<(String, String, bool)> =
            sqlx::query_as("SELECT part, last, done FROM migration_progress").fetch_all(pool).await.map_err(db)?;
        let mut progress = Progress::new();
        for (part, last, done) in rows {
            progress.insert(part.clone(), (decode(&last, "migration_progress", &part)?, done));
        }
        Ok(progress)
    }

    async fn write(&self, table: &Table, rows: Vec<Vec<Cell>>, last: &Cell, done: bool) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        if !rows.is_empty() {
            let mut columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            let events = table.name == "events";
            if events {
                // The event's type beside it, for the partial indexes (as the hub writes it).
                columns.insert(1, "kind");
            }
            let mut insert =
                QueryBuilder::<Postgres>::new(format!("INSERT INTO {} ({}) ", table.name, columns.join(", ")));
            if table.name == "outbox" {
                // `n` keeps the source's order; the sequence is set past it when the copy ends.
                insert.push("OVERRIDING SYSTEM VALUE ");
            }
            let mut cells = Vec::with_capacity(rows.len());
            for mut row in rows {
                if events {
                    let (Some(Cell::Int(Some(seq))), Some(Cell::Text(Some(data)))) = (row.first(), row.get(1)) else {
                        return Err(StoreError::corrupt("events: a row without its sequence number or record"));
                    };
                    let event: SequencedEvent = decode(data, "events", seq)?;
                    row.insert(1, Cell::Text(Some(event.event.kind().to_owned())));
                }
                cells.push(row);
            }
            insert.push_values(cells, |mut b, row| {
                for cell in row {
                    push(&mut b, cell);
                }
            });
            insert.push(if table.name == "meta" {
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            } else {
                " ON CONFLICT DO NOTHING"
            });
            insert.build().execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query(MARK).bind(table.name).bind(json(last)?).bind(done).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn mark(&self, part: &str, last: &Cell, done: bool) -> Result<(), StoreError> {
        sqlx::query(MARK).bind(part).bind(json(last)?).bind(done).execute(self.pool()).await.map_err(db)?;
        Ok(())
    }

    async fn finish(&self) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query("SELECT setval(pg_get_serial_sequence('outbox', 'n'), COALESCE(MAX(n), 0) + 1, false) FROM outbox")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE migration SET finished = true").execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }
}
