//! A push target's notifier: turns the events into numbered packets and queues them, with
//! the packet counter, `started` and the journal cursor in the same write (so a crash can
//! neither lose nor repeat a packet id, spec-notify-8 S6); at start it replays the builders and
//! says `start`, at a stop `shutdown`. A queue holding more than the target's capacity drops
//! its oldest waiting packets, which `/notifications` counts as dropped.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::read::Reads;
use crate::app::notify::{Notifier, NotifyError, Queue};
use crate::domain::event::SequencedEvent;
use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::Record;
use crate::domain::notify::push::{Draft, Envelope, EventName, PushRules, encode, payload, time_text};
use crate::domain::web::layout::Site;
use crate::ports::{Clock, StatusReader};

/// The notes a push target keeps.
const NEXT_ID: &str = "next_id";
const STARTED: &str = "started";

pub(crate) struct PushNotifier {
    pub(super) rules: PushRules,
    pub(super) reader: Arc<dyn StatusReader>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) site: Site,
    pub(super) queue: Queue,
    pub(super) state: Mutex<Counter>,
}

/// What the notifier keeps between events.
#[derive(Default)]
pub(super) struct Counter {
    /// The next packet's id and the target's `started`, as stored; `None` until read (and
    /// after a write that may or may not have happened).
    stored: Option<(u64, String)>,
    /// The last event whose packets are stored (the cursor written with them), read with
    /// `stored`: an event the follower gives again (its batch failed after the packets were
    /// written) is not numbered twice.
    through: u64,
    /// How many packets may be waiting, at most: counted exactly when it passes the capacity.
    open: u64,
}

impl PushNotifier {
    /// The counter and `started`, read from the notes when not known; `started` is now for a
    /// target that never queued a packet (it is written with its first ones).
    async fn stored(&self, counter: &mut Counter) -> Result<(u64, String), NotifyError> {
        if let Some(known) = &counter.stored {
            return Ok(known.clone());
        }
        let next = match self.queue.note(NEXT_ID).await? {
            Some(text) => text.parse().map_err(|_| NotifyError::Other(format!("note {NEXT_ID} is '{text}'")))?,
            None => 1,
        };
        let started = self.queue.note(STARTED).await?.unwrap_or_else(|| time_text(self.clock.now()));
        counter.through = self.queue.cursor().await?.unwrap_or(0);
        counter.open = self.rules.capacity.saturating_add(1);
        counter.stored = Some((next, started.clone()));
        Ok((next, started))
    }

    /// Numbers, writes and queues `drafts` (those the target sends), with `cursor`; false when
    /// nothing was queued.
    async fn queue(&self, drafts: Vec<Draft>, cursor: Option<u64>, due_now: bool) -> Result<bool, NotifyError> {
        let drafts: Vec<Draft> = drafts.into_iter().filter(|d| self.rules.events.sends(d.event)).collect();
        if drafts.is_empty() {
            return Ok(false);
        }
        let mut counter = self.state.lock().await;
        let (next, started) = self.stored(&mut counter).await?;
        let now = self.clock.now();
        let due = if due_now { now } else { later(now, self.rules.buffer_delay) };
        let envelope = Envelope { project: self.site.title.clone(), started: started.clone() };
        let mut record = Record { cursor, ..Record::default() };
        let mut id = next;
        for draft in drafts {
            let draft = Draft { payload: self.rules.filter.apply(draft.payload), ..draft };
            let packet = envelope.packet(id, now, draft);
            let summary = format!("#{id} {}{}", packet.event, about(&packet.payload));
            match encode::packet_text(&packet, self.rules.style) {
                Ok(text) => record.messages.push(self.queue.message(&id.to_string(), text, summary, due)),
                // Refused now, with its reason, rather than lost when it is sent (S7).
                Err(reason) => {
                    tracing::warn!("{}: {summary} cannot be sent: {reason}", self.queue.target());
                    let mut unbuildable = self.queue.message(&id.to_string(), String::new(), summary, now);
                    unbuildable.state = crate::domain::notify::outbox::DeliveryState::Failed;
                    unbuildable.last_error = Some(reason);
                    record.messages.push(unbuildable);
                }
            }
            id += 1;
        }
        record.notes = vec![(NEXT_ID.to_owned(), Some(id.to_string())), (STARTED.to_owned(), Some(started.clone()))];
        counter.stored = None;
        let stored = self.queue.record(&record).await?;
        counter.stored = Some((id, started));
        counter.through = counter.through.max(cursor.unwrap_or(0));
        counter.open = counter.open.saturating_add(stored as u64);
        if counter.open > self.rules.capacity {
            // The packets are stored: a failed trim is tried again after the next packets,
            // not given to the follower as a failure (it would hand the events over again).
            let reason = format!("dropped: more than {} packets were waiting", self.rules.capacity);
            match self.queue.trim(self.rules.capacity, &reason).await {
                Ok(trimmed) => {
                    counter.open = trimmed.open;
                    if trimmed.dropped > 0 {
                        tracing::warn!(
                            "{}: {} waiting packets dropped, the oldest first: the queue holds at most {}",
                            self.queue.target(),
                            trimmed.dropped,
                            self.rules.capacity
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!("{}: the queue could not be trimmed, trying again later: {e}", self.queue.target())
                }
            }
        }
        Ok(true)
    }

    /// The last event whose packets are stored.
    async fn through(&self) -> Result<u64, NotifyError> {
        let mut counter = self.state.lock().await;
        self.stored(&mut counter).await?;
        Ok(counter.through)
    }
}

/// What a packet is about, for the delivery log.
fn about(payload: &serde_json::Map<String, serde_json::Value>) -> String {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let build = |v: &serde_json::Value| {
        Some(format!("{} #{}", v.get("builderName")?.as_str()?, v.get("number").and_then(|n| n.as_u64()).unwrap_or(0)))
    };
    let found = payload
        .get("build")
        .and_then(build)
        .or_else(|| payload.get("step").and_then(|s| s.get("name")).and_then(text).map(|s| format!("step {s}")))
        .or_else(|| payload.get("builderName").and_then(text))
        .or_else(|| payload.get("slavename").and_then(text))
        .or_else(|| payload.get("slave").and_then(|s| s.get("name")).and_then(text))
        .or_else(|| payload.get("change").and_then(|c| c.get("number")).map(|n| format!("change {n}")));
    found.map(|f| format!(" ({f})")).unwrap_or_default()
}

fn later(now: Timestamp, by: std::time::Duration) -> Timestamp {
    now.checked_add_signed(chrono::Duration::from_std(by).unwrap_or_default()).unwrap_or(now)
}

#[async_trait]
impl Notifier for PushNotifier {
    /// 0.8's subscription: `builderAdded` and `builderChangedState` for every builder, then
    /// `start` (a receiver must not take `start` for the first packet of a run).
    async fn started(&self, _from: u64) -> Result<(), NotifyError> {
        let mut reads = Reads::new(self.reader.as_ref(), &self.site, self.clock.now());
        let mut drafts = reads.builders().await?;
        drafts.push(payload::status(EventName::Start, &self.site));
        self.queue(drafts, None, false).await?;
        Ok(())
    }

    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        self.handle_batch(std::slice::from_ref(event)).await
    }

    /// The packets of every event, in one write with the cursor past the last: `Ok(false)`,
    /// as the follower has no cursor left to save.
    async fn handle_batch(&self, events: &[SequencedEvent]) -> Result<bool, NotifyError> {
        let through = self.through().await?;
        let events: Vec<&SequencedEvent> = events.iter().filter(|e| e.seq > through).collect();
        let sent: Vec<(&SequencedEvent, Vec<EventName>)> = (events.iter())
            .map(|e| (*e, EventName::of(&e.event).into_iter().filter(|n| self.rules.events.sends(*n)).collect()))
            .filter(|(_, names): &(_, Vec<EventName>)| !names.is_empty())
            .collect();
        let mut reads = Reads::new(self.reader.as_ref(), &self.site, self.clock.now());
        reads.prefetch(sent.iter().map(|(e, _)| &e.event)).await?;
        let mut drafts = Vec::new();
        for (event, names) in &sent {
            drafts.extend(reads.drafts(&event.event, names).await?);
        }
        self.queue(drafts, events.last().map(|e| e.seq), false).await?;
        Ok(false)
    }

    /// `shutdown`, due at once: the worker has a moment to send it before the server stops.
    async fn stopping(&self) -> Result<(), NotifyError> {
        // The follower was stopped, perhaps in the middle of a write: read the counter again.
        self.state.lock().await.stored = None;
        self.queue(vec![payload::status(EventName::Shutdown, &self.site)], None, true).await?;
        Ok(())
    }
}
