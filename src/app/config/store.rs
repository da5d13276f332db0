//! The `[store]` block of `buildstatus.toml`: where the history is kept. Without it (the
//! default), in the data directory: SQLite and log files. With a PostgreSQL URL, everything
//! (status, journal, logs, outbox, ingest receipts) is in that database, and the data
//! directory keeps only this instance's local state (the Git pollers' working copies,
//! `http.log`).
//!
//! ```toml
//! [store]
//! url = "postgresql://buildstatus@db.example.org/buildstatus"
//! # or, to keep a password out of this file, the URL in a file of its own:
//! # url_file = "store-url"
//! ```

use std::path::Path;

use super::values::{non_empty, secret};
use crate::adapters::postgres;

const KEYS: &str = "url, url_file";

/// Parses the `store` table into the database's URL; every problem is returned, each naming
/// its key. A URL that is not PostgreSQL's, or that cannot be read, is refused here, so that
/// `check-config` finds it.
pub fn parse(value: &toml::Value, base: &Path) -> Result<String, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["store: expected a table ([store])".to_owned()]);
    };
    let mut url = None;
    let mut problems = Vec::new();
    for (key, value) in table {
        let read = match key.as_str() {
            "url" => non_empty(value),
            "url_file" => secret(value, base, true).map(|s| s.expose().to_owned()),
            other => Err(format!("unknown key '{other}' (keys: {KEYS})")),
        };
        match read.and_then(|u| postgres::check_url(&u).map(|()| u)) {
            Ok(u) if url.is_none() => url = Some(u),
            Ok(_) => problems.push("store: give url or url_file, not both".to_owned()),
            Err(problem) => problems.push(format!("store.{key}: {problem}")),
        }
    }
    match url {
        Some(url) if problems.is_empty() => Ok(url),
        None if problems.is_empty() => Err(vec![format!("store: name the database ({KEYS})")]),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(text: &str) -> Result<String, Vec<String>> {
        parse(&toml::from_str::<toml::Value>(text).expect("TOML"), Path::new("/nonexistent"))
    }

    #[test]
    fn a_postgresql_url_is_read() {
        assert_eq!(store("url = \"postgresql://bs@db/status\""), Ok("postgresql://bs@db/status".to_owned()));
    }

    #[test]
    fn a_bad_url_is_a_problem_naming_the_key_without_its_password() {
        assert_eq!(
            store("url = \"mysql://bs:hunter2@db/status\""),
            Err(vec!["store.url: 'mysql://bs:***@db/status' is not a postgresql:// URL".to_owned()])
        );
        let bad = store("url = \"postgresql://bs:hunter2@db:99999/status\"").expect_err("a bad port");
        assert!(bad[0].starts_with("store.url: 'postgresql://bs:***@db:99999/status' cannot be read"), "{bad:?}");
        assert_eq!(store("[x]"), Err(vec!["store.x: unknown key 'x' (keys: url, url_file)".to_owned()]));
        assert_eq!(store(""), Err(vec!["store: name the database (url, url_file)".to_owned()]));
    }
}
