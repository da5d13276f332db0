//! Chromium driven through chromedriver (WebDriver), for the tests that use a page as a
//! person does: open it, read its DOM, type into fields and press buttons. Both are required
//! peers (`scripts/test` installs them); a missing one fails the test.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// chromedriver on a free loopback port; killed when dropped.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start() -> Self {
        let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is installed (apt-get install chromium-driver); .ci/run installs it");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        let session = reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {reply}")).to_owned();
        Self { child, base, http, session, _profile: profile }
    }

    pub async fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let reply: Value = self.http.post(url).json(&body).send().await.expect("WebDriver").json().await.expect("json");
        reply["value"].clone()
    }

    /// What the pages wrote to the browser's console since the last call (Chromium reports a
    /// Content-Security-Policy violation there), one message each.
    pub async fn console(&self) -> Vec<String> {
        let entries = self.command("se/log", json!({ "type": "browser" })).await;
        let entries = entries.as_array().unwrap_or_else(|| panic!("no console log: {entries}"));
        entries.iter().map(|e| format!("{} {}", e["level"].as_str().unwrap_or("?"), e["message"])).collect()
    }

    pub async fn open(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    pub async fn eval(&self, script: &str) -> Value {
        self.command("execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Evaluates `script` until `done` says yes; fails with `what` after 20 s.
    pub async fn wait_for(&self, what: &str, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await;
            if done(&value) {
                return value;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{what}: still {value}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The WebDriver id of the first element `css` selects.
    pub async fn find(&self, css: &str) -> String {
        let found = self.command("element", json!({ "using": "css selector", "value": css })).await;
        let id = found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str);
        id.unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    /// Runs element commands on the first element `css` selects; when the page replaced the
    /// element meanwhile (a live page refreshed), finds it again and starts over, and when it
    /// cannot take input yet (a page still being laid out on a busy machine), waits for it, as
    /// a person would, for up to 20 s.
    async fn on_element(&self, css: &str, commands: &[(&str, Value)]) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let id = self.find(css).await;
            let mut failed = None;
            for (command, body) in commands {
                let reply = self.command(&format!("element/{id}/{command}"), body.clone()).await;
                if let Some(error) = reply.get("error") {
                    failed = Some(error.clone());
                    break;
                }
            }
            match failed {
                None => return,
                Some(e) if e == "stale element reference" => continue,
                Some(e) if e == "element not interactable" => tokio::time::sleep(Duration::from_millis(100)).await,
                Some(e) => panic!("{css}: {e}"),
            }
        }
        panic!("{css} kept being replaced, or never took input");
    }

    /// Clicks the first element `css` selects, as a person would.
    pub async fn click(&self, css: &str) {
        self.on_element(css, &[("click", json!({}))]).await;
    }

    /// Types `text` into the first element `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, &[("clear", json!({})), ("value", json!({ "text": text }))]).await;
    }

    /// The page's address now.
    pub async fn url(&self) -> String {
        let url = format!("{}/session/{}/url", self.base, self.session);
        let reply: Value = self.http.get(url).send().await.expect("WebDriver").json().await.expect("json");
        reply["value"].as_str().unwrap_or_default().to_owned()
    }
}
