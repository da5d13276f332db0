//! The event ingest API end to end: the real binary with a config, posts over HTTP (good,
//! malformed, unauthenticated, repeated, conflicting batches), `buildstatus send` from a
//! shell's point of view, and what the pages and the store show afterwards (also across a
//! restart, for the idempotency receipts).
use crate::common;
use crate::common::buildbot;

use std::process::Command;

use serde_json::{Value, json};

const TOKEN: &str = "ci-token-0123456789abcdef";
const MAX_BODY: usize = 64 * 1024;

fn config(dir: &std::path::Path, create_builders: bool) -> String {
    let file = dir.join("buildstatus.toml");
    std::fs::write(
        &file,
        format!("[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = {create_builders}\nmax_body = {MAX_BODY}\n"),
    )
    .expect("write");
    file.to_str().expect("a path").to_owned()
}

fn started(id: &str, builder: &str, number: u32) -> Value {
    json!({"event_id": id, "type": "build_started",
           "build": {"builder": builder, "number": number, "started": "2026-03-01T10:00:00Z", "worker": "w1"}})
}

fn finished(id: &str, builder: &str, number: u32, result: &str) -> Value {
    json!({"event_id": id, "type": "build_finished", "builder": builder, "number": number, "result": result,
           "at": "2026-03-01T10:05:00Z"})
}

async fn post(base: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{base}/api/v1/events")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn page(base: &str, path: &str) -> String {
    reqwest::get(format!("{base}{path}")).await.expect("page").text().await.expect("text")
}

#[tokio::test]
async fn batches_are_authenticated_checked_whole_and_applied_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), false);
    let server = common::start_binary_with_data(&["serve", "--config", &cfg], &data);
    let base = server.base.clone();
    let add = json!({"event_id": "add-linux", "type": "builder_added", "builder": {"name": "linux", "tags": ["ci"]}});

    let (status, _) = post(&base, None, &add).await;
    assert_eq!(status, 401);
    let (status, _) = post(&base, Some("ci-token-0123456789abcdeX"), &add).await;
    assert_eq!(status, 401);

    // A malformed event refuses the whole batch, naming the event and the field.
    let mut bad = finished("f1", "linux", 1, "failure");
    bad["number"] = json!("one");
    let (status, answer) = post(&base, Some(TOKEN), &json!([add, started("s1", "linux", 1), bad])).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["index"], 2);
    assert_eq!(answer["field"], "number");
    assert!(answer["error"].as_str().expect("text").starts_with("event 2, field 'number': invalid type"), "{answer}");
    assert!(!page(&base, "/builders").await.contains("linux"), "nothing of a refused batch is recorded");

    // A body over the configured limit is refused whole, saying so.
    let mut big = add.clone();
    big["builder"]["description"] = json!("x".repeat(MAX_BODY));
    let (status, answer) = post(&base, Some(TOKEN), &big).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "the body is larger than the limit of 65536 bytes");
    assert!(!page(&base, "/builders").await.contains("linux"), "nothing of a refused body is recorded");

    // An unknown builder is a conflict when the config does not allow creating it.
    let (status, answer) = post(&base, Some(TOKEN), &started("s0", "nowhere", 1)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().expect("text").contains("unknown builder 'nowhere'"), "{answer}");

    let batch = json!({"events": [add, started("s1", "linux", 1), finished("f1", "linux", 1, "failure")]});
    let (status, answer) = post(&base, Some(TOKEN), &batch).await;
    assert_eq!((status, &answer["applied"], &answer["repeated"]), (200, &json!(3), &json!(0)), "{answer}");
    let seq = answer["seq"].clone();

    // The same batch again is acknowledged and changes nothing.
    let (status, answer) = post(&base, Some(TOKEN), &batch).await;
    assert_eq!((status, &answer["applied"], &answer["repeated"], &answer["seq"]), (200, &json!(0), &json!(3), &seq));

    // A batch mixing seen and new ids applies only the new ones.
    let next = json!([finished("f1", "linux", 1, "failure"), started("s2", "linux", 2)]);
    let (status, answer) = post(&base, Some(TOKEN), &next).await;
    assert_eq!((status, &answer["applied"], &answer["repeated"]), (200, &json!(1), &json!(1)), "{answer}");

    let build = page(&base, "/builders/linux/builds/1").await;
    assert!(build.contains("failed") || build.contains("failure"), "{build}");
    assert!(page(&base, "/builders/linux").await.contains("#2"));

    // A contradicting batch (build 2 is running: starting it again) is a conflict, and whole.
    let (status, answer) =
        post(&base, Some(TOKEN), &json!([finished("f2", "linux", 2, "success"), started("s2b", "linux", 2)])).await;
    assert_eq!(status, 409, "{answer}");
    let (_, answer) = post(&base, Some(TOKEN), &finished("f2", "linux", 2, "success")).await;
    assert_eq!(answer["applied"], 1, "f2 was not recorded by the refused batch: {answer}");

    // Change numbers only grow and stay within what every store and JSON reader holds.
    let change = |id: &str, number: u64| {
        json!({"event_id": id, "type": "change_added",
               "change": {"number": number, "who": "ann", "when": "2026-03-01T09:58:00Z"}})
    };
    let (status, answer) = post(&base, Some(TOKEN), &change("c1", 42)).await;
    assert_eq!((status, &answer["applied"]), (200, &json!(1)), "{answer}");
    let (status, answer) = post(&base, Some(TOKEN), &change("c2", 7)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().expect("text").contains("change 7 is not above 42"), "{answer}");
    let (status, answer) = post(&base, Some(TOKEN), &change("c3", 1 << 63)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().expect("text").contains("is above 9007199254740991"), "{answer}");
    let hook = reqwest::Client::new().get(format!("{base}/changes/42")).send().await.expect("page");
    assert_eq!(hook.status().as_u16(), 200, "change 42 is kept");
    // A refused batch leaves none of its changes behind, even in memory.
    let (status, answer) = post(&base, Some(TOKEN), &json!([change("c4", 43), change("c5", 1 << 53)])).await;
    assert_eq!(status, 409, "{answer}");
    let page = reqwest::Client::new().get(format!("{base}/changes/43")).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 404, "change 43 was not recorded");
    let (status, answer) = post(&base, Some(TOKEN), &change("c4", 43)).await;
    assert_eq!((status, &answer["applied"]), (200, &json!(1)), "the corrected batch goes in: {answer}");

    // Receipts survive a restart.
    drop(server);
    let server = common::start_binary_with_data(&["serve", "--config", &cfg], &data);
    let (status, answer) = post(&server.base, Some(TOKEN), &batch).await;
    assert_eq!((status, &answer["applied"], &answer["repeated"]), (200, &json!(0), &json!(3)), "{answer}");
}

fn send(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .arg("send")
        .args(["--url", base])
        .args(args)
        .env("BUILDSTATUS_TOKEN", TOKEN)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_ci_script_reports_a_build_with_send() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), true);
    let server = common::start_binary(&["serve", "--config", &cfg]);
    let base = server.base.as_str();
    let build = ["--builder", "deploy", "--number", "7"];
    let (ok, out, err) =
        send(base, &[&["build", "started"][..], &build, &["--branch", "main", "--worker", "ci-1"]].concat());
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"applied\":1"), "{out}");
    assert!(page(base, "/builders").await.contains("deploy"), "create_builders added the builder");
    let (ok, out, err) =
        send(base, &[&["step", "started"][..], &build, &["--step", "0", "--name", "compile"]].concat());
    assert!(ok, "{out}{err}");
    let step_done = [&["step", "finished"][..], &build, &["--step", "0", "--result", "failure"]].concat();
    assert!(send(base, &step_done).0);
    let (ok, out, _) = send(base, &step_done);
    assert!(ok && out.contains("\"repeated\":1"), "a retried send is acknowledged: {out}");
    // While it runs: the step's text and a link, properties the checkout found.
    let step = [&build[..], &["--step", "0"]].concat();
    let (ok, out, err) =
        send(base, &[&["step", "text"][..], &step, &["--text", "compile", "--text", "3 errors"]].concat());
    assert!(ok && out.contains("\"applied\":1"), "{out}{err}");
    let link = [&["step", "url"][..], &step, &["--name", "errors", "--link", "https://ci.example.org/e/7"]].concat();
    assert!(send(base, &link).0);
    let (ok, out, _) = send(base, &link);
    assert!(ok && out.contains("\"repeated\":1"), "the same link again is a repeat: {out}");
    let props = [&["build", "properties"][..], &build, &["--property", "got_revision=4f3c2a1"]].concat();
    assert!(send(base, &props).0);
    let (ok, _, err) = send(base, &[&["build", "properties"][..], &build].concat());
    assert!(!ok && err.contains("--property NAME=VALUE is needed"), "{err}");
    let (ok, _, err) = send(base, &[&["build", "properties"][..], &build, &["--property", "novalue"]].concat());
    assert!(!ok && err.contains("--property 'novalue' is not NAME=VALUE"), "{err}");
    let (ok, _, err) = send(base, &[&["step", "text"][..], &step].concat());
    assert!(!ok && err.contains("--text or --text2 is needed"), "{err}");
    let finish = ["--result", "failure", "--text", "failed compile", "--property", "deployed=no"];
    let (ok, _, err) = send(base, &[&["build", "finished"][..], &build, &finish].concat());
    assert!(ok, "{err}");
    // The finish's own properties join those set while the build ran (a retried finish with
    // other properties is still the one finish).
    let json: Value =
        reqwest::get(format!("{base}/json/builders/deploy/builds/7")).await.expect("json").json().await.expect("json");
    let properties = json["properties"].as_array().expect("properties");
    assert!(properties.contains(&json!(["got_revision", "4f3c2a1", "buildstatus send"])), "{json}");
    assert!(properties.contains(&json!(["deployed", "no", "buildstatus send"])), "{json}");
    assert_eq!(json["steps"][0]["text"], json!(["compile", "3 errors"]), "{json}");
    assert_eq!(json["steps"][0]["urls"], json!({"errors": "https://ci.example.org/e/7"}), "{json}");
    let finish_with = [&["build", "finished"][..], &build, &["--result", "failure", "--property", "late=1"]].concat();
    let (ok, out, _) = send(base, &finish_with);
    assert!(ok && out.contains("\"repeated\":1"), "{out}");

    let page = page(base, "/builders/deploy/builds/7").await;
    assert!(page.contains("Failed compile") && page.contains("ci-1"), "{page}");
    let json: Value =
        reqwest::get(format!("{base}/json/builders/deploy/builds/7")).await.expect("json").json().await.expect("json");
    assert_eq!(json["results"], 2, "{json}");
    assert_eq!(json["steps"][0]["name"], "compile");

    let (ok, _, err) = send(base, &[&["build", "finished"][..], &build, &["--result", "exploded"]].concat());
    assert!(!ok && err.contains("--result 'exploded' is not one of"), "{err}");
    let (ok, _, err) = send(base, &["build", "started", "--builder", "deploy"]);
    assert!(!ok && err.contains("--number is needed"), "{err}");
    let (ok, _, err) = send("ftp://127.0.0.1:1/", &["build", "started", "--builder", "x", "--number", "1"]);
    assert!(!ok && err.contains("not an http:// or https:// URL"), "{err}");
}

#[tokio::test]
async fn without_ingest_config_the_api_is_not_found() {
    let server = common::start_binary(&["serve"]);
    let (status, answer) = post(&server.base, Some(TOKEN), &started("a", "b", 1)).await;
    assert_eq!(status, 404);
    assert!(answer["error"].as_str().expect("text").contains("[ingest]"));
}

#[test]
fn the_schema_examples_are_valid_events_and_cover_every_kind() {
    let path = format!("{}/docs/events.schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema")).expect("JSON");
    let examples = &schema["examples"][0];
    let events = buildstatus::domain::ingest::parse(examples.to_string().as_bytes()).expect("the examples parse");
    let kinds: std::collections::BTreeSet<&str> = events.iter().map(|p| p.event.kind()).collect();
    assert_eq!(kinds.len(), 28, "one example per kind of event: {kinds:?}");
    // A real JSON Schema validator (Python's jsonschema, beside Buildbot) agrees with the parser.
    let check = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
v.validate(schema["examples"][0])
bad = dict(schema["examples"][0][8]); bad["number"] = "one"
assert not v.is_valid([bad]), "a string build number must be invalid"
no_text = {"event_id": "t", "type": "step_text_changed", "builder": "b", "number": 1, "step": 0}
assert not v.is_valid([no_text]), "a step_text_changed needs text or text2"
assert v.is_valid([dict(no_text, text2=["2 warnings"])])
print("ok")
"#;
    let out = Command::new(buildbot::python()).args(["-c", check, &path]).output().expect("python runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok", "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_buildbot_report_is_authenticated_and_applied_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), true);
    let server = common::start_binary(&["serve", "--config", &cfg]);
    let report = json!({"buildid": 7, "number": 3, "started_at": 1795617240, "complete_at": 1795617250,
        "complete": true, "state_string": "build successful", "results": 0,
        "properties": {"workername": ["w1", "Worker"]},
        "buildset": {"reason": "forced", "sourcestamps": []}, "builder": {"name": "tiny"}});
    let url = format!("{}/api/v1/buildbot", server.base);
    let http = reqwest::Client::new();
    let anonymous = http.post(&url).json(&report).send().await.expect("answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let first: Value =
        http.post(&url).bearer_auth(TOKEN).json(&report).send().await.expect("a").json().await.expect("json");
    assert_eq!(
        (&first["applied"], &first["repeated"]),
        (&json!(2), &json!(0)),
        "started and finished at once: {first}"
    );
    let again: Value =
        http.post(&url).bearer_auth(TOKEN).json(&report).send().await.expect("a").json().await.expect("json");
    assert_eq!((&again["applied"], &again["repeated"]), (&json!(0), &json!(2)), "{again}");
    let bad = http.post(&url).bearer_auth(TOKEN).json(&json!({"number": 1})).send().await.expect("answer");
    assert_eq!(bad.status().as_u16(), 400);
    let build = page(&server.base, "/builders/tiny/builds/3").await;
    assert!(build.contains("Build successful") || build.contains("build successful"), "{build}");
}
