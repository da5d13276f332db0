//! Adapters against the real programs they talk to, started by the tests on 127.0.0.1
//! (and, for GitHub, a local api.github.com held to GitHub's OpenAPI description).

pub mod browser;
mod browser_actions;
mod buildbot_control;
mod buildbot_follow;
mod crash_loop;
mod feeds;
mod gerrit;
mod git_poller;
pub mod github;
mod htpasswd;
mod http_push;
mod import_buildbot;
mod irc;
mod listeners;
mod live;
mod mail;
mod pb;
