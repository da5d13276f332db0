//! Gerrit, the two ways it takes reviews: `gerrit review` run by its SSH daemon, through the
//! OpenSSH client ([`ssh`]), and the REST API current installations prefer ([`rest`]). Both
//! implement `ReviewApi` for the same `Outgoing` review; the domain spells the command line
//! and the request (`domain::notify::gerrit::command`).

pub mod rest;
pub mod ssh;

pub use rest::{GerritRest, RestSettings};
pub use ssh::{GerritSsh, HostKeyChecking, SshSettings};
