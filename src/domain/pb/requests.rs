//! Which builds each build request of a buildset got, as a PB client's BuildRequest objects
//! answer it (`getBuilds`, `newbuild` to their observers). The store forgets a request once a
//! build claims it, so a connection learns the claims from the events it follows, from its
//! login on: a request is known by its buildset and builder (0.8 made one request per builder
//! of a buildset), and by the request ids the events and the pending list name for it.
//! Bounded: what events teach is kept for at most `limit` requests, only while their buildset
//! is open or the client holds a reference to them; observers are at most `limit` too.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::event::StatusEvent;

/// A build request as a client holds it: its buildset and its builder.
pub type RequestKey = (u64, String);

#[derive(Debug, Default)]
struct Tracked {
    ids: BTreeSet<u64>,
    /// Numbers of the builds (of the key's builder) that claimed it, in start order.
    builds: Vec<u32>,
    observers: Vec<i64>,
    /// The client holds a reference to it.
    held: bool,
    /// Its buildset finished: no build will claim it any more.
    finished: bool,
}

/// A `newbuild(build, builderName)` call to make on the client's `observer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBuild {
    pub observer: i64,
    pub builder: String,
    pub number: u32,
}

/// Why an observer was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyObservers;

#[derive(Debug)]
pub struct Requests {
    tracked: BTreeMap<RequestKey, Tracked>,
    limit: usize,
}

impl Requests {
    pub fn new(limit: usize) -> Self {
        Self { tracked: BTreeMap::new(), limit }
    }

    /// The client is handed a reference to `key`, whose still pending request ids are `ids`.
    pub fn hold(&mut self, key: &RequestKey, ids: impl IntoIterator<Item = u64>, finished: bool) {
        let tracked = self.tracked.entry(key.clone()).or_default();
        tracked.ids.extend(ids);
        tracked.held = true;
        tracked.finished |= finished;
    }

    /// The client let go of its reference: forgotten once its buildset finished.
    pub fn release(&mut self, key: &RequestKey) {
        if let Some(tracked) = self.tracked.get_mut(key) {
            tracked.held = false;
            if tracked.finished {
                self.tracked.remove(key);
            }
        }
    }

    /// The builds known to have claimed `key`, in start order.
    pub fn builds(&self, key: &RequestKey) -> &[u32] {
        self.tracked.get(key).map_or(&[], |t| &t.builds)
    }

    /// Adds `observer` to `key` (once); the builds it already has, each owed a `newbuild`.
    /// Nothing is remembered for a request whose buildset finished.
    pub fn subscribe(&mut self, key: &RequestKey, observer: i64) -> Result<Vec<u32>, TooManyObservers> {
        let observers: usize = self.tracked.values().map(|t| t.observers.len()).sum();
        let Some(tracked) = self.tracked.get_mut(key) else { return Ok(Vec::new()) };
        if !tracked.finished && !tracked.observers.contains(&observer) {
            if observers >= self.limit {
                return Err(TooManyObservers);
            }
            tracked.observers.push(observer);
        }
        Ok(tracked.builds.clone())
    }

    pub fn unsubscribe(&mut self, key: &RequestKey, observer: i64) {
        if let Some(tracked) = self.tracked.get_mut(key) {
            tracked.observers.retain(|o| *o != observer);
        }
    }

    /// Every observer goes (the client logged out or unsubscribed).
    pub fn unsubscribe_all(&mut self) {
        for tracked in self.tracked.values_mut() {
            tracked.observers.clear();
        }
    }

    /// Takes in the next event the connection follows; the `newbuild` calls it makes.
    pub fn see(&mut self, event: &StatusEvent) -> Vec<NewBuild> {
        match event {
            StatusEvent::BuildRequestSubmitted { request } => {
                let Some(buildset) = request.buildset_id else { return Vec::new() };
                let key = (buildset, request.builder.clone());
                if !self.tracked.contains_key(&key) && self.tracked.len() >= self.limit {
                    return Vec::new();
                }
                self.tracked.entry(key).or_default().ids.insert(request.id);
                Vec::new()
            }
            StatusEvent::BuildStarted { build, requests } => {
                let mut calls = Vec::new();
                for ((_, builder), tracked) in &mut self.tracked {
                    if *builder != build.builder || !requests.iter().any(|r| tracked.ids.contains(r)) {
                        continue;
                    }
                    tracked.builds.push(build.number);
                    calls.extend(tracked.observers.iter().map(|o| NewBuild {
                        observer: *o,
                        builder: builder.clone(),
                        number: build.number,
                    }));
                }
                calls
            }
            StatusEvent::BuildsetFinished { id, .. } => {
                self.tracked.retain(|(buildset, _), tracked| {
                    if buildset != id {
                        return true;
                    }
                    tracked.finished = true;
                    tracked.observers.clear();
                    tracked.held
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Build, BuildRequest, Timestamp};
    use crate::domain::result::BuildResult;

    fn submitted(id: u64, buildset: u64, builder: &str) -> StatusEvent {
        StatusEvent::BuildRequestSubmitted {
            request: BuildRequest {
                id,
                buildset_id: Some(buildset),
                builder: builder.into(),
                submitted_at: Timestamp::default(),
                reason: String::new(),
                properties: Default::default(),
                sourcestamps: vec![],
            },
        }
    }

    fn started(builder: &str, number: u32, requests: &[u64]) -> StatusEvent {
        StatusEvent::BuildStarted {
            build: Build { builder: builder.into(), number, ..Build::default() },
            requests: requests.to_vec(),
        }
    }

    fn finished(id: u64) -> StatusEvent {
        StatusEvent::BuildsetFinished { id, result: BuildResult::Success, at: Timestamp::default() }
    }

    #[test]
    fn builds_claiming_a_request_reach_its_observers_until_the_buildset_finishes() {
        let mut requests = Requests::new(4);
        let linux = (7, "linux".to_owned());
        requests.see(&submitted(70, 7, "linux"));
        requests.see(&submitted(71, 7, "macos"));
        assert_eq!(requests.see(&started("linux", 3, &[70])), []);
        requests.hold(&linux, [], false);
        assert_eq!(requests.subscribe(&linux, 5), Ok(vec![3]), "the build it already has");
        // A retry claims it again; another builder's build does not.
        let retry = requests.see(&started("linux", 4, &[70]));
        assert_eq!(retry, [NewBuild { observer: 5, builder: "linux".into(), number: 4 }]);
        assert_eq!(requests.see(&started("macos", 9, &[99])), []);
        assert_eq!(requests.builds(&linux), [3, 4]);
        requests.see(&finished(7));
        assert_eq!(requests.builds(&linux), [3, 4], "held: kept");
        assert_eq!(requests.builds(&(7, "macos".into())), [] as [u32; 0], "not held: forgotten");
        assert_eq!(requests.see(&started("linux", 5, &[70])), [], "observers went with the buildset");
        requests.release(&linux);
        assert_eq!(requests.builds(&linux), [] as [u32; 0]);
    }

    #[test]
    fn what_is_tracked_and_observed_is_bounded() {
        let mut requests = Requests::new(2);
        for (id, builder) in [(1, "a"), (2, "b"), (3, "c")] {
            requests.see(&submitted(id, 1, builder));
        }
        requests.see(&started("c", 1, &[3]));
        assert_eq!(requests.builds(&(1, "c".into())), [] as [u32; 0], "past the limit: not tracked");
        let a = (1, "a".to_owned());
        assert_eq!(requests.subscribe(&a, 1), Ok(vec![]));
        assert_eq!(requests.subscribe(&a, 1), Ok(vec![]), "the same observer again takes no place");
        assert_eq!(requests.subscribe(&a, 2), Ok(vec![]));
        assert_eq!(requests.subscribe(&a, 3), Err(TooManyObservers));
        requests.unsubscribe(&a, 1);
        assert_eq!(requests.subscribe(&a, 3), Ok(vec![]));
    }
}
