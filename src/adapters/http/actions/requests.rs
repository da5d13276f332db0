//! Cancelling pending build requests: one of a builder, or all of them (`builders/B/cancelbuild`
//! with `id=N` or `id=all`), those of every or the selected builders (`_all/cancelpendingall`,
//! `_selected/cancelpendingselected`), and what a change set going (`builders/B/stopchange`,
//! `_all/stopchangeall`: its pending requests cancelled and its running builds stopped).

use super::{allowed, form, not_done, owner, refused, selected_builders};
use crate::adapters::http::call::{Answer, Call};
use crate::adapters::http::read::{named_change, require_builder, running_builds};
use crate::adapters::http::{WebContext, WebError};
use crate::domain::auth::{Action, Subject};
use crate::domain::control::stop_reason;
use crate::domain::model::{Build, BuildRequest, SourceStamp};
use crate::domain::web::args::Args;
use crate::domain::web::text::quote;

/// Cancels each of `requests`; says how many it cancelled.
async fn cancel_each(ctx: &WebContext, requests: &[BuildRequest]) -> String {
    let master = ctx.master.get();
    let (mut cancelled, mut errors) = (0, Vec::new());
    for request in requests {
        match master.cancel_request(request.id).await {
            Ok(()) => cancelled += 1,
            Err(e) => errors.push(format!("request {}: {e}", request.id)),
        }
    }
    let mut message = format!("{cancelled} of {} pending request(s) cancelled.", requests.len());
    if !errors.is_empty() {
        message.push_str(&format!(" Not cancelled: {}", errors.join("; ")));
    }
    message
}

/// `builders/B/cancelbuild` with `id=N` (one request) or `id=all` (each, every one asked about).
pub async fn cancel(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let builder = require_builder(ctx, call.param("builder")?).await?;
    let pending = ctx.reader.pending_requests(Some(&builder.name)).await?;
    let chosen: Vec<BuildRequest> = match form.first("id").map(str::trim) {
        Some("all") => pending,
        Some(id) => {
            let found = id.parse::<u64>().ok().and_then(|n| pending.into_iter().find(|r| r.id == n));
            vec![found.ok_or_else(|| {
                WebError::NotFound(format!("No pending request '{id}' of builder '{}'", builder.name))
            })?]
        }
        None => return Err(WebError::BadRequest("argument 'id': a request number or 'all' is needed".to_owned())),
    };
    if !chosen.iter().all(|r| allowed(&call, Action::CancelPendingBuild, &Subject::Request(r))) {
        return Ok(refused(&call));
    }
    let message = cancel_each(ctx, &chosen).await;
    Ok(call.redirect(&format!("builders/{}", quote(&builder.name)), Some(&message)))
}

/// `builders/_all/cancelpendingall`.
pub async fn cancel_all(ctx: &WebContext, call: Call) -> Answer {
    form(ctx, &call).await?;
    if !allowed(&call, Action::CancelAllPendingBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let pending = ctx.reader.pending_requests(None).await?;
    let message = cancel_each(ctx, &pending).await;
    Ok(call.redirect("", Some(&message)))
}

/// `builders/_selected/cancelpendingselected`.
pub async fn cancel_selected(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let selected = selected_builders(ctx, &form).await?;
    if !allowed(&call, Action::CancelAllPendingBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let mut pending = Vec::new();
    for builder in &selected {
        pending.extend(ctx.reader.pending_requests(Some(&builder.name)).await?);
    }
    let message = cancel_each(ctx, &pending).await;
    Ok(call.redirect("", Some(&message)))
}

/// What change `number` set going on `builders` (all when empty): its pending requests and
/// its running builds.
async fn of_change(
    ctx: &WebContext,
    number: u64,
    builders: Vec<String>,
) -> Result<(Vec<BuildRequest>, Vec<Build>), WebError> {
    let has = |stamps: &[SourceStamp]| stamps.iter().any(|s| s.changes.contains(&number));
    let mut pending = Vec::new();
    if builders.is_empty() {
        pending = ctx.reader.pending_requests(None).await?;
    } else {
        for builder in &builders {
            pending.extend(ctx.reader.pending_requests(Some(builder)).await?);
        }
    }
    pending.retain(|r| has(&r.sourcestamps));
    let mut running = running_builds(ctx, builders, None).await?;
    running.retain(|b| has(&b.sourcestamps));
    Ok((pending, running))
}

/// Cancels the requests and stops the builds of a change; says what it did.
async fn stop_what_change_started(
    ctx: &WebContext,
    call: &Call,
    form: &Args,
    number: u64,
    (pending, running): (Vec<BuildRequest>, Vec<Build>),
) -> String {
    let mut message = format!("Change {number}: {}", cancel_each(ctx, &pending).await);
    let reason = stop_reason(&owner(call, form), form.first("comments"));
    let master = ctx.master.get();
    let mut stopped = 0;
    for build in &running {
        match master.stop_build(&build.builder, build.number, &reason).await {
            Ok(()) => stopped += 1,
            Err(e) => message.push_str(&format!(" {} #{} not stopped: {}", build.builder, build.number, not_done(&e))),
        }
    }
    message.push_str(&format!(" {stopped} running build(s) being stopped."));
    message
}

/// The change the form's `change` field names, or the error naming the field or the change.
async fn form_change(ctx: &WebContext, form: &Args) -> Result<u64, WebError> {
    let text = form.first("change").unwrap_or_default().trim();
    if text.is_empty() {
        return Err(WebError::BadRequest("argument 'change': a change number is needed".to_owned()));
    }
    Ok(named_change(ctx, text).await?.number)
}

/// `builders/B/stopchange`: asked about each request it cancels and each build it stops (and
/// about the builder, when there is neither).
pub async fn stop_change(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let builder = require_builder(ctx, call.param("builder")?).await?;
    let number = form_change(ctx, &form).await?;
    let found = of_change(ctx, number, vec![builder.name.clone()]).await?;
    let subjects: Vec<Subject<'_>> = (found.0.iter().map(Subject::Request))
        .chain(found.1.iter().map(Subject::Build))
        .chain(std::iter::once(Subject::Builder(&builder)))
        .collect();
    if !subjects.iter().all(|s| allowed(&call, Action::StopChange, s)) {
        return Ok(refused(&call));
    }
    let message = stop_what_change_started(ctx, &call, &form, number, found).await;
    Ok(call.redirect(&format!("builders/{}", quote(&builder.name)), Some(&message)))
}

/// `builders/_all/stopchangeall`.
pub async fn stop_change_all(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let number = form_change(ctx, &form).await?;
    if !allowed(&call, Action::StopChange, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let found = of_change(ctx, number, Vec::new()).await?;
    let message = stop_what_change_started(ctx, &call, &form, number, found).await;
    Ok(call.redirect("", Some(&message)))
}
