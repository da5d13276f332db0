//! The `[limits]` block of `buildstatus.toml`: what one client may take of the web server
//! (`adapters::http::limits` says what each limit does). Every key is optional; times are
//! whole seconds.
//!
//! ```toml
//! [limits]
//! header_timeout = 10
//! body_timeout = 60
//! max_header_bytes = 16384
//! max_connections = 10000
//! max_connections_per_address = 256
//! max_streams_per_address = 32
//! hook_requests_per_minute = 600
//! ingest_requests_per_minute = 6000
//! limit_loopback = false
//! exempt = ["192.0.2.10"]
//! ```

use std::net::IpAddr;
use std::time::Duration;

use super::values::{boolean, count, strings};
use crate::adapters::http::limits::Limits;

const KEYS: &str = "header_timeout, body_timeout, max_header_bytes, max_connections, \
    max_connections_per_address, max_streams_per_address, hook_requests_per_minute, \
    ingest_requests_per_minute, limit_loopback, exempt";

/// Parses the `limits` table; every problem is returned, each naming its key.
pub fn parse(value: &toml::Value) -> Result<Limits, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["limits: expected a table ([limits])".to_owned()]);
    };
    let mut limits = Limits::default();
    let mut problems = Vec::new();
    let seconds = |v: &toml::Value| count(v, 1).map(|s| Duration::from_secs(s as u64));
    let per_minute = |v: &toml::Value| count(v, 1).and_then(|n| u32::try_from(n).map_err(|_| "too large".to_owned()));
    for (key, value) in table {
        let result = match key.as_str() {
            "header_timeout" => seconds(value).map(|d| limits.header_timeout = d),
            "body_timeout" => seconds(value).map(|d| limits.body_timeout = d),
            // hyper needs room for a request line and a few headers.
            "max_header_bytes" => count(value, 1024).map(|n| limits.max_header_bytes = n),
            "max_connections" => count(value, 1).map(|n| limits.max_connections = n),
            "max_connections_per_address" => count(value, 1).map(|n| limits.max_connections_per_address = n),
            "max_streams_per_address" => count(value, 1).map(|n| limits.max_streams_per_address = n),
            "hook_requests_per_minute" => per_minute(value).map(|n| limits.hook_requests_per_minute = n),
            "ingest_requests_per_minute" => per_minute(value).map(|n| limits.ingest_requests_per_minute = n),
            "limit_loopback" => boolean(value).map(|b| limits.limit_loopback = b),
            "exempt" => strings(value).and_then(|list| {
                list.iter()
                    .map(|a| a.trim().parse::<IpAddr>().map_err(|_| format!("'{a}' is not an IP address")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|addresses| limits.exempt = addresses)
            }),
            other => Err(format!("unknown key '{other}' (keys: {KEYS})")),
        };
        if let Err(problem) = result {
            problems.push(format!("limits.{key}: {problem}"));
        }
    }
    if problems.is_empty() { Ok(limits) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> Result<Limits, Vec<String>> {
        parse(&toml::from_str::<toml::Value>(text).expect("TOML"))
    }

    #[test]
    fn every_key_is_read_and_the_rest_keep_their_defaults() {
        let read = limits(
            "header_timeout = 5\nbody_timeout = 30\nmax_header_bytes = 8192\nmax_connections = 500\n\
             max_connections_per_address = 20\nmax_streams_per_address = 4\nhook_requests_per_minute = 60\n\
             ingest_requests_per_minute = 120\nlimit_loopback = true\nexempt = [\"192.0.2.10\", \"::1\"]",
        )
        .expect("valid");
        assert_eq!(
            read,
            Limits {
                header_timeout: Duration::from_secs(5),
                body_timeout: Duration::from_secs(30),
                max_header_bytes: 8192,
                max_connections: 500,
                max_connections_per_address: 20,
                max_streams_per_address: 4,
                hook_requests_per_minute: 60,
                ingest_requests_per_minute: 120,
                limit_loopback: true,
                exempt: vec!["192.0.2.10".parse().expect("address"), "::1".parse().expect("address")],
            }
        );
        assert_eq!(limits("").expect("empty"), Limits::default());
    }

    #[test]
    fn every_problem_is_named_by_its_key() {
        let problems = limits("header_timeout = 0\nexempt = [\"example.org\"]\nmax_header_bytes = 10\nspeed = 1")
            .expect_err("invalid");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("limits.header_timeout: 0 is below the minimum of 1")));
        assert!(problems.iter().any(|p| p == "limits.exempt: 'example.org' is not an IP address"));
        assert!(problems.iter().any(|p| p.starts_with("limits.max_header_bytes: 10 is below the minimum of 1024")));
        assert!(problems.iter().any(|p| p.starts_with("limits.speed: unknown key 'speed'")));
    }
}
