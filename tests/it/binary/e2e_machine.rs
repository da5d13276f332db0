//! The machine-readable URLs against the running binary (`buildstatus demo` on a loopback
//! port): JSON, feeds (read by feedparser), images (decoded), cc.xml, /buildstatus, users.

use std::process::Command;

use crate::common::start_binary;

#[tokio::test]
async fn the_demo_serves_every_machine_url() {
    let demo = start_binary(&["demo", "--history", "200", "--seed", "3"]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{}{path}", demo.base));
        async move {
            let response = http.get(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let status = response.status().as_u16();
            let content_type =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            (status, content_type, response.bytes().await.unwrap_or_default().to_vec())
        }
    };
    let json = |body: &[u8]| -> serde_json::Value { serde_json::from_slice(body).expect("JSON") };

    let (status, kind, root) = get("/json").await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let root = json(&root);
    assert!(root["builders"]["linux-gcc"]["slaves"].is_array(), "{root}");
    let (_, _, builds) = get("/json/builders/linux-gcc/builds?select=-1&select=-2").await;
    let builds = json(&builds);
    assert_eq!(builds["-1"]["builderName"], "linux-gcc");
    assert!(builds["-2"]["number"].as_u64() < builds["-1"]["number"].as_u64());
    let (status, _, slaves) = get("/json/slaves?as_text=1").await;
    assert_eq!(status, 200);
    assert!(!json(&slaves).as_object().expect("a map").is_empty());
    let (status, kind, _) = get("/json/help").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert_eq!(get("/json/builders/nope").await.0, 404);
    assert_eq!(get("/json/project?callback=1bad").await.0, 400);

    for (path, version) in [("/rss", "rss20"), ("/atom", "atom10")] {
        let (status, _, feed) = get(path).await;
        assert_eq!(status, 200, "{path}");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("feed.xml");
        std::fs::write(&file, &feed).expect("write");
        let script = "import sys, feedparser; d = feedparser.parse(sys.argv[1]); \
                      print(d.version, bool(d.bozo), len(d.entries))";
        let out = Command::new("python3").args(["-c", script]).arg(&file).output().expect("python3");
        assert!(out.status.success(), "feedparser: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{version} False 25"), "{path}");
    }

    for (path, status, size) in [
        ("/png?builder=linux-gcc&number=0&size=large", 200, (120, 80)),
        ("/png?builder=nope", 404, (84, 18)),
        ("/png?builder=linux-gcc&number=zero", 400, (84, 18)),
        ("/badges/linux-gcc.png", 200, (0, 20)),
    ] {
        let (got, kind, png) = get(path).await;
        assert_eq!((got, kind.as_str()), (status, "image/png"), "{path}");
        let image = tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
        assert_eq!(image.height(), size.1, "{path}");
        if size.0 > 0 {
            assert_eq!(image.width(), size.0, "{path}");
        }
    }
    let (status, kind, svg) = get("/badges/linux-gcc.svg?label=ci").await;
    assert_eq!((status, kind.as_str()), (200, "image/svg+xml; charset=utf-8"));
    assert!(String::from_utf8_lossy(&svg).contains("<title>ci: "));
    assert_eq!(get("/badges/nope.svg").await.0, 404);

    let (status, _, cc) = get("/cc.xml?builder=linux-gcc").await;
    assert_eq!(status, 200);
    let cc = String::from_utf8_lossy(&cc).into_owned();
    assert_eq!(cc.matches("<Project ").count(), 1, "{cc}");
    assert!(cc.contains("name=\"linux-gcc\""));

    let (status, _, steps) = get("/buildstatus?builder=linux-gcc&number=0").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&steps).contains("Build 0"));
    assert_eq!(get("/buildstatus?builder=linux-gcc&number=x").await.0, 400);
    let users = http.get(format!("{}/users", demo.base)).send().await.expect("an answer");
    let location = users.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
    assert_eq!(
        (users.status().as_u16(), location.as_deref()),
        (302, Some("./authfail")),
        "showUsersPage is denied by default, and a refusal goes to authfail as the seed says"
    );
    let (_, _, about) = get("/about").await;
    assert!(String::from_utf8_lossy(&about).contains("tiny-skia: 0.12"));
}
