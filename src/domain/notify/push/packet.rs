//! A StatusPush packet: the envelope of spec-notify-5 §5.1.2 around one event's payload.
//! `id` counts the target's packets from 1 and never repeats (it is kept with the queue, so a
//! crash cannot reuse one, spec-notify-8 S6); with `started` it lets a receiver drop a packet
//! it got twice.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::events::EventName;
use crate::domain::model::Timestamp;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Packet {
    pub id: u64,
    /// When it was queued, as [`time_text`] writes it.
    pub timestamp: String,
    /// The master's title.
    pub project: String,
    /// When this target first started, as [`time_text`] writes it: with `id`, what makes a
    /// packet unique.
    pub started: String,
    /// The event's name ([`EventName::name`]).
    pub event: String,
    pub payload: Map<String, Value>,
}

/// A packet before it is numbered and dated: the event and its payload (filtered).
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub event: EventName,
    pub payload: Map<String, Value>,
}

impl Draft {
    pub fn new(event: EventName, entries: impl IntoIterator<Item = (&'static str, Value)>) -> Self {
        Self { event, payload: entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }
}

/// What every packet of a target carries besides its event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub project: String,
    pub started: String,
}

impl Envelope {
    pub fn packet(&self, id: u64, queued: Timestamp, draft: Draft) -> Packet {
        Packet {
            id,
            timestamp: time_text(queued),
            project: self.project.clone(),
            started: self.started.clone(),
            event: draft.event.name().to_owned(),
            payload: draft.payload,
        }
    }
}

/// UTC as 0.8 wrote it: `YYYY-MM-DD HH:MM:SS.ffffff`, the microseconds left out when zero.
pub fn time_text(t: Timestamp) -> String {
    let micros = t.timestamp_subsec_micros();
    if micros == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.format("%Y-%m-%d %H:%M:%S"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_0_8_did() {
        let t = chrono::DateTime::from_timestamp(1_433_161_296, 789_012_345).expect("time");
        assert_eq!(time_text(t), "2015-06-01 12:21:36.789012");
        let whole = chrono::DateTime::from_timestamp(1_433_161_296, 0).expect("time");
        assert_eq!(time_text(whole), "2015-06-01 12:21:36");
    }

    #[test]
    fn a_packet_is_its_envelope_around_the_draft() {
        let envelope = Envelope { project: "MyProj".into(), started: "2015-05-30 08:00:00.123456".into() };
        let t = chrono::DateTime::from_timestamp(1_433_161_296, 0).expect("time");
        let draft = Draft::new(EventName::SlavePaused, [("slavename", Value::from("w1"))]);
        let packet = envelope.packet(57, t, draft);
        assert_eq!(
            serde_json::to_value(&packet).expect("json"),
            serde_json::json!({"id": 57, "timestamp": "2015-06-01 12:21:36", "project": "MyProj",
                "started": "2015-05-30 08:00:00.123456", "event": "slavePaused", "payload": {"slavename": "w1"}})
        );
    }
}
