//! HttpStatusPush against a real receiver: `tests/fixtures/push_receiver.py`, a Python HTTP
//! server on a loopback port that decodes each POST's `packets=` form field and records it
//! (see `common::push_receiver`). The packets of a demo build against spec-notify-5's table;
//! a receiver away for a minute; buildstatus killed (SIGKILL) while a request is in flight;
//! 413 halving and a packet too large to send; the queue's capacity overflowing; TLS; the
//! compatibility switches (debug, extra fields, 0.8's filter) and a 204 taken as success.
//!
//! Needs `python3` (its standard library only) and `openssl` (the TLS test's certificates).

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use buildstatus::app::{Config, StatusServer, Storage};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Builder, Change, Worker};
use buildstatus::domain::result::BuildResult;
use serde_json::{Value, json};

use crate::common::buildbot::free_port;
use crate::common::push_receiver::{Receiver, distinct_ids, ids};
use crate::common::{at, get, start_binary_listening, whole_build};

/// A server on `dir` with the configuration `toml` (its `[[http_push]]` blocks).
async fn server(toml: &str, dir: &Path) -> StatusServer {
    let mut config = Config::parse(toml, dir).expect("a valid configuration");
    config.server.storage = Storage::Directory(dir.join("data"));
    StatusServer::start(config.server).await.expect("the server starts")
}

fn push_block(url: &str, extra: &str) -> String {
    format!(
        "[[http_push]]\nserverUrl = \"{url}\"\nbufferDelay = 0\nretryDelay = 1\nretryMaxDelay = 2\ntimeout = 5\n{extra}\n"
    )
}

/// A builder `linux` served by a connected worker `w1`.
async fn linux(server: &StatusServer) {
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    let worker = Worker { name: "w1".into(), ..Worker::default() };
    server
        .sink()
        .record_all(vec![StatusEvent::BuilderAdded { builder }, StatusEvent::WorkerConnected { worker, at: at(0) }])
        .await
        .expect("builder and worker");
}

/// Whether `packets` hold the `event` packet of build `number` of `linux`.
fn has_build(packets: &[Value], event: &str, number: u64) -> bool {
    packets.iter().any(|p| p["event"] == event && p["payload"]["build"]["number"] == number)
}

fn events_of<'a>(packets: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    packets.into_iter().map(|p| p["event"].as_str().unwrap_or("?").to_owned()).collect()
}

/// `/notifications` of the target, as a user reads it.
async fn delivery_page(server: &StatusServer) -> String {
    let (status, page, _) = get(server, "/notifications?target=http-push/http_push").await;
    assert_eq!(status, StatusCode::OK);
    page
}

/// The packets of one demo build, as a receiver gets them, have the events and payloads of
/// spec-notify-5's table, in the order 0.8 sent them.
#[tokio::test]
async fn the_packets_of_a_demo_build_follow_the_spec_table() {
    let receiver = Receiver::start(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("push.toml");
    std::fs::write(&config, format!("title = \"Demo\"\n{}", push_block(&receiver.url, ""))).expect("config");
    let config = config.to_str().expect("a path");
    let _demo = start_binary_listening(&["demo", "--config", config, "--history", "0"], &["127.0.0.1:0"], dir);
    let packets = receiver.until(Duration::from_secs(180), |p| p.iter().any(|x| x["event"] == "buildFinished")).await;

    // Numbered from 1, one after the other, each with the envelope.
    assert_eq!(ids(&packets), (1..=packets.len() as u64).collect::<Vec<_>>());
    let started = packets[0]["started"].clone();
    for p in &packets {
        assert_eq!((p["project"].clone(), p["started"].clone()), (json!("Demo"), started.clone()), "{p}");
        let stamp = p["timestamp"].as_str().expect("a timestamp");
        assert!(stamp.len() >= 19 && chrono::NaiveDateTime::parse_from_str(&stamp[..19], "%Y-%m-%d %H:%M:%S").is_ok());
    }
    // The target started before the demo master described its builders: `start` first, then
    // each builder as it is added, with its state.
    assert_eq!(packets[0]["event"], "start");
    assert_eq!(packets[0]["payload"]["status"]["title"], "Demo");
    let added: Vec<&Value> = packets.iter().filter(|p| p["event"] == "builderAdded").collect();
    assert_eq!(added.len(), 12, "the demo's builders");
    assert_eq!(added[0]["payload"]["builder"]["slaves"].as_array().map(|s| !s.is_empty()), Some(true));

    // The first build to finish, and every packet about it or its builder.
    let finished = packets.iter().find(|p| p["event"] == "buildFinished").expect("a finished build");
    let builder = finished["payload"]["build"]["builderName"].as_str().expect("builderName").to_owned();
    let number = finished["payload"]["build"]["number"].clone();
    let about = |p: &&Value| {
        let payload = &p["payload"];
        let named = |v: &Value| v.as_str() == Some(builder.as_str());
        let property = |name: &str| {
            payload["properties"].as_array().and_then(|ps| ps.iter().find(|x| x[0] == name)).map(|x| x[1].clone())
        };
        (named(&payload["builderName"]) && p["event"] != "builderAdded")
            || (named(&payload["build"]["builderName"]) && payload["build"]["number"] == number)
            || named(&payload["request"]["builderName"])
            || (property("buildername").is_some_and(|b| named(&b)) && property("buildnumber") == Some(number.clone()))
    };
    let all: Vec<&Value> = packets.iter().filter(about).collect();
    // Before its request the builder only changes state: offline when added, idle when its
    // worker connects.
    let request = all.iter().position(|p| p["event"] == "requestSubmitted").expect("a request");
    assert!(
        request >= 1 && all[..request].iter().all(|p| p["event"] == "builderChangedState"),
        "{:?}",
        events_of(all.iter().copied())
    );
    assert_eq!(all[request - 1]["payload"], json!({"builderName": builder, "state": "idle"}));
    let build = &all[request - 1..];
    let sequence: Vec<&str> = build.iter().map(|p| p["event"].as_str().unwrap_or("?")).collect();
    let steps = finished["payload"]["build"]["steps"].as_array().expect("steps").len();
    let mut expected = vec!["builderChangedState", "requestSubmitted", "buildStarted", "builderChangedState"];
    expected.extend(std::iter::repeat_n(["stepStarted", "stepFinished"], steps).flatten());
    expected.extend(["buildFinished", "builderChangedState"]);
    // The builder's packets end with the state after the build (it may not be there yet).
    let got = &sequence[..sequence.len().min(expected.len())];
    assert!(expected.starts_with(got) && got.len() >= expected.len() - 1, "{sequence:?}");

    let states: Vec<&Value> = build.iter().filter(|p| p["event"] == "builderChangedState").copied().collect();
    assert_eq!(states[1]["payload"], json!({"builderName": builder, "state": "building"}));
    let start = build[2];
    assert_eq!(start["payload"].as_object().map(|o| o.keys().collect::<Vec<_>>()), Some(vec![&"build".to_owned()]));
    assert_eq!(start["payload"]["build"]["number"], number);
    assert!(start["payload"]["build"].get("results").is_none(), "null values are left out");
    assert_eq!(start["payload"]["build"]["times"][1], Value::Null, "a list keeps its places");
    for (i, step) in build[4..4 + 2 * steps].chunks(2).enumerate() {
        for p in step {
            let keys: Vec<&String> = p["payload"].as_object().expect("payload").keys().collect();
            assert_eq!(keys, ["properties", "step"], "{p}");
            assert_eq!(p["payload"]["step"]["step_number"], i, "{p}");
        }
        assert_eq!(step[0]["payload"]["step"]["isStarted"], true);
        assert_eq!(step[1]["payload"]["step"]["isFinished"], true);
        assert!(step[1]["payload"]["step"]["results"][0].is_u64(), "a step's result, 0 included: {}", step[1]);
    }
    let end = build[4 + 2 * steps];
    assert_eq!(end["payload"]["build"]["number"], number);
    assert!(end["payload"]["build"]["results"].is_u64(), "the result is kept, SUCCESS (0) too");
    assert_eq!(end["payload"]["build"]["builderName"], builder.as_str());
}

/// The receiver is away for a minute while builds run: nothing is lost, nothing comes twice,
/// and meanwhile `/notifications` says why and how many packets wait.
#[tokio::test]
async fn a_receiver_away_for_a_minute_gets_every_packet_once_in_order() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server(&push_block(&format!("http://127.0.0.1:{port}/push"), ""), dir.path()).await;
    linux(&server).await;
    let began = Instant::now();
    let mut number = 0;
    while began.elapsed() < Duration::from_secs(60) {
        server
            .sink()
            .record_all(whole_build("linux", number, i64::from(number), "main", BuildResult::Success, None))
            .await
            .expect("build");
        number += 1;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let page = delivery_page(&server).await;
    assert!(page.to_lowercase().contains("connection refused"), "the error in words: {page}");
    assert!(page.contains("Next to go: #1 start"), "what it is stuck on: {page}");
    let waiting: u64 =
        page.split(" waiting").next().and_then(|s| s.rsplit('>').next()).and_then(|n| n.parse().ok()).expect("a count");
    assert!(waiting > u64::from(number) * 6, "{waiting} packets wait: {page}");

    let receiver = Receiver::start(port);
    let packets = receiver.until(Duration::from_secs(30), |p| p.len() as u64 >= waiting).await;
    assert!(has_build(&packets, "buildFinished", u64::from(number - 1)));
    assert_eq!(ids(&packets), (1..=packets.len() as u64).collect::<Vec<_>>(), "each once, in order");
    let starts: Vec<u64> = packets
        .iter()
        .filter(|p| p["event"] == "buildStarted")
        .filter_map(|p| p["payload"]["build"]["number"].as_u64())
        .collect();
    assert_eq!(starts, (0..u64::from(number)).collect::<Vec<_>>());
    assert_eq!(packets.len() as u64, waiting, "what waited is what came");
    let sizes: Vec<usize> =
        receiver.requests().await.iter().map(|r| r["packets"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(sizes[0], 1, "a probe first, after the failures: {sizes:?}");
    assert!(sizes[1..].iter().any(|n| *n > 1), "then several packets a request: {sizes:?}");
    assert!(sizes.iter().all(|n| *n >= 1), "never an empty request: {sizes:?}");
    let page = delivery_page(&server).await;
    assert!(page.contains("0 waiting"), "{page}");
}

/// buildstatus is killed (SIGKILL) while a request is in flight: after a restart the stream
/// goes on, and the only packets sent twice are those of that request, with the same ids.
#[tokio::test]
async fn after_a_sigkill_the_stream_goes_on_with_only_the_request_in_flight_twice() {
    let receiver = Receiver::start(0);
    receiver.control(json!({"delay": 0.3})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("push.toml");
    let token = "push-test-token-0123456789";
    let block = push_block(&receiver.url, "chunkSize = 5");
    std::fs::write(&config, format!("{block}\n[ingest]\ntokens = [\"{token}\"]\ncreate_builders = true\n"))
        .expect("config");
    let data = dir.path().join("data");
    let args = ["serve", "--config", config.to_str().expect("path")];
    let first = crate::common::start_binary_with_data(&args, &data);
    let http = reqwest::Client::new();
    let post = |base: String, events: Value| {
        let request = http.post(format!("{base}/api/v1/events")).bearer_auth(token).json(&events);
        async move { assert_eq!(request.send().await.expect("posted").status().as_u16(), 200) }
    };
    let builds = |from: u32, to: u32| {
        let mut events = Vec::new();
        for n in from..to {
            events.push(json!({"event_id": format!("s{n}"), "type": "build_started",
                "build": {"builder": "linux", "number": n, "started": "2026-03-01T10:00:00Z", "worker": "w1"}}));
            events.push(json!({"event_id": format!("f{n}"), "type": "build_finished", "builder": "linux",
                "number": n, "result": "success", "at": "2026-03-01T10:05:00Z"}));
        }
        Value::Array(events)
    };
    post(first.base.clone(), builds(0, 20)).await;
    // Kill it while the receiver holds a request (it records the packets, then answers).
    let start = Instant::now();
    while receiver.processed().await.len() < 2 || receiver.in_flight().await == 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "no request in flight");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut first = first;
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    while receiver.in_flight().await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = receiver.packets().await;

    let second = crate::common::start_binary_with_data(&args, &data);
    post(second.base.clone(), builds(20, 30)).await;
    let packets = receiver.until(Duration::from_secs(60), |p| has_build(p, "buildFinished", 29)).await;

    let distinct = distinct_ids(&packets);
    assert_eq!(distinct, (1..=distinct.len() as u64).collect::<Vec<_>>(), "nothing lost, in order");
    let requests = receiver.processed().await;
    let twice: Vec<u64> =
        distinct.iter().copied().filter(|id| ids(&packets).iter().filter(|x| *x == id).count() > 1).collect();
    let in_flight =
        requests.iter().map(|r| ids(r["packets"].as_array().expect("packets"))).find(|r| r.contains(&twice[0]));
    assert_eq!(Some(twice.clone()), in_flight, "the packets sent twice are one request's");
    assert_eq!(twice.last().copied(), before.last().and_then(|p| p["id"].as_u64()), "the one in flight at the kill");
    for id in &twice {
        let copies: Vec<&Value> = packets.iter().filter(|p| p["id"] == *id).collect();
        assert_eq!(copies[0], copies[1], "the same packet, the same id");
    }
    let unique: Vec<Value> =
        distinct.iter().filter_map(|id| packets.iter().find(|p| p["id"] == *id)).cloned().collect();
    let events = events_of(&unique);
    let starts: Vec<usize> = events.iter().enumerate().filter(|(_, e)| *e == "start").map(|(i, _)| i).collect();
    assert_eq!((starts.len(), starts[0]), (2, 0), "a start per run: {events:?}");
    assert_eq!(events[starts[1] - 2..starts[1]], ["builderAdded", "builderChangedState"], "the restart's replay");
    assert!(!events.contains(&"shutdown".to_owned()), "a killed server says no goodbye");
    let finished: Vec<u64> = unique
        .iter()
        .filter(|p| p["event"] == "buildFinished")
        .filter_map(|p| p["payload"]["build"]["number"].as_u64())
        .collect();
    assert_eq!(finished, (0..30).collect::<Vec<_>>(), "every build once");
    drop(second);
}

/// A change whose comments make its packet `size` bytes or so.
fn big_change(number: u64, size: usize) -> StatusEvent {
    let change = Change {
        number,
        who: "Ann <ann@example.org>".into(),
        comments: "x".repeat(size),
        when: at(0),
        ..Change::default()
    };
    StatusEvent::ChangeAdded { change }
}

/// A receiver that answers 413 above 6,000 bytes: the request is halved until it passes,
/// later ones stay below what was refused, and a packet it refuses on its own is dropped,
/// with the reason on `/notifications`; the stream goes on after it.
#[tokio::test]
async fn a_413_halves_the_request_and_a_packet_refused_alone_is_dropped() {
    let receiver = Receiver::start(0);
    receiver.control(json!({"max_body": 6000})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server(&push_block(&receiver.url, "chunkSize = 64\nmaxHttpRequestSize = 0"), dir.path()).await;
    linux(&server).await;
    receiver.until(Duration::from_secs(20), |p| p.iter().any(|x| x["event"] == "slaveConnected")).await;
    let mut events = Vec::new();
    for n in 0..6 {
        events.extend(whole_build("linux", n, i64::from(n), "main", BuildResult::Success, None));
    }
    events.push(big_change(1, 7000));
    for n in 6..8 {
        events.extend(whole_build("linux", n, i64::from(n), "main", BuildResult::Success, None));
    }
    server.sink().record_all(events).await.expect("recorded at once");
    let packets = receiver.until(Duration::from_secs(30), |p| has_build(p, "buildFinished", 7)).await;

    let got = ids(&packets);
    assert_eq!(got, distinct_ids(&packets), "nothing twice");
    let missing: Vec<u64> = (1..=*got.last().expect("ids")).filter(|id| !got.contains(id)).collect();
    assert_eq!(missing.len(), 1, "one packet dropped: {missing:?}");
    assert!(!events_of(&packets).contains(&"changeAdded".to_owned()), "the change's packet");
    let requests = receiver.requests().await;
    let refused: Vec<&Value> = requests.iter().filter(|r| r["status"] == 413).collect();
    let count = |r: &Value| r["packets"].as_array().map_or(0, Vec::len);
    let first = requests.iter().position(|r| r["status"] == 413).expect("a 413");
    assert!(count(&requests[first + 1]) <= count(&requests[first]) / 2, "halved after a 413");
    assert!(refused.iter().any(|r| count(r) == 1), "the big packet was tried alone");
    let largest_refused = refused.iter().map(|r| r["body_size"].as_u64().unwrap_or(0)).min().unwrap_or(0);
    for r in requests.iter().filter(|r| r["processed"] == true) {
        assert!(r["body_size"].as_u64().unwrap_or(u64::MAX) <= 6000, "{}", r["body_size"]);
    }
    assert!(largest_refused > 6000);
    assert!(requests.iter().all(|r| count(r) >= 1), "never an empty request");

    let page = delivery_page(&server).await;
    assert!(page.contains("1 given up"), "{page}");
    assert!(
        page.contains(&format!("packet {} was dropped, the receiver refused it alone: HTTP 413", missing[0])),
        "{page}"
    );
}

/// The receiver is away and the queue holds at most maxMemoryItems + maxDiskItems (10)
/// packets: the oldest are dropped, counted on `/notifications` and in the metrics, and the
/// receiver, back, gets the newest ones, in order.
#[tokio::test]
async fn a_full_queue_drops_its_oldest_packets_and_counts_them() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let block = push_block(&format!("http://127.0.0.1:{port}/push"), "maxMemoryItems = 4\nmaxDiskItems = 6");
    let server = server(&block, dir.path()).await;
    linux(&server).await;
    for n in 0..5 {
        server
            .sink()
            .record_all(whole_build("linux", n, i64::from(n), "main", BuildResult::Success, None))
            .await
            .expect("build");
    }
    // 1 start, builderAdded, 2 states and slaveConnected, then 8 packets a build.
    let total = 5 + 5 * 8;
    let start = Instant::now();
    let mut page = delivery_page(&server).await;
    while !page.contains(&format!("{} dropped", total - 10)) {
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = delivery_page(&server).await;
    }
    // The ten newest wait (one of them may be in a request to the receiver that is away).
    let counted = |label: &str| -> u64 {
        let counts = page.split("<p class=\"counts\">").nth(1).and_then(|c| c.split('<').next()).unwrap_or("");
        counts.split(", ").find_map(|c| c.strip_suffix(label)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    };
    assert_eq!(counted(" waiting") + counted(" being sent"), 10, "{page}");
    assert!(page.contains("dropped: more than 10 packets were waiting"), "{page}");
    let (_, metrics, _) = get(&server, "/notifications/metrics").await;
    let line = format!(
        "buildstatus_notifications{{kind=\"http-push\",target=\"http-push/http_push\",state=\"dropped\"}} {}",
        total - 10
    );
    assert!(metrics.contains(&line), "{metrics}");

    // Which ten: the oldest waiting packets were dropped, so those left are the newest ones but
    // for any the worker was trying to send when the last packets came (a packet in a request
    // cannot be dropped; its request failed, and it waits again, older than those dropped).
    let rows = log_rows(&get(&server, "/notifications?target=http-push/http_push&limit=100").await.1);
    let open: Vec<u64> = rows.iter().filter(|r| r.state == "pending" || r.state == "sending").map(|r| r.id).collect();
    let newest_dropped = rows.iter().filter(|r| r.state == "dropped").map(|r| r.id).max().unwrap_or(0);
    assert_eq!((open.len(), open.last().copied()), (10, Some(total)), "{rows:?}");
    for older in rows.iter().filter(|r| open.contains(&r.id) && r.id < newest_dropped) {
        assert!(!older.happened.contains("waiting for its first attempt"), "{older:?} was never attempted: {rows:?}");
    }

    let receiver = Receiver::start(port);
    let packets = receiver.until(Duration::from_secs(30), |p| p.len() >= 10).await;
    assert_eq!(ids(&packets), open, "the ten left waiting, in order");
}

/// A row of a target's delivery log on `/notifications`.
#[derive(Debug)]
struct LogRow {
    id: u64,
    state: String,
    happened: String,
}

/// The rows of the page's delivery log (a push packet's summary starts with `#ID`), oldest first.
fn log_rows(page: &str) -> Vec<LogRow> {
    let mut rows: Vec<LogRow> = page
        .split("<tr class=\"")
        .skip(1)
        .filter_map(|row| {
            let state = row.split('"').next()?.to_owned();
            let cells: Vec<&str> = row.split("<td").skip(1).map(|c| c.split_once('>').map_or("", |(_, t)| t)).collect();
            let text = |i: usize| cells.get(i).and_then(|c| c.split('<').next()).unwrap_or("").to_owned();
            let id = text(1).strip_prefix('#')?.split(' ').next()?.parse().ok()?;
            Some(LogRow { id, state, happened: text(3) })
        })
        .collect();
    rows.sort_by_key(|r| r.id);
    rows
}

/// HTTPS with the target's own CA (`caFile`): delivered; without it the certificate is
/// refused, and `/notifications` says so.
#[tokio::test]
async fn https_receivers_are_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = crate::common::tls::certificates(dir.path());
    let receiver = Receiver::start_tls(0, &cert, &key, &ca);
    let trusted = push_block(&receiver.url, &format!("caFile = \"{}\"", ca.display()));
    let server = server(&trusted, &dir.path().join("trusted")).await;
    linux(&server).await;
    receiver.until(Duration::from_secs(20), |p| p.iter().any(|x| x["event"] == "slaveConnected")).await;

    let untrusted = server_in(&push_block(&receiver.url, ""), &dir.path().join("untrusted")).await;
    let start = Instant::now();
    loop {
        let page = delivery_page(&untrusted).await;
        if page.contains("Last error: ") {
            assert!(page.to_lowercase().contains("certificate"), "{page}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn server_in(toml: &str, dir: &Path) -> StatusServer {
    std::fs::create_dir_all(dir).expect("dir");
    server(toml, dir).await
}

/// `debug`, `extra_post_params` and 0.8's lossy `filter`, and a receiver answering 204 (a
/// success: 0.8 sent the same packets again forever).
#[tokio::test]
async fn compatibility_switches_and_a_204() {
    let receiver = Receiver::start(0);
    receiver.control(json!({"answer": 204})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "debug = true\nfilter = \"0.8\"\nextra_post_params = { token = \"a b/c~é\", project = \"widget\" }";
    let server = server(&push_block(&receiver.url, extra), dir.path()).await;
    linux(&server).await;
    server.sink().record_all(whole_build("linux", 0, 0, "main", BuildResult::Success, None)).await.expect("build");
    // Build 0 succeeded: 0.8's filter leaves its number and result out.
    let packets = receiver.until(Duration::from_secs(20), |p| p.iter().any(|x| x["event"] == "buildFinished")).await;
    let finished = packets.iter().find(|p| p["event"] == "buildFinished").expect("finished");
    let build = &finished["payload"]["build"];
    assert!(build.get("number").is_none() && build.get("results").is_none(), "{build}");
    assert_eq!(build["builderName"], "linux");
    let requests = receiver.requests().await;
    assert!(requests.iter().all(|r| r["status"] == 204), "every push answered 204");
    assert_eq!(distinct_ids(&packets).len(), packets.len(), "a 204 is a success: nothing sent again");
    let first = &requests[0];
    assert_eq!(first["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(first["fields"], json!({"token": "a b/c~é", "project": "widget"}));
    assert_eq!(first["field_order"], json!(["packets", "project", "token"]));
    let raw = first["raw_json"].as_str().expect("the JSON text");
    assert!(raw.starts_with("[\n  {\n    \"event\": \"start\",\n    \"id\": 1,\n"), "{raw}");

    // A clean stop says goodbye.
    server.stop_notifiers().await;
    let packets = receiver.until(Duration::from_secs(10), |p| p.iter().any(|x| x["event"] == "shutdown")).await;
    assert_eq!(packets.last().map(|p| p["event"].clone()), Some(json!("shutdown")));
}

/// A receiver that takes longer than `timeout` to answer: a failure, shown in words; once it
/// answers in time, every packet arrives, in order (those it took while the target had given
/// up waiting come twice, with their ids).
#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_a_failure() {
    let receiver = Receiver::start(0);
    receiver.control(json!({"delay": 3})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let block = push_block(&receiver.url, "").replace("timeout = 5", "timeout = 1");
    let server = server(&block, dir.path()).await;
    linux(&server).await;
    let start = Instant::now();
    loop {
        let page = delivery_page(&server).await;
        if page.contains("Last error: ") {
            assert!(page.to_lowercase().contains("timed out") || page.to_lowercase().contains("timeout"), "{page}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.control(json!({"delay": 0})).await;
    let packets = receiver.until(Duration::from_secs(30), |p| p.iter().any(|x| x["event"] == "slaveConnected")).await;
    let distinct = distinct_ids(&packets);
    assert_eq!(distinct, (1..=distinct.len() as u64).collect::<Vec<_>>(), "{:?}", ids(&packets));
}

/// A configuration naming an unknown event is refused by `check-config`, naming it.
#[test]
fn check_config_names_an_unknown_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[http_push]]\nserverUrl = \"http://127.0.0.1:1/\"\nblackList = [\"buildFinshed\"]\n")
        .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .arg("check-config")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("http_push[1].blackList: unknown event 'buildFinshed' (the events are start, "), "{text}");
}
