//! What a logged-in client hears: each status event becomes the call the mode matrix says on
//! its subscription's target (and on the observers of that build), `waitUntilFinished` calls
//! (builds, steps, logs, buildsets) are answered, build requests' observers hear the builds
//! that claim them, and running builds' ETAs are pushed every `interval` seconds.

use super::methods::seconds_between;
use super::session::{Close, Session};
use crate::domain::event::StatusEvent;
use crate::domain::pb::Value;
use crate::domain::pb::status::{
    Arg, Mode, Object, Push, build_eta_push, needs_step_name, newbuild_push, push_for, step_push_for,
};
use crate::ports::BuildQuery;

impl Session {
    /// Sends `push` to the client's object `target`; a reference past the limit drops the push.
    pub(super) fn push(&mut self, target: i64, push: Push) -> Result<(), Close> {
        let mut args = Vec::with_capacity(push.args.len());
        for arg in push.args {
            match arg {
                Arg::Value(value) => args.push(value),
                Arg::Ref(object) => match self.export(object) {
                    Ok(reference) => args.push(reference),
                    Err(_) => return self.check_violations(),
                },
            }
        }
        self.call_client(target, push.method, args)
    }

    pub(super) async fn event(&mut self, event: &StatusEvent) -> Result<(), Close> {
        if let StatusEvent::StepStarted { builder, number, step } = event {
            self.step_names.insert((builder.clone(), *number, step.number), step.name.clone());
        }
        self.answer_waiters(event)?;
        self.tell_request_observers(event).await?;
        if let Some(sub) = &self.subscription {
            let (target, mode) = (sub.target, sub.mode);
            if let Some(push) = self.push_at(event, mode).await {
                self.push(target, push)?;
            }
        }
        // Observers of one build (`build.subscribe`) hear its steps start and finish.
        if let Some((builder, number)) = build_of(event) {
            let observers: Vec<i64> =
                self.build_observers.iter().filter(|(b, n, _, _)| *b == builder && *n == number).map(|o| o.2).collect();
            let step_call = matches!(event, StatusEvent::StepStarted { .. } | StatusEvent::StepFinished { .. });
            if !observers.is_empty()
                && step_call
                && let Some(push) = self.push_at(event, Mode::Steps).await
            {
                for observer in observers {
                    self.push(observer, push.clone())?;
                }
            }
        }
        if let StatusEvent::BuildFinished { builder, number, .. } = event {
            self.build_observers.retain(|(b, n, _, _)| !(b == builder && n == number));
            self.step_names.retain(|(b, n, _), _| !(b == builder && n == number));
        }
        Ok(())
    }

    /// Observers of a build request (`request.subscribe`) hear each build that claims it; a
    /// finished buildset's requests have none any more.
    async fn tell_request_observers(&mut self, event: &StatusEvent) -> Result<(), Close> {
        match event {
            StatusEvent::BuildStarted { build, requests } if !requests.is_empty() => {
                if !self.request_observers.watches(&build.builder) {
                    return Ok(());
                }
                // The buildsets its requests were of: the state noted them as it claimed them.
                let stored = self.service.reader.build(&build.builder, build.number).await.ok().flatten();
                let buildsets = stored.map(|b| b.buildsets).unwrap_or_default();
                for observer in self.request_observers.of_build(&build.builder, &buildsets) {
                    self.push(observer, newbuild_push(&build.builder, build.number))?;
                }
            }
            StatusEvent::BuildsetFinished { id, .. } => self.request_observers.finished(*id),
            _ => {}
        }
        Ok(())
    }

    /// The call `event` makes at `mode`, if any.
    async fn push_at(&self, event: &StatusEvent, mode: Mode) -> Option<Push> {
        if needs_step_name(event) {
            let name = self.step_name(event).await?;
            step_push_for(event, mode, &name)
        } else {
            push_for(event, mode)
        }
    }

    async fn step_name(&self, event: &StatusEvent) -> Option<String> {
        let (builder, number, step) = match event {
            StatusEvent::StepFinished { builder, number, step, .. }
            | StatusEvent::LogStarted { builder, number, step, .. }
            | StatusEvent::LogFinished { builder, number, step, .. }
            | StatusEvent::LogChunk { builder, number, step, .. } => (builder, *number, *step),
            _ => return None,
        };
        if let Some(name) = self.step_names.get(&(builder.clone(), number, step)) {
            return Some(name.clone());
        }
        let build = self.service.reader.build(builder, number).await.ok().flatten()?;
        build.steps.into_iter().find(|s| s.number == step).map(|s| s.name)
    }

    fn answer_waiters(&mut self, event: &StatusEvent) -> Result<(), Close> {
        let finished = match event {
            StatusEvent::BuildFinished { builder, number, .. } => Object::Build(builder.clone(), *number),
            StatusEvent::StepFinished { builder, number, step, .. } => Object::Step(builder.clone(), *number, *step),
            StatusEvent::LogFinished { builder, number, step, log } => {
                Object::Log(builder.clone(), *number, *step, log.clone())
            }
            StatusEvent::BuildsetFinished { id, .. } => Object::BuildSet(*id),
            _ => return Ok(()),
        };
        let (ready, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.waiters).into_iter().partition(|w| w.object == finished);
        self.waiters = waiting;
        for waiter in ready {
            let result = match self.export(waiter.object) {
                Ok(reference) => reference,
                Err(_) => Value::None,
            };
            self.answer(waiter.request_id, result)?;
        }
        Ok(())
    }

    /// Every second: the ETA of each running build, every `interval` seconds, from `steps` on.
    pub(super) async fn tick(&mut self, seconds: f64) -> Result<(), Close> {
        let Some(sub) = &self.subscription else { return Ok(()) };
        if sub.mode < Mode::Steps || sub.interval <= 0.0 {
            return Ok(());
        }
        self.since_eta += seconds;
        if self.since_eta < sub.interval {
            return Ok(());
        }
        self.since_eta = 0.0;
        let target = sub.target;
        let query = BuildQuery { finished: Some(false), ..BuildQuery::default() };
        let running = self.service.reader.builds(&query).await.unwrap_or_default();
        let now = self.service.clock.now();
        for build in running {
            if let Some(eta) = build.eta {
                self.push(target, build_eta_push(&build.builder, build.number, seconds_between(now, eta)))?;
            }
        }
        Ok(())
    }
}

fn build_of(event: &StatusEvent) -> Option<(String, u32)> {
    match event {
        StatusEvent::BuildStarted { build, .. } => Some((build.builder.clone(), build.number)),
        StatusEvent::BuildFinished { builder, number, .. }
        | StatusEvent::StepStarted { builder, number, .. }
        | StatusEvent::StepFinished { builder, number, .. }
        | StatusEvent::LogStarted { builder, number, .. }
        | StatusEvent::LogFinished { builder, number, .. }
        | StatusEvent::LogChunk { builder, number, .. } => Some((builder.clone(), *number)),
        _ => None,
    }
}
