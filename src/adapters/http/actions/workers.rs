//! A worker's actions: shut down once idle (`buildslaves/S/shutdown`), pause and unpause
//! (`…/pause`, `…/unpause`), each asked about the worker.

use super::{allowed, form, not_done, refused};
use crate::adapters::http::WebContext;
use crate::adapters::http::call::{Answer, Call};
use crate::adapters::http::read::require_worker;
use crate::domain::auth::{Action, Subject};
use crate::domain::web::text::quote;

/// What a worker action does.
#[derive(Clone, Copy)]
enum Change {
    Shutdown,
    Pause(bool),
}

async fn act(ctx: &WebContext, call: Call, change: Change) -> Answer {
    form(ctx, &call).await?;
    let worker = require_worker(ctx, call.param("worker")?).await?;
    let action = match change {
        Change::Shutdown => Action::GracefulShutdown,
        Change::Pause(_) => Action::PauseSlave,
    };
    if !allowed(&call, action, &Subject::Worker(&worker)) {
        return Ok(refused(&call));
    }
    let master = ctx.master.get();
    let (done, message) = match change {
        Change::Shutdown => (master.shutdown_worker(&worker.name).await, "will shut down when it is idle"),
        Change::Pause(true) => (master.pause_worker(&worker.name, true).await, "is paused: it takes no new build"),
        Change::Pause(false) => (master.pause_worker(&worker.name, false).await, "is unpaused"),
    };
    let message = match done {
        Ok(()) => format!("Worker {} {message}.", worker.name),
        Err(e) => not_done(&e),
    };
    Ok(call.redirect(&format!("buildslaves/{}", quote(&worker.name)), Some(&message)))
}

/// `buildslaves/S/shutdown`.
pub async fn shutdown_worker(ctx: &WebContext, call: Call) -> Answer {
    act(ctx, call, Change::Shutdown).await
}

/// `buildslaves/S/pause`.
pub async fn pause_worker(ctx: &WebContext, call: Call) -> Answer {
    act(ctx, call, Change::Pause(true)).await
}

/// `buildslaves/S/unpause`.
pub async fn unpause_worker(ctx: &WebContext, call: Call) -> Answer {
    act(ctx, call, Change::Pause(false)).await
}
