//! The actions (spec-web-auth §9.5): POST only, each checked in this order, so that a refused
//! or malformed request does nothing:
//!
//! 1. `view` (by the route table, before any handler);
//! 2. the form's CSRF token: missing or wrong is a 403;
//! 3. the builder, build, worker or change it names: unknown is a 404 naming it;
//! 4. the action's authz, asked about that object: refused is a redirect to `authzfail`;
//! 5. the master, through `MasterControl`;
//!
//! and each ends with a redirect to the page of what it acted on, whose alert box says what
//! happened ("Build requested", or why not).

mod builds;
mod force;
mod master;
mod requests;
mod workers;

pub use builds::{ping, stop, stop_all, stop_selected};
pub use force::{force, force_all, force_selected, rebuild};
pub use master::{cancel_shutdown, clean_shutdown};
pub use requests::{cancel, cancel_all, cancel_selected, stop_change, stop_change_all};
pub use workers::{pause_worker, shutdown_worker, unpause_worker};

use axum::response::Response;

use super::call::Call;
use super::read::named_builder;
use super::{WebContext, WebError};
use crate::domain::auth::session::CSRF_FIELD;
use crate::domain::auth::{Action, Subject};
use crate::domain::control::UNKNOWN_OWNER;
use crate::domain::model::Builder;
use crate::domain::web::args::Args;
use crate::ports::ControlError;

/// The submitted form, once its CSRF token is checked.
async fn form(ctx: &WebContext, call: &Call) -> Result<Args, WebError> {
    let form = call.form().await?;
    if ctx.auth.csrf_matches(call.visit(), form.first(CSRF_FIELD)) {
        Ok(form)
    } else {
        Err(WebError::Forbidden("The form's CSRF token is missing or wrong: nothing was done.".to_owned()))
    }
}

/// Whether the visitor may do `action` on `subject`.
fn allowed(call: &Call, action: Action, subject: &Subject<'_>) -> bool {
    let viewer = call.viewer();
    viewer.authz.allows(action, viewer.identity.as_ref(), subject)
}

/// The answer to a refused action.
fn refused(call: &Call) -> Response {
    call.redirect("authzfail", None)
}

/// Who a build is forced or stopped by: the logged-in user's full name, else the name typed
/// in the form, else nobody known.
fn owner(call: &Call, form: &Args) -> String {
    call.viewer()
        .owner()
        .or_else(|| form.first("username").map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned))
        .unwrap_or_else(|| UNKNOWN_OWNER.to_owned())
}

/// The message of a master's refusal.
fn not_done(e: &ControlError) -> String {
    format!("Nothing was done: {e}")
}

/// The builders a `_selected` form ticked, each known (else the 404 naming it).
async fn selected_builders(ctx: &WebContext, form: &Args) -> Result<Vec<Builder>, WebError> {
    let all = ctx.reader.builders().await?;
    form.all("selected").iter().map(|name| named_builder(&all, name).cloned()).collect()
}
