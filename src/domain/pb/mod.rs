//! Perspective Broker, the protocol of 0.8's `PBListener` status clients (`buildbot
//! statuslog`, `statusgui`), as pure encoding and decoding: `banana` (bytes ⇄ items), `jelly`
//! (items ⇄ values), `message` (values ⇄ the broker's messages, copied failures, the login
//! response), `status` (what a client is told), `requests` (who observes a build
//! request). The listener (`adapters::pb`) owns sockets, references and subscriptions.

pub mod banana;
pub mod jelly;
pub mod message;
pub mod requests;
pub mod status;

pub use banana::{Decoder, Item};
pub use jelly::Value;
pub use message::{Failure, Message, ObjectId};

#[cfg(test)]
mod tests;
