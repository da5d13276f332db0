//! Masters without a build farm behind them: [`NoMaster`] refuses every action (a standalone
//! server reports on a master it cannot command), and [`MemoryMaster`] remembers each action
//! it is asked for, for tests of the pages and bots that ask.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::model::BuildKey;
use crate::ports::{ControlError, ForceRequest, ForceScheduler, Forced, MasterControl};

/// The master of a standalone server: there is none, so every action is refused (the port's
/// defaults) and no force form is offered.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMaster;

impl MasterControl for NoMaster {}

/// One action a [`MemoryMaster`] was asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Force(ForceRequest),
    Rebuild { original: BuildKey, request: ForceRequest },
    Stop { builder: String, number: u32, reason: String },
    Ping(String),
    Cancel(u64),
    Pause { worker: String, paused: bool },
    ShutdownWorker(String),
    Shutdown { clean: bool },
    CancelShutdown,
}

/// Accepts every action and remembers it, in order; each forced build request gets the next
/// id from 1 (one per builder), each buildset too. `refuse` makes every later action fail
/// with that reason. It offers the force schedulers it is given.
#[derive(Debug, Default)]
pub struct MemoryMaster {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    actions: Vec<Action>,
    refusal: Option<String>,
    schedulers: Vec<ForceScheduler>,
    requests: u64,
    buildsets: u64,
    shutting_down: bool,
}

impl MemoryMaster {
    pub fn new() -> Self {
        Self::default()
    }

    /// A master offering `schedulers` on its force forms.
    pub fn with_schedulers(schedulers: Vec<ForceScheduler>) -> Self {
        let master = Self::default();
        master.state().schedulers = schedulers;
        master
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The actions asked for so far, in order.
    pub fn actions(&self) -> Vec<Action> {
        self.state().actions.clone()
    }

    /// Every later action is refused with `reason` (or accepted again with `None`).
    pub fn refuse(&self, reason: Option<&str>) {
        self.state().refusal = reason.map(str::to_owned);
    }

    fn take(&self, action: Action) -> Result<MutexGuard<'_, State>, ControlError> {
        let mut state = self.state();
        if let Some(why) = &state.refusal {
            return Err(ControlError::Refused(why.clone()));
        }
        state.actions.push(action);
        Ok(state)
    }

    fn submit(&self, action: Action, builders: usize) -> Result<Forced, ControlError> {
        let mut state = self.take(action)?;
        state.buildsets += 1;
        let first = state.requests + 1;
        state.requests += builders as u64;
        Ok(Forced { buildset: Some(state.buildsets), requests: (first..=state.requests).collect() })
    }
}

#[async_trait]
impl MasterControl for MemoryMaster {
    async fn force_schedulers(&self) -> Vec<ForceScheduler> {
        self.state().schedulers.clone()
    }
    async fn force(&self, request: ForceRequest) -> Result<Forced, ControlError> {
        let builders = request.builders.len();
        self.submit(Action::Force(request), builders)
    }
    async fn rebuild(&self, original: &BuildKey, request: ForceRequest) -> Result<Forced, ControlError> {
        self.submit(Action::Rebuild { original: original.clone(), request }, 1)
    }
    async fn stop_build(&self, builder: &str, number: u32, reason: &str) -> Result<(), ControlError> {
        let action = Action::Stop { builder: builder.to_owned(), number, reason: reason.to_owned() };
        self.take(action).map(drop)
    }
    async fn ping_builder(&self, builder: &str) -> Result<(), ControlError> {
        self.take(Action::Ping(builder.to_owned())).map(drop)
    }
    async fn cancel_request(&self, request_id: u64) -> Result<(), ControlError> {
        self.take(Action::Cancel(request_id)).map(drop)
    }
    async fn pause_worker(&self, worker: &str, paused: bool) -> Result<(), ControlError> {
        self.take(Action::Pause { worker: worker.to_owned(), paused }).map(drop)
    }
    async fn shutdown_worker(&self, worker: &str) -> Result<(), ControlError> {
        self.take(Action::ShutdownWorker(worker.to_owned())).map(drop)
    }
    async fn shutdown(&self, clean: bool) -> Result<(), ControlError> {
        self.take(Action::Shutdown { clean }).map(|mut state| state.shutting_down = clean)
    }
    async fn cancel_shutdown(&self) -> Result<(), ControlError> {
        self.take(Action::CancelShutdown).map(|mut state| state.shutting_down = false)
    }
    async fn shutting_down(&self) -> bool {
        self.state().shutting_down
    }
}
