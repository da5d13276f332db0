//! Adapters against the real programs they talk to, started by the tests on 127.0.0.1.

pub mod browser;
mod buildbot_follow;
mod feeds;
mod git_poller;
mod import_buildbot;
mod listeners;
mod live;
mod mail;
mod pb;
