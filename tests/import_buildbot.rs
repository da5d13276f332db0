//! `import-buildbot` against a real Buildbot 4.3 database: `tests/buildbot/make_db.py` has
//! Buildbot itself create the schema and write a history (3 builders × 20 builds, logs
//! compressed by Buildbot as raw, gz, bz2, lz4, zstd and br) and read it back through its own API into
//! `expected.json`. The binary imports it; the server then shows the same builds, steps and
//! log text. Also: re-running imports nothing twice, an interrupted import resumes, a corrupt
//! chunk marks its log, and a wrong database is refused before anything is written.

#[path = "buildbot/mod.rs"]
mod buildbot;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

const PER_BUILDER: u32 = 20;

/// The Buildbot database, made once for all tests of this file (in a directory that lives as
/// long as the test process).
fn fixture() -> &'static (PathBuf, Value) {
    static FIXTURE: OnceLock<(PathBuf, Value)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let master = dir.join("master");
        let script = format!("{}/tests/buildbot/make_db.py", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(buildbot::python())
            .arg(&script)
            .arg(&master)
            .arg(PER_BUILDER.to_string())
            .output()
            .expect("python runs");
        assert!(out.status.success(), "make_db.py failed: {}", String::from_utf8_lossy(&out.stderr));
        let expected = std::fs::read_to_string(master.join("expected.json")).expect("expected.json");
        (master.join("state.sqlite"), serde_json::from_str(&expected).expect("JSON"))
    })
}

/// A private copy of the fixture database, to change.
fn copy_of_fixture(dir: &Path) -> PathBuf {
    let copy = dir.join("state.sqlite");
    std::fs::copy(&fixture().0, &copy).expect("copy");
    copy
}

fn import(db: &Path, data: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db"])
        .arg(db)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn sql(db: &Path, statements: &[&'static str]) {
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open the copy");
    for s in statements {
        sqlx::query(*s).execute(&pool).await.expect("statement");
    }
    pool.close().await;
}

async fn get(base: &str, path: &str) -> String {
    let response = reqwest::get(format!("{base}{path}")).await.expect("answer");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.expect("text")
}

fn result_code(json: &Value) -> Option<i64> {
    json["results"].as_i64()
}

/// A stream log's stdout and stderr, as the text view shows them (Buildbot keeps each line's
/// stream in its first character).
fn text_view(buildbot_text: &str) -> String {
    buildbot_text
        .split_inclusive('\n')
        .filter_map(|line| line.strip_prefix('o').or_else(|| line.strip_prefix('e')))
        .collect()
}

#[tokio::test]
async fn the_history_of_a_real_buildbot_database_is_imported_whole_and_once() {
    let (db, expected) = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let builders = expected["builders"].as_object().expect("builders");
    let finished: usize =
        builders.values().flat_map(|b| b.as_array().expect("builds")).filter(|b| !b["complete_at"].is_null()).count();
    let running = builders.values().flat_map(|b| b.as_array().expect("builds")).count() - finished;
    assert_eq!((finished, running), (59, 1), "the fixture: 3 × 20 builds, one still running");
    let changes = expected["changes"].as_array().expect("changes").len();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display())).await.expect("open");
    let codes: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT compressed FROM logchunks ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("codes");
    assert_eq!(codes, [0, 1, 2, 3, 4, 5], "Buildbot wrote chunks raw, gz, bz2, lz4, zstd and br");
    pool.close().await;

    let (ok, out, err) = import(db, &data);
    assert!(ok, "{out}{err}");
    assert!(out.contains("imported from a Buildbot database (schema 067)"), "{out}");
    assert!(out.contains("builders: 3 added, 0 already known"), "{out}");
    assert!(out.contains(&format!("changes:  {changes} imported, 0 imported before")), "{out}");
    assert!(
        out.contains(&format!("builds:   {finished} imported ({} steps, {} logs)", finished * 3, finished * 3)),
        "{out}"
    );
    assert!(out.contains("build linux-gcc #20: still running in Buildbot"), "{out}");

    // Again: nothing new, nothing twice.
    let (ok, again, err) = import(db, &data);
    assert!(ok, "{err}");
    assert!(again.contains(&format!("builds:   0 imported (0 steps, 0 logs), {finished} imported before")), "{again}");
    assert!(again.contains(&format!("changes:  0 imported, {changes} imported before")), "{again}");

    shows_what_buildbot_holds(&data, expected).await;
}

/// The server on `data` shows the builders, every finished build (result, times, properties,
/// steps, log text) and a sample change as Buildbot itself read them back.
async fn shows_what_buildbot_holds(data: &Path, expected: &Value) {
    let builders = expected["builders"].as_object().expect("builders");
    let server = common::start_binary_with_data(&["serve"], data);
    let base = server.base.as_str();
    let json: Value = serde_json::from_str(&get(base, "/json/builders").await).expect("json");
    let mut names: Vec<&String> = json.as_object().expect("builders").keys().collect();
    names.sort();
    assert_eq!(names, ["linux-gcc", "macos-clang", "windows-msvc"]);
    for (name, builds) in builders {
        let builds = builds.as_array().expect("builds");
        let cached: Value = serde_json::from_str(&get(base, &format!("/json/builders/{name}")).await).expect("json");
        let tag = name.split('-').next().expect("the fixture names builders TAG-COMPILER");
        assert_eq!(cached["category"].as_str(), Some(tag), "the builder's tag is kept: {cached}");
        // Every finished build, so that every compression Buildbot used is read.
        for want in builds.iter().filter(|b| !b["complete_at"].is_null()) {
            let number = want["number"].as_u64().expect("number");
            let path = format!("/json/builders/{name}/builds/{number}");
            let got: Value = serde_json::from_str(&get(base, &path).await).expect("json");
            assert_eq!(result_code(&got), want["results"].as_i64(), "{path}: {got}");
            assert_eq!(got["number"].as_u64(), Some(number));
            assert_eq!(got["times"][0].as_f64(), want["started_at"].as_f64(), "{path}");
            assert_eq!(got["times"][1].as_f64(), want["complete_at"].as_f64(), "{path}");
            let props: std::collections::BTreeMap<String, Value> = got["properties"]
                .as_array()
                .expect("properties")
                .iter()
                .map(|p| (p[0].as_str().expect("name").to_owned(), p[1].clone()))
                .collect();
            assert_eq!(props.get("got_revision"), Some(&want["properties"]["got_revision"]), "{path}");
            assert_eq!(props.get("workername"), Some(&want["properties"]["workername"]), "{path}");
            let steps = want["steps"].as_array().expect("steps");
            assert_eq!(got["steps"].as_array().expect("steps").len(), steps.len(), "{path}");
            for (i, step) in steps.iter().enumerate() {
                let s = &got["steps"][i];
                assert_eq!(s["name"], step["name"], "{path}");
                assert_eq!(s["results"][0].as_i64(), step["results"].as_i64(), "{path} step {i}: {s}");
                let log = &step["logs"][0];
                let text = get(
                    base,
                    &format!(
                        "/builders/{name}/builds/{number}/steps/{}/logs/stdio/text",
                        step["name"].as_str().expect("name")
                    ),
                )
                .await;
                assert_eq!(text, text_view(log["text"].as_str().expect("text")), "{path} step {i}");
            }
        }
    }
    let page = get(base, "/builders/linux-gcc/builds/3/steps/test/logs/stdio").await;
    assert!(page.contains("class=\"header\"") && page.contains("café ✓"), "headers are kept, text is UTF-8: {page}");
    let change: Value = serde_json::from_str(&get(base, "/json/changes/5").await).expect("json");
    let want = &expected["changes"][4];
    assert_eq!(change["who"], want["author"]);
    assert_eq!(change["revision"], want["revision"]);
    let files: Vec<&str> =
        change["files"].as_array().expect("files").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(files, want["files"].as_array().expect("files").iter().filter_map(Value::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_interrupted_import_goes_on_where_it_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // What an import interrupted half-way had recorded: the builds up to #10 of each builder.
    let partial = dir.path().join("partial");
    std::fs::create_dir_all(&partial).expect("dir");
    let early = copy_of_fixture(&partial);
    sql(&early, &["PRAGMA foreign_keys = ON", "DELETE FROM builds WHERE number > 10"]).await;
    let (ok, out, err) = import(&early, &data);
    assert!(ok && out.contains("builds:   30 imported"), "{out}{err}");
    let (ok, out, err) = import(&fixture().0, &data);
    assert!(ok, "{err}");
    assert!(out.contains("builds:   29 imported (87 steps, 87 logs), 30 imported before"), "{out}");
    assert!(out.contains("builders: 0 added, 3 already known"), "{out}");
}

#[tokio::test]
async fn a_corrupt_log_chunk_marks_its_log_and_the_import_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_of_fixture(dir.path());
    // The log of macos-clang #2's compile step, whatever Buildbot compressed it with, is now garbage.
    sql(
        &db,
        &["UPDATE logchunks SET content = X'00DEADBEEF', compressed = 2 WHERE logid = (SELECT l.id FROM logs l \
         JOIN steps s ON s.id = l.stepid JOIN builds b ON b.id = s.buildid JOIN builders r ON r.id = b.builderid \
         WHERE r.name = 'macos-clang' AND b.number = 2 AND s.name = 'compile')"],
    )
    .await;
    let data = dir.path().join("data");
    let (ok, out, err) = import(&db, &data);
    assert!(ok, "{out}{err}");
    assert!(out.contains("builds:   59 imported"), "{out}");
    assert!(out.contains("logs imported with unreadable parts (marked in the log) (1):"), "{out}");
    assert!(out.contains("build macos-clang #2 step 'compile' log 'stdio': lines 0-"), "{out}");
    let server = common::start_binary_with_data(&["serve"], &data);
    let page = get(&server.base, "/builders/macos-clang/builds/2/steps/compile/logs/stdio").await;
    assert!(page.contains("could not be read: bz2"), "{page}");
    let fine = get(&server.base, "/builders/macos-clang/builds/2/steps/test/logs/stdio/text").await;
    assert!(fine.contains("test: line 0 of macos-clang build 2: ok"), "{fine}");
}

#[tokio::test]
async fn a_database_that_is_not_buildbot_4_3_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let other = dir.path().join("other.sqlite");
    std::fs::write(&other, b"").expect("empty file");
    sql(&other, &["CREATE TABLE builds (id INTEGER)"]).await;
    let (ok, _, err) = import(&other, &data);
    assert!(!ok && err.contains("not a Buildbot database") && err.contains("no alembic_version table"), "{err}");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").expect("write");
    let (ok, _, err) = import(&text, &data);
    assert!(!ok && err.contains("is not an SQLite database"), "{err}");
    let (ok, _, err) = import(&dir.path().join("missing.sqlite"), &data);
    assert!(!ok && err.contains("is not a file"), "{err}");
    let newer = copy_of_fixture(dir.path());
    sql(&newer, &["UPDATE alembic_version SET version_num = '099'"]).await;
    let (ok, _, err) = import(&newer, &data);
    assert!(
        !ok && err.contains("schema version '099' is not one this importer knows (known: 067 (Buildbot 4.3))"),
        "{err}"
    );
    assert!(!data.exists(), "nothing was written");
}

/// A PostgreSQL server of the test's own on 127.0.0.1 (`initdb` in a temporary directory, as
/// the `postgres` user when the tests run as root); stopped when dropped.
struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
}

impl Postgres {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn start() -> Self {
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
            .map(|d| {
                d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect()
            })
            .unwrap_or_default();
        versions.sort();
        let bin = versions.pop().expect("PostgreSQL is not installed under /usr/lib/postgresql (.ci/run installs it)");
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        let as_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().expect("tempdir");
        if as_root {
            let chown = Command::new("chown").arg("postgres").arg(dir.path()).status().expect("chown runs");
            assert!(chown.success(), "chown postgres");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let pg = Self { bin, dir, port, as_root };
        let data = pg.dir.path().join("data");
        let out =
            pg.command("initdb").arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres"]).output().expect("initdb");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", pg.dir.path().display());
        let out = pg
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(pg.dir.path().join("server.log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
        let out = Command::new(pg.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-c", "CREATE DATABASE buildbot"])
            .output()
            .expect("psql");
        assert!(out.status.success(), "create database: {}", String::from_utf8_lossy(&out.stderr));
        pg
    }

    fn url(&self, driver: &str) -> String {
        format!("{driver}://postgres@127.0.0.1:{}/buildbot", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.command("pg_ctl").arg("-D").arg(&data).args(["-m", "immediate", "stop"]).output();
    }
}

#[tokio::test]
async fn a_buildbot_database_on_postgresql_is_imported_too() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let master = dir.path().join("master");
    let script = format!("{}/tests/buildbot/make_db.py", env!("CARGO_MANIFEST_DIR"));
    // Buildbot's SQLAlchemy names the driver; buildstatus takes the plain URL.
    let out = Command::new(buildbot::python())
        .arg(&script)
        .arg(&master)
        .arg(PER_BUILDER.to_string())
        .arg(pg.url("postgresql+psycopg2"))
        .output()
        .expect("python runs");
    assert!(out.status.success(), "make_db.py on PostgreSQL failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(master.join("expected.json")).expect("expected.json"))
            .expect("JSON");
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db", &pg.url("postgresql"), "--data-dir"])
        .arg(&data)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("builds:   59 imported (177 steps, 177 logs), 0 imported before"), "{text}");
    assert!(text.contains("workers:  2 added, 0 already known"), "{text}");
    assert!(text.contains("0 queued, 0 already queued; 1 claimed by builds still running"), "{text}");
    shows_what_buildbot_holds(&data, &expected).await;
}

#[tokio::test]
async fn workers_and_the_requests_waiting_for_them_are_imported_and_history_is_not_news() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_of_fixture(dir.path());
    // What a running master adds (master 1 is the fixture's): macos-clang configured with w2, w2 describing itself, and a
    // buildset whose request waits for a worker (the fixture's other open request is claimed by
    // the running linux-gcc #20).
    sql(
        &db,
        &[
            "INSERT INTO builder_masters (id, builderid, masterid) VALUES (1, 2, 1)",
            "INSERT INTO configured_workers (id, buildermasterid, workerid) VALUES (1, 1, 2)",
            "UPDATE workers SET info = '{\"admin\": \"Ops <ops@example.org>\", \"host\": \"mac-7\", \"version\": \"4.3.0\"}' \
             WHERE name = 'w2'",
            "INSERT INTO buildsets (id, reason, submitted_at, complete) VALUES (900, 'a forced build', 1735702000, 0)",
            "INSERT INTO buildset_sourcestamps (buildsetid, sourcestampid) \
             SELECT 900, bs.sourcestampid FROM buildset_sourcestamps bs WHERE bs.buildsetid = 20",
            "INSERT INTO buildset_properties (buildsetid, property_name, property_value) \
             VALUES (900, 'owner', '[\"alice\", \"Force Build Form\"]')",
            "INSERT INTO buildrequests (id, buildsetid, builderid, priority, complete, results, submitted_at, waited_for) \
             VALUES (900, 900, 2, 0, 0, -1, 1735702000, 0)",
        ],
    )
    .await;
    let data = dir.path().join("data");
    let (ok, out, err) = import(&db, &data);
    assert!(ok, "{out}{err}");
    assert!(out.contains("workers:  2 added, 0 already known"), "{out}");
    assert!(
        out.contains("build requests waiting for a worker: 1 queued, 0 already queued; 1 claimed by builds"),
        "{out}"
    );
    let (ok, again, err) = import(&db, &data);
    assert!(ok, "{err}");
    assert!(again.contains("workers:  0 added, 2 already known"), "{again}");
    assert!(again.contains("0 queued, 1 already queued"), "{again}");

    // History is stored, not journaled: live pages and notifiers follow the journal, and a
    // year of imported builds must not reach them as news (no mail for old failures).
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", data.join("buildstatus.sqlite").display()))
        .await
        .expect("our store");
    let journaled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&pool).await.expect("count");
    assert_eq!(journaled, 0, "imported history is not in the event journal");
    pool.close().await;

    let server = common::start_binary_with_data(&["serve"], &data);
    let base = server.base.as_str();
    let slaves: Value = serde_json::from_str(&get(base, "/json/slaves").await).expect("json");
    let mut names: Vec<&String> = slaves.as_object().expect("slaves").keys().collect();
    names.sort();
    assert_eq!(names, ["w1", "w2"], "{slaves}");
    assert_eq!(slaves["w2"]["connected"], false, "{slaves}");
    assert_eq!(slaves["w2"]["host"], "mac-7", "{slaves}");
    assert_eq!(slaves["w2"]["admin"], "Ops <ops@example.org>", "{slaves}");
    let mac: Value = serde_json::from_str(&get(base, "/json/builders/macos-clang").await).expect("json");
    assert_eq!(mac["slaves"], serde_json::json!(["w2"]), "{mac}");
    assert_eq!(mac["pendingBuilds"], 1, "{mac}");
    let pending: Value =
        serde_json::from_str(&get(base, "/json/builders/macos-clang/pendingBuilds").await).expect("json");
    assert_eq!(pending[0]["properties"], serde_json::json!([["owner", "alice", "Force Build Form"]]), "{pending}");
    let changes = pending[0]["source"]["changes"].as_array().expect("changes");
    assert_eq!(changes.iter().map(|c| c["number"].as_u64()).collect::<Vec<_>>(), [Some(20)], "{pending}");
    let linux: Value = serde_json::from_str(&get(base, "/json/builders/linux-gcc").await).expect("json");
    assert_eq!(linux["pendingBuilds"], 0, "the claimed request is not waiting: {linux}");
    // The data directory has one writer: an import waits until the server is stopped.
    let (ok, _, err) = import(&db, &data);
    assert!(!ok && err.contains(&format!("is in use by buildstatus process {}", server.child.id())), "{err}");
}
