//! Buildbot 4 as a source of history: [`db`] reads a master's database (SQLite or PostgreSQL,
//! read-only) into status events for `import-buildbot`; [`rest`] reads a running master's
//! REST API (`/api/v2`) in `HttpStatusPush`'s shape, for `catch-up-buildbot`; [`control`]
//! commands a master through that API's control endpoints (the web status's actions, for a
//! server that follows it). Their tests run against a real Buildbot 4.3 (`tests/it/peers`).

pub mod control;
pub mod db;
pub mod rest;
