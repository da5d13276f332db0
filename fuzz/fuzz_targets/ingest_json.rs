//! The ingest API's JSON (`POST /api/v1/events`) on any body: events or an error, never a
//! panic; every event's builder name is one the unknown-builder check can read.

#![no_main]

use buildstatus::domain::ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(events) = ingest::parse(data) {
        let _ = ingest::unknown_builders(&events, |name| name.len() % 2 == 0);
    }
});
