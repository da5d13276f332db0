//! The deterministic core: the status model, the rule that applies events, and everything the
//! pages compute and render.
//!
//! Architecture invariant: nothing here does I/O, reads a clock or draws a random number. Time
//! and data come in as arguments; decisions and rendered bytes come out.

pub mod auth;
pub mod buildbot_push;
pub mod control;
pub mod event;
pub mod expectations;
pub mod hooks;
pub mod ingest;
pub mod machine;
pub mod model;
pub mod notify;
pub mod pb;
pub mod result;
pub mod secret;
pub mod state;
pub mod views;
pub mod web;
