//! The outbox in memory: the reference semantics of the [`Outbox`] port, for tests, the
//! examples and servers that keep nothing. Nothing survives the process.
//!
//! Every call takes one mutex for its whole duration (never across an `.await`), so a claim
//! is atomic. `tests/it/contracts/outbox_contract.rs` runs the same tests against this and SQLite.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, OutboxMessage};
use crate::ports::{Outbox, OutboxError, TargetCounts};

#[derive(Debug, Default)]
pub struct MemoryOutbox {
    data: Mutex<Data>,
}

#[derive(Debug, Default)]
struct Data {
    /// By (target, id); `order` gives insertion order for "oldest first".
    messages: BTreeMap<(String, String), (u64, OutboxMessage)>,
    order: u64,
    cursors: BTreeMap<String, u64>,
    notes: BTreeMap<(String, String), String>,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(target: &str, id: &str) -> (String, String) {
    (target.to_owned(), id.to_owned())
}

fn unknown(target: &str, id: &str) -> OutboxError {
    OutboxError::storage(format!("no message '{id}' for target '{target}'"))
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, message: &OutboxMessage) -> Result<bool, OutboxError> {
        let mut data = self.data();
        let k = key(&message.target, &message.id);
        if data.messages.contains_key(&k) {
            return Ok(false);
        }
        data.order += 1;
        let order = data.order;
        data.messages.insert(k, (order, message.clone()));
        Ok(true)
    }

    async fn claim_due(
        &self,
        target: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let mut data = self.data();
        let mut due: Vec<&mut (u64, OutboxMessage)> = data
            .messages
            .values_mut()
            .filter(|(_, m)| m.target == target && m.state == DeliveryState::Pending && m.next_attempt <= now)
            .collect();
        due.sort_by_key(|(order, m)| (m.next_attempt, *order));
        due.truncate(limit);
        due.sort_by_key(|(order, _)| *order);
        Ok(due
            .into_iter()
            .map(|(_, m)| {
                m.next_attempt = lease_until;
                m.clone()
            })
            .collect())
    }

    async fn mark_sent(&self, target: &str, id: &str, at: Timestamp) -> Result<(), OutboxError> {
        let mut data = self.data();
        let (_, m) = data.messages.get_mut(&key(target, id)).ok_or_else(|| unknown(target, id))?;
        m.state = DeliveryState::Sent;
        m.attempts += 1;
        m.next_attempt = at;
        Ok(())
    }

    async fn mark_failed(
        &self,
        target: &str,
        id: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<(), OutboxError> {
        let mut data = self.data();
        let (_, m) = data.messages.get_mut(&key(target, id)).ok_or_else(|| unknown(target, id))?;
        m.attempts += 1;
        m.last_error = Some(error.to_owned());
        match retry_at {
            Some(t) => m.next_attempt = t,
            None => {
                m.state = DeliveryState::Failed;
                m.next_attempt = at;
            }
        }
        Ok(())
    }

    async fn next_due(&self, target: &str) -> Result<Option<Timestamp>, OutboxError> {
        let data = self.data();
        let pending = data.messages.values().map(|(_, m)| m);
        Ok(pending.filter(|m| m.target == target && m.state == DeliveryState::Pending).map(|m| m.next_attempt).min())
    }

    async fn message(&self, target: &str, id: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        Ok(self.data().messages.get(&key(target, id)).map(|(_, m)| m.clone()))
    }

    async fn log(
        &self,
        target: &str,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let data = self.data();
        let mut found: Vec<&(u64, OutboxMessage)> =
            data.messages.values().filter(|(_, m)| m.target == target && state.is_none_or(|s| m.state == s)).collect();
        found.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
        Ok(found.into_iter().take(limit).map(|(_, m)| m.clone()).collect())
    }

    async fn counts(&self) -> Result<Vec<TargetCounts>, OutboxError> {
        let data = self.data();
        let mut counts: BTreeMap<&str, TargetCounts> = BTreeMap::new();
        for (_, m) in data.messages.values() {
            let c = counts
                .entry(&m.target)
                .or_insert_with(|| TargetCounts { target: m.target.clone(), ..TargetCounts::default() });
            match m.state {
                DeliveryState::Pending => c.pending += 1,
                DeliveryState::Sent => c.sent += 1,
                DeliveryState::Failed => c.failed += 1,
            }
        }
        Ok(counts.into_values().collect())
    }

    async fn cursor(&self, target: &str) -> Result<Option<u64>, OutboxError> {
        Ok(self.data().cursors.get(target).copied())
    }

    async fn set_cursor(&self, target: &str, seq: u64) -> Result<(), OutboxError> {
        let mut data = self.data();
        let c = data.cursors.entry(target.to_owned()).or_insert(0);
        *c = (*c).max(seq);
        Ok(())
    }

    async fn note(&self, target: &str, key: &str) -> Result<Option<String>, OutboxError> {
        Ok(self.data().notes.get(&(target.to_owned(), key.to_owned())).cloned())
    }

    async fn set_note(&self, target: &str, key: &str, value: Option<&str>) -> Result<(), OutboxError> {
        let mut data = self.data();
        let k = (target.to_owned(), key.to_owned());
        match value {
            Some(v) => data.notes.insert(k, v.to_owned()),
            None => data.notes.remove(&k),
        };
        Ok(())
    }
}
