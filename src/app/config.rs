//! `buildstatus.toml`: reading and checking the binary's configuration. Every problem is
//! collected and reported at once, each naming its key.
//!
//! Paths in the file are relative to the file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::config_values::{count, non_empty, string};
use super::hook_config::{self, HookConfig};
use super::ingest_config::{self, IngestConfig};
use super::mail_config;
use super::notify::MailTarget;
use super::poller_config;
use crate::adapters::git_poller::GitPollerSettings;
use crate::domain::hooks::Dialect;
use crate::domain::web::layout::{FEEDS, Site};

/// The configuration of a `buildstatus` process.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// The SQLite database and the logs live here.
    pub data_dir: PathBuf,
    /// Static files served beside the pages.
    pub public_html: PathBuf,
    pub site: Site,
    /// Finished builds per builder kept in memory for the pages.
    pub window: usize,
    /// `[change_hook]`: the enabled change hooks; `None` when the block is absent.
    pub hooks: Option<HookConfig>,
    /// `[[git_poller]]`: repositories polled for new commits.
    pub git_pollers: Vec<GitPollerSettings>,
    /// `[[mail]]` blocks: the mail notifiers.
    pub mail: Vec<MailTarget>,
    /// `[ingest]`: the event ingest API; `None` (not enabled) when the block is absent.
    pub ingest: Option<IngestConfig>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8010";

impl Config {
    /// The defaults, with paths relative to `base`.
    pub fn defaults(base: &Path) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8010))),
            data_dir: base.join("data"),
            public_html: base.join("public_html"),
            site: Site::default(),
            window: 100,
            hooks: None,
            git_pollers: Vec::new(),
            mail: Vec::new(),
            ingest: None,
        }
    }

    /// Reads `path`; the error lists every problem found.
    pub fn load(path: &Path) -> Result<Self, Vec<String>> {
        let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: cannot read: {e}", path.display())])?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base)
    }

    /// Parses the text of a config file whose directory is `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, Vec<String>> {
        let table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| vec![format!("not valid TOML: {}", e.message())])?;
        let mut config = Self::defaults(base);
        let mut problems = Vec::new();
        for (key, value) in &table {
            if key == "change_hook" {
                match hook_config::parse(value, base) {
                    Ok(hooks) => config.hooks = Some(hooks),
                    Err(more) => problems.extend(more),
                }
                continue;
            }
            if key == "ingest" {
                match ingest_config::parse(value, base) {
                    Ok(ingest) => config.ingest = Some(ingest),
                    Err(more) => problems.extend(more),
                }
                continue;
            }
            if key == "git_poller" {
                match poller_config::parse(value, base) {
                    Ok(pollers) => config.git_pollers = pollers,
                    Err(more) => problems.extend(more),
                }
                continue;
            }
            if key == "mail" {
                match mail_config::parse(value, base) {
                    Ok(mail) => config.mail = mail,
                    Err(more) => problems.extend(more),
                }
                continue;
            }
            if let Err(problem) = config.set(key, value, base) {
                problems.push(format!("{key}: {problem}"));
            }
        }
        if let Some(Dialect::Poller(options)) = config.hooks.as_ref().and_then(|h| h.settings.dialects.get("poller")) {
            for name in options.allowed.iter().flatten() {
                if !config.git_pollers.iter().any(|p| &p.name == name) {
                    problems.push(format!("change_hook.poller: allowed names '{name}', which is no [[git_poller]]"));
                }
            }
        }
        if !config.site.buildbot_url.ends_with('/') {
            problems.push(format!("buildbotURL: '{}' must end with '/'", config.site.buildbot_url));
        }
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }

    fn set(&mut self, key: &str, value: &toml::Value, base: &Path) -> Result<(), String> {
        match key {
            "listen" => {
                self.listen =
                    string(value)?.parse().map_err(|_| "expected ADDRESS:PORT, such as 127.0.0.1:8010".to_owned())?
            }
            "data_dir" => self.data_dir = base.join(non_empty(value)?),
            "public_html" => self.public_html = base.join(non_empty(value)?),
            "title" => self.site.title = non_empty(value)?,
            "titleURL" | "title_url" => self.site.title_url = string(value)?,
            "buildbotURL" | "buildbot_url" => {
                let url = string(value)?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("'{url}' is not an http:// or https:// URL"));
                }
                self.site.buildbot_url = url;
            }
            "numbuilds" => self.site.numbuilds = count(value, 1)?,
            "builder_numbuilds" => self.site.builder_numbuilds = count(value, 1)?,
            "window" => self.window = count(value, 1)?,
            "showUsersPage" | "show_users_page" => {
                self.site.show_users_page = value.as_bool().ok_or("expected true or false")?;
            }
            "num_events" => self.site.num_events = count(value, 1)?,
            "num_events_max" => self.site.num_events_max = Some(count(value, 1)?),
            "order_console_by_time" => {
                self.site.order_console_by_time = value.as_bool().ok_or("expected true or false")?;
            }
            "provide_feeds" => {
                let list = value.as_array().ok_or("expected a list such as [\"atom\", \"json\", \"rss\"]")?;
                let mut feeds = Vec::new();
                for item in list {
                    match item.as_str() {
                        Some(f) if FEEDS.contains(&f) => feeds.push(f.to_owned()),
                        _ => return Err(format!("{item} is not one of \"atom\", \"json\", \"rss\"")),
                    }
                }
                self.site.provide_feeds = feeds;
            }
            other => return Err(format!("unknown key '{other}'")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_is_read_with_paths_relative_to_its_file() {
        let text = r#"
            listen = "127.0.0.1:9000"
            data_dir = "state"
            title = "Example"
            titleURL = "https://example.org/"
            buildbotURL = "https://ci.example.org/"
            numbuilds = 30
            window = 50
        "#;
        let c = Config::parse(text, Path::new("/etc/bs")).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.data_dir, Path::new("/etc/bs/state"));
        assert_eq!(c.public_html, Path::new("/etc/bs/public_html"));
        assert_eq!(c.site.title, "Example");
        assert_eq!(c.site.numbuilds, 30);
        assert_eq!(c.window, 50);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
            listen = "nowhere"
            numbuilds = 0
            window = "many"
            colour = "blue"
            buildbotURL = "ftp://x"
        "#;
        let mut problems = Config::parse(text, Path::new(".")).unwrap_err();
        problems.sort();
        assert_eq!(
            problems,
            [
                "buildbotURL: 'ftp://x' is not an http:// or https:// URL",
                "colour: unknown key 'colour'",
                "listen: expected ADDRESS:PORT, such as 127.0.0.1:8010",
                "numbuilds: 0 is below the minimum of 1",
                "window: expected a whole number, found string",
            ]
        );
    }

    #[test]
    fn provide_feeds_lists_known_feeds_only() {
        let c = Config::parse("provide_feeds = [\"json\"]", Path::new(".")).unwrap();
        assert!(c.site.provides("json") && !c.site.provides("rss"));
        let problems = Config::parse("provide_feeds = [\"json\", \"xml\"]", Path::new(".")).unwrap_err();
        assert_eq!(problems, ["provide_feeds: \"xml\" is not one of \"atom\", \"json\", \"rss\""]);
    }

    #[test]
    fn broken_toml_says_where() {
        let problems = Config::parse("title = ", Path::new(".")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("not valid TOML"), "{problems:?}");
    }
}
