//! StatusPush and HttpStatusPush (spec-notify-5): every status event as a numbered packet,
//! in order, to a callback or an HTTP receiver. Pure: which events a target sends
//! ([`events`]), each event's payload from the objects of `/json` ([`payload`]), what the
//! payload leaves out ([`filter`]), the packet envelope ([`packet`]) and the wire format
//! with its request sizes ([`encode`]). The app reads the objects, numbers and queues the
//! packets; the framework's ordered delivery sends them.

pub mod encode;
pub mod events;
pub mod filter;
pub mod packet;
pub mod payload;

use std::time::Duration;

pub use encode::{Form, Style};
pub use events::{EventFilter, EventName};
pub use filter::PayloadFilter;
pub use packet::{Draft, Envelope, Packet, time_text};

/// What a push target sends and how it queues it, whatever carries the packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRules {
    /// The target's name: `push/NAME` or `http_push/NAME`.
    pub name: String,
    pub events: EventFilter,
    pub filter: PayloadFilter,
    /// How packets are written when queued.
    pub style: Style,
    /// How long a packet waits before it goes, so that those queued meanwhile go with it
    /// (`bufferDelay`).
    pub buffer_delay: Duration,
    /// The most packets waiting: past it the oldest waiting are dropped, and counted
    /// (0.8's `maxMemoryItems` + `maxDiskItems`).
    pub capacity: u64,
}

impl PushRules {
    /// 0.8's defaults: every event it sent, a second's buffering, 10,000 + 100,000 packets.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            events: EventFilter::default(),
            filter: PayloadFilter::default(),
            style: Style::Compact,
            buffer_delay: Duration::from_secs(1),
            capacity: DEFAULT_MEMORY_ITEMS + DEFAULT_DISK_ITEMS,
        }
    }
}

/// 0.8's `maxMemoryItems` default.
pub const DEFAULT_MEMORY_ITEMS: u64 = 10_000;
/// 0.8's `maxDiskItems` default.
pub const DEFAULT_DISK_ITEMS: u64 = 100_000;
