//! A client of Buildbot 4's REST API (`/api/v2`), for catching up on builds missed while
//! buildstatus was down. It reads each build with what `HttpStatusPush` would have sent for
//! it (the build, its properties, its builder's name, its buildset's reason and source
//! stamps), in that reporter's JSON shape, so catching up and following take one path.

use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
#[error("Buildbot REST API: {0}")]
pub struct RestError(pub String);

/// A build as the REST API lists it: an object with a build number.
#[derive(Debug)]
pub struct RestBuild {
    pub number: u32,
    fields: Map<String, Value>,
}

/// An entry of a list that is not what the API documents: named by its place and shown (cut).
fn bad_entry(path: &str, what: &str, index: usize, entry: &Value, why: &str) -> RestError {
    let shown = entry.to_string();
    let shown = match shown.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown,
    };
    RestError(format!("{path}: {what} entry {index} ({shown}): {why}"))
}

/// A Buildbot master's REST API, at `.../api/v2`.
pub struct BuildbotRest {
    api: String,
    http: reqwest::Client,
    /// A session cookie sent with every request (a master that lets only its users read).
    cookie: Option<String>,
}

impl BuildbotRest {
    pub fn new(api: &str) -> Result<Self, RestError> {
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            return Err(RestError(format!("'{api}': not an http:// or https:// URL")));
        }
        Ok(Self { api: api.trim_end_matches('/').to_owned(), http: reqwest::Client::new(), cookie: None })
    }

    /// The same API, read with a session cookie (`name=value`) of the master's web UI.
    pub fn with_cookie(self, cookie: Option<String>) -> Self {
        Self { cookie, ..self }
    }

    async fn get(&self, path: &str, key: &str) -> Result<Vec<Value>, RestError> {
        let url = format!("{}{path}", self.api);
        let mut request = self.http.get(&url).header("Accept", "application/json");
        if let Some(cookie) = &self.cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await;
        let response = response.map_err(|e| RestError(format!("cannot reach {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(RestError(format!("{url} answered {}", response.status())));
        }
        let mut body: Value = response.json().await.map_err(|e| RestError(format!("{url}: not JSON: {e}")))?;
        match body.get_mut(key).map(Value::take) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(RestError(format!("{url}: no '{key}' list in the answer"))),
        }
    }

    /// The builders: id and name.
    pub async fn builders(&self) -> Result<Vec<(u64, String)>, RestError> {
        let builders = self.get("/builders", "builders").await?;
        let mut out = Vec::with_capacity(builders.len());
        for (i, b) in builders.iter().enumerate() {
            match (b.get("builderid").and_then(Value::as_u64), b.get("name").and_then(Value::as_str)) {
                (Some(id), Some(name)) => out.push((id, name.to_owned())),
                _ => return Err(bad_entry("/builders", "builder", i, b, "no builderid and name")),
            }
        }
        Ok(out)
    }

    /// The builds of a builder numbered above `after` (all of them with `None`), oldest first.
    pub async fn builds_after(&self, builder: u64, after: Option<u32>) -> Result<Vec<RestBuild>, RestError> {
        let filter = after.map_or(String::new(), |n| format!("&number__gt={n}"));
        let path = format!("/builders/{builder}/builds?order=number&property=*{filter}");
        let builds = self.get(&path, "builds").await?;
        let mut out = Vec::with_capacity(builds.len());
        for (i, build) in builds.into_iter().enumerate() {
            let number = build.get("number").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            match (build, number) {
                (Value::Object(fields), Some(number)) => out.push(RestBuild { number, fields }),
                (build, _) => {
                    return Err(bad_entry(&path, "build", i, &build, "not an object with a build number"));
                }
            }
        }
        Ok(out)
    }

    /// `build` of builder `builder` (`name`) as `HttpStatusPush` reports it (a running build
    /// as a start report): with its buildset and its builder.
    pub async fn report(&self, build: RestBuild, builder: u64, name: &str) -> Result<Value, RestError> {
        let mut fields = build.fields;
        let buildset = match fields.get("buildrequestid").and_then(Value::as_u64) {
            Some(request) => self.buildset(request).await?,
            None => Value::Null,
        };
        fields.insert("buildset".to_owned(), buildset);
        fields.insert("builder".to_owned(), json!({ "builderid": builder, "name": name }));
        Ok(Value::Object(fields))
    }

    async fn buildset(&self, request: u64) -> Result<Value, RestError> {
        let requests = self.get(&format!("/buildrequests/{request}"), "buildrequests").await?;
        let Some(set) = requests.first().and_then(|r| r["buildsetid"].as_u64()) else { return Ok(Value::Null) };
        Ok(self.get(&format!("/buildsets/{set}"), "buildsets").await?.into_iter().next().unwrap_or(Value::Null))
    }
}
