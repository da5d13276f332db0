//! The IRC bot's decisions and texts (spec-notify-3, spec-notify-8 I1–I17), pure: the adapter
//! (`adapters::irc`) does the connection and the timers, the app (`app::notify::irc`) reads
//! the status and runs commands.
//!
//! - [`line`]: reading server lines and writing clean ones (no CR, LF or NUL);
//! - [`session`]: one connection's protocol — registration, SASL PLAIN, nick collisions,
//!   NickServ, joins with keys, kicks, `PING`, CTCP — as a state machine fed line by line;
//! - [`command`]: whether chat is addressed to the bot, and the grammar of its commands;
//! - [`replies`]: the answers, word for word;
//! - [`events`]: the `notify` events and the rule that decides a finished build's
//!   announcement;
//! - [`announce`]: the notifications' texts, the contacts and who is told what;
//! - [`text`]: the width rule, wrapping, colours and durations.

pub mod announce;
pub mod command;
pub mod events;
pub mod line;
pub mod replies;
pub mod session;
pub mod text;
