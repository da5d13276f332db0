//! Where a target starts reading the journal, and what it passes over: a mail or push target
//! resumes from its cursor and acts on everything it missed, while a chat bot must not
//! announce yesterday's builds after a restart.

use std::time::Duration;

use crate::domain::event::StatusEvent;
use crate::domain::model::Timestamp;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartPolicy {
    /// Every event after the saved cursor is acted on, however old.
    #[default]
    Resume,
    /// Events that happened more than this long before they are read are passed over (the
    /// cursor still moves past them); events with no time of their own are acted on.
    SkipOlderThan(Duration),
}

impl StartPolicy {
    /// Whether `event`, read at `now`, is passed over.
    pub fn skips(&self, event: &StatusEvent, now: Timestamp) -> bool {
        match self {
            Self::Resume => false,
            Self::SkipOlderThan(age) => event_time(event).is_some_and(|at| {
                let age = chrono::Duration::from_std(*age).unwrap_or(chrono::Duration::MAX);
                now.checked_sub_signed(age).is_some_and(|oldest| at < oldest)
            }),
        }
    }
}

/// When `event` happened, as its sender said, when it says.
pub fn event_time(event: &StatusEvent) -> Option<Timestamp> {
    use StatusEvent as E;
    match event {
        E::BuildStarted { build, .. } => Some(build.started),
        E::BuildFinished { at, .. }
        | E::StepFinished { at, .. }
        | E::BuildsetFinished { at, .. }
        | E::WorkerConnected { at, .. }
        | E::WorkerDisconnected { at, .. }
        | E::MasterStarted { at }
        | E::MasterStopping { at }
        | E::Reconfigured { at } => Some(*at),
        E::StepStarted { step, .. } => step.started,
        E::BuildsetSubmitted { buildset } => Some(buildset.submitted_at),
        E::BuildRequestSubmitted { request } => Some(request.submitted_at),
        E::ChangeAdded { change } => Some(change.when),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::result::BuildResult;

    fn at(minute: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(minute * 60, 0).expect("time")
    }

    fn finished(minute: i64) -> StatusEvent {
        let (builder, text) = ("b".to_owned(), Vec::new());
        let (result, properties) = (BuildResult::Success, Default::default());
        StatusEvent::BuildFinished { builder, number: 1, result, text, at: at(minute), properties }
    }

    #[test]
    fn only_events_older_than_the_age_are_skipped() {
        let policy = StartPolicy::SkipOlderThan(Duration::from_secs(600));
        assert!(policy.skips(&finished(0), at(11)));
        assert!(!policy.skips(&finished(2), at(11)));
        assert!(!StartPolicy::Resume.skips(&finished(0), at(1000)));
        let timeless = StatusEvent::BuilderRemoved { name: "b".into() };
        assert!(!policy.skips(&timeless, at(1000)), "an event without a time is acted on");
    }
}
