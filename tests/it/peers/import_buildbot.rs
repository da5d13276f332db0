//! `import-buildbot` against a real Buildbot 4.3 database: `tests/buildbot/make_db.py` has
//! Buildbot itself create the schema and write a history (3 builders × 20 builds, logs
//! compressed by Buildbot as raw, gz, bz2, lz4, zstd and br). The binary imports it; the server
//! then shows the same builds, steps and log text as Buildbot's own REST API (`/api/v2`) serves
//! for the same database, from a real Buildbot 4.3 master started on a copy of it
//! (`tests/buildbot/rest.rs`). Also: re-running imports nothing twice, an interrupted import
//! resumes, a corrupt chunk marks its log, and a wrong database is refused before anything is
//! written.
use crate::common;
use crate::common::buildbot;
use crate::common::buildbot_rest as rest;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::buildbot_rest::Expected;
use crate::common::postgres::Postgres;
use serde_json::Value;

const PER_BUILDER: u32 = 20;

/// Has Buildbot write the fixture history into a new master directory (`master.cfg`,
/// `buildbot.tac` and the database).
fn make_db(master: &Path, db_url: Option<&str>) {
    let _slot = buildbot::slot();
    let script = format!("{}/tests/buildbot/make_db.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(buildbot::python())
        .arg(&script)
        .arg(master)
        .arg(PER_BUILDER.to_string())
        .args(db_url)
        .output()
        .expect("python runs");
    assert!(out.status.success(), "make_db.py failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// The master directory of the SQLite fixture, made once for all tests of this file (in a
/// directory that lives as long as the test process). The importer reads its `state.sqlite`,
/// which no master ever opens.
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let master = tempfile::tempdir().expect("tempdir").keep().join("master");
        make_db(&master, None);
        master
    })
}

fn fixture_db() -> PathBuf {
    fixture().join("state.sqlite")
}

/// A private copy of the fixture database, to change.
fn copy_of_fixture(dir: &Path) -> PathBuf {
    let copy = dir.join("state.sqlite");
    std::fs::copy(fixture_db(), &copy).expect("copy");
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

/// Runs the import, which must succeed; its summary.
fn imported(db: &Path, data: &Path) -> String {
    let (ok, out, err) = import(db, data);
    assert!(ok, "{out}{err}");
    out
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

/// What the fixture holds, as Buildbot's REST API serves it: pinned here, so that the
/// comparisons below cannot pass on an empty or different history.
fn holds_the_fixture_history(expected: &Expected) {
    let names: Vec<(&str, Vec<&str>)> =
        expected.builders.iter().map(|b| (b.name.as_str(), b.tags.iter().map(String::as_str).collect())).collect();
    assert_eq!(
        names,
        [("linux-gcc", vec!["linux"]), ("macos-clang", vec!["macos"]), ("windows-msvc", vec!["windows"])]
    );
    for b in &expected.builders {
        assert_eq!(b.description.as_deref(), Some(format!("the {} builder", b.name).as_str()));
    }
    let builds = || expected.builders.iter().flat_map(|b| b.builds.iter().map(move |build| (b, build)));
    let running: Vec<(&str, u64, Option<i64>)> =
        builds().filter(|(_, b)| !b.complete).map(|(r, b)| (r.name.as_str(), b.number, b.results)).collect();
    assert_eq!(running, [("linux-gcc", 20, None)], "one build still running, as its master left it");
    assert_eq!(builds().filter(|(_, b)| b.complete).count(), 59, "3 × 20 builds");
    assert!(builds().all(|(_, b)| b.complete == b.complete_at.is_some()));
    assert_eq!(expected.changes.len(), 21, "a change per round, and one not built yet");
    assert_eq!(expected.workers, ["w1", "w2"]);
    let waiting: Vec<(&str, bool, f64)> =
        expected.incomplete_requests.iter().map(|r| (r.builder.as_str(), r.claimed, r.submitted_at)).collect();
    // make_db.py's rounds: one every 600 s from 2025-01-01, requests submitted 1 s in.
    let last = 1_735_689_600.0 + 21.0 * 600.0 + 1.0;
    assert_eq!(
        waiting,
        [("linux-gcc", true, last - 600.0), ("macos-clang", false, last), ("windows-msvc", false, last)],
        "the running build's request, and the newest change's two waiting ones"
    );
}

#[tokio::test]
async fn the_history_of_a_real_buildbot_database_is_imported_whole_and_once() {
    let db = fixture_db();
    let expected = rest::ask(fixture(), None).await;
    holds_the_fixture_history(&expected);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let finished: Vec<&rest::Build> = expected.builders.iter().flat_map(|b| &b.builds).filter(|b| b.complete).collect();
    let steps: usize = finished.iter().map(|b| b.steps.len()).sum();
    let logs: usize = finished.iter().flat_map(|b| &b.steps).map(|s| s.logs.len()).sum();
    let changes = expected.changes.len();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display())).await.expect("open");
    let codes: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT compressed FROM logchunks ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("codes");
    assert_eq!(codes, [0, 1, 2, 3, 4, 5], "Buildbot wrote chunks raw, gz, bz2, lz4, zstd and br");
    pool.close().await;

    let out = imported(&db, &data);
    assert!(out.contains("imported from a Buildbot database (schema 067)"), "{out}");
    assert!(out.contains("builders: 3 added, 0 already known"), "{out}");
    assert!(out.contains(&format!("changes:  {changes} imported, 0 imported before")), "{out}");
    assert!(out.contains(&format!("builds:   {} imported ({steps} steps, {logs} logs)", finished.len())), "{out}");
    assert!(out.contains("build linux-gcc #20: still running in Buildbot"), "{out}");
    let (claimed, waiting): (Vec<_>, Vec<_>) = expected.incomplete_requests.iter().partition(|r| r.claimed);
    let queue = format!("waiting for a worker: {} queued, 0 already queued; {} claimed", waiting.len(), claimed.len());
    assert!(out.contains(&queue), "{out}");

    // Again: nothing new, nothing twice.
    let again = imported(&db, &data);
    assert!(
        again.contains(&format!("builds:   0 imported (0 steps, 0 logs), {} imported before", finished.len())),
        "{again}"
    );
    assert!(again.contains(&format!("changes:  0 imported, {changes} imported before")), "{again}");

    shows_what_buildbot_holds(&data, &expected).await;
}

/// The server on `data` shows the builders, every finished build (result, times, properties,
/// steps, log text) and a sample change as Buildbot's REST API serves them.
async fn shows_what_buildbot_holds(data: &Path, expected: &Expected) {
    shows_what_buildbot_holds_serving(&["serve"], data, expected).await;
}

/// [`shows_what_buildbot_holds`], for a server started with `args` (a configuration).
async fn shows_what_buildbot_holds_serving(args: &[&str], data: &Path, expected: &Expected) {
    let server = common::start_binary_with_data(args, data);
    let base = server.base.as_str();
    let json: Value = serde_json::from_str(&get(base, "/json/builders").await).expect("json");
    let mut names: Vec<&String> = json.as_object().expect("builders").keys().collect();
    names.sort();
    assert_eq!(names, expected.builders.iter().map(|b| &b.name).collect::<Vec<_>>());
    for builder in &expected.builders {
        let name = &builder.name;
        let cached: Value = serde_json::from_str(&get(base, &format!("/json/builders/{name}")).await).expect("json");
        assert_eq!(cached["category"].as_str(), builder.tags.first().map(String::as_str), "the tag is kept: {cached}");
        let page = get(base, &format!("/builders/{name}")).await;
        let description = builder.description.as_deref().expect("a description");
        assert!(page.contains(&format!("<div class=\"BuilderDescription\">{description}</div>")), "{page}");
        // Every finished build, so that every compression Buildbot used is read.
        for want in builder.builds.iter().filter(|b| b.complete) {
            let number = want.number;
            let path = format!("/json/builders/{name}/builds/{number}");
            let got: Value = serde_json::from_str(&get(base, &path).await).expect("json");
            assert_eq!(result_code(&got), want.results, "{path}: {got}");
            assert_eq!(got["number"].as_u64(), Some(number));
            assert_eq!(got["times"][0].as_f64(), Some(want.started_at), "{path}");
            assert_eq!(got["times"][1].as_f64(), want.complete_at, "{path}");
            let props: std::collections::BTreeMap<String, Value> = got["properties"]
                .as_array()
                .expect("properties")
                .iter()
                .map(|p| (p[0].as_str().expect("name").to_owned(), p[1].clone()))
                .collect();
            for property in ["got_revision", "workername"] {
                assert!(want.property(property).is_some(), "{path}: Buildbot has {property}");
                assert_eq!(props.get(property), want.property(property), "{path}");
            }
            assert_eq!(got["steps"].as_array().expect("steps").len(), want.steps.len(), "{path}");
            for (i, step) in want.steps.iter().enumerate() {
                let s = &got["steps"][i];
                assert_eq!(s["name"].as_str(), Some(step.name.as_str()), "{path}");
                assert_eq!(s["results"][0].as_i64(), step.results, "{path} step {i}: {s}");
                assert_eq!(step.logs.len(), 1, "{path} step {i}: one log");
                for log in &step.logs {
                    let text = get(
                        base,
                        &format!("/builders/{name}/builds/{number}/steps/{}/logs/{}/text", step.name, log.name),
                    )
                    .await;
                    assert_eq!(text, text_view(&log.text), "{path} step {i} log {}", log.name);
                }
            }
        }
    }
    let page = get(base, "/builders/linux-gcc/builds/3/steps/test/logs/stdio").await;
    assert!(page.contains("class=\"header\"") && page.contains("café ✓"), "headers are kept, text is UTF-8: {page}");
    let change: Value = serde_json::from_str(&get(base, "/json/changes/5").await).expect("json");
    let want = expected.changes.iter().find(|c| c.number == 5).expect("Buildbot has change 5");
    assert_eq!(change["who"].as_str(), Some(want.author.as_str()));
    assert_eq!(change["revision"].as_str(), want.revision.as_deref());
    // As sets: Buildbot serves a change's files in the order its database returns them (no
    // ORDER BY), buildstatus sorts them.
    let mut files: Vec<&str> =
        change["files"].as_array().expect("files").iter().filter_map(|f| f["name"].as_str()).collect();
    files.sort_unstable();
    let mut want_files: Vec<&str> = want.files.iter().map(String::as_str).collect();
    want_files.sort_unstable();
    assert_eq!(files, want_files);

    // The workers Buildbot knows, and the requests waiting for one (not those claimed by the
    // running build) on each builder.
    let slaves: Value = serde_json::from_str(&get(base, "/json/slaves").await).expect("json");
    let mut workers: Vec<&String> = slaves.as_object().expect("slaves").keys().collect();
    workers.sort();
    assert_eq!(workers, expected.workers.iter().collect::<Vec<_>>(), "{slaves}");
    for builder in &expected.builders {
        let name = &builder.name;
        let waiting = expected.incomplete_requests.iter().filter(|r| &r.builder == name && !r.claimed).count();
        let json: Value = serde_json::from_str(&get(base, &format!("/json/builders/{name}")).await).expect("json");
        assert_eq!(json["pendingBuilds"].as_u64(), Some(waiting as u64), "{name}: {json}");
    }
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
    let out = imported(&early, &data);
    assert!(out.contains("builds:   30 imported"), "{out}");
    let out = imported(&fixture_db(), &data);
    assert!(out.contains("builds:   29 imported (87 steps, 87 logs), 30 imported before"), "{out}");
    assert!(out.contains("builders: 0 added, 3 already known"), "{out}");
}

#[tokio::test]
async fn builds_after_one_still_running_wait_for_it_so_none_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // macos-clang #10 is still running in Buildbot, while #11 to #20 have finished (a builder
    // with several workers). Build numbers only grow here: had #11 been imported, #10 could
    // never be added.
    let running = copy_of_fixture(dir.path());
    sql(
        &running,
        &["UPDATE builds SET complete_at = NULL, results = NULL WHERE number = 10 \
           AND builderid = (SELECT id FROM builders WHERE name = 'macos-clang')"],
    )
    .await;
    let out = imported(&running, &data);
    assert!(out.contains("builds:   48 imported"), "59 finished, less macos-clang #10 to #20: {out}");
    assert!(out.contains("build macos-clang #10: still running in Buildbot"), "{out}");
    assert!(out.contains("build macos-clang #11: waits for #10, still running in Buildbot"), "{out}");
    assert!(out.contains("build macos-clang #20: waits for #10"), "{out}");
    // #10 finishes; the next import brings it and the ten after it.
    let out = imported(&fixture_db(), &data);
    assert!(out.contains("builds:   11 imported (33 steps, 33 logs), 48 imported before"), "{out}");
}

#[test]
fn an_import_that_cannot_write_stops_with_the_error_and_records_no_build_without_its_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // Logs 0 to 999 live in data/logs/0/: a file there fails every log write, as a full or
    // broken disk would.
    std::fs::create_dir_all(data.join("logs")).expect("dir");
    std::fs::write(data.join("logs").join("0"), "not a directory").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db"])
        .arg(fixture_db())
        .arg("--data-dir")
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // It must end (not wait forever for a recorder that stopped).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the import hangs after a failed write");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("not a directory") || err.contains("File exists"), "the cause is named: {err}");
    assert!(err.contains("run the import again to go on"), "{err}");
    // Nothing half-written: the disk mended, a re-run imports every build with its logs.
    std::fs::remove_file(data.join("logs").join("0")).expect("remove");
    let out = imported(&fixture_db(), &data);
    assert!(out.contains("builds:   59 imported (177 steps, 177 logs), 0 imported before"), "{out}");
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
    let out = imported(&db, &data);
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

#[tokio::test]
async fn a_buildbot_database_on_postgresql_is_imported_too() {
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE buildbot");
    let dir = tempfile::tempdir().expect("tempdir");
    let master = dir.path().join("master");
    // Buildbot's SQLAlchemy names the driver; buildstatus takes the plain URL.
    make_db(&master, Some(&pg.url("postgresql+psycopg2", "buildbot")));
    // Buildbot's REST API is asked on a copy, as on SQLite.
    pg.psql("postgres", "CREATE DATABASE served TEMPLATE buildbot");
    let expected = rest::ask(&master, Some(&pg.url("postgresql+psycopg2", "served"))).await;
    holds_the_fixture_history(&expected);
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db", &pg.url("postgresql", "buildbot"), "--data-dir"])
        .arg(&data)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("builds:   59 imported (177 steps, 177 logs), 0 imported before"), "{text}");
    assert!(text.contains("workers:  2 added, 0 already known"), "{text}");
    assert!(text.contains("2 queued, 0 already queued; 1 claimed by builds still running"), "{text}");
    shows_what_buildbot_holds(&data, &expected).await;
    // Buildbot cancels windows-msvc's waiting request; the next import takes it off the queue.
    pg.psql(
        "buildbot",
        "UPDATE buildrequests SET complete = 1, results = 6 WHERE complete = 0 \
         AND builderid = (SELECT id FROM builders WHERE name = 'windows-msvc')",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db", &pg.url("postgresql", "buildbot"), "--data-dir"])
        .arg(&data)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("0 queued, 1 already queued"), "{text}");
    assert!(text.contains("no longer waiting in Buildbot: 1 taken off the queue here"), "{text}");

    // Into a PostgreSQL store (`[store] url`) as well: the same history shown from it, by a
    // server whose data directory holds none of it.
    pg.psql("postgres", "CREATE DATABASE status");
    let config = dir.path().join("buildstatus.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{}\"\n", pg.url("postgresql", "status"))).expect("config");
    let config = config.to_str().expect("a path");
    pg.psql("postgres", "CREATE DATABASE again TEMPLATE served");
    let local = dir.path().join("local");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["import-buildbot", "--db", &pg.url("postgresql", "again"), "--config", config, "--data-dir"])
        .arg(&local)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("builds:   59 imported (177 steps, 177 logs), 0 imported before"), "{text}");
    assert!(!local.join("buildstatus.sqlite").exists() && !local.join("logs").exists(), "nothing of it on disk");
    shows_what_buildbot_holds_serving(&["serve", "--config", config], &dir.path().join("elsewhere"), &expected).await;
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
    let out = imported(&db, &data);
    assert!(out.contains("workers:  2 added, 0 already known"), "{out}");
    // The fixture's newest change waits on macos-clang and windows-msvc; one more here.
    assert!(
        out.contains("build requests waiting for a worker: 3 queued, 0 already queued; 1 claimed by builds"),
        "{out}"
    );
    let again = imported(&db, &data);
    assert!(again.contains("workers:  0 added, 2 already known"), "{again}");
    assert!(again.contains("0 queued, 3 already queued"), "{again}");

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
    assert_eq!(mac["pendingBuilds"], 2, "{mac}");
    let pending: Value =
        serde_json::from_str(&get(base, "/json/builders/macos-clang/pendingBuilds").await).expect("json");
    let forced =
        pending.as_array().expect("requests").iter().find(|r| !r["properties"].as_array().expect("props").is_empty());
    let forced = forced.expect("the forced request");
    assert_eq!(forced["properties"], serde_json::json!([["owner", "alice", "Force Build Form"]]), "{pending}");
    let changes = forced["source"]["changes"].as_array().expect("changes");
    assert_eq!(changes.iter().map(|c| c["number"].as_u64()).collect::<Vec<_>>(), [Some(20)], "{pending}");
    let linux: Value = serde_json::from_str(&get(base, "/json/builders/linux-gcc").await).expect("json");
    assert_eq!(linux["pendingBuilds"], 0, "the claimed request is not waiting: {linux}");
    // The data directory has one writer: an import waits until the server is stopped.
    let (ok, _, err) = import(&db, &data);
    assert!(!ok && err.contains(&format!("is in use by buildstatus process {}", server.child.id())), "{err}");
}

/// Runs `statement` on a copy of the fixture with `blob` bound as its one parameter.
async fn sql_with_blob(db: &Path, statement: &'static str, blob: Vec<u8>) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.expect("open the copy");
    sqlx::query(statement).bind(blob).execute(&pool).await.expect("statement");
    pool.close().await;
}

#[tokio::test]
async fn a_log_chunk_that_would_decompress_past_the_cap_marks_its_log_and_the_import_goes_on() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_of_fixture(dir.path());
    // A few kilobytes of bz2 that expand to 17 MiB (as a damaged or hostile row could to
    // gigabytes), in place of windows-msvc #4's test log.
    let mut bz2 = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    bz2.write_all(&vec![b'o'; 17 << 20]).expect("write");
    let bomb = bz2.finish().expect("bz2");
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    sql_with_blob(
        &db,
        "UPDATE logchunks SET content = $1, compressed = 2 WHERE logid = (SELECT l.id FROM logs l \
         JOIN steps s ON s.id = l.stepid JOIN builds b ON b.id = s.buildid JOIN builders r ON r.id = b.builderid \
         WHERE r.name = 'windows-msvc' AND b.number = 4 AND s.name = 'test')",
        bomb,
    )
    .await;
    let data = dir.path().join("data");
    let out = imported(&db, &data);
    assert!(out.contains("builds:   59 imported"), "{out}");
    assert!(out.contains("logs imported with unreadable parts (marked in the log) (1):"), "{out}");
    assert!(
        out.contains("build windows-msvc #4 step 'test' log 'stdio': lines 0-")
            && out.contains(": more than 16 MiB once decompressed"),
        "{out}"
    );
    let server = common::start_binary_with_data(&["serve"], &data);
    let page = get(&server.base, "/builders/windows-msvc/builds/4/steps/test/logs/stdio").await;
    assert!(page.contains("could not be read: more than 16 MiB once decompressed"), "{page}");
    assert!(page.len() < 64 << 10, "none of the 17 MiB is kept: {} bytes", page.len());
}

/// Buildbot's id of the request of buildset `number` (change `number`'s) on `builder`.
async fn request_of(db: &Path, builder: &str, number: i64) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display())).await.expect("open");
    let id = sqlx::query_scalar(
        "SELECT q.id FROM buildrequests q JOIN builders r ON r.id = q.builderid \
         WHERE r.name = $1 AND q.buildsetid = $2",
    )
    .bind(builder)
    .bind(number)
    .fetch_one(&pool)
    .await
    .expect("the request");
    pool.close().await;
    id
}

#[tokio::test]
async fn requests_built_or_cancelled_in_buildbot_since_the_last_import_leave_the_queue_here() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The first import sees macos-clang #20 not started yet: its request (buildset 20) waits.
    let early_dir = dir.path().join("early");
    std::fs::create_dir_all(&early_dir).expect("dir");
    let early = copy_of_fixture(&early_dir);
    sql(
        &early,
        &[
            "PRAGMA foreign_keys = ON",
            "DELETE FROM builds WHERE number = 20 AND builderid = (SELECT id FROM builders WHERE name = 'macos-clang')",
            "DELETE FROM buildrequest_claims WHERE brid = (SELECT q.id FROM buildrequests q JOIN builders r \
             ON r.id = q.builderid WHERE r.name = 'macos-clang' AND q.buildsetid = 20)",
            "UPDATE buildrequests SET complete = 0, complete_at = NULL, results = -1 WHERE id = (SELECT q.id \
             FROM buildrequests q JOIN builders r ON r.id = q.builderid \
             WHERE r.name = 'macos-clang' AND q.buildsetid = 20)",
            "UPDATE buildsets SET complete = 0, complete_at = NULL WHERE id = 20",
        ],
    )
    .await;
    let data = dir.path().join("data");
    let out = imported(&early, &data);
    // The newest change's two requests, and macos-clang's for change 20.
    assert!(out.contains("waiting for a worker: 3 queued, 0 already queued"), "{out}");
    // Then Buildbot builds macos-clang #20 and cancels windows-msvc's waiting request.
    let later_dir = dir.path().join("later");
    std::fs::create_dir_all(&later_dir).expect("dir");
    let later = copy_of_fixture(&later_dir);
    sql(
        &later,
        &["UPDATE buildrequests SET complete = 1, results = 6, complete_at = 1735703000 WHERE id = (SELECT q.id \
           FROM buildrequests q JOIN builders r ON r.id = q.builderid \
           WHERE r.name = 'windows-msvc' AND q.buildsetid = 21)"],
    )
    .await;
    let out = imported(&later, &data);
    assert!(out.contains("builds:   1 imported (3 steps, 3 logs)"), "{out}");
    assert!(out.contains("0 queued, 1 already queued"), "macos-clang's newest: {out}");
    assert!(out.contains("no longer waiting in Buildbot: 1 taken off the queue here"), "{out}");

    let server = common::start_binary_with_data(&["serve"], &data);
    let base = server.base.as_str();
    let waiting = |builder: &'static str| async move {
        let json: Value =
            serde_json::from_str(&get(base, &format!("/json/builders/{builder}/pendingBuilds")).await).expect("json");
        json.as_array().expect("requests").iter().filter_map(|r| r["submittedAt"].as_f64()).collect::<Vec<f64>>()
    };
    // make_db.py's rounds: change k's requests are submitted 600 k + 1 s after the start.
    let change_21 = 1_735_689_600.0 + 21.0 * 600.0 + 1.0;
    assert_eq!(waiting("macos-clang").await, [change_21], "change 20's request was built as macos-clang #20");
    assert_eq!(waiting("windows-msvc").await, [0.0; 0], "change 21's request was cancelled");
}

#[tokio::test]
async fn a_build_started_by_the_import_claims_its_request() {
    use buildstatus::adapters::buildbot::db::BuildbotDb;
    use buildstatus::domain::event::StatusEvent;
    let db = BuildbotDb::open(fixture_db().to_str().expect("UTF-8")).await.expect("open");
    let list = db.builds().await.expect("builds");
    let rows: Vec<_> = list.rows.iter().filter(|r| r.builder == "windows-msvc").cloned().collect();
    let read = db.read_builds(&rows, u64::MAX).await.expect("read");
    assert_eq!(read.builds.len(), 20);
    for (row, build) in rows.iter().zip(&read.builds) {
        let Some(StatusEvent::BuildStarted { requests, .. }) = build.events.first() else { panic!("{build:?}") };
        let want = request_of(&fixture_db(), "windows-msvc", i64::from(row.number)).await;
        assert_eq!(requests, &[u64::try_from(want).expect("an id")], "windows-msvc #{}", row.number);
    }
}

#[tokio::test]
async fn builds_that_were_never_here_are_not_counted_as_imported_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    // linux-gcc came here first from elsewhere (followed live from #10 on): #10 is here, #1
    // to #9 are not, and never can be (numbers only grow).
    let live_dir = dir.path().join("live");
    std::fs::create_dir_all(&live_dir).expect("dir");
    let live = copy_of_fixture(&live_dir);
    sql(
        &live,
        &[
            "PRAGMA foreign_keys = ON",
            "DELETE FROM builds WHERE number <> 10 AND builderid = (SELECT id FROM builders WHERE name = 'linux-gcc')",
        ],
    )
    .await;
    let data = dir.path().join("data");
    let out = imported(&live, &data);
    assert!(out.contains("builds:   41 imported"), "{out}");
    let out = imported(&fixture_db(), &data);
    assert!(out.contains("builds:   9 imported (27 steps, 27 logs), 41 imported before"), "{out}");
    for n in 1..=9 {
        let why = format!("build linux-gcc #{n}: builds up to #10 came here from elsewhere first; numbers only grow");
        assert!(out.contains(&why), "{out}");
    }
    assert!(!out.contains("build linux-gcc #10:"), "{out}");
}

#[tokio::test]
async fn a_build_that_cannot_be_read_holds_back_its_builder_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_of_fixture(dir.path());
    let build = |builder: &str, number: u32| {
        format!(
            "(SELECT b.id FROM builds b JOIN builders r ON r.id = b.builderid \
             WHERE r.name = '{builder}' AND b.number = {number})"
        )
    };
    let statements: Vec<String> = vec![
        // Not a number where Buildbot keeps one.
        format!("UPDATE builds SET started_at = 'soon' WHERE id = {}", build("linux-gcc", 7)),
        // A log chunk whose first line is not a number.
        format!(
            "UPDATE logchunks SET first_line = 'x' WHERE logid IN (SELECT l.id FROM logs l JOIN steps s \
             ON s.id = l.stepid WHERE s.buildid = {})",
            build("macos-clang", 3)
        ),
        // A negative step number.
        format!("UPDATE steps SET number = -1 WHERE name = 'git' AND buildid = {}", build("windows-msvc", 3)),
    ];
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.expect("open the copy");
    for s in &statements {
        sqlx::query(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.expect("statement");
    }
    pool.close().await;
    let data = dir.path().join("data");
    let out = imported(&db, &data);
    // linux-gcc #1 to #6, macos-clang #1 and #2, windows-msvc #1 and #2.
    assert!(out.contains("builds:   10 imported (30 steps, 30 logs), 0 imported before"), "{out}");
    assert!(out.contains("build linux-gcc #7: cannot be read ("), "{out}");
    assert!(out.contains("build linux-gcc #8: waits for #7, which cannot be read"), "{out}");
    assert!(out.contains("build linux-gcc #19: waits for #7, which cannot be read"), "{out}");
    assert!(out.contains("build linux-gcc #7: cannot be read (its row: error occurred while decoding"), "{out}");
    assert!(out.contains("build macos-clang #3: cannot be read (a log chunk: error occurred while decoding"), "{out}");
    assert!(out.contains("build macos-clang #20: waits for #3, which cannot be read"), "{out}");
    assert!(out.contains("build windows-msvc #3: cannot be read (step number -1)"), "{out}");
    assert!(out.contains("build windows-msvc #4: waits for #3, which cannot be read"), "{out}");
    // Mended, but with a property whose value is no text (SQLite's JSON makes it null), and a
    // time no calendar holds.
    let later_dir = dir.path().join("later");
    std::fs::create_dir_all(&later_dir).expect("dir");
    let later = copy_of_fixture(&later_dir);
    let property = format!(
        "UPDATE build_properties SET value = $1 WHERE name = 'branch' AND buildid = {}",
        build("linux-gcc", 12)
    );
    let time = format!("UPDATE builds SET started_at = 99999999999999 WHERE id = {}", build("macos-clang", 10));
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", later.display())).await.expect("open the copy");
    sqlx::query(sqlx::AssertSqlSafe(property)).bind(vec![0u8]).execute(&pool).await.expect("statement");
    sqlx::query(sqlx::AssertSqlSafe(time)).execute(&pool).await.expect("statement");
    pool.close().await;
    let out = imported(&later, &data);
    // linux-gcc #7 to #11, macos-clang #3 to #9, windows-msvc #3 to #20.
    assert!(out.contains("builds:   30 imported (90 steps, 90 logs), 10 imported before"), "{out}");
    assert!(out.contains("build macos-clang #10: cannot be read (start: bad time 99999999999999)"), "{out}");
    assert!(out.contains("build macos-clang #20: waits for #10, which cannot be read"), "{out}");
    assert!(out.contains("build linux-gcc #12: cannot be read (properties: invalid type: null"), "{out}");
    assert!(out.contains("build linux-gcc #20: waits for #12, which cannot be read"), "{out}");
    // Mended, the next import goes on from there.
    let out = imported(&fixture_db(), &data);
    assert!(out.contains("builds:   19 imported (57 steps, 57 logs), 40 imported before"), "{out}");
}

#[test]
fn a_database_path_with_a_question_mark_or_a_percent_sign_is_opened_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let odd = dir.path().join("what?mode=rw&x=%20");
    std::fs::create_dir_all(&odd).expect("dir");
    let db = copy_of_fixture(&odd);
    let before = std::fs::read(&db).expect("read");
    let data = dir.path().join("data");
    let out = imported(&db, &data);
    assert!(out.contains("builds:   59 imported"), "{out}");
    assert_eq!(std::fs::read(&db).expect("read"), before, "read-only: the database is as it was");
    let spaced = dir.path().join("a%20b.sqlite");
    std::fs::copy(&db, &spaced).expect("copy");
    let out = imported(&spaced, &dir.path().join("data2"));
    assert!(out.contains("builds:   59 imported"), "{out}");
}

#[tokio::test]
async fn a_change_or_request_that_cannot_be_read_is_skipped_and_the_rest_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_of_fixture(dir.path());
    sql(
        &db,
        &[
            "UPDATE changes SET when_timestamp = 99999999999999 WHERE changeid = 3",
            "UPDATE buildrequests SET submitted_at = 99999999999999 WHERE complete = 0 \
             AND builderid = (SELECT id FROM builders WHERE name = 'windows-msvc')",
        ],
    )
    .await;
    let request = request_of(&db, "windows-msvc", 21).await;
    let data = dir.path().join("data");
    let out = imported(&db, &data);
    assert!(out.contains("changes:  20 imported, 0 imported before"), "{out}");
    assert!(out.contains("change 3: cannot be read (its id or time 99999999999999 is out of range)"), "{out}");
    assert!(out.contains("builds:   59 imported"), "{out}");
    let why = format!("build request {request}: cannot be read (an id or its time 99999999999999 is out of range)");
    assert!(out.contains(&why), "{out}");
    assert!(out.contains("waiting for a worker: 1 queued, 0 already queued"), "{out}");
}

#[tokio::test]
async fn a_run_of_builds_is_read_in_parts_of_the_text_budget() {
    use buildstatus::adapters::buildbot::db::BuildbotDb;
    let db = BuildbotDb::open(fixture_db().to_str().expect("UTF-8")).await.expect("open");
    let list = db.builds().await.expect("builds");
    let rows: Vec<_> = list.rows.iter().filter(|r| r.builder == "macos-clang").cloned().collect();
    assert_eq!(rows.len(), 20);
    // Each build has some log text: a budget of one byte ends the part after its first build.
    let part = db.read_builds(&rows, 1).await.expect("read");
    assert_eq!((part.builds.len(), part.unreadable.as_deref()), (1, None));
    let whole = db.read_builds(&rows, u64::MAX).await.expect("read");
    assert_eq!(whole.builds.len(), 20);
    assert_eq!(part.builds[0].events, whole.builds[0].events);
}
