//! Ports: the traits the core needs from the world, and the one it offers a master.
//!
//! Architecture invariant: ports import only `domain`. Each trait has its own error type, and
//! at least two implementations: a real adapter and an in-memory one for tests and the demo.

mod bus;
mod changes;
mod clock;
mod ingest;
mod logs;
mod mail;
mod master;
mod outbox;
mod sink;
mod store;

pub use bus::{BusError, EventBus, EventFeed, EventStream};
pub use changes::{ChangeError, ChangeSink, PollTrigger};
pub use clock::Clock;
pub use ingest::{IngestSink, Receipt};
pub use logs::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};
pub use mail::{MailError, MailTransport};
pub use master::{ControlError, ForceRequest, MasterControl};
pub use outbox::{Outbox, OutboxError, TargetCounts};
pub use sink::{SinkError, StatusSink};
pub use store::{
    BuildOrder, BuildQuery, ChangeQuery, Commit, SCANNED_BUILDERS, StatusReader, StatusStore, StoreError, StoreMeta,
};
