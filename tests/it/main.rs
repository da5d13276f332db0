//! The integration tests, one binary (one link instead of one per file), in modules by level:
//!
//! | module | what it drives | peers |
//! |---|---|---|
//! | [`contracts`] | each port's contract, run against every implementation | SQLite files |
//! | [`router`] | the whole site through the real router, in process | none (and `feedparser`) |
//! | [`binary`] | the `buildstatus` binary as a user starts it | the binary |
//! | [`peers`] | adapters against the real programs they talk to | Chromium, aiosmtpd, git, Buildbot 4.3, PostgreSQL |
//!
//! `common` holds the fixed history, the router and binary helpers, and the Buildbot peer.
//! A test that needs a peer fails, never skips, when it is missing (`.ci/run` installs them).

mod architecture;
mod binary;
mod common;
mod contracts;
mod peers;
mod router;
