//! `buildstatus.toml`, the one place the binary's configuration is read: the top-level keys
//! here, each block in a file of its own (`[change_hook]` in `hooks.rs`, `[ingest]`,
//! `[[git_poller]]`, `[[mail]]`, `[[irc]]`), listed once in [`SECTIONS`]. Every problem is collected and
//! reported at once, each naming its key. A new block is one file and one line of that table.
//!
//! The file is read into the library's own [`Setup`], so what the binary can configure and
//! what an embedding master can are the same settings, described once.
//!
//! Paths in the file are relative to the file's directory.

mod git_poller;
pub mod hooks;
pub mod ingest;
mod irc;
pub mod listen;
mod mail;
mod targets;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::notify::Target;
use super::{Setup, Storage};
use crate::adapters::http::listen::Listen;
use crate::domain::hooks::Dialect;
use crate::domain::web::layout::FEEDS;
pub use hooks::HookConfig;
pub use ingest::IngestConfig;
use values::{count, non_empty, string};

/// The configuration of a `buildstatus` process: where it listens, and the server it runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the web server listens: one place or several (`config/listen.rs` has the forms).
    pub listen: Vec<Listen>,
    /// The server, with `Storage::Directory` (the SQLite database and the logs) and a
    /// `public_html` directory.
    pub server: Setup,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8010";

/// A block of the file: its key, and how it is read into the setup.
type Section = fn(&toml::Value, &Path, &mut Setup) -> Result<(), Vec<String>>;

/// Every block of the file, by key.
const SECTIONS: &[(&str, Section)] = &[
    ("change_hook", |v, base, setup| {
        setup.hooks = Some(hooks::parse(v, base)?);
        Ok(())
    }),
    ("ingest", |v, base, setup| {
        setup.ingest = Some(ingest::parse(v, base)?);
        Ok(())
    }),
    ("git_poller", |v, base, setup| {
        setup.git_pollers = git_poller::parse(v, base)?;
        Ok(())
    }),
    ("irc", |v, base, setup| {
        let targets = irc::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
    ("mail", |v, base, setup| {
        let targets = mail::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
];

impl Config {
    /// The defaults, with paths relative to `base`.
    pub fn defaults(base: &Path) -> Self {
        let server = Setup {
            storage: Storage::Directory(base.join("data")),
            public_html: Some(base.join("public_html")),
            ..Setup::default()
        };
        let listen =
            vec![Listen::Tcp(DEFAULT_LISTEN.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8010))))];
        Self { listen, server }
    }

    /// Where the database and logs live (`data_dir`).
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.server.storage {
            Storage::Directory(dir) => Some(dir),
            Storage::Memory => None,
        }
    }

    pub fn set_data_dir(&mut self, dir: PathBuf) {
        self.server.storage = Storage::Directory(dir);
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
            if let Some((_, read)) = SECTIONS.iter().find(|(name, _)| name == key) {
                if let Err(more) = read(value, base, &mut config.server) {
                    problems.extend(more);
                }
            } else if let Err(problem) = config.set(key, value, base) {
                problems.push(format!("{key}: {problem}"));
            }
        }
        problems.extend(config.cross_checks());
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }

    /// What no single key can check: references between blocks, and values that only make
    /// sense together.
    fn cross_checks(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let server = &self.server;
        if let Some(Dialect::Poller(options)) = server.hooks.as_ref().and_then(|h| h.settings.dialects.get("poller")) {
            for name in options.allowed.iter().flatten() {
                if !server.git_pollers.iter().any(|p| &p.name == name) {
                    problems.push(format!("change_hook.poller: allowed names '{name}', which is no [[git_poller]]"));
                }
            }
        }
        if !server.site.buildbot_url.ends_with('/') {
            problems.push(format!("buildbotURL: '{}' must end with '/'", server.site.buildbot_url));
        }
        problems
    }

    fn set(&mut self, key: &str, value: &toml::Value, base: &Path) -> Result<(), String> {
        let site = &mut self.server.site;
        match key {
            "listen" => {
                let forms = match value {
                    toml::Value::Array(items) if !items.is_empty() => {
                        items.iter().map(string).collect::<Result<_, _>>()?
                    }
                    toml::Value::Array(_) => return Err("name at least one place to listen".to_owned()),
                    _ => vec![string(value)?],
                };
                self.listen = forms.iter().map(|f| listen::parse(f, base)).collect::<Result<_, _>>()?;
            }
            "data_dir" => self.server.storage = Storage::Directory(base.join(non_empty(value)?)),
            "public_html" => self.server.public_html = Some(base.join(non_empty(value)?)),
            "title" => site.title = non_empty(value)?,
            "titleURL" | "title_url" => site.title_url = string(value)?,
            "buildbotURL" | "buildbot_url" => {
                let url = string(value)?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("'{url}' is not an http:// or https:// URL"));
                }
                site.buildbot_url = url;
            }
            "numbuilds" => site.numbuilds = count(value, 1)?,
            "builder_numbuilds" => site.builder_numbuilds = count(value, 1)?,
            "window" => self.server.window = count(value, 1)?,
            "showUsersPage" | "show_users_page" => {
                site.show_users_page = value.as_bool().ok_or("expected true or false")?;
            }
            "num_events" => site.num_events = count(value, 1)?,
            "num_events_max" => site.num_events_max = Some(count(value, 1)?),
            "order_console_by_time" => {
                site.order_console_by_time = value.as_bool().ok_or("expected true or false")?;
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
                site.provide_feeds = feeds;
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
        assert_eq!(c.listen, [Listen::Tcp("127.0.0.1:9000".parse().unwrap())]);
        assert_eq!(c.data_dir(), Some(Path::new("/etc/bs/state")));
        assert_eq!(c.server.public_html.as_deref(), Some(Path::new("/etc/bs/public_html")));
        assert_eq!(c.server.site.title, "Example");
        assert_eq!(c.server.site.numbuilds, 30);
        assert_eq!(c.server.window, 50);
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
                "listen: 'nowhere': not a listener (the forms are PORT, ADDRESS:PORT, tcp:PORT[:interface=ADDRESS], \
                 ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem[:interface=ADDRESS], unix:PATH[:mode=OCTAL])",
                "numbuilds: 0 is below the minimum of 1",
                "window: expected a whole number, found string",
            ]
        );
    }

    #[test]
    fn provide_feeds_lists_known_feeds_only() {
        let c = Config::parse("provide_feeds = [\"json\"]", Path::new(".")).unwrap();
        assert!(c.server.site.provides("json") && !c.server.site.provides("rss"));
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
