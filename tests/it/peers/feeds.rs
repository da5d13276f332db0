//! `/rss` and `/atom` on the fixed history: snapshots, the selection rules, and the check a
//! feed reader makes — Python's `feedparser` must read both without complaint (bozo false).
//! feedparser is a required test peer (`.ci/run` installs it); without it this test fails.

use std::process::Command;

use crate::common::{fixture_server, get, snapshot};
use axum::http::StatusCode;

const PARSE: &str = r#"
import json, sys
import feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": bool(d.bozo),
    "problem": str(d.get("bozo_exception", "")),
    "version": d.version,
    "title": d.feed.get("title"),
    "entries": [{"title": e.title, "link": e.link, "id": e.id, "summary": e.get("summary", "")} for e in d.entries],
}))
"#;

/// What feedparser makes of `feed`.
fn feedparser(feed: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, feed).expect("write");
    let out = Command::new("python3").args(["-c", PARSE]).arg(&file).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "feedparser failed (install it with `python3 -m pip install feedparser`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("feedparser's report")
}

#[tokio::test]
async fn both_feeds_render_as_recorded_and_parse_cleanly() {
    let server = fixture_server().await;
    let every =
        [("feed_rss", "/rss?failures_only=false", "rss20"), ("feed_atom", "/atom?failures_only=false", "atom10")];
    for (name, uri, version) in every {
        let (status, body, headers) = get(&server, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers["content-type"], "text/xml; charset=UTF-8");
        assert!(body.starts_with("<?xml version=\"1.0\""), "the declaration comes first");
        snapshot(name, &body);
        let parsed = feedparser(&body);
        assert_eq!(parsed["bozo"], false, "{uri}: {}", parsed["problem"]);
        assert_eq!(parsed["version"], version);
        assert_eq!(parsed["title"], "Build status of Buildbot");
        let entries = parsed["entries"].as_array().expect("entries");
        // 5 linux builds, macos #0 and the hostile builder's #0 are finished; macos #1 runs.
        assert_eq!(entries.len(), 7, "{uri}");
        assert_eq!(entries[0]["title"], "Builder \"linux\": success", "newest first");
        assert_eq!(entries[0]["link"], "http://localhost:8010/builders/linux/builds/4");
        let hostile = entries.iter().find(|e| e["title"].as_str().unwrap_or("").contains("<script>"));
        let hostile = hostile.expect("the hostile builder's build, its name as text");
        assert_eq!(
            hostile["link"],
            "http://localhost:8010/builders/%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E/builds/0"
        );
        let failure = entries.iter().find(|e| e["title"] == "Builder \"linux\": failure").expect("the failed build");
        let summary = failure["summary"].as_str().unwrap_or("");
        assert!(summary.contains("Failed step(s): <b>test</b>"), "{summary}");
        assert!(summary.contains("Last lines of build log &quot;stdio&quot;:\ncc -c main.c\nok\n"), "{summary}");
        assert!(summary.contains("warning: &lt;b&gt;unused&lt;/b&gt;"), "log text stays text: {summary}");
        let ids: std::collections::BTreeSet<&str> = entries.iter().filter_map(|e| e["id"].as_str()).collect();
        assert_eq!(ids.len(), entries.len(), "every entry has its own id");
    }
}

#[tokio::test]
async fn filters_choose_the_builds() {
    let server = fixture_server().await;
    let titles = |body: String| -> Vec<String> {
        feedparser(&body)["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["title"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    // As the documentation says, the feeds summarise the failed builds.
    for uri in ["/rss", "/atom", "/rss?failures_only=true", "/atom?failures_only=yes"] {
        assert_eq!(titles(get(&server, uri).await.1), ["Builder \"linux\": failure"], "{uri}");
    }
    let all = "failures_only=false";
    let macos = titles(get(&server, &format!("/atom/anything?show=macos&builder=nope&{all}")).await.1);
    assert_eq!(macos, ["Builder \"macos\": retry"], "sub-paths are the feed; unknown builders ignored");
    let odd = titles(get(&server, &format!("/rss?category=odd&{all}")).await.1);
    assert_eq!(odd.len(), 1);
    let none = get(&server, &format!("/rss?project=elsewhere&{all}")).await.1;
    assert!(titles(none).is_empty());
    let release = titles(get(&server, &format!("/rss?branch=release&{all}")).await.1);
    assert_eq!(release, ["Builder \"macos\": retry"], "the waterfall's branch filter");
    let by_ann =
        titles(get(&server, &format!("/atom?committer=Ann%20Lee%20%3Cann%40example.org%3E&branch=main&{all}")).await.1);
    assert_eq!(by_ann.len(), 6, "the waterfall's committer filter: {by_ann:?}");
    assert!(titles(get(&server, &format!("/atom?committer=bob&{all}")).await.1).is_empty());
}
