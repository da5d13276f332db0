//! What a live page is told of each status event: its number, its kind, and which builder
//! and build it concerns, so that the page can decide whether to refresh. Never log text:
//! pages fetch what they show.

use serde::Serialize;

use crate::domain::event::{SequencedEvent, StatusEvent};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventSummary<'a> {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
}

pub fn summarise(e: &SequencedEvent) -> EventSummary<'_> {
    use StatusEvent as E;
    let (builder, number) = match &e.event {
        E::BuilderAdded { builder } => (Some(builder.name.as_str()), None),
        E::BuilderRemoved { name } | E::BuilderStateChanged { name, .. } => (Some(name.as_str()), None),
        E::BuildRequestSubmitted { request } => (Some(request.builder.as_str()), None),
        E::BuildRequestCancelled { builder, .. } => (Some(builder.as_str()), None),
        E::BuildStarted { build, .. } => (Some(build.builder.as_str()), Some(build.number)),
        E::BuildFinished { builder, number, .. }
        | E::StepStarted { builder, number, .. }
        | E::BuildPropertiesChanged { builder, number, .. }
        | E::StepFinished { builder, number, .. }
        | E::StepTextChanged { builder, number, .. }
        | E::StepUrlAdded { builder, number, .. }
        | E::LogStarted { builder, number, .. }
        | E::LogChunk { builder, number, .. }
        | E::LogFinished { builder, number, .. } => (Some(builder.as_str()), Some(*number)),
        _ => (None, None),
    };
    EventSummary { seq: e.seq, kind: e.event.kind(), builder, number }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_the_build_and_nothing_of_its_log() {
        let chunk = StatusEvent::LogChunk {
            builder: "linux".into(),
            number: 4,
            step: 0,
            log: "stdio".into(),
            channel: crate::domain::event::Channel::Stdout,
            text: "secret log text".into(),
        };
        let json = serde_json::to_string(&summarise(&SequencedEvent { seq: 9, event: chunk })).unwrap_or_default();
        assert_eq!(json, r#"{"seq":9,"type":"log_chunk","builder":"linux","number":4}"#);
    }
}
