//! The `gitlab` hook dialect on any request, with or without a token: see `common/hook.rs`.

#![no_main]

#[path = "common/hook.rs"]
mod hook;

use buildstatus::domain::hooks::{Dialect, GitlabOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hook::run(data, |f| Dialect::Gitlab(GitlabOptions { secret: f.secret() })));
