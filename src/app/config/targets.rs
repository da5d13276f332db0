//! What every notification target's block shares (`[[mail]]`, `[[http_push]]`; `[[irc]]`,
//! `[[github]]` and `[[gerrit]]` next): one block per target, labelled `kind[N]` in problems,
//! a name unique among the blocks of its kind, and the delivery keys (retries and how long the
//! delivery log keeps messages).

use std::time::Duration;

use super::values::number;
use crate::app::notify::Overrides;
use crate::domain::notify::outbox::{Retention, RetryPolicy};

/// Each `[[kind]]` block of `value`, read by `read` (given the block, its default name and
/// its delivery keys already taken out); every problem is prefixed with the block's label.
/// `name` gives a target's name, to refuse two blocks of one name.
pub fn blocks<T>(
    kind: &str,
    value: &toml::Value,
    read: impl FnMut(&toml::Table, String, Overrides) -> Result<T, Vec<String>>,
    name: impl Fn(&T) -> &str,
) -> Result<Vec<T>, Vec<String>> {
    blocks_with(kind, value, RetryPolicy::default(), read, name)
}

/// [`blocks`] of a kind whose retries differ from the server's when a block sets some of the
/// keys (a push target never gives a packet up): the keys a block leaves out come from
/// `retry`.
pub fn blocks_with<T>(
    kind: &str,
    value: &toml::Value,
    retry: RetryPolicy,
    mut read: impl FnMut(&toml::Table, String, Overrides) -> Result<T, Vec<String>>,
    name: impl Fn(&T) -> &str,
) -> Result<Vec<T>, Vec<String>> {
    let Some(blocks) = value.as_array() else {
        return Err(vec![format!("{kind}: write each {kind} target as a [[{kind}]] block")]);
    };
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for (i, block) in blocks.iter().enumerate() {
        let label = format!("{kind}[{}]", i + 1);
        let Some(table) = block.as_table() else {
            problems.push(format!("{label}: expected a table"));
            continue;
        };
        let default_name = if blocks.len() == 1 { kind.to_owned() } else { format!("{kind}-{}", i + 1) };
        let (table, delivery) = match delivery(table, retry) {
            Ok(split) => split,
            Err(ps) => {
                problems.extend(ps.into_iter().map(|p| format!("{label}.{p}")));
                continue;
            }
        };
        match read(&table, default_name, delivery) {
            Ok(t) if out.iter().any(|o| name(o) == name(&t)) => {
                problems.push(format!("{label}.name: '{}' is the name of another [[{kind}]] block", name(&t)));
            }
            Ok(t) => out.push(t),
            Err(ps) => problems.extend(ps.into_iter().map(|p| format!("{label}.{p}"))),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// The delivery keys of a block, and the block without them.
///
/// - `retryDelay` (seconds, the first retry's delay, doubling up to `retryMaxDelay`) and
///   `maxAttempts`;
/// - `keepDays` and `keepCount`: the delivery log keeps done messages this long, and at most
///   this many.
fn delivery(table: &toml::Table, mut retry: RetryPolicy) -> Result<(toml::Table, Overrides), Vec<String>> {
    let (mut rest, mut problems) = (toml::Table::new(), Vec::new());
    let mut retention = Retention::default();
    let (mut retry_set, mut retention_set) = (false, false);
    for (key, v) in table {
        let read: Result<(), String> = match key.as_str() {
            "retryDelay" => seconds(v, 86_400).map(|d| retry.first_delay = d),
            "retryMaxDelay" => seconds(v, 7 * 86_400).map(|d| retry.max_delay = d),
            "maxAttempts" => number(v, 1, 1000).map(|n| retry.max_attempts = u32::try_from(n).unwrap_or(12)),
            "keepDays" => {
                number(v, 1, 3650).map(|n| retention.max_age = Duration::from_secs(n.unsigned_abs() * 86_400))
            }
            "keepCount" => {
                number(v, 1, 100_000_000).map(|n| retention.max_count = usize::try_from(n).unwrap_or(10_000))
            }
            _ => {
                rest.insert(key.clone(), v.clone());
                continue;
            }
        };
        match read {
            Ok(()) if key.starts_with("keep") => retention_set = true,
            Ok(()) => retry_set = true,
            Err(p) => problems.push(format!("{key}: {p}")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let overrides = Overrides { retry: retry_set.then_some(retry), retention: retention_set.then_some(retention) };
    Ok((rest, overrides))
}

fn seconds(v: &toml::Value, max: i64) -> Result<Duration, String> {
    number(v, 1, max).map(|n| Duration::from_secs(n.unsigned_abs()))
}
