//! The names of StatusPush's events (spec-notify-5 §5.1.2), which of them a target sends, and
//! which packets each status event makes.
//!
//! 0.8.12 emitted sixteen of the names it defined; the others (`requestCancelled`,
//! `stepTextChanged`, …) were never sent, so a receiver written for it never saw them. They
//! are sent here only when a target asks for them (its `whiteList`), and so is
//! `builderRemoved`, the correct spelling of 0.8's `buildedRemoved`, which is kept as it was
//! (spec-notify-8 S9).

use std::collections::BTreeSet;

use crate::domain::event::StatusEvent;

/// A StatusPush event, by its wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventName {
    Start,
    Shutdown,
    BuilderAdded,
    BuilderChangedState,
    RequestSubmitted,
    BuildsetSubmitted,
    BuildStarted,
    StepStarted,
    StepFinished,
    BuildFinished,
    /// 0.8's misspelt builder removal, kept for its receivers.
    BuildedRemoved,
    ChangeAdded,
    SlaveConnected,
    SlaveDisconnected,
    SlavePaused,
    SlaveUnpaused,
    // Defined by 0.8 but never emitted: sent only when asked for.
    RequestCancelled,
    BuildEtaUpdate,
    StepTextChanged,
    StepText2Changed,
    StepEtaUpdate,
    LogStarted,
    LogFinished,
    BuilderRemoved,
}

impl EventName {
    pub const ALL: [EventName; 24] = [
        Self::Start,
        Self::Shutdown,
        Self::BuilderAdded,
        Self::BuilderChangedState,
        Self::RequestSubmitted,
        Self::BuildsetSubmitted,
        Self::BuildStarted,
        Self::StepStarted,
        Self::StepFinished,
        Self::BuildFinished,
        Self::BuildedRemoved,
        Self::ChangeAdded,
        Self::SlaveConnected,
        Self::SlaveDisconnected,
        Self::SlavePaused,
        Self::SlaveUnpaused,
        Self::RequestCancelled,
        Self::BuildEtaUpdate,
        Self::StepTextChanged,
        Self::StepText2Changed,
        Self::StepEtaUpdate,
        Self::LogStarted,
        Self::LogFinished,
        Self::BuilderRemoved,
    ];

    /// The name on the wire (a packet's `event`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Shutdown => "shutdown",
            Self::BuilderAdded => "builderAdded",
            Self::BuilderChangedState => "builderChangedState",
            Self::RequestSubmitted => "requestSubmitted",
            Self::BuildsetSubmitted => "buildsetSubmitted",
            Self::BuildStarted => "buildStarted",
            Self::StepStarted => "stepStarted",
            Self::StepFinished => "stepFinished",
            Self::BuildFinished => "buildFinished",
            Self::BuildedRemoved => "buildedRemoved",
            Self::ChangeAdded => "changeAdded",
            Self::SlaveConnected => "slaveConnected",
            Self::SlaveDisconnected => "slaveDisconnected",
            Self::SlavePaused => "slavePaused",
            Self::SlaveUnpaused => "slaveUnpaused",
            Self::RequestCancelled => "requestCancelled",
            Self::BuildEtaUpdate => "buildETAUpdate",
            Self::StepTextChanged => "stepTextChanged",
            Self::StepText2Changed => "stepText2Changed",
            Self::StepEtaUpdate => "stepETAUpdate",
            Self::LogStarted => "logStarted",
            Self::LogFinished => "logFinished",
            Self::BuilderRemoved => "builderRemoved",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Whether 0.8.12 sent it: what a target sends unless its `whiteList` says otherwise.
    pub fn sent_by_default(self) -> bool {
        Self::ALL[..16].contains(&self)
    }

    /// Whether buildstatus can send it at all: no status event makes an ETA update (ETAs are
    /// estimated whenever a build is written, and shown in the build's and step's `eta`).
    pub fn ever_sent(self) -> bool {
        !matches!(self, Self::BuildEtaUpdate | Self::StepEtaUpdate)
    }

    /// The packets a status event makes, in order (before any filter): most make one or
    /// none; a builder's removal makes both spellings; a step's text change one per text.
    pub fn of(event: &StatusEvent) -> Vec<EventName> {
        use StatusEvent as E;
        match event {
            E::BuilderAdded { .. } => vec![Self::BuilderAdded],
            E::BuilderRemoved { .. } => vec![Self::BuildedRemoved, Self::BuilderRemoved],
            E::BuilderStateChanged { .. } => vec![Self::BuilderChangedState],
            E::BuildRequestSubmitted { .. } => vec![Self::RequestSubmitted],
            E::BuildRequestCancelled { .. } => vec![Self::RequestCancelled],
            E::BuildsetSubmitted { .. } => vec![Self::BuildsetSubmitted],
            E::BuildStarted { .. } => vec![Self::BuildStarted],
            E::BuildFinished { .. } => vec![Self::BuildFinished],
            E::StepStarted { .. } => vec![Self::StepStarted],
            E::StepFinished { .. } => vec![Self::StepFinished],
            E::StepTextChanged { text, text2, .. } => {
                let mut names = Vec::new();
                if text.is_some() {
                    names.push(Self::StepTextChanged);
                }
                if text2.is_some() {
                    names.push(Self::StepText2Changed);
                }
                names
            }
            E::LogStarted { .. } => vec![Self::LogStarted],
            E::LogFinished { .. } => vec![Self::LogFinished],
            E::ChangeAdded { .. } => vec![Self::ChangeAdded],
            E::WorkerConnected { .. } => vec![Self::SlaveConnected],
            E::WorkerDisconnected { .. } => vec![Self::SlaveDisconnected],
            E::WorkerPaused { .. } => vec![Self::SlavePaused],
            E::WorkerUnpaused { .. } => vec![Self::SlaveUnpaused],
            // Nothing in 0.8's table: the build's properties and a step's links show in the
            // next packet about them; buildsets finish, users, the master's own start and
            // stop and reconfigurations were never pushed (the target's own start and
            // shutdown are its `start`/`shutdown` packets); nor were test results.
            E::BuildsetFinished { .. }
            | E::BuildPropertiesChanged { .. }
            | E::TestResultsAdded { .. }
            | E::StepUrlAdded { .. }
            | E::LogChunk { .. }
            | E::WorkerAdded { .. }
            | E::UserChanged { .. }
            | E::MasterStarted { .. }
            | E::MasterStopping { .. }
            | E::Reconfigured { .. } => Vec::new(),
        }
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which events a target sends: its `whiteList` (any names, those only) or 0.8.12's, less its
/// `blackList`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    sent: BTreeSet<EventName>,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self::new(None, &[]).unwrap_or(Self { sent: BTreeSet::new() })
    }
}

impl EventFilter {
    /// From the names a configuration gives; an unknown name is an error naming every known one.
    pub fn new(white: Option<&[String]>, black: &[String]) -> Result<Self, String> {
        let parse = |names: &[String]| -> Result<Vec<EventName>, String> {
            let unknown: Vec<&str> =
                names.iter().filter(|n| EventName::parse(n).is_none()).map(String::as_str).collect();
            if unknown.is_empty() {
                Ok(names.iter().filter_map(|n| EventName::parse(n)).collect())
            } else {
                Err(format!("unknown event {} (the events are {})", quoted(&unknown), known()))
            }
        };
        let mut sent: BTreeSet<EventName> = match white {
            Some(names) => parse(names)?.into_iter().collect(),
            None => EventName::ALL.into_iter().filter(|e| e.sent_by_default()).collect(),
        };
        for name in parse(black)? {
            sent.remove(&name);
        }
        Ok(Self { sent })
    }

    pub fn sends(&self, event: EventName) -> bool {
        self.sent.contains(&event)
    }

    /// The events sent, in table order.
    pub fn sent(&self) -> Vec<EventName> {
        self.sent.iter().copied().collect()
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn known() -> String {
    EventName::ALL.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn names_round_trip_and_the_default_set_is_what_0_8_12_emitted() {
        for e in EventName::ALL {
            assert_eq!(EventName::parse(e.name()), Some(e));
        }
        let default = EventFilter::default().sent();
        let default: Vec<&str> = default.iter().map(|e| e.name()).collect();
        assert_eq!(
            default,
            [
                "start",
                "shutdown",
                "builderAdded",
                "builderChangedState",
                "requestSubmitted",
                "buildsetSubmitted",
                "buildStarted",
                "stepStarted",
                "stepFinished",
                "buildFinished",
                "buildedRemoved",
                "changeAdded",
                "slaveConnected",
                "slaveDisconnected",
                "slavePaused",
                "slaveUnpaused",
            ]
        );
    }

    #[test]
    fn a_white_list_chooses_a_black_list_removes_and_unknown_names_are_refused() {
        let only = EventFilter::new(Some(&names(&["buildFinished", "stepTextChanged"])), &[]).expect("valid");
        assert_eq!(only.sent(), [EventName::BuildFinished, EventName::StepTextChanged]);
        let fewer = EventFilter::new(None, &names(&["stepStarted", "stepFinished"])).expect("valid");
        assert!(!fewer.sends(EventName::StepStarted) && fewer.sends(EventName::BuildStarted));
        assert!(!fewer.sends(EventName::BuilderRemoved), "the new spelling is asked for, not sent by default");
        let bad = EventFilter::new(None, &names(&["buildFinshed"])).expect_err("unknown");
        assert!(bad.starts_with("unknown event 'buildFinshed' (the events are start, shutdown, "), "{bad}");
    }

    #[test]
    fn a_builder_removal_makes_both_spellings_and_a_text_change_one_per_text() {
        let removed = StatusEvent::BuilderRemoved { name: "b".into() };
        assert_eq!(EventName::of(&removed), [EventName::BuildedRemoved, EventName::BuilderRemoved]);
        let text2 = StatusEvent::StepTextChanged {
            builder: "b".into(),
            number: 1,
            step: 0,
            text: None,
            text2: Some(vec!["x".into()]),
        };
        assert_eq!(EventName::of(&text2), [EventName::StepText2Changed]);
    }
}
