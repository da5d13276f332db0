//! `buildstatus migrate --to postgresql://…` as a user runs it: the demo's data directory is
//! copied into an empty database, and a server on that database serves the same pages and
//! `/json` as one on the directory. A copy interrupted (`--batches`) is refused by a server
//! until a re-run finishes it, and ends the same; a re-run of a finished copy adds nothing;
//! a database holding another history (its own, or another directory's) is refused, saying why. A copy interrupted within the
//! logs ends with every log whole, none of its bytes twice.

use std::path::Path;
use std::process::{Command, Output};

use buildstatus::adapters::logs::DiskLogStore;
use buildstatus::adapters::postgres::PgStore;
use buildstatus::adapters::sqlite::SqliteStore;
use buildstatus::domain::event::Channel;
use buildstatus::ports::{LogStore, LogWrite, StatusStore};

use super::postgres::{first_difference, read_all, timeless};
use crate::common::{self, postgres};

/// The same site, with the store in the data directory or in the database of `url`.
fn config(dir: &Path, name: &str, url: Option<&str>) -> String {
    let file = dir.join(name);
    let store = url.map(|u| format!("\n[store]\nurl = \"{u}\"\n")).unwrap_or_default();
    std::fs::write(&file, format!("title = \"Migrated\"\n{store}")).expect("config");
    file.display().to_string()
}

fn migrate(data: &Path, url: &str, more: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["migrate", "--to", url, "--data-dir"])
        .arg(data)
        .args(more)
        .output()
        .expect("migrate runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The pages and `/json` a server on `config` serves (with a data directory of its own when
/// the history is in the database).
async fn served(config: &str, data: &Path) -> Vec<(String, String)> {
    let server = common::start_binary_with_data(&["serve", "--config", config], data);
    let pages = read_all(&server.base).await;
    for (path, status, body) in &pages {
        assert_eq!(*status, 200, "{path}: {body}");
    }
    timeless(&pages)
}

fn assert_same(a: &[(String, String)], b: &[(String, String)], what: &str) {
    assert_eq!(a.iter().map(|(p, _)| p).collect::<Vec<_>>(), b.iter().map(|(p, _)| p).collect::<Vec<_>>());
    for ((path, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{path} differs {what}, {}", first_difference(x, y));
    }
    assert!(a.len() >= 8, "most pages compared: {:?}", a.iter().map(|(p, _)| p).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_migrated_data_directory_is_served_the_same_from_postgresql_and_an_interrupted_copy_ends_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    drop(common::start_binary_with_data(&["demo", "--history", "300", "--seed", "7"], &data)); // killed

    let whole = postgres::database();
    let out = migrate(&data, &whole, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(summary.starts_with("migrated in "), "{summary}");
    for table in ["builds", "changes", "events", "outbox", "meta", "logs"] {
        assert!(summary.contains(&format!("\n  {table} ")), "{table} counted: {summary}");
    }

    let sqlite = served(&config(dir.path(), "sqlite.toml", None), &data).await;
    let on_pg = served(&config(dir.path(), "whole.toml", Some(&whole)), &dir.path().join("pg-whole")).await;
    assert_same(&sqlite, &on_pg, "on PostgreSQL after migrate");

    // Interrupted after three batches: a server refuses the half-copied database.
    let resumed = postgres::database();
    let out = migrate(&data, &resumed, &["--batches", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("copied so far"), "{}", text(&out));
    let cfg = config(dir.path(), "resumed.toml", Some(&resumed));
    let refused = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["serve", "--config", &cfg, "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("pg-refused"))
        .current_dir(dir.path())
        .output()
        .expect("serve runs");
    assert!(!refused.status.success());
    assert!(text(&refused).contains("that copy is not finished: run `buildstatus migrate`"), "{}", text(&refused));

    let out = migrate(&data, &resumed, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("builds            "), "{}", text(&out));
    let after = served(&cfg, &dir.path().join("pg-resumed")).await;
    assert_same(&on_pg, &after, "after a resumed copy");

    // Again: nothing more to copy.
    let out = migrate(&data, &resumed, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let again = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in again.lines().skip(1).filter(|l| !l.trim_start().starts_with("logs")) {
        assert!(line.contains(" 0 rows copied"), "a finished copy copies nothing again: {again}");
    }
    assert!(again.contains("logs              0 copied"), "{again}");

    // Another directory into a database that has a history: refused, saying why.
    let other = tempfile::tempdir().expect("tempdir");
    let other_data = other.path().join("data");
    drop(common::start_binary_with_data(&["demo", "--history", "5", "--seed", "1"], &other_data));
    let out = migrate(&other_data, &whole, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("the database was migrated from"), "{}", text(&out));
    assert!(text(&out).contains("migrate into an empty database"), "{}", text(&out));
}

/// All the content of `log`, channel by channel as stored.
async fn content(logs: &dyn LogStore, log: u64) -> Vec<(Channel, Vec<u8>)> {
    let total = logs.size(log).await.expect("size").total;
    let pieces = logs.read(log, 0, total).await.expect("read");
    let mut out: Vec<(Channel, Vec<u8>)> = Vec::new();
    for piece in pieces {
        match out.last_mut() {
            Some((channel, bytes)) if *channel == piece.channel => bytes.extend_from_slice(&piece.data),
            _ => out.push((piece.channel, piece.data.to_vec())),
        }
    }
    out
}

#[tokio::test]
async fn a_copy_interrupted_within_the_logs_ends_with_every_log_whole_and_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    drop(common::start_binary_with_data(&["demo", "--history", "20", "--seed", "3"], &data)); // killed
    let url = postgres::database();
    let out = migrate(&data, &url, &["--batches", "1"]);
    assert!(out.status.success(), "{}", text(&out));

    let next_log_id = SqliteStore::open(&data.join("buildstatus.sqlite"))
        .await
        .expect("sqlite")
        .meta()
        .await
        .expect("meta")
        .next_log_id;
    let source = DiskLogStore::open(data.join("logs")).await.expect("logs");
    let mut written = Vec::new();
    for log in 1..next_log_id {
        if source.size(log).await.expect("size").total >= 2 {
            written.push(log);
        }
    }
    assert!(written.len() > 10, "the demo wrote logs: {written:?}");
    {
        // As a copy killed within the logs leaves them: one log whole, the next in part.
        let target = PgStore::open_to_copy(&url).await.expect("the database");
        let (whole, part) = (written[0], written[1]);
        let half = source.size(part).await.expect("size").total / 2;
        for (log, len) in [(whole, u64::MAX), (part, half)] {
            let pieces = source.read(log, 0, len).await.expect("read");
            let chunks = pieces.into_iter().map(|p| (p.channel, p.data)).collect();
            target.logs().write(vec![LogWrite { log, chunks, finish: false }]).await.expect("write");
        }
    }

    let out = migrate(&data, &url, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(", 1 copied before"), "{}", text(&out));
    let target = PgStore::open(&url).await.expect("a finished copy opens");
    for log in 1..next_log_id {
        let (a, b) = (content(&source, log).await, content(target.logs().as_ref(), log).await);
        assert!(
            a == b,
            "log {log} differs: {} against {} bytes",
            a.iter().map(|(_, b)| b.len()).sum::<usize>(),
            b.iter().map(|(_, b)| b.len()).sum::<usize>()
        );
    }
}

#[tokio::test]
async fn a_database_with_a_history_of_its_own_is_refused_saying_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    drop(common::start_binary_with_data(&["demo", "--history", "3", "--seed", "2"], &data)); // killed
    let url = postgres::database();
    drop(PgStore::open(&url).await.expect("the schema"));
    let name = url.rsplit('/').next().expect("a database name");
    postgres::shared().psql(name, "INSERT INTO builders (name, data) VALUES ('own', '{}')");
    let out = migrate(&data, &url, &[]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("the database is not empty (1 rows of builders"), "{said}");
    assert!(said.contains("migrate into an empty database"), "{said}");
}
