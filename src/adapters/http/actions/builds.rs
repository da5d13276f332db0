//! Stopping running builds (one: `builders/B/builds/N/stop`; every one, or those of the
//! selected builders: `_all/stopall`, `_selected/stopselected`) and pinging a builder's
//! workers (`builders/B/ping`).

use super::{allowed, form, not_done, owner, refused, selected_builders};
use crate::adapters::http::WebContext;
use crate::adapters::http::call::{Answer, Call};
use crate::adapters::http::read::{find_build, require_builder, running_builds};
use crate::domain::auth::{Action, Subject};
use crate::domain::control::stop_reason;
use crate::domain::model::Build;
use crate::domain::web::args::Args;
use crate::domain::web::text::quote;

/// `builders/B/builds/N/stop`: asked about the build.
pub async fn stop(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let build = find_build(ctx, call.param("builder")?, &call.build_number("number")?).await?;
    if !allowed(&call, Action::StopBuild, &Subject::Build(&build)) {
        return Ok(refused(&call));
    }
    let message = if build.is_finished() {
        format!("Nothing was done: build #{} of {} is not running.", build.number, build.builder)
    } else {
        let reason = stop_reason(&owner(&call, &form), form.first("comments"));
        match ctx.master.get().stop_build(&build.builder, build.number, &reason).await {
            Ok(()) => format!("Build #{} is being stopped.", build.number),
            Err(e) => not_done(&e),
        }
    };
    Ok(call.redirect(&format!("builders/{}", quote(&build.builder)), Some(&message)))
}

/// Stops each of `builds`, with the form's reason; says how many it stopped.
async fn stop_each(ctx: &WebContext, call: &Call, form: &Args, builds: Vec<Build>) -> String {
    let reason = stop_reason(&owner(call, form), form.first("comments"));
    let master = ctx.master.get();
    let (mut stopped, mut errors) = (0, Vec::new());
    for build in &builds {
        match master.stop_build(&build.builder, build.number, &reason).await {
            Ok(()) => stopped += 1,
            Err(e) => errors.push(format!("{} #{}: {e}", build.builder, build.number)),
        }
    }
    let mut message = format!("{stopped} of {} running build(s) being stopped.", builds.len());
    if !errors.is_empty() {
        message.push_str(&format!(" Not stopped: {}", errors.join("; ")));
    }
    message
}

/// `builders/_all/stopall`.
pub async fn stop_all(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    if !allowed(&call, Action::StopAllBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let running = running_builds(ctx, Vec::new(), None).await?;
    let message = stop_each(ctx, &call, &form, running).await;
    Ok(call.redirect("", Some(&message)))
}

/// `builders/_selected/stopselected`.
pub async fn stop_selected(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let selected = selected_builders(ctx, &form).await?;
    if !allowed(&call, Action::StopAllBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let running = if selected.is_empty() {
        Vec::new()
    } else {
        running_builds(ctx, selected.into_iter().map(|b| b.name).collect(), None).await?
    };
    let message = stop_each(ctx, &call, &form, running).await;
    Ok(call.redirect("", Some(&message)))
}

/// `builders/B/ping`: asked about the builder.
pub async fn ping(ctx: &WebContext, call: Call) -> Answer {
    form(ctx, &call).await?;
    let builder = require_builder(ctx, call.param("builder")?).await?;
    if !allowed(&call, Action::PingBuilder, &Subject::Builder(&builder)) {
        return Ok(refused(&call));
    }
    let message = match ctx.master.get().ping_builder(&builder.name).await {
        Ok(()) => format!("Pinged the workers of {}.", builder.name),
        Err(e) => not_done(&e),
    };
    Ok(call.redirect(&format!("builders/{}", quote(&builder.name)), Some(&message)))
}
