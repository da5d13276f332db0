//! Adapters: one module per technology, each implementing ports.
//!
//! Architecture invariant: adapters import ports and domain, never app, never each other.

pub mod buildbot_db;
pub mod buildbot_rest;
pub mod bus;
pub mod clock;
pub mod git_poller;
pub mod http;
pub mod logs;
pub mod mail;
pub mod memory_changes;
pub mod memory_mail;
pub mod memory_outbox;
pub mod memory_store;
pub mod sqlite;
