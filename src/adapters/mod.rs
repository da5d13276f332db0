//! Adapters: one folder or module per technology, each implementing ports.
//!
//! Architecture invariant: adapters import ports and domain, never app, never each other
//! (`tests/it/architecture.rs` checks it).
//!
//! | adapter | technology | ports |
//! |---|---|---|
//! | [`sqlite`] | SQLite through sqlx (WAL, migrations) | `StatusStore`, `StatusReader`, `Outbox`, `IngestSink` receipts |
//! | [`logs`] | files on disk | `LogStore` |
//! | [`memory`] | in-process data: the reference implementations and test doubles | every port |
//! | [`http`] | axum on hyper: the pages, hooks, ingest API, live streams | reads `StatusReader`, `EventFeed`, `LogStore`, `Outbox` |
//! | [`mail`] | lettre: SMTP and sendmail | `MailTransport` |
//! | [`git_poller`] | the `git` program | `ChangeSink` (writes), `PollTrigger` |
//! | [`buildbot`] | a Buildbot 4 database (sqlx) and REST API (reqwest) | yields `StatusEvent`s |
//! | [`status_client`] | reqwest: a buildstatus server's ingest API and `/json` | (client of our own API) |
//! | [`clock`] | the system clock | `Clock` |

pub mod buildbot;
pub mod clock;
pub mod git_poller;
pub mod http;
pub mod logs;
pub mod mail;
pub mod memory;
pub mod pb;
pub mod sqlite;
pub mod status_client;
