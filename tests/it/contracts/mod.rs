//! Port contracts: the same tests against every implementation of a port.

mod delivery;
mod hub;
mod log_store;
mod outbox_contract;
mod postgres_store;
mod store_contract;
