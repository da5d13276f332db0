//! A target's own word on how it is doing, for `/notifications` and its metrics: any target
//! kind with a connection of its own (an IRC bot, a PB listener) writes it as its note under
//! [`STATUS_NOTE`]; the page shows the line and the metrics say whether the target is up.

use serde::{Deserialize, Serialize};

use crate::domain::model::Timestamp;

/// The note key a target's status is kept under.
pub const STATUS_NOTE: &str = "status";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    /// Connected (or otherwise able to deliver).
    pub up: bool,
    /// In words: connected as whom, or why not.
    pub text: String,
    /// Since when it is in this state.
    pub since: Timestamp,
}

impl TargetStatus {
    pub fn to_note(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A note as written by [`Self::to_note`]; `None` for anything else.
    pub fn from_note(note: &str) -> Option<Self> {
        serde_json::from_str(note).ok()
    }
}
