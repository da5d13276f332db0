//! The bytes of `/events` messages, made once: a `status` message lists its events' summaries
//! (and keeps where each one starts, so that a stream that already has the first few can be
//! sent the rest without serialising anything again); a `summary` message says what a client
//! far behind missed, in a few numbers.

use bytes::Bytes;

use crate::domain::event::SequencedEvent;
use crate::domain::web::live::summarise;

/// The most events a catching-up message lists one by one; more are summarised.
pub const LISTED: usize = 256;

/// A `status` message, serialised once and shared by every stream it goes to.
#[derive(Debug)]
pub struct Listing {
    /// The newest event number before this message's (log chunks included): the events of
    /// a stream at `after` continue with this message.
    pub after: u64,
    /// Its newest event number, the message's `id`.
    pub last: u64,
    /// Each listed event's number and where its summary starts in `bytes`.
    starts: Vec<(u64, usize)>,
    /// The whole message on the wire: its data is the JSON array of the summaries.
    pub bytes: Bytes,
}

impl Listing {
    /// The message of `events` (none of them a log chunk), which follow the number `after`.
    pub fn new(after: u64, events: &[SequencedEvent]) -> Self {
        let last = events.last().map_or(after, |e| e.seq);
        let mut text = format!("id: {last}\nevent: status\ndata: [");
        text.reserve(events.len() * 80 + 3);
        let mut starts = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            starts.push((e.seq, text.len()));
            // Summaries are plain strings and numbers: encoding them cannot fail.
            text.push_str(&serde_json::to_string(&summarise(e)).unwrap_or_default());
        }
        text.push_str("]\n\n");
        Self { after, last, starts, bytes: Bytes::from(text) }
    }

    /// The message for a stream that already has the events up to `seen` (at least `after`):
    /// this one's bytes, or a message of the events after `seen` only.
    pub fn after(&self, seen: u64) -> Option<Bytes> {
        if seen <= self.after {
            return Some(self.bytes.clone());
        }
        let first = self.starts.partition_point(|(seq, _)| *seq <= seen);
        let (_, start) = self.starts.get(first)?;
        // The rest of the array, without the message's closing blank line.
        let rest = String::from_utf8_lossy(&self.bytes[*start..self.bytes.len() - 2]);
        Some(frame(self.last, "status", &format!("[{rest}")))
    }
}

/// A message for a stream catching up: `events` listed when they are few, else summarised
/// (the numbers they cover, how many, and the builders they touched): a page refreshes once
/// either way.
pub fn catching_up(events: &[SequencedEvent]) -> Bytes {
    if events.len() <= LISTED {
        return Listing::new(0, events).bytes;
    }
    let last = events.last().map_or(0, |e| e.seq);
    let builders: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| summarise(e).builder).collect();
    let first = events.first().map_or(0, |e| e.seq);
    let summary = serde_json::json!({ "from": first, "to": last, "count": events.len(), "builders": builders });
    frame(last, "summary", &summary.to_string())
}

/// One Server-Sent Events message; `data` holds no line break (it is compact JSON).
fn frame(id: u64, kind: &str, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::StatusEvent;

    fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<SequencedEvent> {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        seqs.map(|seq| SequencedEvent { seq, event: StatusEvent::Reconfigured { at } }).collect()
    }

    #[test]
    fn a_stream_part_way_through_a_message_gets_the_rest_of_it() {
        let listing = Listing::new(3, &events(5..=7));
        let whole = String::from_utf8_lossy(&listing.bytes).into_owned();
        assert!(whole.starts_with("id: 7\nevent: status\ndata: [{\"seq\":5,"), "{whole}");
        assert_eq!(listing.after(3), Some(listing.bytes.clone()));
        let rest = listing.after(5).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let data: serde_json::Value =
            serde_json::from_str(rest.lines().nth(2).and_then(|l| l.strip_prefix("data: ")).unwrap_or(""))
                .unwrap_or_default();
        let seqs: Vec<u64> = data.as_array().into_iter().flatten().filter_map(|e| e["seq"].as_u64()).collect();
        assert_eq!(seqs, [6, 7]);
        assert_eq!(listing.after(7), None);
    }

    #[test]
    fn many_events_to_catch_up_on_are_summarised() {
        let text = String::from_utf8_lossy(&catching_up(&events(1..=300))).into_owned();
        assert!(text.starts_with("id: 300\nevent: summary\ndata: {"), "{text}");
        assert!(text.contains("\"count\":300") && text.contains("\"from\":1"), "{text}");
        let few = String::from_utf8_lossy(&catching_up(&events(1..=3))).into_owned();
        assert!(few.starts_with("id: 3\nevent: status\n"), "{few}");
    }
}
