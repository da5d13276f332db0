//! Every page, rendered from a fixed history through the real router: snapshots of the HTML,
//! and the checks a user would make (escaping, errors that name what is wrong).
use crate::common;

use crate::common::{fixture_server, get, request, snapshot};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use buildstatus::app::{Setup, StatusServer};
use tower::ServiceExt;

const HOSTILE_Q: &str = "%3Cscript%3Ealert('x')%3C%2Fscript%3E";

#[tokio::test]
async fn every_page_renders_as_recorded() {
    let server = fixture_server().await;
    let pages = [
        ("root", "/".to_owned()),
        ("builders", "/builders".to_owned()),
        ("builders_filtered", "/builders?category=odd&branch=main".to_owned()),
        ("builder", "/builders/linux".to_owned()),
        ("builder_more", "/builders/linux?numbuilds=2&property.owners=x".to_owned()),
        ("builder_running", "/builders/macos".to_owned()),
        ("build", "/builders/linux/builds/1".to_owned()),
        ("build_running", "/builders/macos/builds/-1".to_owned()),
        ("step", "/builders/linux/builds/1/steps/test".to_owned()),
        ("one_line_per_build", "/one_line_per_build".to_owned()),
        ("one_line_per_build_filtered", "/one_line_per_build?numbuilds=3&builder=linux&branch=main".to_owned()),
        ("one_line_per_builder", "/one_line_per_build/linux".to_owned()),
        ("changes", "/changes".to_owned()),
        ("change", "/changes/2".to_owned()),
        ("buildslaves", "/buildslaves".to_owned()),
        ("buildslaves_no_builders", "/buildslaves?no_builders=1".to_owned()),
        ("buildslave", "/buildslaves/w1".to_owned()),
        ("hostile_builder", format!("/builders/{HOSTILE_Q}")),
        ("hostile_build", format!("/builders/{HOSTILE_Q}/builds/0")),
        ("log_html", "/builders/linux/builds/1/steps/test/logs/stdio".to_owned()),
        ("waterfall", "/waterfall".to_owned()),
        ("waterfall_filtered", "/waterfall?builder=linux&branch=main&show_events=false&num_events=3".to_owned()),
        ("waterfall_help", "/waterfall/help?builder=linux&reload=120".to_owned()),
        ("grid", "/grid".to_owned()),
        ("grid_filtered", "/grid?tag=unix&branch=main&width=2".to_owned()),
        ("tgrid", "/tgrid?rev_order=desc".to_owned()),
        ("console", "/console".to_owned()),
        ("console_filtered", "/console?builder=linux&branch=main&name=Ann+Lee+%3Cann%40example.org%3E".to_owned()),
    ];
    for (name, uri) in pages {
        let (status, body, _) = get(&server, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(!body.contains("<script>alert"), "{uri} shows hostile text unescaped");
        snapshot(name, &body);
    }
}

#[tokio::test]
async fn pages_show_what_a_user_looks_for() {
    let server = fixture_server().await;
    let (_, builders, _) = get(&server, "/builders").await;
    for expected in ["linux", "macos", "&lt;script&gt;", "LastBuild box success", "Activity building", "Activity idle"]
    {
        assert!(builders.contains(expected), "/builders lacks {expected}");
    }
    let (_, builder, headers) = get(&server, "/builders/linux").await;
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(builder.contains("<b>Forced build</b> by bob"), "pending request shown");
    assert_eq!(builder.matches("<span class=\"reason\">").count(), 5, "5 recent builds by default");
    let (_, build, _) = get(&server, "/builders/linux/builds/1").await;
    assert!(build.contains("class=\"failure result\""), "result class");
    assert!(build.contains("Change #2") && build.contains("&lt;script&gt;alert"), "the build's change, escaped");
    let (_, log, headers) = get(&server, "/builders/linux/builds/1/steps/test/logs/stdio").await;
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "max-age=604800");
    assert!(log.contains("<span class=\"header\">make all\n</span>"));
    assert!(log.contains("<span class=\"stdout ansi32\">ok</span>"));
    assert!(log.contains("<span class=\"stderr\">warning: &lt;b&gt;unused&lt;/b&gt;\n</span>"));
    let (_, text, headers) = get(&server, "/builders/linux/builds/1/steps/test/logs/stdio/text").await;
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(text, "cc -c main.c\n\x1b[32mok\x1b[0m\nwarning: <b>unused</b>\n", "headers stripped, nothing else");
    let (status, body, headers) =
        request(&server, Method::HEAD, "/builders/linux/builds/1/steps/test/logs/stdio/text").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(headers["content-length"], text.len().to_string().as_str(), "HEAD gives the text's exact size");
    let (_, workers, _) = get(&server, "/buildslaves?no_builders=1").await;
    assert!(!workers.contains("<th>Builders</th>"));
    assert!(workers.contains("Not connected") && workers.contains("Running 1 build(s)"));
}

/// What a 0.8 user reaches for besides the main pages: test results, a worker's whole info,
/// the header's links, sorted files, and 0.8's redirects.
#[tokio::test]
async fn the_corners_of_0_8_are_there() {
    use buildstatus::domain::event::StatusEvent;
    use buildstatus::domain::model::{Change, TestResult, Worker};
    use buildstatus::domain::result::BuildResult;
    let server = fixture_server().await;
    let test = TestResult {
        name: vec!["unit".into(), "parser".into(), "empty".into()],
        result: BuildResult::Failure,
        text: vec!["assertion".into(), "failed".into()],
        logs: [("stdio".to_owned(), "<b>boom</b>".to_owned())].into_iter().collect(),
    };
    let info = serde_json::json!({ "os": "Debian 12", "cpus": 4, "env": { "PATH": "/usr/bin" } });
    let worker = Worker { name: "w1".into(), info: serde_json::from_value(info).unwrap(), ..Worker::default() };
    let change = Change { number: 4, files: vec!["z.c".into(), "a.c".into(), "m/k.h".into()], ..Change::default() };
    server
        .sink()
        .record_all(vec![
            StatusEvent::TestResultsAdded { builder: "macos".into(), number: 1, tests: vec![test] },
            StatusEvent::WorkerConnected { worker, at: common::at(50) },
            StatusEvent::ChangeAdded { change },
        ])
        .await
        .unwrap();

    let (_, build, _) = get(&server, "/builders/macos/builds/1").await;
    assert!(build.contains("Test Results:"), "{build}");
    assert!(build.contains("href=\"../../../builders/macos/builds/1/tests/unit.parser.empty\""), "{build}");
    let (status, page, _) = get(&server, "/builders/macos/builds/1/tests/unit.parser.empty").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("assertion failed") && page.contains("<pre>&lt;b&gt;boom&lt;/b&gt;</pre>"), "{page}");
    let (status, bare, _) = get(&server, "/builders/macos/builds/1/tests").await;
    assert_eq!((status, bare.as_str()), (StatusCode::OK, "subpages show data for each test"));
    let (status, missing, _) = get(&server, "/builders/macos/builds/1/tests/unit.nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("No test 'unit.nope' in build #1 of builder 'macos'"), "{missing}");

    let (_, w1, _) = get(&server, "/buildslaves/w1").await;
    assert!(w1.contains("<tr><td>os</td><td>Debian 12</td></tr>"), "{w1}");
    assert!(w1.contains("<tr><td>cpus</td><td>4</td></tr>"), "{w1}");
    assert!(
        w1.contains("<td>env</td><td><table class=\"info\"><tr><td>PATH</td><td>/usr/bin</td></tr></table>"),
        "{w1}"
    );
    let (status, _, headers) = get(&server, "/buildslaves/w1/builds/anything").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "../../../buildslaves/w1");

    let (_, change, _) = get(&server, "/changes/4").await;
    let order: Vec<usize> =
        ["a.c", "m/k.h", "z.c"].iter().map(|f| change.find(&format!("<li>{f}</li>")).unwrap()).collect();
    assert!(order.is_sorted(), "files sorted: {order:?}");

    let (_, home, _) = get(&server, "/").await;
    for link in ["href=\"./tgrid\">T-Grid", "href=\"./json/help\">JSON API", "href=\"./waterfall/help\""] {
        assert!(home.contains(link), "{link} on the welcome page");
    }
    assert!(home.contains("<link rel=\"alternate\" type=\"application/rss+xml\""), "the feeds are advertised");
    let (_, builder, _) = get(&server, "/builders/linux").await;
    assert!(builder.contains("href=\"../waterfall?show=linux\">view in waterfall</a>"), "{builder}");
}

#[tokio::test]
async fn bad_requests_get_errors_that_name_the_problem() {
    let server = fixture_server().await;
    let cases = [
        ("/builders/nope", StatusCode::NOT_FOUND, "No such builder 'nope'"),
        ("/builders/linux/builds/99", StatusCode::NOT_FOUND, "No build #99 of builder 'linux'"),
        ("/builders/linux/builds/-99", StatusCode::NOT_FOUND, "No build -99"),
        ("/builders/linux/builds/abc", StatusCode::BAD_REQUEST, "build number 'abc' is not a number"),
        ("/builders/linux/builds/1/steps/nope", StatusCode::NOT_FOUND, "No step 'nope'"),
        ("/builders/linux/builds/1/steps/test/logs/nope", StatusCode::NOT_FOUND, "No log 'nope'"),
        ("/builders/linux/builds/1/steps/test/logs/nope/text", StatusCode::NOT_FOUND, "No log 'nope'"),
        ("/builders/linux?numbuilds=ten", StatusCode::BAD_REQUEST, "argument 'numbuilds': 'ten' is not a whole number"),
        ("/one_line_per_build?numbuilds=-3", StatusCode::BAD_REQUEST, "argument 'numbuilds'"),
        (
            "/builders/linux?numbuilds=18446744073709551615",
            StatusCode::BAD_REQUEST,
            "argument 'numbuilds': '18446744073709551615' is not a whole number from 0 to 1000",
        ),
        ("/builders/linux?maxsearch=1001&branch=x", StatusCode::BAD_REQUEST, "argument 'maxsearch'"),
        ("/buildslaves/w1?numbuilds=5000", StatusCode::BAD_REQUEST, "from 0 to 1000"),
        ("/one_line_per_build/nope", StatusCode::NOT_FOUND, "No such builder"),
        ("/changes/77", StatusCode::NOT_FOUND, "No change number 77"),
        ("/changes/x", StatusCode::BAD_REQUEST, "'x' is not a change number"),
        ("/buildslaves/nope", StatusCode::NOT_FOUND, "No such slave 'nope'"),
        ("/no/such/page", StatusCode::NOT_FOUND, "No such page or file: /no/such/page"),
        ("/../../etc/passwd", StatusCode::NOT_FOUND, "No such page or file"),
        ("/%2e%2e/%2e%2e/etc/passwd", StatusCode::NOT_FOUND, "No such page or file"),
    ];
    for (uri, status, message) in cases {
        let (got, body, _) = get(&server, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(body.contains(message), "{uri}: expected «{message}» in {body}");
    }
    let (status, body, _) = get(&server, &format!("/builders/x?alert_msg={HOSTILE_Q}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("<script>alert"));
}

#[tokio::test]
async fn static_files_come_from_public_html_before_the_built_in_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("default.css"), "body { color: red }").expect("write");
    std::fs::write(dir.path().join("index.html"), "<p>hello</p>").expect("write");
    std::fs::write(dir.path().parent().expect("parent").join("secret.txt"), "secret").ok();
    let setup = Setup { public_html: Some(dir.path().to_path_buf()), ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    assert_eq!(get(&server, "/default.css").await.1, "body { color: red }");
    assert_eq!(get(&server, "/index.html").await.1, "<p>hello</p>");
    let (_, root, _) = get(&server, "/").await;
    assert!(root.contains("Welcome to the buildstatus"), "/ is the welcome page, not index.html");
    let (status, robots, _) = get(&server, "/robots.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(robots.contains("Disallow: /builders") && robots.contains("Disallow: /console"));
    // What every answer tells the browser: never in another site's frame, never sniffed, and
    // no URL of ours sent to another site.
    for uri in ["/", "/builders", "/json/builders", "/no-such-page"] {
        let (_, _, headers) = get(&server, uri).await;
        assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
        assert_eq!(headers["content-security-policy"], buildstatus::adapters::http::CONTENT_SECURITY_POLICY, "{uri}");
        assert!(headers["content-security-policy"].to_str().is_ok_and(|p| p.contains("script-src 'self'")));
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{uri}");
    }
    let (status, _, headers) = get(&server, "/favicon.ico").await;
    assert_eq!((status, &headers["content-type"]), (StatusCode::OK, &"image/x-icon".parse().expect("header")));
    assert_eq!(get(&server, "/../secret.txt").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&server, "/%2e%2e/secret.txt").await.0, StatusCode::NOT_FOUND);
    // Names no file can have: a 404 like any other missing file, never a 500.
    for uri in [format!("/{}", "a".repeat(256)), format!("/x/{}.html", "%41".repeat(300)), "/a%00b".to_owned()] {
        assert_eq!(get(&server, &uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    for (uri, target) in [("/one_box_per_builder", "./builders"), ("/one_box_per_builder/", "../builders")] {
        let (status, _, headers) = get(&server, uri).await;
        assert_eq!((status, headers["location"].to_str().expect("text")), (StatusCode::SEE_OTHER, target), "{uri}");
    }
}

/// Arbitrary paths and query strings, built from the characters that matter to URL parsing.
fn hostile_uri() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let segment = prop::sample::select(vec![
        "builders",
        "linux",
        "builds",
        "-1",
        "0",
        "99999999999",
        "steps",
        "test",
        "logs",
        "stdio",
        "text",
        "buildslaves",
        "changes",
        "one_line_per_build",
        "%2F",
        "%2e%2e",
        "..",
        "%00",
        "%ff",
        "%3Cscript%3E",
        "",
        "numbuilds=x",
        "a%2Fb",
        "w1",
        "-0",
        "about",
        "json",
        "help",
        "_all",
        "source_stamp",
        "pendingBuilds",
        "rss",
        "atom",
        "png",
        "badges",
        "linux.svg",
        "linux.png",
        "cc.xml",
        "buildstatus",
        "users",
        "table",
    ]);
    let query = prop::sample::select(vec![
        "",
        "?numbuilds=-1",
        "?numbuilds=99999999999999999999",
        "?numbuilds=18446744073709551615",
        "?branch=trunk&builder=%00",
        "?property.x=%ff",
        "?reload=abc",
        "?alert_msg=%3Cb%3E",
        "?no_builders=1&&&",
        "?=&=",
        "?maxsearch=0",
        "?select=..%2F..&select=&callback=a.b",
        "?callback=%3Cscript%3E",
        "?builder=linux&number=x&size=large",
        "?builder=%3Cscript%3Ealert('x')%3C%2Fscript%3E&number=-1",
        "?as_text=1&filter=0&max=99999999999999999999",
        "?label=%3Cscript%3E&style=plastic",
        "?failures_only=1&project=%00",
    ]);
    // Any bytes at all, percent-encoded: invalid UTF-8, NUL, control characters, and names
    // longer than any file system takes (a path of 256 or more once answered 500).
    let encoded = |bytes: Vec<u8>| bytes.iter().map(|b| format!("%{b:02X}")).collect::<String>();
    let any_segment = prop::collection::vec(any::<u8>(), 0..400).prop_map(encoded);
    let long_segment = (1usize..2_000).prop_map(|n| "a".repeat(n));
    let segment = prop_oneof![
        6 => segment.prop_map(str::to_owned),
        2 => any_segment,
        1 => long_segment,
    ];
    let any_query = (prop::collection::vec(any::<u8>(), 0..40), prop::collection::vec(any::<u8>(), 0..400))
        .prop_map(move |(k, v)| format!("?{}={}", encoded(k), encoded(v)));
    let query = prop_oneof![4 => query.prop_map(str::to_owned), 1 => any_query];
    (prop::collection::vec(segment, 0..8), query).prop_map(|(segs, q)| format!("/{}{q}", segs.join("/")))
}

/// Every 5xx is the server's own fault, never the asker's: no path or query, however long,
/// encoded or hostile, answers one or panics (with `public_html` served, whose file lookups
/// meet the same paths).
#[test]
fn no_request_fails_the_server() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let public_html = tempfile::tempdir().expect("tempdir");
    std::fs::write(public_html.path().join("index.html"), "<p>hello</p>").expect("write");
    let setup = Setup { public_html: Some(public_html.path().to_path_buf()), ..Setup::default() };
    let server = runtime.block_on(common::fixture_server_setup(setup));
    let config = proptest::test_runner::Config { cases: 1_000, failure_persistence: None, ..Default::default() };
    proptest::proptest!(config, |(uri in hostile_uri())| {
        let (status, body, _) = runtime.block_on(get(&server, &uri));
        proptest::prop_assert!(status.as_u16() < 500, "{uri} answered {status}: {body}");
        proptest::prop_assert!(!body.contains("<script>"), "{uri} echoed markup unescaped");
    });
}

#[tokio::test]
async fn a_running_log_streams_as_it_grows_and_ends_with_its_step() {
    use buildstatus::domain::event::{Channel, StatusEvent};
    use futures_util::StreamExt;

    let server = fixture_server().await;
    let sink = server.sink();
    let chunk = |text: &str| StatusEvent::LogChunk {
        builder: "macos".into(),
        number: 1,
        step: 0,
        log: "stdio".into(),
        channel: Channel::Stdout,
        text: text.into(),
    };
    // The fixture's macos #1 is running, its compile step's log open with only a header line.
    sink.record(chunk("cc -c main.c\n")).await.expect("chunk");
    let uri = "/builders/macos/builds/1/steps/compile/logs/stdio/text";
    let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
    let response = server.router().oneshot(req).await.expect("response");
    assert_eq!(response.headers()["cache-control"], "no-cache", "a growing log is not cached");
    let mut body = response.into_body().into_data_stream();
    let first = body.next().await.expect("data").expect("readable");
    assert!(String::from_utf8_lossy(&first).contains("cc -c main.c"), "what is written so far comes at once");

    let writer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        sink.record(chunk("late line\n")).await.expect("chunk");
        let done = StatusEvent::LogFinished { builder: "macos".into(), number: 1, step: 0, log: "stdio".into() };
        sink.record(done).await.expect("finish");
    });
    let mut rest = String::new();
    let deadline = std::time::Duration::from_secs(10);
    while let Some(piece) = tokio::time::timeout(deadline, body.next()).await.expect("the stream ends in time") {
        rest.push_str(&String::from_utf8_lossy(&piece.expect("readable")));
    }
    assert_eq!(rest, "late line\n", "the new chunk arrives, then the response ends with the log");
    writer.await.expect("writer");
}

/// The body of a followed log page, read until it ends (or a failure after 10 s).
async fn read_to_end(body: Body) -> String {
    use futures_util::StreamExt;
    let mut body = body.into_data_stream();
    let mut text = String::new();
    let deadline = std::time::Duration::from_secs(10);
    while let Some(piece) = tokio::time::timeout(deadline, body.next()).await.expect("the stream ends in time") {
        text.push_str(&String::from_utf8_lossy(&piece.expect("readable")));
    }
    text
}

#[tokio::test]
async fn a_followed_log_ends_when_its_build_finishes_or_the_server_stops() {
    use buildstatus::domain::event::StatusEvent;
    use buildstatus::domain::result::BuildResult;

    let uri = "/builders/macos/builds/1/steps/compile/logs/stdio/text";
    let follow = |server: &buildstatus::app::StatusServer| {
        let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
        server.router().oneshot(req)
    };
    // The sender never says the log is finished; the build's end says it for it.
    let server = fixture_server().await;
    let response = follow(&server).await.expect("response");
    let finish = StatusEvent::BuildFinished {
        builder: "macos".into(),
        number: 1,
        result: BuildResult::Success,
        text: vec![],
        at: common::at(46),
        properties: Default::default(),
    };
    server.sink().record(finish).await.expect("finished");
    read_to_end(response.into_body()).await;
    let (_, page, headers) = get(&server, uri).await;
    assert_ne!(headers["cache-control"], "no-cache", "a finished log: {page}");

    // A server stopping ends the pages that follow logs, as it ends /events.
    let server = fixture_server().await;
    let response = follow(&server).await.expect("response");
    server.end_live_streams();
    read_to_end(response.into_body()).await;
}

/// Links a sender gave (a change's revlink, a step's URL, a worker's access URI) are followed
/// only when they run nothing: a `javascript:` one is shown as text.
#[tokio::test]
async fn a_javascript_link_from_a_sender_is_never_a_link() {
    use buildstatus::domain::event::StatusEvent;
    use buildstatus::domain::model::{Change, Step, Worker};

    let server = fixture_server().await;
    let sink = server.sink();
    let evil = "javascript:alert(document.cookie)";
    let change = Change {
        number: 50,
        who: "eve".into(),
        revision: Some("abc".into()),
        revlink: Some(evil.into()),
        when: common::at(40),
        ..Change::default()
    };
    sink.record(StatusEvent::ChangeAdded { change }).await.expect("change");
    let worker = Worker { name: "w9".into(), access_uri: Some(format!(" {evil}")), ..Worker::default() };
    sink.record(StatusEvent::WorkerAdded { worker }).await.expect("worker");
    let step = Step {
        number: 5,
        name: "deploy".into(),
        started: Some(common::at(46)),
        urls: vec![("report".into(), evil.into())],
        ..Step::default()
    };
    sink.record(StatusEvent::StepStarted { builder: "macos".into(), number: 1, step }).await.expect("step");
    for uri in [
        "/changes",
        "/changes/50",
        "/buildslaves/w9",
        "/builders/macos/builds/1",
        "/waterfall",
        "/buildstatus?builder=macos&number=1",
    ] {
        let (status, body, _) = get(&server, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            !body.to_ascii_lowercase().contains("href=\"javascript:") && !body.contains("href=\" javascript:"),
            "{uri}: {body}"
        );
    }
    let (_, change, _) = get(&server, "/changes/50").await;
    assert!(change.contains(">abc<"), "the revision is still shown: {change}");
}

/// A branch filter looks at each builder's newest 200 builds, as 0.8 did: a build on that
/// branch further back is not looked for (that would walk the whole history per request).
#[tokio::test]
async fn a_branch_filter_looks_at_the_newest_200_builds() {
    use buildstatus::domain::result::BuildResult;
    let server = fixture_server().await;
    let sink = server.sink();
    sink.record_all(common::whole_build("linux", 10, 50, "ancient", BuildResult::Success, None)).await.expect("build");
    let found = |body: &str| body.contains("./builders/linux/builds/10\"");
    let (_, body, _) = get(&server, "/builders?branch=ancient").await;
    assert!(found(&body), "within the newest 200: {body}");
    for n in 11..211 {
        sink.record_all(common::whole_build("linux", n, 60 + i64::from(n), "main", BuildResult::Success, None))
            .await
            .expect("build");
    }
    let (status, body, _) = get(&server, "/builders?branch=ancient").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!found(&body) && body.contains("no build"), "200 newer builds hide it: {body}");
    let (_, body, _) = get(&server, "/one_line_per_build?branch=main&numbuilds=3").await;
    assert!(body.contains("./builders/linux/builds/210\""), "{body}");
}

/// The URL-decorating options reach every page that shows a revision, a comment, a project or
/// a repository: the change list and page, the build page, the console and the feeds.
#[tokio::test]
async fn revisions_comments_and_names_are_decorated_with_links() {
    use buildstatus::domain::web::decorate::{CommentLink, CommentLinks, Decorations, NameLinks, RevLink};
    let projects = NameLinks::Map([("widget".to_owned(), "https://widget.example.org/".to_owned())].into());
    let decorations = Decorations {
        revlink: RevLink::Pattern("https://cgit.example.org/widget/commit/?id=%s".into()),
        comment_links: CommentLinks::One(
            CommentLink::new("(parser|prep)", "https://bugs.example.org/\\1", None).unwrap(),
        ),
        projects,
        ..Decorations::default()
    };
    let site = buildstatus::domain::web::layout::Site { decorations, ..Default::default() };
    let server = crate::common::fixture_server_with(site).await;
    let commit = "https://cgit.example.org/widget/commit/?id=";
    let (_, change, _) = get(&server, "/changes/1").await;
    assert!(change.contains(r#"Fix the <a href="https://bugs.example.org/parser">parser</a>"#), "{change}");
    assert!(change.contains(r#"<a href="https://widget.example.org/">widget</a>"#), "{change}");
    let (_, changes, _) = get(&server, "/changes").await;
    assert!(changes.contains(commit), "{changes}");
    let (_, console, _) = get(&server, "/console").await;
    assert!(console.contains(commit) && console.contains("https://bugs.example.org/prep"), "{console}");
    let (_, build, _) = get(&server, "/builders/linux/builds/0").await;
    assert!(build.contains(commit), "the build page links its got_revision: {build}");
    assert!(!console.contains("<script>alert"), "the hostile comment stays escaped");
    let (_, rss, _) = get(&server, "/rss?failures_only=false").await;
    assert!(rss.contains(commit), "feed entries link their revisions: {rss}");
}
