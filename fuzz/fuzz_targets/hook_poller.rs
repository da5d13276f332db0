//! The `poller` hook dialect on any request, with or without a whitelist (the server knows
//! the pollers `git` and `svn`): see `common/hook.rs`.

#![no_main]

#[path = "common/hook.rs"]
mod hook;

use buildstatus::domain::hooks::{Dialect, PollerOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hook::run(data, |f| Dialect::Poller(PollerOptions {
    allowed: f.configured().then(|| vec!["git".to_owned()]),
})));
