//! Steps and logs of running builds. Every change here marks the build for the next
//! `take_changed_builds` (a log chunk excepted: it changes only the log's size, and its text
//! goes to the log store). A finished build refuses them all.

use super::{Applied, ApplyError, LogTarget, StatusState};
use crate::domain::model::{Build, BuildKey, LogKind, LogRef, Step, Timestamp};
use crate::domain::result::BuildResult;

/// What a `StepFinished` says of its step.
pub(super) struct StepFinish<'a> {
    pub result: BuildResult,
    pub text: &'a [String],
    pub text2: &'a [String],
    pub at: Timestamp,
}

impl StatusState {
    /// A step began (once): it takes the place of a planned step of its number, or is added
    /// in number order. Its logs get fresh ids.
    pub(super) fn start_step(&mut self, builder: &str, number: u32, step: &Step) -> Result<(), ApplyError> {
        let mut step = step.clone();
        let mut next_log_id = self.next_log_id;
        for log in &mut step.logs {
            log.id = next_log_id;
            next_log_id += 1;
        }
        let build = running_mut(self, builder, number)?;
        if build.steps.iter().any(|s| s.number == step.number && s.started.is_some()) {
            return Err(ApplyError::StepExists(build.key(), step.number));
        }
        match build.steps.iter_mut().find(|s| s.number == step.number) {
            Some(planned) => *planned = step,
            None => {
                build.steps.push(step);
                build.steps.sort_by_key(|s| s.number);
            }
        }
        let key = build.key();
        self.next_log_id = next_log_id;
        self.changed.insert(key);
        Ok(())
    }

    /// A step finished: its result and text2 are set (its text only when given), it started
    /// by its finish at the latest, it has no ETA any more, and the logs its sender left open
    /// are finished with it.
    pub(super) fn finish_step(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        finish: StepFinish<'_>,
        out: &mut Applied,
    ) -> Result<(), ApplyError> {
        let (key, s) = self.step_mut(builder, number, step)?;
        s.result = Some(finish.result);
        s.finished = Some(finish.at);
        s.eta = None;
        s.started.get_or_insert(finish.at);
        if !finish.text.is_empty() {
            s.text = finish.text.to_vec();
        }
        s.text2 = finish.text2.to_vec();
        for log in s.logs.iter_mut().filter(|l| !l.finished) {
            log.finished = true;
            out.logs_finished.push(log.id);
        }
        self.changed.insert(key);
        Ok(())
    }

    /// A step's text, text2 or both replaced (at least one given; a step of a running build,
    /// finished or not).
    pub(super) fn change_step_text(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        text: Option<&[String]>,
        text2: Option<&[String]>,
    ) -> Result<(), ApplyError> {
        let (key, s) = self.step_mut(builder, number, step)?;
        if text.is_none() && text2.is_none() {
            return Err(ApplyError::NoStepText(key, step));
        }
        if let Some(text) = text {
            s.text = text.to_vec();
        }
        if let Some(text2) = text2 {
            s.text2 = text2.to_vec();
        }
        self.changed.insert(key);
        Ok(())
    }

    /// A link added to a step of a running build; one of the same name is replaced in place.
    pub(super) fn add_step_url(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        name: &str,
        url: &str,
    ) -> Result<(), ApplyError> {
        let (key, s) = self.step_mut(builder, number, step)?;
        match s.urls.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => *old = url.to_owned(),
            None => s.urls.push((name.to_owned(), url.to_owned())),
        }
        self.changed.insert(key);
        Ok(())
    }

    /// A new log of a step (its name unique within the step), open until finished.
    pub(super) fn start_log(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        log: &str,
        kind: LogKind,
    ) -> Result<(), ApplyError> {
        let id = self.next_log_id;
        let (key, s) = self.step_mut(builder, number, step)?;
        if s.log(log).is_some() {
            return Err(ApplyError::LogExists(key, step, log.to_owned()));
        }
        s.logs.push(LogRef { id, name: log.to_owned(), kind, size: 0, finished: false });
        self.next_log_id += 1;
        self.changed.insert(key);
        Ok(())
    }

    /// Text appended to an open log: only its size changes here, and `out.log` says where the
    /// text goes. The build is not marked changed: a chunk writes no record.
    pub(super) fn grow_log(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        log: &str,
        bytes: usize,
        out: &mut Applied,
    ) -> Result<(), ApplyError> {
        let log_ref = self.open_log(builder, number, step, log)?;
        log_ref.size += bytes as u64;
        out.log = Some(LogTarget { log_id: log_ref.id });
        Ok(())
    }

    /// An open log closed.
    pub(super) fn finish_log(
        &mut self,
        builder: &str,
        number: u32,
        step: u32,
        log: &str,
        out: &mut Applied,
    ) -> Result<(), ApplyError> {
        let log_ref = self.open_log(builder, number, step, log)?;
        log_ref.finished = true;
        out.logs_finished.push(log_ref.id);
        self.changed.insert(BuildKey { builder: builder.to_owned(), number });
        Ok(())
    }

    /// Step `step` of the running build, with the build's key.
    fn step_mut(&mut self, builder: &str, number: u32, step: u32) -> Result<(BuildKey, &mut Step), ApplyError> {
        let build = running_mut(self, builder, number)?;
        let key = build.key();
        match build.steps.iter_mut().find(|s| s.number == step) {
            Some(s) => Ok((key, s)),
            None => Err(ApplyError::UnknownStep(key, step)),
        }
    }

    fn open_log(&mut self, builder: &str, number: u32, step: u32, log: &str) -> Result<&mut LogRef, ApplyError> {
        let (key, s) = self.step_mut(builder, number, step)?;
        let l = s.logs.iter_mut().find(|l| l.name == log);
        let l = l.ok_or_else(|| ApplyError::UnknownLog(key.clone(), step, log.to_owned()))?;
        if l.finished {
            return Err(ApplyError::LogFinished(key, step, log.to_owned()));
        }
        Ok(l)
    }
}

/// The running build `builder` #`number`, or why there is none (see `not_running`).
fn running_mut<'a>(state: &'a mut StatusState, builder: &str, number: u32) -> Result<&'a mut Build, ApplyError> {
    let key = BuildKey { builder: builder.to_owned(), number };
    if !state.running.contains_key(&key) {
        return Err(state.not_running(key));
    }
    state.running.get_mut(&key).ok_or(ApplyError::UnknownBuild(key))
}
