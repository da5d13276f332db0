//! The `googlecode` hook dialect on any request, with or without a secret key: see
//! `common/hook.rs`.

#![no_main]

#[path = "common/hook.rs"]
mod hook;

use buildstatus::domain::hooks::{Dialect, GooglecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hook::run(data, |f| Dialect::Googlecode(GooglecodeOptions {
    secret_key: f.secret(),
    ..GooglecodeOptions::default()
})));
