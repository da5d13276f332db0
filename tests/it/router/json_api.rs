//! The `/json` API through the real router on the fixed history: a snapshot of every resource,
//! and the checks a script author would make (keys, SUCCESS as 0, select, JSONP, errors).
use crate::common;

use crate::common::{fixture_server, get, snapshot};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use buildstatus::app::StatusServer;
use buildstatus::domain::result::BuildResult;
use serde_json::Value;
use tower::ServiceExt;

async fn get_json(server: &StatusServer, uri: &str) -> Value {
    let (status, body, _) = get(server, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri} is not JSON ({e}): {body}"))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().expect("an object").keys().map(String::as_str).collect()
}

#[tokio::test]
async fn every_resource_renders_as_recorded() {
    let server = fixture_server().await;
    let resources = [
        ("json_root", "/json"),
        ("json_builders", "/json/builders"),
        ("json_builder", "/json/builders/linux"),
        ("json_builds", "/json/builders/linux/builds"),
        ("json_builds_all", "/json/builders/linux/builds/_all?max=2"),
        ("json_build", "/json/builders/linux/builds/1"),
        ("json_build_running", "/json/builders/macos/builds/-1"),
        ("json_source_stamp", "/json/builders/linux/builds/1/source_stamp"),
        ("json_stamp_changes", "/json/builders/linux/builds/1/source_stamp/changes"),
        ("json_stamp_change", "/json/builders/linux/builds/1/source_stamp/changes/2"),
        ("json_steps", "/json/builders/linux/builds/1/steps"),
        ("json_step_by_index", "/json/builders/linux/builds/1/steps/-1"),
        ("json_step_by_name", "/json/builders/linux/builds/1/steps/compile"),
        ("json_builder_slaves", "/json/builders/linux/slaves"),
        ("json_builder_slave", "/json/builders/linux/slaves/w1"),
        ("json_pending", "/json/builders/linux/pendingBuilds"),
        ("json_slaves", "/json/slaves"),
        ("json_slave", "/json/slaves/w1"),
        ("json_project", "/json/project"),
        ("json_change_sources", "/json/change_sources"),
        ("json_metrics", "/json/metrics"),
        ("json_changes", "/json/changes"),
        ("json_change", "/json/changes/2"),
        ("json_select", "/json/builders/linux/builds?select=-1&select=-2&select=&as_text=1"),
    ];
    for (name, uri) in resources {
        let (status, body, headers) = get(&server, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{uri}");
        let value: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}"));
        // Indented, so a change to one key shows as one line.
        snapshot(name, &serde_json::to_string_pretty(&value).expect("printable"));
    }
}

#[tokio::test]
async fn objects_have_the_keys_of_buildbot_08() {
    let server = fixture_server().await;
    let root = get_json(&server, "/json").await;
    assert_eq!(keys(&root), ["builders", "change_sources", "metrics", "project", "slaves"]);
    let builder = get_json(&server, "/json/builders/linux").await;
    assert_eq!(
        keys(&builder),
        [
            "basedir",
            "cachedBuilds",
            "category",
            "currentBuilds",
            "pendingBuilds",
            "schedulers",
            "slaves",
            "state",
            "tags"
        ]
    );
    assert_eq!(builder["pendingBuilds"], 1);
    assert_eq!(builder["cachedBuilds"], serde_json::json!([0, 1, 2, 3, 4]));
    let build = get_json(&server, "/json/builders/linux/builds/0").await;
    assert_eq!(
        keys(&build),
        [
            "blame",
            "builderName",
            "currentStep",
            "eta",
            "logs",
            "number",
            "properties",
            "reason",
            "results",
            "slave",
            "sourceStamps",
            "steps",
            "text",
            "times"
        ]
    );
    assert_eq!(build["results"], 0, "SUCCESS is 0");
    assert_eq!(
        build["logs"][0],
        serde_json::json!(["stdio", "http://localhost:8010/builders/linux/builds/0/steps/compile/logs/stdio"])
    );
    let filtered = get_json(&server, "/json/builders/linux/builds/0?filter=1").await;
    assert_eq!(filtered["results"], 0, "filter keeps a SUCCESS result");
    assert_eq!(filtered["steps"][0]["results"][0], 0);
    assert!(filtered.get("currentStep").is_none(), "filter drops null");
    let running = get_json(&server, "/json/builders/macos/builds/1").await;
    assert_eq!(running["results"], Value::Null);
    assert_eq!(running["times"][1], Value::Null);
    assert_eq!(running["currentStep"]["name"], "compile");
    let slave = get_json(&server, "/json/slaves/w1").await;
    assert_eq!(slave["builders"]["linux"], serde_json::json!([4, 3, 2, 1, 0]));
    assert_eq!(slave["runningBuilds"][0]["builderName"], "macos");
    assert_eq!(get_json(&server, "/json/slaves/w2").await["connected"], false);
}

#[tokio::test]
async fn flags_change_the_form_not_the_content() {
    let server = fixture_server().await;
    let (_, compact, headers) = get(&server, "/json/project").await;
    assert_eq!(
        compact,
        r#"{"buildbotURL":"http://localhost:8010/","title":"Buildbot","titleURL":"http://buildbot.net"}"#
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"/json/project.json\"");
    assert_eq!(headers["pragma"], "no-cache");
    assert!(headers.contains_key("expires"));
    let (_, text, headers) = get(&server, "/json/project?as_text=1").await;
    assert!(text.starts_with("{\n  \"buildbotURL\""), "{text}");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(!headers.contains_key("content-disposition"));
    let (_, root_headers) = (0, get(&server, "/json/").await.2);
    assert_eq!(root_headers["content-disposition"], "attachment; filename=\"buildbot.json\"");
    let (_, jsonp, headers) = get(&server, "/json/metrics?callback=$cb.done_1").await;
    assert_eq!(jsonp, r#"$cb.done_1({"alarms":{},"counters":{},"timers":{}});"#);
    assert_eq!(headers["content-type"], "application/javascript; charset=utf-8");
    let picked =
        get_json(&server, "/json?select=slaves/w1&select=slaves/w2&select=builders/linux/pendingBuilds&select=nope")
            .await;
    assert_eq!(keys(&picked["slaves"]), ["w1", "w2"], "common prefixes both survive");
    assert_eq!(picked["builders"]["linux"]["pendingBuilds"][0]["builderName"], "linux");
    assert_eq!(picked["nope"]["error"], "Not available");
    let own = get_json(&server, "/json/project?select=").await;
    assert_eq!(own["title"], "Buildbot");
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let server = fixture_server().await;
    let cases = [
        ("/json/nothing", StatusCode::NOT_FOUND, "No JSON resource /json/nothing"),
        ("/json/builders/nope", StatusCode::NOT_FOUND, "No such builder 'nope'"),
        ("/json/builders/linux/builds/99", StatusCode::NOT_FOUND, "No build #99 of builder 'linux'"),
        ("/json/builders/linux/builds/x", StatusCode::BAD_REQUEST, "build number 'x' is not a number"),
        ("/json/builders/linux/builds/1/steps/9", StatusCode::NOT_FOUND, "No step '9'"),
        ("/json/builders/linux/builds/1/source_stamp/changes/9", StatusCode::NOT_FOUND, "No change '9'"),
        ("/json/slaves/nope", StatusCode::NOT_FOUND, "No such slave 'nope'"),
        ("/json/builders/linux/slaves/w9", StatusCode::NOT_FOUND, "has no slave 'w9'"),
        ("/json/changes/77", StatusCode::NOT_FOUND, "No change number 77"),
        ("/json/project?callback=alert(1)", StatusCode::BAD_REQUEST, "'alert(1)' is not a valid JavaScript name"),
        ("/json/builders/linux/builds/_all?max=lots", StatusCode::BAD_REQUEST, "argument 'max'"),
        ("/json/nothing/help", StatusCode::NOT_FOUND, "No JSON resource"),
    ];
    for (uri, status, message) in cases {
        let (got, body, headers) = get(&server, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(headers["content-type"], "application/json", "{uri}");
        let error: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"));
        let text = error["error"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{uri}: expected «{message}» in {text}");
    }
    let post = Request::builder().method("POST").uri("/json/builders").body(Body::empty()).expect("a request");
    let response = server.router().oneshot(post).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
}

#[tokio::test]
async fn help_documents_every_resource_with_live_examples() {
    let server = fixture_server().await;
    let (status, help, headers) = get(&server, "/json/help").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    for expected in ["/json/builders/BUILDER/builds/N/steps/STEP", "select=PATH", "callback=NAME", "as_text=1"] {
        assert!(help.contains(expected), "help lacks {expected}");
    }
    assert!(help.contains("href=\"../json/slaves/w1?as_text=1\""), "examples use real names: {help}");
    let (status, sub, _) = get(&server, "/json/builders/linux/help").await;
    assert_eq!(status, StatusCode::OK);
    assert!(sub.contains("Parent's Help") && sub.contains("href=\"../../../json/builders/help\""), "{sub}");
    for child in ["builds", "slaves", "pendingBuilds"] {
        assert!(sub.contains(&format!("href=\"../../../json/builders/linux/{child}/help\"")), "{child}: {sub}");
    }
    assert!(help.contains("href=\"../json/change_sources\""), "the root lists its children");
    snapshot("json_help", &help);
}

/// `builds` lists the numbers stored, not every number up to the newest: a builder whose
/// builds jump to 4,000,000,000 answers six keys, not four billion.
#[tokio::test]
async fn the_build_list_names_the_builds_that_exist() {
    let server = fixture_server().await;
    let build = common::whole_build("linux", 4_000_000_000, 50, "main", BuildResult::Success, None);
    server.sink().record_all(build).await.expect("recorded");
    let builds = get_json(&server, "/json/builders/linux/builds").await;
    let mut numbers: Vec<u64> = keys(&builds).iter().map(|k| k.parse().expect("a number")).collect();
    numbers.sort();
    assert_eq!(numbers, [0, 1, 2, 3, 4, 4_000_000_000]);
    assert!(builds.as_object().expect("an object").values().all(Value::is_null));
}

/// A build whose sender gives no ETA is given one from its builder's successful builds: in
/// `/json` (seconds from now, the build's and its steps'), on the builder page and in the
/// waterfall's activity.
#[tokio::test]
async fn a_running_build_without_an_eta_shows_the_one_its_builders_successes_give() {
    use buildstatus::domain::event::StatusEvent;
    let server = fixture_server().await;
    // linux #0 and #4 succeeded: a compile and a test step of a minute each. #5 starts at
    // minute 44 and compiles; the clock stands at 45.
    let mut events = common::whole_build("linux", 5, 44, "main", BuildResult::Success, None);
    events.truncate(2);
    if let StatusEvent::BuildStarted { build, .. } = &mut events[0] {
        build.eta = None;
    }
    server.sink().record_all(events).await.expect("recorded");
    let build = get_json(&server, "/json/builders/linux/builds/5").await;
    assert_eq!(build["eta"], 60.0, "compile ends at 45, then the test's minute: {build}");
    assert_eq!(build["steps"][0]["eta"], 0.0, "compile is due now: {build}");
    assert_eq!(build["steps"][1]["eta"], Value::Null, "no test step is listed yet");
    let eta = common::at(46).format("%H:%M:%S").to_string();
    let (_, page, _) = get(&server, "/builders/linux").await;
    assert!(page.contains(&format!("ETA: {eta}")), "{page}");
    let (_, waterfall, _) = get(&server, "/waterfall").await;
    assert!(waterfall.contains(&format!("at {}", &eta[..5])), "{waterfall}");
}
