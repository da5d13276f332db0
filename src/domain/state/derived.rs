//! The events the state derives from others: each builder's "big state" (offline, idle,
//! building; [`BuilderState::of`]) announced whenever an event changes it, whether or not a
//! sender reports it.
//!
//! The rule: building while one of its builds runs; else idle while one of its workers is
//! connected (paused or not, as 0.8 had it); else offline. A builder's state can change only
//! when it is described (added: its first state is announced), when one of its builds starts
//! or finishes, or when one of its workers is described, connects, disconnects or is paused or
//! unpaused; those events are the only ones that look. Each builder's last announced state is
//! kept, so a state is announced once per change, never twice in a row. At start it is the
//! derived state of what is stored, which the journal announced last (every change was
//! journaled in the commit of its cause).
//!
//! 0.8's legacy `waiting` is not derived: no sender tells whether a worker is free (its
//! `max_builds`, its locks), so a builder with requests waiting and a connected worker may or
//! may not be about to build; 0.8.12 never produced it either, and every consumer of the
//! state (IRC `status`, PB, StatusPush, `/json`, the pages) knows the three states above.
//!
//! A sender's own `BuilderStateChanged` is a claim about what the state derives itself: its
//! builder must exist, and then it is absorbed (neither stored, journaled nor published).
//! Followers thus see each change once, never a duplicate of the derived one, nor a
//! contradiction of it (a master relaying 0.8's callbacks reports `building` before the build
//! has started, for instance).

use super::{Applied, ApplyError, StatusState};
use crate::domain::event::StatusEvent;
use crate::domain::model::BuilderState;

impl StatusState {
    /// The builders whose state `event` may have changed (see the module doc).
    pub(super) fn builders_touched_by(&self, event: &StatusEvent) -> Vec<String> {
        use StatusEvent as E;
        match event {
            E::BuilderAdded { builder } => vec![builder.name.clone()],
            E::BuildStarted { build, .. } => vec![build.builder.clone()],
            E::BuildFinished { builder, .. } => vec![builder.clone()],
            E::WorkerAdded { worker } | E::WorkerConnected { worker, .. } => self.builders_served_by(&worker.name),
            E::WorkerDisconnected { name, .. } | E::WorkerPaused { name } | E::WorkerUnpaused { name } => {
                self.builders_served_by(name)
            }
            _ => Vec::new(),
        }
    }

    fn builders_served_by(&self, worker: &str) -> Vec<String> {
        self.builders.values().filter(|b| b.workers.iter().any(|w| w == worker)).map(|b| b.name.clone()).collect()
    }

    /// Announces, in `out.derived`, the state of each of `builders` that differs from the one
    /// announced last.
    pub(super) fn announce(&mut self, builders: Vec<String>, out: &mut Applied) {
        for name in builders {
            if !self.builders.contains_key(&name) {
                continue;
            }
            let state = self.builder_state(&name);
            if self.announced.get(&name) != Some(&state) {
                self.announced.insert(name.clone(), state);
                out.derived.push(StatusEvent::BuilderStateChanged { name, state });
            }
        }
    }

    /// A sender's `BuilderStateChanged`: checked, then absorbed (see the module doc).
    pub(super) fn claim_builder_state(&self, name: &str, out: &mut Applied) -> Result<(), ApplyError> {
        self.require_builder(name)?;
        out.absorbed = true;
        Ok(())
    }

    /// Every builder's state as derived now: what was announced last, at start.
    pub(super) fn derived_states(&self) -> std::collections::BTreeMap<String, BuilderState> {
        self.builders.keys().map(|name| (name.clone(), self.builder_state(name))).collect()
    }
}

#[cfg(test)]
mod tests;
