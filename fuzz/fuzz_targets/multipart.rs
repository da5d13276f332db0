//! The multipart/form-data reader (hook forms) on any body: the first line is the
//! Content-Type header's value, the rest the body. Fields come out or not; nothing panics.

#![no_main]

use buildstatus::domain::hooks::multipart;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let fields = multipart::fields(&String::from_utf8_lossy(content_type), body);
    // Every field is a part of the body: together they cannot be longer than it (lossy UTF-8
    // may triple a byte).
    let total: usize = fields.iter().map(|(name, value)| name.len() + value.len()).sum();
    assert!(total <= 3 * body.len(), "fields longer than the body");
});
