//! The HttpStatusPush receiver of the push tests: `tests/fixtures/push_receiver.py` (Python's
//! standard library only), started on a loopback port, decoding each POST's `packets=` form
//! field as JSON and recording it; its answers (failures, 413 above a size, a delay) are
//! changed through `/control`. Killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/push_receiver.py");

pub struct Receiver {
    child: Child,
    /// Where a target posts: `http://127.0.0.1:PORT/push` (or `https://localhost:…`).
    pub url: String,
    base: String,
    client: reqwest::Client,
}

impl Receiver {
    /// A receiver on `port` (0: any free one).
    pub fn start(port: u16) -> Self {
        Self::spawn(port, None)
    }

    /// A receiver over TLS with `cert`/`key`, its control calls trusting `ca`.
    pub fn start_tls(port: u16, cert: &Path, key: &Path, ca: &Path) -> Self {
        Self::spawn(port, Some((cert, key, ca)))
    }

    fn spawn(port: u16, tls: Option<(&Path, &Path, &Path)>) -> Self {
        let mut command = Command::new("python3");
        command.arg(SCRIPT).arg(port.to_string()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        if let Some((cert, key, _)) = tls {
            command.arg("--tls").arg(cert).arg(key);
        }
        let mut child = command.spawn().expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("readable");
        let port: u16 = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the push receiver did not start: {line:?}"));
        let (base, client) = match tls {
            Some((_, _, ca)) => {
                let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).expect("ca")).expect("a PEM CA");
                (format!("https://localhost:{port}"), reqwest::Client::builder().tls_certs_only([ca]).build())
            }
            None => (format!("http://127.0.0.1:{port}"), reqwest::Client::builder().build()),
        };
        Self { child, url: format!("{base}/push"), base, client: client.expect("a client") }
    }

    /// Every push it got, in order: `status` (what it answered), `processed` (whether it
    /// took the packets), `packets`, `fields` (the others), `raw_json`, `body_size`.
    pub async fn requests(&self) -> Vec<Value> {
        let answer = self.client.get(format!("{}/requests", self.base)).send().await.expect("the receiver answers");
        answer.json().await.expect("JSON")
    }

    /// The pushes whose packets it took.
    pub async fn processed(&self) -> Vec<Value> {
        self.requests().await.into_iter().filter(|r| r["processed"] == true).collect()
    }

    /// The packets it took, in the order it got them.
    pub async fn packets(&self) -> Vec<Value> {
        self.processed().await.iter().flat_map(|r| r["packets"].as_array().cloned().unwrap_or_default()).collect()
    }

    /// How many pushes it is handling now.
    pub async fn in_flight(&self) -> u64 {
        let answer = self.client.get(format!("{}/inflight", self.base)).send().await.expect("the receiver answers");
        answer.json().await.expect("JSON")
    }

    /// Changes how it answers (see the script's doc).
    pub async fn control(&self, settings: Value) {
        let answer = self.client.post(format!("{}/control", self.base)).json(&settings).send().await.expect("control");
        assert!(answer.status().is_success());
    }

    /// Waits until it has recorded packets for which `done` holds, up to `limit`.
    pub async fn until(&self, limit: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let packets = self.packets().await;
            if done(&packets) {
                return packets;
            }
            let events: Vec<&str> = packets.iter().filter_map(|p| p["event"].as_str()).collect();
            assert!(start.elapsed() < limit, "the receiver did not get what was expected; it has {events:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ids of `packets`, in order.
pub fn ids(packets: &[Value]) -> Vec<u64> {
    packets.iter().map(|p| p["id"].as_u64().expect("an id")).collect()
}

/// The ids seen, each once, in the order first seen.
pub fn distinct_ids(packets: &[Value]) -> Vec<u64> {
    let mut seen = std::collections::BTreeSet::new();
    ids(packets).into_iter().filter(|id| seen.insert(*id)).collect()
}
