//! Copying a whole store from one adapter to another, table by table (`buildstatus migrate`,
//! SQLite to PostgreSQL). The copy is of rows as they are stored, not of events applied again:
//! the journal's sequence numbers, the log ids, the notifiers' cursors and the outbox's order
//! must stay exactly what they were, or notifiers would send twice and links would break.
//!
//! [`TABLES`] is the one list of what a store holds, with the columns both schemas share;
//! each adapter maps them to its own (SQLite's integers for booleans, PostgreSQL's `kind` of
//! an event, derived from its record).

use async_trait::async_trait;

use super::StoreError;

/// The type of a column as the copy carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bool,
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

/// A table of a store: its columns, in order, and the key a copy walks it by.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// The column whose order the copy walks (unique; `rowid` where SQLite has one).
    pub key: &'static str,
    /// In the outbox's database (SQLite keeps the outbox in a file of its own).
    pub outbox: bool,
}

use Kind::{Bool, Int, Text};

/// Everything a store holds but the logs' content, in the order a copy writes it: `meta`
/// (the counters) last, so that a database half copied has none.
pub const TABLES: [Table; 13] = [
    Table { name: "builders", columns: &[("name", Text), ("data", Text)], key: "rowid", outbox: false },
    Table { name: "workers", columns: &[("name", Text), ("data", Text)], key: "rowid", outbox: false },
    Table {
        name: "builds",
        columns: &[
            ("builder", Text),
            ("number", Int),
            ("started", Int),
            ("finished", Int),
            ("result", Int),
            ("branch", Text),
            ("revision", Text),
            ("worker", Text),
            ("data", Text),
        ],
        key: "rowid",
        outbox: false,
    },
    Table {
        name: "changes",
        columns: &[("number", Int), ("when_ms", Int), ("branch", Text), ("revision", Text), ("data", Text)],
        key: "rowid",
        outbox: false,
    },
    Table {
        name: "requests",
        columns: &[("id", Int), ("builder", Text), ("submitted", Int), ("data", Text)],
        key: "rowid",
        outbox: false,
    },
    Table {
        name: "buildsets",
        columns: &[("id", Int), ("complete", Bool), ("data", Text)],
        key: "rowid",
        outbox: false,
    },
    Table { name: "users", columns: &[("uid", Int), ("data", Text)], key: "rowid", outbox: false },
    Table { name: "events", columns: &[("seq", Int), ("data", Text)], key: "rowid", outbox: false },
    Table { name: "ingest_receipts", columns: &[("id", Text), ("seq", Int)], key: "id", outbox: false },
    Table {
        name: "outbox",
        columns: &[
            ("n", Int),
            ("target", Text),
            ("id", Text),
            ("key", Text),
            ("state", Text),
            ("attempts", Int),
            ("created", Int),
            ("next_attempt", Int),
            ("last_error", Text),
            ("summary", Text),
            ("payload", Text),
        ],
        key: "rowid",
        outbox: true,
    },
    Table { name: "notifier_cursors", columns: &[("target", Text), ("seq", Int)], key: "rowid", outbox: true },
    Table {
        name: "notifier_notes",
        columns: &[("target", Text), ("key", Text), ("value", Text)],
        key: "rowid",
        outbox: true,
    },
    Table { name: "meta", columns: &[("key", Text), ("value", Int)], key: "rowid", outbox: false },
];

/// The name under which a copy records how far it went in the logs (log ids, in order).
pub const LOGS: &str = "logs";

/// Rows of one table, read in the order of its key.
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<Vec<Cell>>,
    /// The key of the last row, to read on after it; `None` when there was no row.
    pub last: Option<Cell>,
}

/// A store read whole for a copy.
#[async_trait]
pub trait CopySource: Send + Sync {
    /// How many rows `table` holds.
    async fn count(&self, table: &Table) -> Result<u64, StoreError>;
    /// At most `n` rows of `table` after the one keyed `after` (from the first without it).
    async fn rows(&self, table: &Table, after: Option<&Cell>, n: usize) -> Result<Rows, StoreError>;
}

/// How far an earlier copy into a target went: per table (or [`LOGS`]), the key of the last
/// row copied, and whether the table was copied whole.
pub type Progress = std::collections::HashMap<String, (Cell, bool)>;

/// A store written by a copy. A copy writes only into an empty store, or into one an earlier
/// copy of the same source left unfinished (then it goes on from where that one stopped).
#[async_trait]
pub trait CopyTarget: Send + Sync {
    /// Starts (or resumes) the copy of `source` (words that identify it, such as its place
    /// and its counters): what an earlier copy of it did, or why the target cannot take it.
    async fn begin(&self, source: &str) -> Result<Progress, StoreError>;
    /// Writes `rows` of `table` (a row already there stays as it is) and records, in the same
    /// transaction, that the copy went up to `last` (and, with `done`, through the table).
    async fn write(&self, table: &Table, rows: Vec<Vec<Cell>>, last: &Cell, done: bool) -> Result<(), StoreError>;
    /// Records progress without rows (such as through the logs, [`LOGS`]).
    async fn mark(&self, part: &str, last: &Cell, done: bool) -> Result<(), StoreError>;
    /// Ends the copy: the target is then a store like any other.
    async fn finish(&self) -> Result<(), StoreError>;
}
