//! Masters without a build farm behind them: [`NoMaster`] refuses every action (a standalone
//! server reports on a master it cannot command), and [`MemoryMaster`] remembers each action
//! it is asked for, for tests of the pages and bots that ask.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::ports::{ControlError, ForceRequest, MasterControl};

/// The master of a standalone server: there is none, so every action is refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMaster;

#[async_trait]
impl MasterControl for NoMaster {
    async fn force_build(&self, _: ForceRequest) -> Result<u64, ControlError> {
        Err(ControlError::Unsupported("force builds"))
    }
    async fn stop_build(&self, _: &str, _: u32, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("stop builds"))
    }
    async fn ping_builder(&self, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("ping builders"))
    }
    async fn cancel_request(&self, _: u64) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("cancel build requests"))
    }
    async fn shutdown(&self, _: bool) -> Result<(), ControlError> {
        Err(ControlError::Unsupported("shut down"))
    }
}

/// One action a [`MemoryMaster`] was asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Force(ForceRequest),
    Stop { builder: String, number: u32, reason: String },
    Ping(String),
    Cancel(u64),
    Shutdown { clean: bool },
}

/// Accepts every action and remembers it, in order; forced builds get request ids from 1.
/// `refuse` makes every later action fail with that reason.
#[derive(Debug, Default)]
pub struct MemoryMaster {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    actions: Vec<Action>,
    refusal: Option<String>,
}

impl MemoryMaster {
    pub fn new() -> Self {
        Self::default()
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

    fn take(&self, action: Action) -> Result<usize, ControlError> {
        let mut state = self.state();
        if let Some(why) = &state.refusal {
            return Err(ControlError::Refused(why.clone()));
        }
        state.actions.push(action);
        Ok(state.actions.iter().filter(|a| matches!(a, Action::Force(_))).count())
    }
}

#[async_trait]
impl MasterControl for MemoryMaster {
    async fn force_build(&self, request: ForceRequest) -> Result<u64, ControlError> {
        self.take(Action::Force(request)).map(|forced| forced as u64)
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
    async fn shutdown(&self, clean: bool) -> Result<(), ControlError> {
        self.take(Action::Shutdown { clean }).map(drop)
    }
}
