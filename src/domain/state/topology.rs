//! Builders and workers: what the master is configured with and which workers are there.
//! Their events change no build; they decide where builds can run.

use super::{Applied, ApplyError, CONNECT_TIMES_KEPT, Mutation, StatusState};
use crate::domain::model::{Builder, Timestamp, Worker};

impl StatusState {
    /// A builder described, new or again: the newest description wins. A builder new to the
    /// state has an empty window that must be filled from the store (`fill_window`), and is
    /// unusable for listings until it is.
    pub(super) fn add_builder(&mut self, builder: &Builder, out: &mut Applied) {
        if !self.builders.contains_key(&builder.name) {
            self.unloaded.insert(builder.name.clone());
            out.fill_window = Some(builder.name.clone());
        }
        self.builders.insert(builder.name.clone(), builder.clone());
        out.mutations.push(Mutation::PutBuilder(builder.clone()));
    }

    /// A builder no longer configured: its window goes with it (its builds stay in the store).
    pub(super) fn remove_builder(&mut self, name: &str, out: &mut Applied) -> Result<(), ApplyError> {
        self.builders.remove(name).ok_or_else(|| ApplyError::UnknownBuilder(name.to_owned()))?;
        self.announced.remove(name);
        self.unloaded.remove(name);
        self.recent.remove(name);
        out.mutations.push(Mutation::RemoveBuilder(name.to_owned()));
        Ok(())
    }

    /// A worker described (admin, host, version, paused). Whether it is connected, when it
    /// was last heard of and its connection times are the state's, never the description's:
    /// a new worker is not connected until it connects.
    pub(super) fn describe_worker(&mut self, worker: &Worker, out: &mut Applied) {
        let mut w = worker.clone();
        if let Some(old) = self.workers.get(&w.name) {
            w.connected = old.connected;
            w.last_heard = old.last_heard;
            w.connect_times = old.connect_times.clone();
        } else {
            w.connected = false;
            w.connect_times.clear();
        }
        out.mutations.push(Mutation::PutWorker(w.clone()));
        self.workers.insert(w.name.clone(), w);
    }

    /// A worker connected at `at`: it is added if unknown; its connection times keep the
    /// newest [`CONNECT_TIMES_KEPT`].
    pub(super) fn connect_worker(&mut self, worker: &Worker, at: Timestamp, out: &mut Applied) {
        let mut w = worker.clone();
        let old = self.workers.get(&w.name);
        w.connect_times = old.map(|o| o.connect_times.clone()).unwrap_or_default();
        w.connect_times.push(at);
        let excess = w.connect_times.len().saturating_sub(CONNECT_TIMES_KEPT);
        w.connect_times.drain(..excess);
        w.connected = true;
        w.last_heard = Some(at);
        out.mutations.push(Mutation::PutWorker(w.clone()));
        self.workers.insert(w.name.clone(), w);
    }

    /// A known worker disconnected: a disconnected worker is not paused either.
    pub(super) fn disconnect_worker(&mut self, name: &str, at: Timestamp, out: &mut Applied) -> Result<(), ApplyError> {
        let w = self.worker_mut(name)?;
        w.connected = false;
        w.paused = false;
        w.last_heard = Some(at);
        out.mutations.push(Mutation::PutWorker(w.clone()));
        Ok(())
    }

    /// A known worker paused or unpaused.
    pub(super) fn pause_worker(&mut self, name: &str, paused: bool, out: &mut Applied) -> Result<(), ApplyError> {
        let w = self.worker_mut(name)?;
        w.paused = paused;
        out.mutations.push(Mutation::PutWorker(w.clone()));
        Ok(())
    }

    fn worker_mut(&mut self, name: &str) -> Result<&mut Worker, ApplyError> {
        self.workers.get_mut(name).ok_or_else(|| ApplyError::UnknownWorker(name.to_owned()))
    }
}
