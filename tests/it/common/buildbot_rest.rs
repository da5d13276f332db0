//! What Buildbot 4.3's own REST API (`/api/v2`) says a database holds: the importer's tests
//! compare what buildstatus shows after an import with this, not with what the script that
//! wrote the database believes it wrote. A real master is started on a copy of the database
//! (a master writes to its database as it starts), its web server on 127.0.0.1, is asked,
//! and is stopped (also when the asking fails).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::buildbot::{Peer, free_port, slot, start, venv};

/// Everything the tests look at, as the REST API serves it, in number order.
#[derive(Debug)]
pub struct Expected {
    pub builders: Vec<Builder>,
    pub changes: Vec<Change>,
    /// The names of the workers Buildbot knows.
    pub workers: Vec<String>,
    /// The build requests not complete yet: waiting, or claimed by a running build.
    pub incomplete_requests: Vec<BuildRequest>,
}

#[derive(Debug, Deserialize)]
pub struct Builder {
    builderid: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    #[serde(skip)]
    pub builds: Vec<Build>,
}

#[derive(Debug, Deserialize)]
pub struct Build {
    buildid: u64,
    pub number: u64,
    pub complete: bool,
    pub results: Option<i64>,
    pub started_at: f64,
    pub complete_at: Option<f64>,
    /// Each property's value and source.
    pub properties: BTreeMap<String, (Value, String)>,
    #[serde(skip)]
    pub steps: Vec<Step>,
}

impl Build {
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name).map(|(value, _)| value)
    }
}

#[derive(Debug, Deserialize)]
pub struct Step {
    stepid: u64,
    pub number: u64,
    pub name: String,
    pub results: Option<i64>,
    #[serde(skip)]
    pub logs: Vec<Log>,
}

#[derive(Debug, Deserialize)]
pub struct Log {
    logid: u64,
    pub name: String,
    /// The stored text (`/logs/N/contents`): a stream log's lines keep their o/e/h prefix.
    #[serde(skip)]
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(rename = "changeid")]
    pub number: u64,
    pub author: String,
    pub revision: Option<String>,
    pub files: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct BuildRequest {
    #[serde(rename = "buildrequestid")]
    pub id: u64,
    builderid: u64,
    /// The name of the builder it is for.
    #[serde(skip)]
    pub builder: String,
    pub claimed: bool,
    pub submitted_at: f64,
}

/// Starts a master with the configuration of the master in `master_dir` (made by
/// `make_db.py`) on a copy of its database: of its `state.sqlite`, or `db_url` (a copy the
/// caller made), and reads everything the tests need from its REST API.
pub async fn ask(master_dir: &Path, db_url: Option<&str>) -> Expected {
    let _slot = slot();
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["buildbot.tac", "master.cfg"] {
        std::fs::copy(master_dir.join(file), dir.path().join(file)).expect("copy the master's files");
    }
    let port = free_port();
    let mut cfg = std::fs::read_to_string(dir.path().join("master.cfg")).expect("master.cfg");
    cfg.push_str(&format!("\nc['www'] = {{'port': 'tcp:{port}:interface=127.0.0.1', 'plugins': {{}}}}\n"));
    match db_url {
        Some(url) => cfg.push_str(&format!("c['db'] = {{'db_url': {url:?}}}\n")),
        None => {
            std::fs::copy(master_dir.join("state.sqlite"), dir.path().join("state.sqlite")).expect("copy the database");
        }
    }
    std::fs::write(dir.path().join("master.cfg"), cfg).expect("master.cfg");
    let mut master = start(&venv().join("bin/buildbot"), dir.path(), &dir.path().join("master.log"));
    let api = format!("http://127.0.0.1:{port}/api/v2");
    let client = reqwest::Client::new();
    wait_until_it_answers(&client, &api, &mut master, dir.path()).await;

    let mut builders: Vec<Builder> = list(&client, &api, "/builders", "builders").await;
    builders.sort_by_key(|b| b.builderid);
    for builder in &mut builders {
        builder.builds =
            list(&client, &api, &format!("/builders/{}/builds?property=*", builder.builderid), "builds").await;
        builder.builds.sort_by_key(|b| b.number);
        for build in &mut builder.builds {
            build.steps = list(&client, &api, &format!("/builds/{}/steps", build.buildid), "steps").await;
            build.steps.sort_by_key(|s| s.number);
            for step in &mut build.steps {
                step.logs = list(&client, &api, &format!("/steps/{}/logs", step.stepid), "logs").await;
                for log in &mut step.logs {
                    log.text = log_text(&client, &api, log.logid).await;
                }
            }
        }
    }
    let mut changes: Vec<Change> = list(&client, &api, "/changes", "changes").await;
    changes.sort_by_key(|c| c.number);
    let workers = workers(&client, &api).await;
    let incomplete_requests = incomplete_requests(&client, &api, &builders).await;
    drop(master);
    Expected { builders, changes, workers, incomplete_requests }
}

async fn wait_until_it_answers(client: &reqwest::Client, api: &str, master: &mut Peer, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(format!("{api}/builders")).send().await
            && response.status().is_success()
            && let Ok(body) = response.json::<Value>().await
            && body["builders"].as_array().is_some_and(|b| !b.is_empty())
        {
            return;
        }
        let exited = master.0.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            panic!(
                "the Buildbot master's REST API did not answer (exited: {exited:?}):\n{}\n{}",
                log("master.log"),
                log("twistd.log")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GETs `path`. An answer cut short (seen under load: the master's web server closes a
/// kept-alive connection as it is reused) is asked for again, twice at most: what the tests
/// compare is the answer, not the transport.
async fn get(client: &reqwest::Client, api: &str, path: &str) -> Value {
    let mut failures = Vec::new();
    while failures.len() < 3 {
        let answer = match client.get(format!("{api}{path}")).send().await {
            Ok(response) => {
                assert!(response.status().is_success(), "{path}: {}", response.status());
                response.json::<Value>().await
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok(json) => return json,
            Err(e) => failures.push(e.to_string()),
        }
    }
    panic!("{path}: no whole answer in 3 tries: {failures:?}")
}

/// A collection: the REST API puts its items under the resource's name.
async fn list<T: DeserializeOwned>(client: &reqwest::Client, api: &str, path: &str, key: &str) -> Vec<T> {
    let mut body = get(client, api, path).await;
    serde_json::from_value(body[key].take()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn log_text(client: &reqwest::Client, api: &str, logid: u64) -> String {
    #[derive(Deserialize)]
    struct Chunk {
        firstline: u64,
        content: String,
    }
    let mut chunks: Vec<Chunk> = list(client, api, &format!("/logs/{logid}/contents"), "logchunks").await;
    chunks.sort_by_key(|c| c.firstline);
    chunks.into_iter().map(|c| c.content).collect()
}

pub async fn workers(client: &reqwest::Client, api: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct Worker {
        name: String,
    }
    let mut names: Vec<String> =
        list::<Worker>(client, api, "/workers", "workers").await.into_iter().map(|w| w.name).collect();
    names.sort();
    names
}

pub async fn incomplete_requests(client: &reqwest::Client, api: &str, builders: &[Builder]) -> Vec<BuildRequest> {
    let mut requests: Vec<BuildRequest> = list(client, api, "/buildrequests?complete=false", "buildrequests").await;
    requests.sort_by_key(|r| r.id);
    for request in &mut requests {
        request.builder =
            builders.iter().find(|b| b.builderid == request.builderid).map(|b| b.name.clone()).unwrap_or_else(|| {
                panic!("build request {} is for an unknown builder {}", request.id, request.builderid)
            });
    }
    requests
}
