//! Build requests, buildsets and builds: a request waits until a build claims it, a buildset
//! is open until it finishes, a build runs from its start to its finish and then joins its
//! builder's window.

use super::{Applied, ApplyError, Mutation, StatusState, within_range};
use crate::domain::model::{Build, BuildKey, BuildRequest, Buildset, Properties, TestResult, Timestamp};
use crate::domain::result::BuildResult;

impl StatusState {
    /// A request for a known builder, pending until a build claims it.
    pub(super) fn submit_request(&mut self, request: &BuildRequest, out: &mut Applied) -> Result<(), ApplyError> {
        within_range("build request id", request.id)?;
        self.require_builder(&request.builder)?;
        self.pending.insert(request.id, request.clone());
        out.mutations.push(Mutation::PutRequest(request.clone()));
        Ok(())
    }

    /// A pending request withdrawn; one not pending (claimed, or never known) changes nothing.
    pub(super) fn cancel_request(&mut self, id: u64, out: &mut Applied) {
        if self.pending.remove(&id).is_some() {
            out.mutations.push(Mutation::RemoveRequest(id));
        }
    }

    /// A buildset, open until it finishes.
    pub(super) fn submit_buildset(&mut self, buildset: &Buildset, out: &mut Applied) -> Result<(), ApplyError> {
        within_range("buildset id", buildset.id)?;
        self.buildsets.insert(buildset.id, buildset.clone());
        out.mutations.push(Mutation::PutBuildset(buildset.clone()));
        Ok(())
    }

    /// An open buildset finished: it is stored complete and leaves the state.
    pub(super) fn finish_buildset(
        &mut self,
        id: u64,
        result: BuildResult,
        at: Timestamp,
        out: &mut Applied,
    ) -> Result<(), ApplyError> {
        let mut set = self.buildsets.remove(&id).ok_or(ApplyError::UnknownBuildset(id))?;
        set.result = Some(result);
        set.complete_at = Some(at);
        out.mutations.push(Mutation::PutBuildset(set));
        Ok(())
    }

    /// A build of a known builder began, numbered above the builder's newest (so a repeated
    /// start can never overwrite a stored build). It runs unfinished whatever it says, claims
    /// its requests (noting their buildsets), and its logs get fresh ids. Written by the next `take_changed_builds`;
    /// an ETA it gives makes its ETAs the sender's (else they are estimated there).
    pub(super) fn start_build(&mut self, build: &Build, requests: &[u64], out: &mut Applied) -> Result<(), ApplyError> {
        self.require_builder(&build.builder)?;
        let key = build.key();
        if let Some(newest) = self.last_number(&key.builder).filter(|n| key.number <= *n) {
            return Err(ApplyError::NotNewest(key, newest));
        }
        let mut build = build.clone();
        let mut buildsets: Vec<u64> =
            requests.iter().filter_map(|id| self.pending.get(id).and_then(|r| r.buildset_id)).collect();
        buildsets.sort_unstable();
        buildsets.dedup();
        build.buildsets = buildsets;
        for id in requests {
            self.cancel_request(*id, out);
        }
        build.finished = None;
        build.result = None;
        for step in &mut build.steps {
            for log in &mut step.logs {
                log.id = self.next_log_id;
                self.next_log_id += 1;
            }
        }
        self.newest.insert(key.builder.clone(), key.number);
        self.changed.insert(key.clone());
        if build.eta.is_some() {
            self.sender_eta.insert(key.clone());
        }
        self.running.insert(key, build);
        Ok(())
    }

    /// A running build finished: it is written now (not by `take_changed_builds`), without
    /// ETAs, its final properties merged into its own, its logs still open are finished with it (a finished
    /// build's logs cannot grow, and their pages must not wait for more), and it joins its
    /// builder's window.
    pub(super) fn finish_build(
        &mut self,
        key: BuildKey,
        finish: BuildFinish<'_>,
        out: &mut Applied,
    ) -> Result<(), ApplyError> {
        let BuildFinish { result, text, at, properties } = finish;
        let mut build = self.running.remove(&key).ok_or_else(|| self.not_running(key.clone()))?;
        build.finished = Some(at);
        build.result = Some(result);
        build.eta = None;
        for step in &mut build.steps {
            step.eta = None;
        }
        self.sender_eta.remove(&key);
        merge(&mut build.properties, properties);
        for log in build.steps.iter_mut().flat_map(|s| s.logs.iter_mut()).filter(|l| !l.finished) {
            log.finished = true;
            out.logs_finished.push(log.id);
        }
        if !text.is_empty() {
            build.text = text.to_vec();
        }
        self.changed.remove(&key);
        out.mutations.push(Mutation::PutBuild(build.clone()));
        self.remember_finished(build);
        Ok(())
    }

    /// Properties set on a running build, merged into its own.
    pub(super) fn set_properties(&mut self, key: BuildKey, properties: &Properties) -> Result<(), ApplyError> {
        let build = self.running.get_mut(&key);
        let Some(build) = build else { return Err(self.not_running(key)) };
        merge(&mut build.properties, properties);
        self.changed.insert(key);
        Ok(())
    }

    /// Test results of a running build: a test reported again replaces what it said.
    pub(super) fn add_tests(&mut self, key: BuildKey, tests: &[TestResult]) -> Result<(), ApplyError> {
        let Some(build) = self.running.get_mut(&key) else { return Err(self.not_running(key)) };
        for test in tests {
            match build.tests.iter_mut().find(|t| t.name == test.name) {
                Some(known) => *known = test.clone(),
                None => build.tests.push(test.clone()),
            }
        }
        self.changed.insert(key);
        Ok(())
    }
}

/// What a `BuildFinished` says of its build.
pub(super) struct BuildFinish<'a> {
    pub result: BuildResult,
    pub text: &'a [String],
    pub at: Timestamp,
    pub properties: &'a Properties,
}

/// `given` merged into `properties`: a name given replaces the value (and source) it had.
fn merge(properties: &mut Properties, given: &Properties) {
    properties.extend(given.iter().map(|(name, p)| (name.clone(), p.clone())));
}
