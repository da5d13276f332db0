//! `buildstatus.toml` on any text: a config or the list of its problems, never a panic. The
//! base directory does not exist, so files it names (templates, htpasswd) are not read.

#![no_main]

use std::path::Path;

use buildstatus::app::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(problems) = Config::parse(text, Path::new("/nonexistent/buildstatus-fuzz")) {
        assert!(!problems.is_empty(), "refused without a reason");
    }
});
