//! The `poller` dialect (spec §10.9): asks polling change sources to poll now. `poller=NAME`
//! (repeatable, in the query or the form) picks them; none means all that `allowed` permits.
//! An unknown or forbidden name refuses the whole request, so nothing is polled by halves.

use super::{HookError, HookOutcome, HookRequest, bad};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PollerOptions {
    /// The sources this hook may trigger; `None` means all.
    pub allowed: Option<Vec<String>>,
}

pub fn parse(options: &PollerOptions, request: &HookRequest, pollers: &[String]) -> Result<HookOutcome, HookError> {
    let permitted = |name: &String| options.allowed.as_ref().is_none_or(|a| a.contains(name));
    let candidates: Vec<String> = pollers.iter().filter(|p| permitted(p)).cloned().collect();
    let requested = request.args().all("poller");
    if requested.is_empty() {
        return Ok(HookOutcome::Poll(candidates));
    }
    let missing: Vec<&str> = requested.iter().filter(|r| !candidates.contains(r)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(bad(format!("Could not find pollers: {}", missing.join(","))));
    }
    Ok(HookOutcome::Poll(requested))
}
