//! buildstatus tells people and tools how their CI builds are doing.
//!
//! A CI master embeds this library: it starts a [`app::StatusServer`], reports what happens
//! through its [`ports::StatusSink`] as [`domain::event::StatusEvent`]s, and serves the web
//! status (the pages of Buildbot 0.8's WebStatus, at the same URLs). The `buildstatus` binary
//! runs the same server standalone (`serve`) or with a simulated master (`demo`).
//!
//! ```no_run
//! use buildstatus::app::{Setup, StatusServer, Storage};
//! use buildstatus::domain::event::StatusEvent;
//! use buildstatus::domain::model::Builder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let setup = Setup { storage: Storage::Directory("state".into()), ..Setup::default() };
//! let server = StatusServer::start(setup).await?;
//! let builder = Builder { name: "linux".into(), ..Builder::default() };
//! server.sink().record(StatusEvent::BuilderAdded { builder }).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8010").await?;
//! server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! The layers (see `ARCHITECTURE.md`): [`domain`] is the deterministic core, [`ports`] the
//! traits it needs, [`adapters`] their implementations, [`app`] the wiring.

pub mod adapters;
pub mod app;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod ports;
