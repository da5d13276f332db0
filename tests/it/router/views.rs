//! The four views and the live event stream through the real router: the arguments a user
//! types, the errors they get, and a reconnecting client receiving exactly what it missed.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{at, fixture_server, fixture_server_with, get, record_fixture, whole_build};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use buildstatus::adapters::memory::MemoryBus;
use buildstatus::adapters::memory::MemoryLogStore;
use buildstatus::adapters::memory::MemoryStore;
use buildstatus::app::Hub;
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::result::BuildResult;
use buildstatus::domain::web::layout::Site;
use buildstatus::ports::{EventFeed, StatusSink};
use futures_util::StreamExt;
use tower::ServiceExt;

#[tokio::test]
async fn malformed_numbers_are_refused_naming_the_argument() {
    let server = fixture_server().await;
    for (uri, argument) in [
        ("/grid?width=abc", "argument 'width': 'abc'"),
        ("/tgrid?length=1.5", "argument 'length'"),
        ("/waterfall?num_events=-1", "argument 'num_events': '-1'"),
        ("/waterfall?last_time=yesterday", "argument 'last_time': 'yesterday'"),
        ("/waterfall?first_time=1e9", "argument 'first_time'"),
        ("/waterfall?show_time=x", "argument 'show_time'"),
        ("/waterfall?nobubble=maybe", "argument 'nobubble'"),
        ("/console?revs=all", "argument 'revs': 'all'"),
        ("/events?after=x", "argument 'after': 'x'"),
    ] {
        let (status, body, _) = get(&server, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body.contains(&argument.replace('\'', "&#39;")) || body.contains(argument), "{uri}: {body}");
    }
}

#[tokio::test]
async fn a_filter_that_matches_nothing_gives_an_empty_view_that_says_so() {
    let server = fixture_server().await;
    let (status, body, _) = get(&server, "/waterfall?builder=nope").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No builder matches these filters"), "{body}");
    let (_, body, _) = get(&server, "/waterfall?category=nope").await;
    assert!(body.contains("No builder matches these filters"));
    let (_, body, _) = get(&server, "/grid?tag=nope").await;
    assert!(body.contains("No builders match these filters"));
    let (_, body, _) = get(&server, "/console?builder=nope").await;
    assert!(body.contains("No builders match these filters"));
    // Named builders are narrowed by the category too ("in addition"), and shown in natural order.
    let (_, body, _) = get(&server, "/console?builder=linux&builder=macos&category=odd").await;
    assert!(body.contains("No builders match these filters"), "{body}");
    let (_, body, _) = get(&server, "/console?builder=macos&builder=linux").await;
    let (linux, macos) = (body.find("title=\"linux\"").expect("linux"), body.find("title=\"macos\"").expect("macos"));
    assert!(linux < macos, "natural order, not the URL's");
    // "Personalized for…" keeps the other filters.
    let (_, body, _) = get(&server, "/console?branch=main&category=unix&name=ann").await;
    for kept in [
        "<input type=\"hidden\" name=\"branch\" value=\"main\">",
        "<input type=\"hidden\" name=\"category\" value=\"unix\">",
    ] {
        assert!(body.contains(kept), "{kept}: {body}");
    }
    assert!(!body.contains("type=\"hidden\" name=\"name\""), "the name is the form's own field");
    let (_, body, _) = get(&server, "/console?branch=nope").await;
    assert!(body.contains("No revisions available"));
}

#[tokio::test]
async fn waterfall_arguments_do_what_the_documentation_says() {
    let server = fixture_server().await;
    // Events (workers connecting) are shown unless asked not to: the documentation's default.
    let (_, all, _) = get(&server, "/waterfall").await;
    assert!(all.contains("connect<br>w1"));
    let (_, quiet, _) = get(&server, "/waterfall?show_events=false").await;
    assert!(!quiet.contains("connect<br>w1"));
    // Only failing builders: linux's last build passed; macos (retry) and the hostile one did not.
    let (_, failing, _) = get(&server, "/waterfall?failures_only=true").await;
    assert!(failing.contains("./builders/macos\"") && !failing.contains("./builders/linux\""), "{failing}");
    // builder= keeps one column; the next page starts where this one ends.
    let (_, linux, _) = get(&server, "/waterfall?builder=linux&num_events=2").await;
    assert!(linux.contains("./builders/linux\"") && !linux.contains("./builders/macos\""));
    assert!(linux.contains("next page") && linux.contains("last_time="));
    let rows = |body: &str| body.matches("class=\"Time\" align").count();
    assert!(rows(&linux) <= 3, "num_events=2 shows at most one extra row");
    let (_, older, _) = get(&server, &format!("/waterfall?builder=linux&last_time={}", at(20).timestamp())).await;
    assert!(older.contains("Build 1") && !older.contains("Build 4"), "last_time= shows the past");
    // reload= refreshes, and the page offers to stop it.
    let (_, reloading, _) = get(&server, "/waterfall?reload=30").await;
    assert!(reloading.contains("http-equiv=\"refresh\" content=\"30\"") && reloading.contains("Stop Reloading"));
}

#[tokio::test]
async fn times_at_the_ends_of_the_calendar_are_answered_not_crashed_on() {
    let server = fixture_server().await;
    for uri in [
        "/waterfall?show_time=99999999999999999999",
        "/waterfall?show_time=9223372036854775807",
        "/waterfall?last_time=8210298412799&show_time=1",
        "/waterfall?last_time=-8334632851200&show_time=100",
        "/waterfall?first_time=8210298412799",
    ] {
        let (status, body, _) = get(&server, uri).await;
        assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{uri}: {status} {body}");
    }
}

#[tokio::test]
async fn num_events_max_caps_what_a_browser_asks_for() {
    let server = fixture_server_with(Site { num_events_max: Some(1), ..Site::default() }).await;
    let (_, body, _) = get(&server, "/waterfall?num_events=500&show_events=false").await;
    assert!(body.matches("class=\"Time\" align").count() <= 2, "{body}");
}

#[tokio::test]
async fn the_console_reloads_each_minute_unless_told_not_to() {
    let server = fixture_server().await;
    let (_, body, _) = get(&server, "/console").await;
    assert!(body.contains("http-equiv=\"refresh\" content=\"60\""));
    let (_, body, _) = get(&server, "/console?reload=0").await;
    assert!(!body.contains("http-equiv=\"refresh\""));
}

#[tokio::test]
async fn grid_width_and_tgrid_order_shape_the_table() {
    let server = fixture_server().await;
    let (_, grid, _) = get(&server, "/grid?width=2").await;
    assert_eq!(grid.matches("class=\"sourcestamp\"").count(), 2);
    let (_, asc, _) = get(&server, "/tgrid").await;
    let (_, desc, _) = get(&server, "/tgrid?rev_order=desc").await;
    let first_build = |body: &str| body.find("in release").unwrap_or(0) < body.find("in main").unwrap_or(0);
    assert!(first_build(&asc) && !first_build(&desc), "asc puts the oldest (release) stamp first");
}

/// Reads SSE messages from `body` until `want` event numbers were seen; returns them.
async fn read_events(
    body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin),
    want: usize,
) -> Vec<u64> {
    let mut text = String::new();
    let mut seqs = Vec::new();
    while seqs.len() < want {
        let piece = tokio::time::timeout(Duration::from_secs(10), body.next()).await.expect("events in time");
        text.push_str(&String::from_utf8_lossy(&piece.expect("more").expect("readable")));
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            if let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) {
                let events: Vec<serde_json::Value> = serde_json::from_str(data).expect("JSON data");
                seqs.extend(events.iter().filter_map(|e| e["seq"].as_u64()));
                let id: u64 =
                    message.lines().find_map(|l| l.strip_prefix("id: ")).expect("id").parse().expect("number");
                assert_eq!(Some(&id), seqs.last(), "a message's id is its last event");
            }
        }
    }
    seqs
}

/// One SSE message of `/events`: its kind, its id, and the event numbers it covers (listed
/// ones, or a summary's range).
struct Message {
    kind: String,
    id: u64,
    seqs: Vec<u64>,
}

/// Reads messages from `body` until one has the id `last`.
async fn read_messages(
    body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin),
    last: u64,
) -> Vec<Message> {
    let (mut text, mut messages) = (String::new(), Vec::<Message>::new());
    while messages.last().is_none_or(|m| m.id < last) {
        let piece = tokio::time::timeout(Duration::from_secs(20), body.next()).await.expect("events in time");
        text.push_str(&String::from_utf8_lossy(&piece.expect("more").expect("readable")));
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            let field = |name: &str| message.lines().find_map(|l| l.strip_prefix(name)).map(str::to_owned);
            let Some(data) = field("data: ") else { continue };
            let kind = field("event: ").expect("a kind");
            let id = field("id: ").expect("an id").parse().expect("a number");
            let value: serde_json::Value = serde_json::from_str(&data).expect("JSON data");
            let seqs = match kind.as_str() {
                "status" => value.as_array().expect("a list").iter().filter_map(|e| e["seq"].as_u64()).collect(),
                "summary" => {
                    let (from, to) = (value["from"].as_u64().expect("from"), value["to"].as_u64().expect("to"));
                    assert_eq!(value["count"].as_u64(), Some(to - from + 1), "{value}");
                    (from..=to).collect()
                }
                other => panic!("a message of kind {other}"),
            };
            messages.push(Message { kind, id, seqs });
        }
    }
    messages
}

/// A client far behind gets everything waiting in its next message, summarised: a stream's
/// throughput is what the feed gives, not a number of events per message and pause. Events
/// then come listed again as they happen.
#[tokio::test]
async fn a_stream_sends_everything_waiting_in_its_next_message_however_much() {
    let server = fixture_server().await;
    let sink = server.sink();
    let seen = server.hub().last_seq();
    let last = sink.record_all((0..20_000).map(|_| StatusEvent::Reconfigured { at: at(60) }).collect()).await;
    let last = last.expect("recorded");
    let req = Request::builder().uri("/events").header("Last-Event-ID", seen.to_string()).body(Body::empty());
    let response = server.router().oneshot(req.expect("request")).await.expect("response");
    let mut body = response.into_body().into_data_stream();
    let messages = read_messages(&mut body, last).await;
    let covered: Vec<u64> = messages.iter().flat_map(|m| m.seqs.iter().copied()).collect();
    assert_eq!(covered, (seen + 1..=last).collect::<Vec<_>>(), "every event once, in order");
    assert!(messages.iter().all(|m| m.seqs.last() == Some(&m.id)), "a message's id is its last event");
    // 512 events a message with a pause after each took 40 messages and 10 s.
    assert!(messages.len() <= 10, "{} messages for 20,000 events", messages.len());
    assert!(messages.iter().any(|m| m.kind == "summary"));

    let live = sink.record(StatusEvent::Reconfigured { at: at(61) }).await.expect("recorded");
    let next = read_messages(&mut body, live).await;
    assert_eq!((next[0].kind.as_str(), &next[0].seqs[..]), ("status", &[live][..]));
}

/// A stream that keeps up gets every event listed, however many come at once: a summary is
/// only for a client that was behind. Many streams share the same messages.
#[tokio::test]
async fn streams_that_keep_up_get_every_event_listed_however_busy() {
    let server = fixture_server().await;
    let sink = server.sink();
    let seen = server.hub().last_seq();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let req = Request::builder().uri(format!("/events?after={seen}")).body(Body::empty());
        let response = server.router().oneshot(req.expect("request")).await.expect("response");
        bodies.push(response.into_body().into_data_stream());
    }
    let mut last = seen;
    for _ in 0..4 {
        let burst = (0..1_000).map(|_| StatusEvent::Reconfigured { at: at(60) }).collect();
        last = sink.record_all(burst).await.expect("recorded");
    }
    for body in &mut bodies {
        let messages = read_messages(body, last).await;
        let covered: Vec<u64> = messages.iter().flat_map(|m| m.seqs.iter().copied()).collect();
        assert_eq!(covered, (seen + 1..=last).collect::<Vec<_>>(), "every event once, in order");
        assert!(messages.iter().all(|m| m.kind == "status"), "listed, never summarised");
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_the_events_it_missed() {
    let server = fixture_server().await;
    let sink = server.sink();
    let seen = server.hub().last_seq();
    // While the client is away, a build runs: its log chunks are not for pages, the rest is,
    // with the builder's states its start and finish derive (numbered right after them).
    let (mut missed, mut before) = (Vec::new(), seen);
    for event in whole_build("linux", 5, 50, "main", BuildResult::Failure, Some(1)) {
        let chunk = matches!(event, StatusEvent::LogChunk { .. });
        let seq = sink.record(event).await.expect("recorded");
        if !chunk {
            missed.extend(before + 1..=seq);
        }
        before = seq;
    }
    assert_eq!(missed.len(), 12, "10 events and, after the start and the finish, the state changes");
    let req = Request::builder().uri("/events").header("Last-Event-ID", seen.to_string()).body(Body::empty());
    let response = server.router().oneshot(req.expect("request")).await.expect("response");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    assert_eq!(read_events(&mut body, missed.len()).await, missed, "the gap, in order, nothing else");
    // Then live ones follow on the same stream.
    let live = sink.record(StatusEvent::Reconfigured { at: at(60) }).await.expect("recorded");
    assert_eq!(read_events(&mut body, 1).await, [live]);

    let bad = Request::builder().uri("/events").header("Last-Event-ID", "soon").body(Body::empty());
    let response = server.router().oneshot(bad.expect("request")).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_follower_older_than_the_bus_catches_up_from_the_journal() {
    // A bus that holds only 4 events: a follower from 0 must read the rest from the store.
    let bus = Arc::new(MemoryBus::new(4, 1 << 20));
    let hub = Hub::open(Arc::new(MemoryStore::new()), Arc::new(MemoryLogStore::new()), bus, 10).await.expect("hub");
    let sink: Arc<dyn StatusSink> = hub.clone();
    record_fixture(&sink).await;
    let journaled: Vec<u64> = {
        let mut all = hub.follow(0);
        let mut seqs = Vec::new();
        while seqs.last() != Some(&hub.last_seq()) {
            let e = tokio::time::timeout(Duration::from_secs(5), all.next()).await.expect("in time");
            let e = e.expect("more").expect("no gap");
            seqs.push(e.seq);
        }
        seqs
    };
    assert!(journaled.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    assert_eq!(journaled.first(), Some(&1));
    // Every number the journal holds is there (only log chunks are missing, and only if old).
    assert!(journaled.len() > 20, "{journaled:?}");
}

#[tokio::test]
async fn a_view_asked_for_again_is_the_same_until_the_status_changes() {
    // The clock stands still, so only a status change may change the page.
    let server = fixture_server().await;
    let (_, first, _) = get(&server, "/console").await;
    let (_, again, _) = get(&server, "/console").await;
    assert_eq!(first, again);
    assert!(first.contains("DevStatusBox running"), "macos #1 runs");
    let (_, json, _) = get(&server, "/json/builders/macos").await;
    assert!(json.contains("\"state\":\"building\""), "{json}");
    let finished = StatusEvent::BuildFinished {
        builder: "macos".into(),
        number: 1,
        result: BuildResult::Failure,
        text: vec!["failed".into()],
        at: at(45),
        properties: Default::default(),
    };
    server.sink().record(finished).await.expect("recorded");
    let (_, after, _) = get(&server, "/console").await;
    assert!(!after.contains("DevStatusBox running") && after.contains("DevStatusBox failure"), "{after}");
    let (_, json, _) = get(&server, "/json/builders/macos").await;
    assert!(!json.contains("\"state\":\"building\""), "the JSON answer changed too: {json}");
}
