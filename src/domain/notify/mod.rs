//! Notifications: what status targets decide to send, and the rules every target shares. Pure:
//! the app reads the builds and the clock, these functions decide and render.
//!
//! - [`outbox`]: a queued message's life, target ids, delivery disciplines, retry, retention;
//! - [`start`]: where a target starts after a restart, and what it passes over;
//! - [`history`]: a build against its builder's past (previous finished build, failure streak);
//! - [`buildset`]: the builds a finished buildset is made of;
//! - [`status`]: a target's status line (connected or not, in words), kept as its note;
//! - [`interpolate`]: the seed's renderables (`%(prop:NAME)s`, `%(src::revision)s`, …);
//! - [`filter`]: which builders a target watches;
//! - [`rate_limit`]: when a peer that turned a target away asks it to come back;
//! - [`verdict`]: merge safety, one verdict per change from all its builds;
//! - one module per target kind: [`mail`], [`push`] (StatusPush and HttpStatusPush), [`github`],
//!   [`gerrit`], [`irc`].

pub mod buildset;
pub mod filter;
pub mod gerrit;
pub mod github;
pub mod history;
pub mod interpolate;
pub mod irc;
pub mod mail;
pub mod outbox;
pub mod push;
pub mod rate_limit;
pub mod start;
pub mod status;
pub mod verdict;
