//! The master's clean shutdown (`/shutdown`: start no new build, stop when the running ones
//! are done) and its cancellation (`/cancel_shutdown`), both `cleanShutdown`; each returns to
//! the welcome page, which shows whether a shutdown is under way.

use super::{allowed, form, not_done, refused};
use crate::adapters::http::WebContext;
use crate::adapters::http::call::{Answer, Call};
use crate::domain::auth::{Action, Subject};

/// `/shutdown`.
pub async fn clean_shutdown(ctx: &WebContext, call: Call) -> Answer {
    form(ctx, &call).await?;
    if !allowed(&call, Action::CleanShutdown, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let message = match ctx.master.get().shutdown(true).await {
        Ok(()) => "Clean shutdown started: no new build starts, and the master stops when the running ones are done."
            .to_owned(),
        Err(e) => not_done(&e),
    };
    Ok(call.redirect("", Some(&message)))
}

/// `/cancel_shutdown`.
pub async fn cancel_shutdown(ctx: &WebContext, call: Call) -> Answer {
    form(ctx, &call).await?;
    if !allowed(&call, Action::CleanShutdown, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let message = match ctx.master.get().cancel_shutdown().await {
        Ok(()) => "Clean shutdown cancelled.".to_owned(),
        Err(e) => not_done(&e),
    };
    Ok(call.redirect("", Some(&message)))
}
