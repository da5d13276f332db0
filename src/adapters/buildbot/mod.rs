//! Buildbot 4 as a source of history: [`db`] reads a master's database (SQLite or PostgreSQL,
//! read-only) into status events for `import-buildbot`; [`rest`] reads a running master's
//! REST API (`/api/v2`) in `HttpStatusPush`'s shape, for `catch-up-buildbot`. Their tests run
//! against a real Buildbot 4.3 (`tests/it/peers`).

pub mod db;
pub mod rest;
