//! The outbox in memory: the reference semantics of the [`Outbox`] port, for tests, the
//! examples and servers that keep nothing. Nothing survives the process.
//!
//! Every call takes one mutex for its whole duration (never across an `.await`), so a claim
//! (with the superseding it does first) is atomic. `tests/it/contracts/outbox_contract.rs` runs the same tests against this and SQLite.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, Record, Retention, Trimmed};
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

/// The indexes of the `limit` messages of `mine` that `take` accepts and that have been due the
/// longest, in queue order.
fn longest_due(mine: &[&mut (u64, OutboxMessage)], take: impl Fn(&OutboxMessage) -> bool, limit: usize) -> Vec<usize> {
    let mut due: Vec<(Timestamp, usize)> =
        mine.iter().enumerate().filter(|(_, (_, m))| take(m)).map(|(i, (_, m))| (m.next_attempt, i)).collect();
    due.sort();
    let mut chosen: Vec<usize> = due.into_iter().take(limit).map(|(_, i)| i).collect();
    chosen.sort();
    chosen
}

impl Data {
    fn enqueue(&mut self, message: &OutboxMessage) -> bool {
        let k = key(&message.target, &message.id);
        if self.messages.contains_key(&k) {
            return false;
        }
        self.order += 1;
        let order = self.order;
        self.messages.insert(k, (order, message.clone()));
        true
    }

    /// `target`'s messages `ids`, each once: all of them, or an error naming one not stored
    /// (and nothing changed), as an outcome is recorded on a whole batch or not at all.
    fn all_of(&mut self, target: &str, ids: &[String]) -> Result<Vec<&mut OutboxMessage>, OutboxError> {
        if let Some(id) = ids.iter().find(|id| !self.messages.contains_key(&key(target, id))) {
            return Err(unknown(target, id));
        }
        let ids: BTreeSet<&String> = ids.iter().collect();
        Ok(self
            .messages
            .iter_mut()
            .filter(|((t, id), _)| t == target && ids.contains(id))
            .map(|(_, (_, m))| m)
            .collect())
    }

    /// `target`'s open messages, oldest first.
    fn open_of(&mut self, target: &str) -> Vec<&mut (u64, OutboxMessage)> {
        let mut open: Vec<&mut (u64, OutboxMessage)> =
            self.messages.values_mut().filter(|(_, m)| m.target == target && m.state.is_open()).collect();
        open.sort_by_key(|(order, _)| *order);
        open
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
        Ok(self.data().enqueue(message))
    }

    async fn record(&self, target: &str, record: &Record) -> Result<usize, OutboxError> {
        if let Some(m) = record.messages.iter().find(|m| m.target != target) {
            return Err(OutboxError::storage(format!(
                "message '{}' is of target '{}', not '{target}'",
                m.id, m.target
            )));
        }
        let mut data = self.data();
        let stored = record.messages.iter().filter(|m| data.enqueue(m)).count();
        for (name, value) in &record.notes {
            let k = (target.to_owned(), name.clone());
            match value {
                Some(v) => data.notes.insert(k, v.clone()),
                None => data.notes.remove(&k),
            };
        }
        if let Some(seq) = record.cursor {
            let c = data.cursors.entry(target.to_owned()).or_insert(0);
            *c = (*c).max(seq);
        }
        Ok(stored)
    }

    async fn trim_open(&self, target: &str, keep: u64, reason: &str, at: Timestamp) -> Result<Trimmed, OutboxError> {
        let mut data = self.data();
        let mut open = data.open_of(target);
        let mut excess = (open.len() as u64).saturating_sub(keep);
        let mut dropped = 0;
        for (_, m) in open.iter_mut() {
            if excess == 0 {
                break;
            }
            if m.state == DeliveryState::Pending {
                m.state = DeliveryState::Dropped;
                m.last_error = Some(reason.to_owned());
                m.next_attempt = at;
                excess -= 1;
                dropped += 1;
            }
        }
        Ok(Trimmed { dropped, open: open.len() as u64 - dropped })
    }

    async fn head(&self, target: &str) -> Result<Option<OutboxMessage>, OutboxError> {
        Ok(self.data().open_of(target).first().map(|(_, m)| m.clone()))
    }

    async fn release(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError> {
        for m in self.data().all_of(target, ids)? {
            m.state = DeliveryState::Pending;
            m.next_attempt = at;
        }
        Ok(())
    }

    async fn release_leases(&self, target: &str, at: Timestamp) -> Result<u64, OutboxError> {
        let mut data = self.data();
        let mut released = 0;
        for (_, m) in data.open_of(target) {
            if m.state == DeliveryState::Sending {
                m.state = DeliveryState::Pending;
                m.next_attempt = at;
                released += 1;
            }
        }
        Ok(released)
    }

    async fn claim(
        &self,
        target: &str,
        discipline: Discipline,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let mut data = self.data();
        // This target's messages in the order they were queued.
        let mut mine: Vec<&mut (u64, OutboxMessage)> =
            data.messages.values_mut().filter(|(_, m)| m.target == target).collect();
        mine.sort_by_key(|(order, _)| *order);
        let due = |m: &OutboxMessage| m.state.is_open() && m.next_attempt <= now;
        let in_flight = |m: &OutboxMessage| m.state == DeliveryState::Sending && m.next_attempt > now;
        let chosen: Vec<usize> = match discipline {
            Discipline::Concurrent => longest_due(&mine, |m| due(m), limit),
            Discipline::Ordered => {
                let open: Vec<usize> = (0..mine.len()).filter(|i| mine[*i].1.state.is_open()).collect();
                match open.first() {
                    Some(head) if due(&mine[*head].1) => open.into_iter().take(limit).collect(),
                    _ => Vec::new(),
                }
            }
            Discipline::LatestPerKey => {
                // The newest message of each key, whatever its state.
                let mut newest: BTreeMap<&str, usize> = BTreeMap::new();
                for (i, (_, m)) in mine.iter().enumerate() {
                    if let Some(k) = &m.key {
                        newest.insert(k.as_str(), i);
                    }
                }
                let newest: BTreeMap<String, usize> = newest.into_iter().map(|(k, i)| (k.to_owned(), i)).collect();
                let outdated = |i: usize, m: &OutboxMessage| m.key.as_ref().is_some_and(|k| newest[k] != i);
                for (i, (_, m)) in mine.iter_mut().enumerate() {
                    if m.state.is_open() && !in_flight(m) && outdated(i, m) {
                        m.state = DeliveryState::Superseded;
                        m.next_attempt = now;
                    }
                }
                let busy: BTreeSet<String> =
                    mine.iter().filter(|(_, m)| in_flight(m)).filter_map(|(_, m)| m.key.clone()).collect();
                longest_due(&mine, |m| due(m) && m.key.as_ref().is_none_or(|k| !busy.contains(k)), limit)
            }
        };
        let mut claimed = Vec::with_capacity(chosen.len());
        for i in chosen {
            let m = &mut mine[i].1;
            m.state = DeliveryState::Sending;
            m.next_attempt = lease_until;
            claimed.push(m.clone());
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, target: &str, ids: &[String], at: Timestamp) -> Result<(), OutboxError> {
        for m in self.data().all_of(target, ids)? {
            m.state = DeliveryState::Sent;
            m.attempts = m.attempts.saturating_add(1);
            m.next_attempt = at;
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<(), OutboxError> {
        for m in self.data().all_of(target, ids)? {
            m.attempts = m.attempts.saturating_add(1);
            m.last_error = Some(error.to_owned());
            (m.state, m.next_attempt) = match retry_at {
                Some(t) => (DeliveryState::Pending, t),
                None => (DeliveryState::Failed, at),
            };
        }
        Ok(())
    }

    async fn mark_deferred(
        &self,
        target: &str,
        ids: &[String],
        error: &str,
        until: Timestamp,
    ) -> Result<(), OutboxError> {
        let mut data = self.data();
        for m in data.all_of(target, ids)? {
            (m.state, m.last_error, m.next_attempt) = (DeliveryState::Pending, Some(error.to_owned()), until);
        }
        for (_, m) in data.messages.values_mut() {
            if m.target == target && m.state == DeliveryState::Pending {
                m.next_attempt = m.next_attempt.max(until);
            }
        }
        Ok(())
    }

    async fn next_due(&self, target: &str) -> Result<Option<Timestamp>, OutboxError> {
        let data = self.data();
        let open = data.messages.values().map(|(_, m)| m).filter(|m| m.target == target && m.state.is_open());
        Ok(open.map(|m| m.next_attempt).min())
    }

    async fn prune(&self, target: &str, keep: Retention, now: Timestamp) -> Result<u64, OutboxError> {
        let mut data = self.data();
        let cutoff = keep.cutoff(now);
        let mut done: Vec<(u64, Timestamp, (String, String))> = (data.messages.iter())
            .filter(|(_, (_, m))| m.target == target && !m.state.is_open())
            .map(|(k, (order, m))| (*order, m.next_attempt, k.clone()))
            .collect();
        done.sort_by_key(|(order, _, _)| std::cmp::Reverse(*order));
        let mut pruned = 0;
        for (rank, (_, finished, k)) in done.into_iter().enumerate() {
            if rank >= keep.max_count || finished < cutoff {
                data.messages.remove(&k);
                pruned += 1;
            }
        }
        Ok(pruned)
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
            *c.of(m.state) += 1;
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
