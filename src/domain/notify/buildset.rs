//! Which builds a finished buildset is made of, as notifiers that summarise buildsets need it
//! (mail's `buildSetSummary`, Gerrit's summary): for each of its build requests, the *last*
//! build that claimed it, so a build retried after a lost worker counts once, by its retry
//! (spec-notify-8 M13, G7). Fed the journal's events in order, from the buildset's submission
//! to its end.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::event::StatusEvent;
use crate::domain::model::BuildKey;

/// The builds of one buildset, gathered event by event.
#[derive(Clone, Debug)]
pub struct BuildsetBuilds {
    id: u64,
    requests: BTreeSet<u64>,
    /// Request → the last build that claimed it.
    builds: BTreeMap<u64, BuildKey>,
}

impl BuildsetBuilds {
    pub fn new(id: u64) -> Self {
        Self { id, requests: BTreeSet::new(), builds: BTreeMap::new() }
    }

    /// Takes in the next event of the journal.
    pub fn see(&mut self, event: &StatusEvent) {
        match event {
            StatusEvent::BuildRequestSubmitted { request } if request.buildset_id == Some(self.id) => {
                self.requests.insert(request.id);
            }
            StatusEvent::BuildStarted { build, requests } => {
                for r in requests.iter().filter(|r| self.requests.contains(r)) {
                    self.builds.insert(*r, build.key());
                }
            }
            _ => {}
        }
    }

    /// The builds, each once, in (builder, number) order.
    pub fn builds(&self) -> Vec<BuildKey> {
        let distinct: BTreeSet<&BuildKey> = self.builds.values().collect();
        distinct.into_iter().cloned().collect()
    }
}
