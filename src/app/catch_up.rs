//! `buildstatus catch-up-buildbot`: after buildstatus was down, fetches from a Buildbot
//! master's REST API the builds it missed and posts them to the running server's
//! `/api/v1/buildbot`, exactly as `HttpStatusPush` would have. The reports carry the same ids
//! as the reporter's, so what the reporter delivered meanwhile is acknowledged, not doubled.

use std::fmt::Write as _;

use serde_json::Value;

use super::send;
use crate::adapters::buildbot_rest::BuildbotRest;

/// What a catch-up did.
#[derive(Debug, Default)]
pub struct CaughtUp {
    pub applied: u64,
    pub repeated: u64,
    /// Reports refused, and why.
    pub refused: Vec<String>,
}

impl std::fmt::Display for CaughtUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "caught up with Buildbot: {} events applied, {} already here", self.applied, self.repeated)?;
        let mut refused = String::new();
        for why in &self.refused {
            let _ = writeln!(refused, "  refused: {why}");
        }
        f.write_str(&refused)
    }
}

/// The number of the first build buildstatus at `url` may miss for `builder`: the oldest it
/// has running (its finish may have been missed), else the one after its newest.
async fn first_missing(client: &reqwest::Client, url: &str, builder: &str) -> Result<Option<u32>, String> {
    let encoded = percent_encoding::utf8_percent_encode(builder, percent_encoding::NON_ALPHANUMERIC);
    let answer = client
        .get(format!("{}/json/builders/{encoded}", url.trim_end_matches('/')))
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if answer.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let json: Value = answer.json().await.map_err(|e| format!("{url}: {e}"))?;
    let numbers = |key: &str| -> Vec<u32> {
        json[key].as_array().into_iter().flatten().filter_map(|n| u32::try_from(n.as_u64()?).ok()).collect()
    };
    Ok(numbers("currentBuilds").into_iter().min().or_else(|| numbers("cachedBuilds").into_iter().max().map(|n| n + 1)))
}

/// Posts every build `api` has above what `url` has, builder by builder, oldest first.
pub async fn catch_up(api: &str, url: &str, token: &str) -> Result<CaughtUp, String> {
    let buildbot = BuildbotRest::new(api).map_err(|e| e.to_string())?;
    let mut done = CaughtUp::default();
    let client = reqwest::Client::new();
    for (id, name) in buildbot.builders().await.map_err(|e| e.to_string())? {
        let first = first_missing(&client, url, &name).await?;
        let after = first.and_then(|n| n.checked_sub(1));
        for report in buildbot.reports_after(id, &name, after).await.map_err(|e| e.to_string())? {
            let number = report["number"].as_u64().unwrap_or_default();
            match send::post_to(&client, url, "/api/v1/buildbot", token, &report).await {
                Ok(answer) => {
                    let answer: Value = serde_json::from_str(&answer).unwrap_or_default();
                    done.applied += answer["applied"].as_u64().unwrap_or_default();
                    done.repeated += answer["repeated"].as_u64().unwrap_or_default();
                }
                Err(why) if why.status == Some(reqwest::StatusCode::CONFLICT) => {
                    done.refused.push(format!("{name} #{number}: {why}"));
                }
                Err(why) => return Err(why.to_string()),
            }
        }
    }
    Ok(done)
}
