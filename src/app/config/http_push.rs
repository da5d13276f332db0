//! `[[http_push]]` blocks of buildstatus.toml: one HttpStatusPush each (target
//! `http-push/NAME`), with the seed's argument names (`serverUrl`, `debug`, `maxMemoryItems`,
//! `maxDiskItems`, `chunkSize`, `maxHttpRequestSize`, `extra_post_params`, and StatusPush's
//! `filter`, `bufferDelay`, `retryDelay`, `blackList`), plus `whiteList`, `timeout`, `caFile`
//! and the delivery keys every target block shares (`targets.rs`), but `maxAttempts`: a push
//! target never gives a packet up.
//!
//! ```toml
//! [[http_push]]
//! serverUrl = "https://status.example.org/push"
//! blackList = ["stepStarted", "stepFinished"]
//! extra_post_params = { token = "…" }
//! ```

use std::path::Path;
use std::time::Duration;

use super::targets;
use super::values::{boolean, count, number, string, strings};
use crate::adapters::http_push::HttpPushSettings;
use crate::app::notify::push::PUSH_RETRY;
use crate::app::notify::{HttpPushTarget, Overrides};
use crate::domain::notify::push::{
    DEFAULT_DISK_ITEMS, DEFAULT_MEMORY_ITEMS, EventFilter, PayloadFilter, PushRules, Style,
};

/// Parses every `[[http_push]]` block (`value` is the array of them).
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<HttpPushTarget>, Vec<String>> {
    let given_up: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, block)| block.get("maxAttempts").is_some())
        .map(|(i, _)| {
            format!("http_push[{}].maxAttempts: a push target never gives a packet up (it would leave a hole in the stream)", i + 1)
        })
        .collect();
    let targets = targets::blocks_with(
        "http_push",
        value,
        PUSH_RETRY,
        |table, default_name, delivery| read(table, default_name, delivery, base),
        |target| target.rules.name.as_str(),
    );
    match (targets, given_up.is_empty()) {
        (Ok(targets), true) => Ok(targets),
        (Ok(_), false) => Err(given_up),
        (Err(mut problems), _) => {
            problems.extend(given_up);
            Err(problems)
        }
    }
}

/// One block as it is read.
struct Block {
    rules: PushRules,
    http: HttpPushSettings,
    extra: Vec<(String, String)>,
    chunk_size: usize,
    max_request: Option<usize>,
    memory_items: u64,
    disk_items: u64,
    white: Option<Vec<String>>,
    black: Vec<String>,
}

fn read(table: &toml::Table, name: String, delivery: Overrides, base: &Path) -> Result<HttpPushTarget, Vec<String>> {
    let mut block = Block {
        rules: PushRules::new(&name),
        http: HttpPushSettings { url: String::new(), timeout: Duration::from_secs(30), ca_pem: Vec::new() },
        extra: Vec::new(),
        chunk_size: 200,
        max_request: Some(1_048_576),
        memory_items: DEFAULT_MEMORY_ITEMS,
        disk_items: DEFAULT_DISK_ITEMS,
        white: None,
        black: Vec::new(),
    };
    let mut problems = Vec::new();
    for (key, v) in table {
        match block.key(key, v, base) {
            Ok(true) => {}
            Ok(false) => problems.push(format!("{key}: unknown key '{key}'")),
            Err(p) => problems.push(format!("{key}: {p}")),
        }
    }
    if block.http.url.trim().is_empty() {
        problems.push("serverUrl: HttpStatusPush requires a serverUrl".to_owned());
    } else {
        problems.extend(block.http.check().into_iter().map(|p| format!("serverUrl: {p}")));
    }
    match EventFilter::new(block.white.as_deref(), &block.black) {
        Ok(events) => block.rules.events = events,
        Err(p) => problems.push(format!("{}: {p}", if block.white.is_some() { "whiteList" } else { "blackList" })),
    }
    block.rules.capacity = block.memory_items + block.disk_items;
    if block.rules.capacity == 0 {
        problems.push("maxMemoryItems: maxMemoryItems + maxDiskItems must let at least one packet wait".to_owned());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(HttpPushTarget {
        rules: block.rules,
        http: block.http,
        extra: block.extra,
        chunk_size: block.chunk_size,
        max_request: block.max_request,
        delivery,
    })
}

impl Block {
    /// Reads `key`; `Ok(false)` when it is not one of the block's.
    fn key(&mut self, key: &str, v: &toml::Value, base: &Path) -> Result<bool, String> {
        match key {
            "name" => self.rules.name = string(v)?,
            "serverUrl" => self.http.url = string(v)?,
            "debug" => self.rules.style = if boolean(v)? { Style::Pretty } else { Style::Compact },
            "maxMemoryItems" => self.memory_items = count(v, 0)? as u64,
            "maxDiskItems" => self.disk_items = count(v, 0)? as u64,
            "chunkSize" => self.chunk_size = count(v, 1)?,
            "maxHttpRequestSize" => self.max_request = Some(count(v, 0)?).filter(|n| *n > 0),
            "extra_post_params" => self.extra = extra(v)?,
            "filter" => self.rules.filter = filter(v)?,
            "bufferDelay" => self.rules.buffer_delay = seconds(v)?,
            "blackList" => self.black = strings(v)?,
            "whiteList" => self.white = Some(strings(v)?),
            "timeout" => self.http.timeout = Duration::from_secs(number(v, 1, 3600)?.unsigned_abs()),
            "caFile" => {
                let path = base.join(string(v)?);
                self.http
                    .ca_pem
                    .push(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `extra_post_params`: a table of strings, sent after `packets` (which they may not replace).
fn extra(v: &toml::Value) -> Result<Vec<(String, String)>, String> {
    let table = v.as_table().ok_or("expected a table such as { token = \"…\" }")?;
    if table.contains_key("packets") {
        return Err("'packets' is the field that carries the packets".to_owned());
    }
    table.iter().map(|(k, v)| Ok((k.clone(), string(v).map_err(|e| format!("{k}: {e}"))?))).collect()
}

/// `filter`: `true` (drop null and empty values), `false` (none), or `"0.8"` (0.8's rule,
/// which also drops `0`, `false` and `""`).
fn filter(v: &toml::Value) -> Result<PayloadFilter, String> {
    match v {
        toml::Value::Boolean(true) => Ok(PayloadFilter::Empty),
        toml::Value::Boolean(false) => Ok(PayloadFilter::Off),
        toml::Value::String(s) if s == "0.8" => Ok(PayloadFilter::Lossy),
        other => Err(format!("expected true, false or \"0.8\", found {other}")),
    }
}

/// Seconds, whole or not (0.8's `bufferDelay=0.5`), at most an hour.
fn seconds(v: &toml::Value) -> Result<Duration, String> {
    let s = match v {
        toml::Value::Integer(n) => *n as f64,
        toml::Value::Float(f) => *f,
        other => return Err(format!("expected a number of seconds, found {}", other.type_str())),
    };
    if (0.0..=3600.0).contains(&s) { Ok(Duration::from_secs_f64(s)) } else { Err(format!("{s} is outside 0..=3600")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Config;
    use crate::domain::notify::push::EventName;

    fn targets(text: &str, base: &Path) -> Vec<HttpPushTarget> {
        Config::parse(text, base).expect("valid");
        let table: toml::Table = text.parse().expect("TOML");
        parse(&table["http_push"], base).expect("valid")
    }

    #[test]
    fn a_block_takes_the_seed_argument_names() {
        let text = r#"
            [[http_push]]
            serverUrl = "https://status.example.org/push"
            debug = true
            maxMemoryItems = 10
            maxDiskItems = 0
            chunkSize = 50
            maxHttpRequestSize = 0
            extra_post_params = { token = "abc", project = "widget" }
            filter = "0.8"
            bufferDelay = 0.5
            retryDelay = 2
            blackList = ["stepStarted", "stepFinished"]
            keepCount = 100
        "#;
        let t = &targets(text, Path::new("."))[0];
        assert_eq!(t.rules.name, "http_push");
        assert_eq!((t.rules.style, t.rules.filter, t.rules.capacity), (Style::Pretty, PayloadFilter::Lossy, 10));
        assert_eq!(t.rules.buffer_delay, Duration::from_millis(500));
        assert!(!t.rules.events.sends(EventName::StepStarted) && t.rules.events.sends(EventName::BuildStarted));
        assert_eq!((t.chunk_size, t.max_request), (50, None));
        assert_eq!(t.extra, [("project".to_owned(), "widget".to_owned()), ("token".to_owned(), "abc".to_owned())]);
        let retry = t.delivery.retry.expect("retryDelay set");
        assert_eq!(
            (retry.first_delay, retry.max_delay, retry.max_attempts),
            (Duration::from_secs(2), PUSH_RETRY.max_delay, u32::MAX),
            "the keys left out keep a push target's retries"
        );
    }

    #[test]
    fn the_defaults_are_0_8s() {
        let t = &targets("[[http_push]]\nserverUrl = \"http://127.0.0.1:9/\"\n", Path::new("."))[0];
        assert_eq!((t.chunk_size, t.max_request, t.rules.capacity), (200, Some(1_048_576), 110_000));
        assert_eq!((t.rules.style, t.rules.filter), (Style::Compact, PayloadFilter::Empty));
        assert_eq!((t.rules.buffer_delay, t.http.timeout), (Duration::from_secs(1), Duration::from_secs(30)));
        assert_eq!(t.delivery, Overrides::default());
    }

    #[test]
    fn every_problem_of_every_block_is_reported() {
        let text = r#"
            [[http_push]]
            blackList = ["buildFinshed"]
            filter = "lossy"
            extra_post_params = { packets = "[]" }
            maxAttempts = 3
            colour = 1

            [[http_push]]
            serverUrl = "ftp://example.org/"
            whiteList = ["buildFinished", "nope"]
            maxMemoryItems = 0
            maxDiskItems = 0
        "#;
        let mut problems = Config::parse(text, Path::new(".")).expect_err("invalid");
        problems.sort();
        assert_eq!(problems.len(), 9, "{problems:#?}");
        let expected = [
            "http_push[1].blackList: unknown event 'buildFinshed' (the events are start, ",
            "http_push[1].colour: unknown key 'colour'",
            "http_push[1].extra_post_params: 'packets' is the field that carries the packets",
            "http_push[1].filter: expected true, false or \"0.8\", found \"lossy\"",
            "http_push[1].maxAttempts: a push target never gives a packet up",
            "http_push[1].serverUrl: HttpStatusPush requires a serverUrl",
            "http_push[2].maxMemoryItems: maxMemoryItems + maxDiskItems must let at least one packet wait",
            "http_push[2].serverUrl: 'ftp://example.org/' is not an http:// or https:// URL",
            "http_push[2].whiteList: unknown event 'nope'",
        ];
        for (problem, start) in problems.iter().zip(expected) {
            assert!(problem.starts_with(start), "{problem} should start with {start}");
        }
    }
}
