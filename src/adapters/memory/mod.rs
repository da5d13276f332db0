//! In-memory implementations of the ports: the reference semantics of each contract, and the
//! doubles that tests, examples and the demo use. Nothing here survives the process. Each
//! module stands in for one port, and each type is named `Memory` + what it holds, like
//! lettre's stub transport beside its real ones:
//!
//! | module | type | port | also used in production |
//! |---|---|---|---|
//! | [`store`] | [`MemoryStore`] | `StatusStore`, `StatusReader` | `Storage::Memory` |
//! | [`logs`] | [`MemoryLogStore`] | `LogStore` | `Storage::Memory` |
//! | [`bus`] | [`MemoryBus`] | `EventBus` | always: the in-process fan-out of live events |
//! | [`outbox`] | [`MemoryOutbox`] | `Outbox` | `Storage::Memory` |
//! | [`mail`] | [`MemoryMail`] | `MailTransport` | no: keeps what it is given, fails when told |
//! | [`review`] | [`MemoryReviews`] | `CommitStatusApi`, `ReviewApi` | no: keeps what it is given, fails when told |
//! | [`changes`] | [`MemoryChanges`], [`MemoryPollers`] | `ChangeSink`, `PollTrigger` | `MemoryPollers` with no names: a server without pollers |
//! | [`clock`] | [`MemoryClock`] | `Clock` | no: moves only when told |
//! | [`master`] | [`MemoryMaster`], [`NoMaster`] | `MasterControl` | `NoMaster`: a server without a master |
//! | [`users`] | [`MemoryUsers`] | `Authenticator` | no: passwords in the clear (production ones are hashed: `adapters::passwords`) |
//!
//! Every call takes its mutex for its whole duration and never across an `.await`, so each
//! call is atomic; the contract suites (`tests/it/contracts`) run the same tests against these
//! and the real adapters.

pub mod bus;
pub mod changes;
pub mod clock;
pub mod logs;
pub mod mail;
pub mod master;
pub mod outbox;
pub mod review;
pub mod store;
pub mod users;

pub use bus::MemoryBus;
pub use changes::{MemoryChanges, MemoryPollers};
pub use clock::MemoryClock;
pub use logs::MemoryLogStore;
pub use mail::MemoryMail;
pub use master::{MemoryMaster, NoMaster};
pub use outbox::MemoryOutbox;
pub use review::MemoryReviews;
pub use store::MemoryStore;
pub use users::MemoryUsers;
