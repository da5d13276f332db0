//! The `bitbucket` hook dialect (Cloud, Server and the old POST service) on any request, with
//! or without a secret: see `common/hook.rs`.

#![no_main]

#[path = "common/hook.rs"]
mod hook;

use buildstatus::domain::hooks::{BitbucketOptions, Dialect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hook::run(data, |f| Dialect::Bitbucket(BitbucketOptions { secret: f.secret() })));
