//! [`ChangeSink`] and [`PollTrigger`] in memory: the reference for tests of the hooks, which
//! then read exactly what was added and which pollers were woken.
//!
//! Guarantees: changes are numbered from 1 in arrival order; a batch is added whole, under one
//! lock; `fail_next` makes the next batch fail with nothing added, to test the all-or-nothing
//! path.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::hooks::NewChange;
use crate::domain::model::Change;
use crate::ports::{ChangeError, ChangeSink, PollTrigger};

#[derive(Debug, Default)]
pub struct MemoryChanges {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    changes: Vec<Change>,
    fail_next: bool,
}

impl MemoryChanges {
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every change added, in order.
    pub fn changes(&self) -> Vec<Change> {
        self.inner().changes.clone()
    }

    /// The next `add_changes` fails with a storage error and adds nothing.
    pub fn fail_next(&self) {
        self.inner().fail_next = true;
    }
}

#[async_trait]
impl ChangeSink for MemoryChanges {
    async fn add_changes(&self, changes: Vec<NewChange>) -> Result<Vec<u64>, ChangeError> {
        let mut inner = self.inner();
        if std::mem::take(&mut inner.fail_next) {
            return Err(ChangeError::storage("the memory sink was told to fail".to_owned()));
        }
        let first = inner.changes.len() as u64 + 1;
        let numbers: Vec<u64> = (first..).take(changes.len()).collect();
        inner.changes.extend(changes.into_iter().zip(&numbers).map(|(c, n)| c.numbered(*n)));
        Ok(numbers)
    }
}

/// Named pollers that only remember when they were asked to poll.
#[derive(Debug, Default)]
pub struct MemoryPollers {
    names: Vec<String>,
    polled: Mutex<Vec<Vec<String>>>,
}

impl MemoryPollers {
    pub fn new(names: &[&str]) -> Self {
        Self { names: names.iter().map(|n| (*n).to_owned()).collect(), polled: Mutex::default() }
    }

    /// Each `poll_now` call's names, in order.
    pub fn polled(&self) -> Vec<Vec<String>> {
        self.polled.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl PollTrigger for MemoryPollers {
    fn pollers(&self) -> Vec<String> {
        self.names.clone()
    }

    fn poll_now(&self, names: &[String]) {
        self.polled.lock().unwrap_or_else(|e| e.into_inner()).push(names.to_vec());
    }
}
