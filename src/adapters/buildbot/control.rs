//! Commanding a Buildbot 4 master through its REST API's control endpoints (JSON-RPC 2.0
//! posted to `/api/v2/...`): force schedulers (`force`), builds (`stop`, `rebuild`), build
//! requests (`cancel`) and workers (`pause`, `unpause`, `stop` for a graceful shutdown). What
//! the master then does comes back through the builds `HttpStatusPush` reports.
//!
//! With credentials, it logs in as Buildbot's own web UI does (`GET /auth/login` with HTTP
//! Basic, for `UserPasswordAuth` or `HTPasswdAuth`) and sends the session cookie it gets; a
//! refused call logs in again once. Buildbot 4 has no ping and no clean shutdown in its API:
//! those are refused as unsupported. It also reads the master's builders and workers (what
//! `HttpStatusPush` does not report), for the server to follow them.

use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::rest::BuildbotRest;
use crate::domain::model::{BuildKey, Builder, Worker};
use crate::ports::{ControlError, ForceRequest, ForceScheduler, Forced, MasterControl};

/// A Buildbot 4 master to command.
pub struct BuildbotControl {
    /// The master's web root, ending in `/` (`http://buildbot:8010/`).
    root: String,
    credentials: Option<(String, String)>,
    http: reqwest::Client,
    /// The session cookie of the last login (`name=value`).
    cookie: Mutex<Option<String>>,
}

impl std::fmt::Debug for BuildbotControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = self.credentials.as_ref().map(|(u, _)| u.as_str());
        f.debug_struct("BuildbotControl").field("root", &self.root).field("user", &user).finish()
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> ControlError {
    ControlError::Failed(format!("Buildbot: {what}: {e}"))
}

fn segment(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

impl BuildbotControl {
    /// The master whose web root is `url`, logging in as `credentials` (user, password).
    pub fn new(url: &str, credentials: Option<(String, String)>) -> Result<Self, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("'{url}': not an http:// or https:// URL"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let root = format!("{}/", url.trim_end_matches('/'));
        Ok(Self { root, credentials, http, cookie: Mutex::new(None) })
    }

    /// Logs in and keeps the session cookie (nothing without credentials).
    async fn login(&self) -> Result<Option<String>, ControlError> {
        let Some((user, password)) = &self.credentials else { return Ok(None) };
        let url = format!("{}auth/login", self.root);
        let answer = self.http.get(&url).basic_auth(user, Some(password)).send().await;
        let answer = answer.map_err(|e| failed("cannot log in", e))?;
        let status = answer.status();
        if status.is_client_error() || status.is_server_error() {
            return Err(ControlError::Refused(format!("Buildbot refused the login of '{user}' ({status})")));
        }
        let cookies: Vec<String> = (answer.headers().get_all(reqwest::header::SET_COOKIE).iter())
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        if cookies.is_empty() {
            return Err(ControlError::Refused(format!("Buildbot's login of '{user}' gave no session")));
        }
        let cookie = cookies.join("; ");
        *self.cookie.lock().await = Some(cookie.clone());
        Ok(Some(cookie))
    }

    /// The session cookie, logging in first if there is none yet.
    async fn session(&self) -> Result<Option<String>, ControlError> {
        let kept = self.cookie.lock().await.clone();
        match kept {
            Some(cookie) => Ok(Some(cookie)),
            None => self.login().await,
        }
    }

    /// Sends one request (`body`: a JSON-RPC call, else a GET), logging in again once when the
    /// master answers 401 or 403.
    async fn send(&self, path: &str, body: Option<&Value>) -> Result<(reqwest::StatusCode, Value), ControlError> {
        let url = format!("{}api/v2{path}", self.root);
        let mut cookie = self.session().await?;
        for attempt in 0..2 {
            let request = match body {
                Some(body) => self.http.post(&url).json(body),
                None => self.http.get(&url).header("Accept", "application/json"),
            };
            let request = match &cookie {
                Some(c) => request.header(reqwest::header::COOKIE, c),
                None => request,
            };
            let answer = request.send().await.map_err(|e| failed(&format!("cannot reach {url}"), e))?;
            let status = answer.status();
            let denied = status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN;
            if denied && attempt == 0 && self.credentials.is_some() {
                cookie = self.login().await?;
                continue;
            }
            let text = answer.text().await.map_err(|e| failed(&url, e))?;
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Ok((status, value));
        }
        Err(ControlError::Refused(format!("Buildbot refused {url} after a new login")))
    }

    /// Calls control `method` of `path` with `params`; the JSON-RPC result.
    async fn call(&self, path: &str, method: &str, params: Value) -> Result<Value, ControlError> {
        let body = json!({ "jsonrpc": "2.0", "method": method, "id": 1, "params": params });
        let (status, reply) = self.send(path, Some(&body)).await?;
        if let Some(error) = reply.get("error") {
            let message = error.get("message").map_or_else(
                || error.to_string(),
                |m| match m {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            );
            return Err(ControlError::Refused(format!("Buildbot: {message}")));
        }
        if !status.is_success() {
            return Err(ControlError::Refused(format!("Buildbot answered {status} to {method} {path}: {reply}")));
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }

    /// GETs `path`; the list under `key`.
    async fn list(&self, path: &str, key: &str) -> Result<Vec<Value>, ControlError> {
        let (status, mut reply) = self.send(path, None).await?;
        if !status.is_success() {
            return Err(ControlError::Failed(format!("Buildbot answered {status} to {path}")));
        }
        match reply.get_mut(key).map(Value::take) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(ControlError::Failed(format!("Buildbot: no '{key}' list in the answer to {path}"))),
        }
    }

    /// The master's builders, each with the workers configured for it.
    pub async fn builders(&self) -> Result<Vec<Builder>, ControlError> {
        let builders = self.list("/builders", "builders").await?;
        let workers = self.list("/workers", "workers").await?;
        let configured = |id: &Value| -> Vec<String> {
            (workers.iter())
                .filter(|w| w["configured_on"].as_array().is_some_and(|on| on.iter().any(|c| c["builderid"] == *id)))
                .filter_map(|w| w["name"].as_str().map(str::to_owned))
                .collect()
        };
        Ok(builders
            .iter()
            .filter_map(|b| {
                Some(Builder {
                    name: b["name"].as_str()?.to_owned(),
                    description: b["description"].as_str().map(str::to_owned),
                    tags: b["tags"]
                        .as_array()
                        .map_or_else(Vec::new, |t| t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()),
                    workers: configured(&b["builderid"]),
                })
            })
            .collect())
    }

    /// The master's workers: as they describe themselves, connected or not, paused or not.
    pub async fn workers(&self) -> Result<Vec<Worker>, ControlError> {
        let workers = self.list("/workers", "workers").await?;
        Ok(workers
            .iter()
            .filter_map(|w| {
                let info = |key: &str| w["workerinfo"][key].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
                Some(Worker {
                    name: w["name"].as_str()?.to_owned(),
                    connected: w["connected_to"].as_array().is_some_and(|c| !c.is_empty()),
                    paused: w["paused"].as_bool().unwrap_or(false),
                    admin: info("admin"),
                    host: info("host"),
                    version: info("version"),
                    access_uri: info("access_uri"),
                    ..Worker::default()
                })
            })
            .collect())
    }

    /// What `HttpStatusPush` would report of build `number` of `builder` now (its start or, once
    /// complete, its finish), if the master has it: for a finish the reporter did not send
    /// (its default leaves out cancelled builds).
    pub async fn report(&self, builder: &str, number: u32) -> Result<Option<Value>, ControlError> {
        let rest = BuildbotRest::new(&format!("{}api/v2", self.root))
            .map_err(|e| failed("REST API", e))?
            .with_cookie(self.session().await?);
        let builders = rest.builders().await.map_err(|e| failed("builders", e))?;
        let Some((id, name)) = builders.into_iter().find(|(_, name)| name == builder) else { return Ok(None) };
        let after = number.checked_sub(1);
        let builds = rest.builds_after(id, after).await.map_err(|e| failed("builds", e))?;
        let Some(build) = builds.into_iter().find(|b| b.number == number) else { return Ok(None) };
        rest.report(build, id, &name).await.map(Some).map_err(|e| failed("build", e))
    }

    /// The Buildbot id of build `number` of `builder`.
    async fn build_id(&self, builder: &str, number: u32) -> Result<u64, ControlError> {
        let path = format!("/builders/{}/builds/{number}", segment(builder));
        let builds = self.list(&path, "builds").await?;
        builds
            .first()
            .and_then(|b| b["buildid"].as_u64())
            .ok_or_else(|| ControlError::Refused(format!("Buildbot has no build #{number} of builder '{builder}'")))
    }
}

/// `[bsid, {builderid: brid, …}]`, what force and rebuild answer.
fn forced(result: &Value) -> Forced {
    let buildset = result.get(0).and_then(Value::as_u64);
    let requests = result.get(1).and_then(Value::as_object).map(|m| m.values().filter_map(Value::as_u64).collect());
    Forced { buildset, requests: requests.unwrap_or_default() }
}

/// The codebases of a force scheduler's fields: the prefix of each `branch` field.
fn codebases(fields: &[Value], found: &mut Vec<String>) {
    for field in fields {
        let full = field["fullName"].as_str().unwrap_or_default();
        if field["name"] == "branch"
            && let Some(prefix) = full.strip_suffix("branch")
        {
            found.push(prefix.trim_end_matches('_').to_owned());
        }
        if let Some(children) = field["fields"].as_array() {
            codebases(children, found);
        }
    }
}

#[async_trait]
impl MasterControl for BuildbotControl {
    async fn force_schedulers(&self) -> Vec<ForceScheduler> {
        let listed = match self.list("/forceschedulers", "forceschedulers").await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!("the force schedulers of {} could not be read: {e}", self.root);
                return Vec::new();
            }
        };
        (listed.iter())
            .filter(|s| s["enabled"].as_bool() != Some(false))
            .filter_map(|s| {
                let text = |key: &str| s[key].as_str().unwrap_or_default().to_owned();
                let builders = s["builder_names"].as_array()?.iter().filter_map(|b| b.as_str().map(str::to_owned));
                let mut found = Vec::new();
                codebases(s["all_fields"].as_array().map_or(&[][..], Vec::as_slice), &mut found);
                Some(ForceScheduler {
                    name: s["name"].as_str()?.to_owned(),
                    label: text("label"),
                    button_name: Some(text("button_name")).filter(|b| !b.is_empty()).unwrap_or("Force Build".into()),
                    builders: builders.collect(),
                    codebases: found,
                })
            })
            .collect()
    }

    async fn force(&self, request: ForceRequest) -> Result<Forced, ControlError> {
        let mut params = serde_json::Map::new();
        params.insert("builderNames".into(), json!(request.builders));
        // Buildbot names the owner itself (the user this adapter logs in as): the reason keeps who asked here.
        params.insert(
            "reason".into(),
            json!(format!("{} (forced through buildstatus by {})", request.reason, request.owner)),
        );
        params.insert("username".into(), json!(request.owner));
        for stamp in &request.sourcestamps {
            let field = |name: &str| ForceScheduler::field(&stamp.codebase, name);
            params.insert(field("branch"), json!(stamp.branch.clone().unwrap_or_default()));
            params.insert(field("revision"), json!(stamp.revision.clone().unwrap_or_default()));
            params.insert(field("repository"), json!(stamp.repository));
            params.insert(field("project"), json!(stamp.project));
        }
        let path = format!("/forceschedulers/{}", segment(&request.scheduler));
        self.call(&path, "force", Value::Object(params)).await.map(|r| forced(&r))
    }

    async fn rebuild(&self, original: &BuildKey, _request: ForceRequest) -> Result<Forced, ControlError> {
        let id = self.build_id(&original.builder, original.number).await?;
        self.call(&format!("/builds/{id}"), "rebuild", json!({})).await.map(|r| forced(&r))
    }

    async fn stop_build(&self, builder: &str, number: u32, reason: &str) -> Result<(), ControlError> {
        let id = self.build_id(builder, number).await?;
        self.call(&format!("/builds/{id}"), "stop", json!({ "reason": reason })).await.map(drop)
    }

    async fn cancel_request(&self, request_id: u64) -> Result<(), ControlError> {
        let params = json!({ "reason": "cancelled through buildstatus" });
        self.call(&format!("/buildrequests/{request_id}"), "cancel", params).await.map(drop)
    }

    async fn pause_worker(&self, worker: &str, paused: bool) -> Result<(), ControlError> {
        let method = if paused { "pause" } else { "unpause" };
        let params = json!({ "reason": format!("{method}d through buildstatus") });
        self.call(&format!("/workers/{}", segment(worker)), method, params).await.map(drop)
    }

    async fn shutdown_worker(&self, worker: &str) -> Result<(), ControlError> {
        let params = json!({ "reason": "graceful shutdown asked through buildstatus" });
        self.call(&format!("/workers/{}", segment(worker)), "stop", params).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_answers_name_the_buildset_and_requests() {
        let f = forced(&json!([12, { "3": 40 }]));
        assert_eq!(f, Forced { buildset: Some(12), requests: vec![40] });
        assert_eq!(forced(&Value::Null), Forced::default());
    }

    #[test]
    fn codebases_are_the_prefixes_of_branch_fields() {
        let fields = json!([
            { "name": "reason", "fullName": "reason" },
            { "name": "", "fullName": "", "fields": [{ "name": "branch", "fullName": "branch" }] },
            { "name": "lib", "fullName": "lib", "fields": [{ "name": "branch", "fullName": "lib_branch" }] }
        ]);
        let mut found = Vec::new();
        codebases(fields.as_array().expect("list"), &mut found);
        assert_eq!(found, ["", "lib"]);
    }

    #[test]
    fn only_web_urls_are_masters() {
        assert!(BuildbotControl::new("ftp://x", None).is_err());
        let c = BuildbotControl::new("http://127.0.0.1:8010", Some(("u".into(), "secret".into()))).expect("valid");
        assert_eq!(c.root, "http://127.0.0.1:8010/");
        assert!(!format!("{c:?}").contains("secret"), "the password is never shown");
    }
}
