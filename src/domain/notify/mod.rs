//! Notifications: what status targets (mail now; IRC, HTTP push, Gerrit, GitHub later) decide
//! to send, and the rules of the outbox that delivers it. Pure: the app reads the builds and
//! the clock, these functions decide and render.

pub mod mail;
pub mod outbox;
