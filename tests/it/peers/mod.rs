//! Adapters against the real programs they talk to, started by the tests on 127.0.0.1.

pub mod browser;
mod browser_actions;
mod buildbot_control;
mod buildbot_follow;
mod feeds;
mod git_poller;
mod htpasswd;
mod import_buildbot;
mod listeners;
mod live;
mod mail;
