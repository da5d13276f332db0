//! The input form of the hook targets: one request to a change hook, written as text so the
//! seeds read like the requests they stand for.
//!
//! Byte 0 chooses the dialect's options and the request's method (bit 0: a secret is set;
//! bit 1: GitHub's `strict`; bit 2: a configured codebase or poller whitelist; bits 3–4: the
//! method, POST, GET, PUT or POST; bit 5: `skip_ci` off). Then: the query string on the first
//! line, header lines `Name: value` up to an empty line, and the body (any bytes).

// Each dialect's target uses the flags its options have.
#![allow(dead_code)]

use buildstatus::domain::hooks::{self, Dialect, HookOutcome, HookRequest, HookSettings};
use chrono::DateTime;

/// The secret a configured dialect checks against.
pub const SECRET: &str = "s3cret";

/// The flags of byte 0.
pub struct Flags(pub u8);

impl Flags {
    pub fn secret(&self) -> Option<String> {
        (self.0 & 1 != 0).then(|| SECRET.to_owned())
    }
    pub fn strict(&self) -> bool {
        self.0 & 2 != 0
    }
    pub fn configured(&self) -> bool {
        self.0 & 4 != 0
    }
}

/// Runs `data` through [`hooks::parse`] with the dialect `options` makes of its flags. The
/// parser may refuse anything, but never panics, and changes it accepts are never empty.
pub fn run(data: &[u8], dialect: impl Fn(&Flags) -> Dialect) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let flags = Flags(flags);
    let (head, body) = match find(rest, b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let query = lines.next().unwrap_or("");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let method = ["POST", "GET", "PUT", "POST"][usize::from(flags.0 >> 3 & 3)];
    let request = HookRequest {
        method,
        headers: &headers,
        query,
        body,
        now: DateTime::from_timestamp(1_800_000_000, 0).expect("a time"),
    };
    let settings = HookSettings { skip_ci: flags.0 & 32 == 0, ..HookSettings::default() };
    let pollers = ["git".to_owned(), "svn".to_owned()];
    if let Ok(HookOutcome::Changes(changes)) = hooks::parse(&settings, &dialect(&flags), &request, &pollers) {
        assert!(!changes.is_empty(), "an accepted request with no change");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
