//! The `[buildbot]` block of `buildstatus.toml`: the Buildbot 4 master this server follows
//! (its builds come through `HttpStatusPush`, see `[ingest]`), commanded by the web status's
//! actions through its REST API: `url` (its web root), the `user` and `password` (or
//! `password_file`) its web UI takes, and `poll`, the seconds between two reads of its
//! builders and workers (30; 0 reads none).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::values::{count, non_empty};
use crate::adapters::buildbot::control::BuildbotControl;
use crate::app::buildbot_sync::FollowedBuildbot;

/// Seconds between two reads of the master's builders and workers, unless `poll` says.
pub const DEFAULT_POLL: u64 = 30;

pub fn parse(value: &toml::Value, base: &Path) -> Result<FollowedBuildbot, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["buildbot: expected a table ([buildbot])".to_owned()]);
    };
    let (mut url, mut user, mut password) = (None, None, None);
    let mut poll = Duration::from_secs(DEFAULT_POLL);
    let mut problems = Vec::new();
    for (key, value) in table {
        let result = match key.as_str() {
            "url" => non_empty(value).map(|u| url = Some(u)),
            "user" => non_empty(value).map(|u| user = Some(u)),
            "password" => non_empty(value).map(|p| password = Some(p)),
            "password_file" => non_empty(value).and_then(|f| {
                let path = base.join(f);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                password = Some(text.trim_end_matches(['\r', '\n']).to_owned());
                Ok(())
            }),
            "poll" => count(value, 0).map(|s| poll = Duration::from_secs(s as u64)),
            other => Err(format!("unknown key '{other}' (keys: url, user, password, password_file, poll)")),
        };
        if let Err(problem) = result {
            problems.push(format!("buildbot.{key}: {problem}"));
        }
    }
    let credentials = match (user, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => {
            problems.push("buildbot: give both user and password (or password_file), or neither".to_owned());
            None
        }
    };
    let Some(url) = url else {
        problems.push("buildbot.url: the master's web root is needed (such as http://buildbot:8010/)".to_owned());
        return Err(problems);
    };
    match BuildbotControl::new(&url, credentials) {
        Ok(control) if problems.is_empty() => Ok(FollowedBuildbot { control: Arc::new(control), poll }),
        Ok(_) => Err(problems),
        Err(e) => {
            problems.push(format!("buildbot.url: {e}"));
            Err(problems)
        }
    }
}
