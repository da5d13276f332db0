//! Buildbot's `HttpStatusPush` JSON (the `packets` form field's value) on any body: events
//! or an error, never a panic.

#![no_main]

use buildstatus::domain::{buildbot_push, ingest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(events) = buildbot_push::parse(data) {
        let _ = ingest::unknown_builders(&events, |name| name.len() % 2 == 0);
    }
});
