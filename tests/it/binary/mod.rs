//! The `buildstatus` binary as a user runs it, on free loopback ports.

mod e2e;
mod e2e_machine;
mod faults;
mod health;
mod ingest;
mod install;
mod migrate;
mod operations;
mod postgres;
mod reload;
