//! Adapters: one folder or module per technology, each implementing ports.
//!
//! Architecture invariant: adapters import ports and domain, never app, never each other
//! (`tests/it/architecture.rs` checks it).
//!
//! | adapter | technology | ports |
//! |---|---|---|
//! | [`sqlite`] | SQLite through sqlx (WAL, migrations) | `StatusStore`, `StatusReader`, `Outbox`, `IngestSink` receipts |
//! | [`postgres`] | PostgreSQL through sqlx (`[store] url`): the whole store in one database | `StatusStore`, `StatusReader`, `Outbox`, `LogStore`, `IngestSink` receipts |
//! | [`logs`] | files on disk | `LogStore` |
//! | [`memory`] | in-process data: the reference implementations and test doubles | every port |
//! | [`http`] | axum on hyper: the pages, hooks, ingest API, live streams | reads `StatusReader`, `EventFeed`, `LogStore`, `Outbox` |
//! | [`mail`] | lettre: SMTP and sendmail | `MailTransport` |
//! | [`http_push`] | reqwest: HttpStatusPush's form POSTs | (the push target's transport) |
//! | [`github`] | reqwest: GitHub's REST API (commit statuses) | `CommitStatusApi` |
//! | [`gerrit`] | the OpenSSH client (`gerrit review`), reqwest (Gerrit's REST API) | `ReviewApi` |
//! | [`irc`] | an IRC client of its own on tokio (and rustls): the IRC bot's connection | (used by the IRC target) |
//! | [`git_poller`] | the `git` program | `ChangeSink` (writes), `PollTrigger` |
//! | [`buildbot`] | a Buildbot 4 database (sqlx) and REST API (reqwest) | yields `StatusEvent`s |
//! | [`status_client`] | reqwest: a buildstatus server's ingest API and `/json` | (client of our own API) |
//! | [`clock`] | the system clock | `Clock` |

pub mod buildbot;
pub mod clock;
pub mod gerrit;
pub mod git_poller;
pub mod github;
pub mod http;
pub mod http_push;
pub mod irc;
pub mod logs;
pub mod mail;
pub mod memory;
pub mod passwords;
pub mod pb;
pub mod postgres;
pub mod sqlite;
pub mod status_client;
