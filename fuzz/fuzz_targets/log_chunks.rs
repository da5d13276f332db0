//! Buildbot log-chunk decompression (`import-buildbot`), every codec: byte 0 is the
//! compression code (mod 7, so 6 is an unknown one), the rest the row's content. The text
//! comes out within `MAX_CHUNK_TEXT` or an error, never a panic or an out-of-memory; its
//! channels then split without losing text.

#![no_main]

use buildstatus::fuzzing::{channels, decompress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&code, content)) = data.split_first() else { return };
    let Ok(text) = decompress(i64::from(code % 7), content) else { return };
    assert!(text.len() <= 16 << 20, "{} bytes of text", text.len());
    let text = String::from_utf8_lossy(&text);
    for stream in [false, true] {
        let runs = channels(&text, stream);
        let kept: usize = runs.iter().map(|(_, run)| run.len()).sum();
        assert!(kept <= text.len());
    }
});
