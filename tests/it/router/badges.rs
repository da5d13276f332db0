//! Status images through the real router: `/png` in every size (decoded, measured) with the
//! right image for each case, and `/badges/BUILDER.svg|png` (well-formed XML, read by
//! Python's XML parser, whose text says the result; PNGs decoded).
use crate::common;

use std::process::Command;

use crate::common::fixture_server;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use buildstatus::app::StatusServer;
use tower::ServiceExt;

async fn get_with(server: &StatusServer, uri: &str, etag: Option<&str>) -> (StatusCode, Vec<u8>, HeaderMap) {
    let mut req = Request::builder().uri(uri);
    if let Some(tag) = etag {
        req = req.header("if-none-match", tag);
    }
    let response = server.router().oneshot(req.body(Body::empty()).expect("a request")).await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    (status, body.to_vec(), headers)
}

async fn get(server: &StatusServer, uri: &str) -> (StatusCode, Vec<u8>, HeaderMap) {
    get_with(server, uri, None).await
}

fn size_of(png: &[u8]) -> (u32, u32) {
    let image = tiny_skia::Pixmap::decode_png(png).expect("a PNG that decodes");
    (image.width(), image.height())
}

#[tokio::test]
async fn png_shows_the_asked_build_in_the_spec_sizes() {
    let server = fixture_server().await;
    let revision_of_1 = format!("{:040x}", 0xabc0 + 1);
    let cases = [
        ("/png?builder=linux", StatusCode::OK, "success_normal.png", (84, 18)),
        ("/png?builder=linux&number=1&size=small", StatusCode::OK, "failure_small.png", (32, 14)),
        ("/png/anything?builder=linux&number=-3&size=large", StatusCode::OK, "warnings_large.png", (120, 80)),
        (&format!("/png?builder=linux&revision={revision_of_1}"), StatusCode::OK, "failure_normal.png", (84, 18)),
        // With a number too, the revision is ignored (as the documentation says).
        (
            &format!("/png?builder=linux&number=-3&revision={revision_of_1}"),
            StatusCode::OK,
            "warnings_normal.png",
            (84, 18),
        ),
        ("/png?builder=macos&size=huge", StatusCode::OK, "unknown_normal.png", (84, 18)),
        ("/png?builder=macos&number=0", StatusCode::OK, "retry_normal.png", (84, 18)),
        ("/png?builder=nope", StatusCode::NOT_FOUND, "unknown_normal.png", (84, 18)),
        ("/png", StatusCode::NOT_FOUND, "unknown_normal.png", (84, 18)),
        ("/png?builder=linux&number=99", StatusCode::NOT_FOUND, "unknown_normal.png", (84, 18)),
        ("/png?builder=linux&revision=feed", StatusCode::NOT_FOUND, "unknown_normal.png", (84, 18)),
        ("/png?builder=linux&number=x&size=large", StatusCode::BAD_REQUEST, "unknown_large.png", (120, 80)),
    ];
    for (uri, status, file, size) in cases {
        let (got, body, headers) = get(&server, uri).await;
        assert_eq!(got, status, "{uri}");
        assert_eq!(headers["content-type"], "image/png", "{uri}");
        assert_eq!(headers["cache-control"], "no-cache", "{uri}");
        assert_eq!(headers["content-disposition"], format!("inline; filename=\"{file}\"").as_str(), "{uri}");
        assert_eq!(size_of(&body), size, "{uri}");
    }
    let (_, success, _) = get(&server, "/png?builder=linux").await;
    let (_, failure, _) = get(&server, "/png?builder=linux&number=1").await;
    assert_ne!(success, failure, "each result has its own image");
}

const TEXTS: &str = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
print("|".join(t.text or "" for t in root.iter(ns + "text")))
print(root.find(ns + "title").text)
"#;

/// The texts of an SVG document as Python's XML parser reads them (it fails on bad XML).
fn svg_texts(svg: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("badge.svg");
    std::fs::write(&file, svg).expect("write");
    let out = Command::new("python3").args(["-c", TEXTS]).arg(&file).output().expect("python3 runs");
    assert!(out.status.success(), "not well-formed SVG: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn svg_badges_say_the_result_of_the_newest_finished_build() {
    let server = fixture_server().await;
    let cases = [
        ("/badges/linux.svg", StatusCode::OK, "build|build|success|success\nbuild: success"),
        ("/badges/linux.svg?branch=nope", StatusCode::OK, "build|build|unknown|unknown\nbuild: unknown"),
        ("/badges/macos.svg", StatusCode::OK, "build|build|retry|retry\nbuild: retry"),
        (
            "/badges/macos.svg?branch=release&label=CI%20%3Cmac%3E",
            StatusCode::OK,
            "CI <mac>|CI <mac>|retry|retry\nCI <mac>: retry",
        ),
        ("/badges/linux.svg?style=flat-square", StatusCode::OK, "build|build|success|success\nbuild: success"),
        ("/badges/nope.svg", StatusCode::NOT_FOUND, "build|build|unknown|unknown\nbuild: unknown"),
        ("/badges/linux.svg?style=plastic", StatusCode::BAD_REQUEST, "build|build|unknown|unknown\nbuild: unknown"),
        (
            "/badges/%3Cscript%3Ealert('x')%3C%2Fscript%3E.svg",
            StatusCode::OK,
            "build|build|cancelled|cancelled\nbuild: cancelled",
        ),
    ];
    for (uri, status, texts) in cases {
        let (got, body, headers) = get(&server, uri).await;
        assert_eq!(got, status, "{uri}");
        assert_eq!(headers["content-type"], "image/svg+xml; charset=utf-8", "{uri}");
        assert_eq!(headers["cache-control"], "no-cache, max-age=0, must-revalidate", "{uri}");
        assert_eq!(headers["content-security-policy"], "default-src 'none'; style-src 'unsafe-inline'", "{uri}");
        assert_eq!(svg_texts(&body), texts, "{uri}");
    }
    let (_, wide, _) = get(&server, "/badges/linux.svg?label=a%20much%20longer%20label").await;
    let (_, narrow, _) = get(&server, "/badges/linux.svg").await;
    let width = |svg: &[u8]| -> u32 {
        let text = String::from_utf8_lossy(svg);
        let w = text.split("width=\"").nth(1).and_then(|r| r.split('"').next()).expect("a width");
        w.parse().expect("a number")
    };
    assert!(width(&wide) > width(&narrow) + 60, "longer text, wider badge");
    assert_eq!(get(&server, "/badges/linux.gif").await.0, StatusCode::NOT_FOUND);
    // The label is a few words: a huge one (the image grows with it) is refused, not drawn.
    let (status, _, _) = get(&server, &format!("/badges/linux.png?label={}", "W".repeat(100))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = get(&server, &format!("/badges/linux.png?label={}", "W".repeat(101))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("argument 'label': longer than 100 characters"));
}

#[tokio::test]
async fn badges_revalidate_cheaply_and_come_as_png_too() {
    let server = fixture_server().await;
    let (_, first, headers) = get(&server, "/badges/linux.svg").await;
    let etag = headers["etag"].to_str().expect("an etag").to_owned();
    let (status, body, _) = get_with(&server, "/badges/linux.svg", Some(&etag)).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (_, again, _) = get(&server, "/badges/linux.svg").await;
    assert_eq!(first, again);
    let (status, png, headers) = get(&server, "/badges/linux.png?label=tests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    let (w, h) = size_of(&png);
    assert!(h == 20 && w > 60, "{w}x{h}");
    // A new result gives a new image and tag.
    let sink = server.sink();
    sink.record_all(common::whole_build(
        "linux",
        5,
        44,
        "main",
        buildstatus::domain::result::BuildResult::Failure,
        None,
    ))
    .await
    .expect("a failed build");
    let (status, body, headers) = get_with(&server, "/badges/linux.svg", Some(&etag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers["etag"].to_str().expect("an etag"), etag);
    assert!(svg_texts(&body).contains("failure"));
}

const CCMENU: &str = r#"
import sys, datetime, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "Projects", root.tag
for p in root.findall("Project"):
    a = p.attrib
    assert a["activity"] in ("Sleeping", "Building", "CheckingModifications"), a
    assert a["lastBuildStatus"] in ("Success", "Failure", "Exception", "Unknown"), a
    assert a["webUrl"].startswith("http"), a
    if "lastBuildTime" in a:
        datetime.datetime.strptime(a["lastBuildTime"], "%Y-%m-%dT%H:%M:%SZ")
    print("|".join([a["name"], a["activity"], a["lastBuildStatus"], a["lastBuildLabel"], a.get("lastBuildTime", "")]))
"#;

/// The projects of a cc.xml document, checked as CCMenu reads them.
fn ccmenu(xml: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cc.xml");
    std::fs::write(&file, xml).expect("write");
    let out = Command::new("python3").args(["-c", CCMENU]).arg(&file).output().expect("python3 runs");
    assert!(out.status.success(), "cc.xml is not what CCMenu reads: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn cc_xml_has_one_project_per_builder_for_tray_tools() {
    let server = fixture_server().await;
    let (status, body, headers) = get(&server, "/cc.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert_eq!(
        ccmenu(&body),
        [
            "<script>alert('x')</script>|Sleeping|Exception|0|2025-06-15T15:23:40Z",
            "linux|Sleeping|Success|4|2025-06-15T15:39:40Z",
            "macos|Building|Exception|0|2025-06-15T15:21:40Z",
        ]
    );
    assert_eq!(ccmenu(&get(&server, "/cc.xml?builder=linux&builder=macos&category=unix").await.1).len(), 2);
    assert_eq!(ccmenu(&get(&server, "/cc.xml?category=odd").await.1).len(), 1);
    assert!(ccmenu(&get(&server, "/cc.xml?builder=nope").await.1).is_empty());
}
