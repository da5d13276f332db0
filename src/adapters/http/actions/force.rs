//! Forcing builds: on one builder (`builders/B/force`), on all or the selected builders of a
//! scheduler (`_all/forceall`, `_selected/forceselected`), and running a build again
//! (`builders/B/builds/N/rebuild`). The form is read by `domain::control`; every builder of
//! one submission goes into one buildset.

use super::{allowed, form, not_done, owner, refused, selected_builders};
use crate::adapters::http::WebContext;
use crate::adapters::http::call::{Answer, Call};
use crate::adapters::http::read::{find_build, require_builder};
use crate::domain::auth::{Action, Subject};
use crate::domain::control::{ForceScheduler, Stamps, read_force_form, rebuild_properties, rebuild_request};
use crate::domain::web::args::Args;
use crate::domain::web::text::quote;

/// The scheduler the form names, or the message that says why there is none.
async fn scheduler(ctx: &WebContext, form: &Args) -> Result<ForceScheduler, String> {
    let name = form.first("forcescheduler").filter(|n| !n.is_empty()).ok_or("forcescheduler arg not found")?;
    let schedulers = ctx.master.get().force_schedulers().await;
    schedulers.into_iter().find(|s| s.name == name).ok_or_else(|| format!("no scheduler found named '{name}'"))
}

/// Submits the form for `builders` (those of the scheduler among them) and says how it went.
async fn submit(ctx: &WebContext, call: &Call, form: &Args, builders: Vec<String>) -> String {
    let scheduler = match scheduler(ctx, form).await {
        Ok(s) => s,
        Err(why) => return why,
    };
    let builders: Vec<String> = builders.into_iter().filter(|b| scheduler.builders.contains(b)).collect();
    if builders.is_empty() {
        return format!("Nothing was done: the scheduler '{}' builds none of these builders.", scheduler.name);
    }
    let values = |name: &str| form.pairs().filter(|(k, _)| *k == name).map(|(_, v)| v).collect();
    let request = match read_force_form(&scheduler, builders, &owner(call, form), values) {
        Ok(r) => r,
        Err(why) => return why,
    };
    let count = request.builders.len();
    match ctx.master.get().force(request).await {
        Ok(forced) if count == 1 => match forced.requests.first() {
            Some(id) => format!("Build requested (request {id})."),
            None => "Build requested.".to_owned(),
        },
        Ok(_) => format!("Builds requested on {count} builders."),
        Err(e) => not_done(&e),
    }
}

/// `builders/B/force`.
pub async fn force(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let builder = require_builder(ctx, call.param("builder")?).await?;
    if !allowed(&call, Action::ForceBuild, &Subject::Builder(&builder)) {
        return Ok(refused(&call));
    }
    let message = submit(ctx, &call, &form, vec![builder.name.clone()]).await;
    Ok(call.redirect(&format!("builders/{}", quote(&builder.name)), Some(&message)))
}

/// `builders/_all/forceall`: every builder of the scheduler.
pub async fn force_all(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    if !allowed(&call, Action::ForceAllBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let all = ctx.reader.builders().await?.into_iter().map(|b| b.name).collect();
    let message = submit(ctx, &call, &form, all).await;
    Ok(call.redirect("builders", Some(&message)))
}

/// `builders/_selected/forceselected`: the ticked builders the scheduler builds.
pub async fn force_selected(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let selected = selected_builders(ctx, &form).await?;
    if !allowed(&call, Action::ForceAllBuilds, &Subject::Nothing) {
        return Ok(refused(&call));
    }
    let message = submit(ctx, &call, &form, selected.into_iter().map(|b| b.name).collect()).await;
    Ok(call.redirect("builders", Some(&message)))
}

/// `builders/B/builds/N/rebuild`: asked about the builder, as forcing it is.
pub async fn rebuild(ctx: &WebContext, call: Call) -> Answer {
    let form = form(ctx, &call).await?;
    let build = find_build(ctx, call.param("builder")?, &call.build_number("number")?).await?;
    let builder = require_builder(ctx, &build.builder).await?;
    if !allowed(&call, Action::ForceBuild, &Subject::Builder(&builder)) {
        return Ok(refused(&call));
    }
    let extra = rebuild_properties(|name| form.first(name));
    let stamps = Stamps::named(form.first("useSourcestamp"));
    let comments = form.first("comments").map(str::trim).filter(|c| !c.is_empty());
    let message = match rebuild_request(&build, &owner(&call, &form), comments, stamps, &extra) {
        Err(why) => why,
        Ok(request) => match ctx.master.get().rebuild(&build.key(), request).await {
            Ok(_) => format!("Rebuild of build #{} requested.", build.number),
            Err(e) => format!("rebuilding a build failed: {e}"),
        },
    };
    Ok(call.redirect(&format!("builders/{}", quote(&build.builder)), Some(&message)))
}
