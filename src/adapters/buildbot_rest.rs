//! A client of Buildbot 4's REST API (`/api/v2`), for catching up on builds missed while
//! buildstatus was down. It reads each build with what `HttpStatusPush` would have sent for
//! it (the build, its properties, its builder's name, its buildset's reason and source
//! stamps), in that reporter's JSON shape, so catching up and following take one path.

use serde_json::{Value, json};

#[derive(Debug)]
pub struct RestError(pub String);

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buildbot REST API: {}", self.0)
    }
}

impl std::error::Error for RestError {}

/// A Buildbot master's REST API, at `.../api/v2`.
pub struct BuildbotRest {
    api: String,
    http: reqwest::Client,
}

impl BuildbotRest {
    pub fn new(api: &str) -> Result<Self, RestError> {
        if !api.starts_with("http://") {
            return Err(RestError(format!("'{api}': only http:// URLs are supported")));
        }
        Ok(Self { api: api.trim_end_matches('/').to_owned(), http: reqwest::Client::new() })
    }

    async fn get(&self, path: &str, key: &str) -> Result<Vec<Value>, RestError> {
        let url = format!("{}{path}", self.api);
        let response = self.http.get(&url).header("Accept", "application/json").send().await;
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
        Ok(builders.iter().filter_map(|b| Some((b["builderid"].as_u64()?, b["name"].as_str()?.to_owned()))).collect())
    }

    /// The builds of a builder numbered above `after`, oldest first, as `HttpStatusPush`
    /// reports (running builds as start reports).
    pub async fn reports_after(&self, builder: u64, name: &str, after: Option<u32>) -> Result<Vec<Value>, RestError> {
        let filter = after.map_or(String::new(), |n| format!("&number__gt={n}"));
        let builds = self.get(&format!("/builders/{builder}/builds?order=number&property=*{filter}"), "builds").await?;
        let mut reports = Vec::with_capacity(builds.len());
        for mut build in builds {
            let buildset = match build["buildrequestid"].as_u64() {
                Some(request) => self.buildset(request).await?,
                None => Value::Null,
            };
            build["buildset"] = buildset;
            build["builder"] = json!({ "builderid": builder, "name": name });
            reports.push(build);
        }
        Ok(reports)
    }

    async fn buildset(&self, request: u64) -> Result<Value, RestError> {
        let requests = self.get(&format!("/buildrequests/{request}"), "buildrequests").await?;
        let Some(set) = requests.first().and_then(|r| r["buildsetid"].as_u64()) else { return Ok(Value::Null) };
        Ok(self.get(&format!("/buildsets/{set}"), "buildsets").await?.into_iter().next().unwrap_or(Value::Null))
    }
}
