//! `buildstatus.toml`, the one place the binary's configuration is read: the top-level keys
//! here, each block in a file of its own (`[change_hook]` in `hooks.rs`, `[ingest]`,
//! `[[git_poller]]`, `[[mail]]`, `[[http_push]]`, `[[github_status]]`, `[[gerrit]]`, `[authz]`,
//! `[auth]`, `[buildbot]`, `[[irc]]`, `[limits]`, `[store]`), listed once in [`SECTIONS`]. Every problem is collected and
//! reported at once, each naming its key. A new block is one file and one line of that table.
//!
//! The file is read into the library's own [`Setup`], so what the binary can configure and
//! what an embedding master can are the same settings, described once.
//!
//! Paths in the file are relative to the file's directory.

mod auth;
mod authz;
mod buildbot;
mod decorations;
mod gerrit;
mod git_poller;
mod github;
pub mod hooks;
mod http_push;
pub mod ingest;
mod irc;
mod limits;
pub mod listen;
mod mail;
pub mod pb;
mod store;
mod targets;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::notify::Target;
use super::{Setup, Storage};
use crate::adapters::http::access_log::AccessLogSettings;
use crate::adapters::http::listen::Listen;
use crate::adapters::http::templates::PageTemplates;
use crate::domain::hooks::Dialect;
use crate::domain::web::layout::FEEDS;
pub use hooks::HookConfig;
pub use ingest::IngestConfig;
use values::{bytes, count, non_empty, string};

/// The configuration of a `buildstatus` process: where it listens, and the server it runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the web server listens: one place or several (`config/listen.rs` has the forms).
    pub listen: Vec<Listen>,
    /// The server, with `Storage::Directory` (the SQLite database and the logs) and a
    /// `public_html` directory.
    pub server: Setup,
    /// Where `http.log` goes, and how it rotates (`logRotateLength`, `maxRotatedFiles`); made
    /// into the server's `http_log` once the file is read.
    http_log: HttpLogPath,
    rotate: (u64, u32),
    /// Where the site's templates are looked for, first first (`templates`, then
    /// `jinja_loaders`); compiled into the server's `templates` once the file is read.
    template_dirs: Vec<PathBuf>,
    jinja_loaders: Vec<PathBuf>,
}

/// Where the request log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HttpLogPath {
    /// `http.log` in the data directory, wherever `data_dir` or `--data-dir` puts it.
    InDataDir,
    Off,
    At(PathBuf),
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8010";

/// A block of the file: its key, and how it is read into the setup.
type Section = fn(&toml::Value, &Path, &mut Setup) -> Result<(), Vec<String>>;

/// Every block of the file, by key.
const SECTIONS: &[(&str, Section)] = &[
    ("authz", |v, _, setup| authz::parse(v, &mut setup.auth)),
    ("auth", |v, base, setup| auth::parse(v, base, &mut setup.auth)),
    ("buildbot", |v, base, setup| {
        setup.buildbot = Some(buildbot::parse(v, base)?);
        Ok(())
    }),
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
    ("limits", |v, _, setup| {
        setup.limits = limits::parse(v)?;
        Ok(())
    }),
    ("pb", |v, base, setup| {
        setup.pb = Some(pb::parse(v, base)?);
        Ok(())
    }),
    ("mail", |v, base, setup| {
        let targets = mail::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
    ("http_push", |v, base, setup| {
        let targets = http_push::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
    ("github_status", |v, base, setup| {
        let targets = github::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
    ("store", |v, base, setup| {
        setup.store_url = Some(store::parse(v, base)?);
        Ok(())
    }),
    ("gerrit", |v, base, setup| {
        let targets = gerrit::parse(v, base)?.into_iter().map(|t| Arc::new(t) as Arc<dyn Target>);
        setup.notifiers.targets.extend(targets);
        Ok(())
    }),
];

/// The names of the file's blocks (`[ingest]`, `[[mail]]`, …).
#[cfg(test)]
pub(crate) fn block_names() -> impl Iterator<Item = &'static str> {
    SECTIONS.iter().map(|(name, _)| *name)
}

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
        let defaults = AccessLogSettings::at(PathBuf::new());
        let mut config = Self {
            listen,
            server,
            http_log: HttpLogPath::InDataDir,
            rotate: (defaults.rotate_length, defaults.max_rotated),
            template_dirs: vec![base.join("templates")],
            jinja_loaders: Vec::new(),
        };
        config.place_http_log();
        config
    }

    /// Makes the server's `http_log` what the keys say.
    fn place_http_log(&mut self) {
        let path = match &self.http_log {
            HttpLogPath::Off => None,
            HttpLogPath::InDataDir => self.data_dir().map(|d| d.join("http.log")),
            HttpLogPath::At(path) => Some(path.clone()),
        };
        let (rotate_length, max_rotated) = self.rotate;
        self.server.http_log = path.map(|path| AccessLogSettings { path, rotate_length, max_rotated });
    }

    /// Compiles the site's templates into the server (every problem, each naming its file).
    pub fn load_templates(&mut self) -> Result<(), Vec<String>> {
        let dirs: Vec<PathBuf> = self.template_dirs.iter().chain(&self.jinja_loaders).cloned().collect();
        let templates = PageTemplates::load(&dirs)
            .map_err(|e| e.into_iter().map(|p| format!("templates: {p}")).collect::<Vec<_>>())?;
        self.server.templates = Arc::new(templates);
        Ok(())
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
        self.place_http_log();
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
        config.place_http_log();
        if let Err(more) = config.load_templates() {
            problems.extend(more);
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
        if let Some(max) = server.site.num_events_max.filter(|max| *max < server.site.num_events) {
            problems.push(format!(
                "num_events_max: {max} is below num_events ({}): the waterfall's default would exceed its cap",
                server.site.num_events
            ));
        }
        problems.extend(authz::unreachable_rules(&server.auth));
        if !server.site.buildbot_url.ends_with('/') {
            problems.push(format!("buildbotURL: '{}' must end with '/'", server.site.buildbot_url));
        }
        problems
    }

    fn set(&mut self, key: &str, value: &toml::Value, base: &Path) -> Result<(), String> {
        if let Some(read) = decorations::set(&mut self.server.site.decorations, key, value) {
            return read;
        }
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
            "http_log" => {
                self.http_log = match value {
                    toml::Value::Boolean(false) => HttpLogPath::Off,
                    _ => match string(value)?.as_str() {
                        "" | "-" => HttpLogPath::Off,
                        path => HttpLogPath::At(base.join(path)),
                    },
                }
            }
            "logRotateLength" | "rotateLength" => self.rotate.0 = bytes(value)? as u64,
            "maxRotatedFiles" => {
                self.rotate.1 = u32::try_from(count(value, 0)?).map_err(|_| "too many files".to_owned())?
            }
            "public_html" => self.server.public_html = Some(base.join(non_empty(value)?)),
            "templates" => self.template_dirs = vec![base.join(non_empty(value)?)],
            "jinja_loaders" => {
                let dirs = value.as_array().ok_or("expected a list of directories")?;
                self.jinja_loaders =
                    dirs.iter().map(|d| Ok(base.join(non_empty(d)?))).collect::<Result<_, String>>()?;
            }
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
                return Err("now an action of [authz]: showUsersPage = true, \"auth\" or a rule".to_owned());
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
    fn num_events_max_may_not_be_below_num_events() {
        let problems = Config::parse("num_events = 100\nnum_events_max = 50", Path::new(".")).unwrap_err();
        assert_eq!(
            problems,
            ["num_events_max: 50 is below num_events (100): the waterfall's default would exceed its cap"]
        );
        let c = Config::parse("num_events = 100\nnum_events_max = 100", Path::new(".")).unwrap();
        assert_eq!(c.server.site.num_events_max, Some(100));
        // The default num_events (200) counts too.
        assert!(Config::parse("num_events_max = 150", Path::new(".")).is_err());
    }

    #[test]
    fn provide_feeds_lists_known_feeds_only() {
        let c = Config::parse("provide_feeds = [\"json\"]", Path::new(".")).unwrap();
        assert!(c.server.site.provides("json") && !c.server.site.provides("rss"));
        let problems = Config::parse("provide_feeds = [\"json\", \"xml\"]", Path::new(".")).unwrap_err();
        assert_eq!(problems, ["provide_feeds: \"xml\" is not one of \"atom\", \"json\", \"rss\""]);
    }

    #[test]
    fn the_request_log_follows_the_data_directory_unless_it_is_named() {
        let c = Config::parse("logRotateLength = 500\nmaxRotatedFiles = 3\n", Path::new("/etc/bs")).unwrap();
        let log = c.server.http_log.clone().expect("on by default");
        assert_eq!(
            (log.path.as_path(), log.rotate_length, log.max_rotated),
            (Path::new("/etc/bs/data/http.log"), 500, 3)
        );
        let mut moved = Config::parse("data_dir = \"state\"\n", Path::new("/etc/bs")).unwrap();
        assert_eq!(moved.server.http_log.as_ref().map(|l| l.path.clone()), Some("/etc/bs/state/http.log".into()));
        moved.set_data_dir("/var/lib/bs".into());
        assert_eq!(moved.server.http_log.map(|l| l.path), Some("/var/lib/bs/http.log".into()), "--data-dir moves it");
        let named = Config::parse("http_log = \"logs/access.log\"\n", Path::new("/etc/bs")).unwrap();
        assert_eq!(named.server.http_log.map(|l| l.path), Some("/etc/bs/logs/access.log".into()));
        for off in ["http_log = \"-\"", "http_log = false"] {
            assert_eq!(Config::parse(off, Path::new(".")).unwrap().server.http_log, None, "{off}");
        }
    }

    #[test]
    fn broken_toml_says_where() {
        let problems = Config::parse("title = ", Path::new(".")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("not valid TOML"), "{problems:?}");
    }
}
