//! The `github` hook dialect on any request, with or without a secret, strict or not, with
//! or without a codebase: see `common/hook.rs`.

#![no_main]

#[path = "common/hook.rs"]
mod hook;

use buildstatus::domain::hooks::{Dialect, GithubOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hook::run(data, |f| Dialect::Github(GithubOptions {
    secret: f.secret(),
    strict: f.strict(),
    allow_sha1: f.strict(),
    codebase: f.configured().then(|| "cb".to_owned()),
})));
