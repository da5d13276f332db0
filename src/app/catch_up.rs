//! `buildstatus catch-up-buildbot`: after buildstatus was down, fetches from a Buildbot
//! master's REST API the builds it missed and posts them to the running server's
//! `/api/v1/buildbot`, exactly as `HttpStatusPush` would have. The reports carry the same ids
//! as the reporter's, so what the reporter delivered meanwhile is acknowledged, not doubled.
//!
//! What the server has comes from its `/json`: each builder's running builds, and the numbers
//! of the builds it stores (`/json/builders/NAME/builds`, the newest 10,000), read only for
//! the builders both sides have. Missed builds are the numbers above its newest, the running
//! ones (their finish may have been missed), and the gaps below its newest (builds that ran
//! while it was down, after which the reporter delivered a newer one). A gap can no longer be added
//! (a builder's build numbers only grow): it is posted all the same, and listed as refused
//! with the server's reason, so the operator learns what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::adapters::buildbot::rest::BuildbotRest;
use crate::adapters::status_client::StatusClient;

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

/// What the server has of one builder: the numbers its `/json` lists (the builds it stores,
/// the newest 10,000, and the running ones), and which of them are running.
#[derive(Debug, Default)]
struct Here {
    listed: BTreeSet<u32>,
    running: BTreeSet<u32>,
}

impl Here {
    fn newest(&self) -> Option<u32> {
        self.listed.last().copied()
    }

    /// The first number below the newest that is missing from the listed window.
    fn first_gap(&self) -> Option<u32> {
        let listed: Vec<u32> = self.listed.iter().copied().collect();
        listed.windows(2).find(|pair| pair[1] - pair[0] > 1).map(|pair| pair[0] + 1)
    }

    /// The number the REST API is asked for builds above (`None`: all of them), or nothing to
    /// ask for when no build can be missing (the newest is the highest number there is).
    fn ask_after(&self) -> Option<Option<u32>> {
        let Some(newest) = self.newest() else { return Some(None) };
        let first =
            [self.first_gap(), self.running.first().copied(), newest.checked_add(1)].into_iter().flatten().min()?;
        Some(first.checked_sub(1))
    }

    /// Whether build `number` may be missing here: not a finished build the server has, nor
    /// older than everything it lists (history it never had, not a gap).
    fn misses(&self, number: u32) -> bool {
        match self.listed.first() {
            None => true,
            Some(lowest) => number >= *lowest && (!self.listed.contains(&number) || self.running.contains(&number)),
        }
    }

    /// Whether `number` is a gap: below the newest build here, and not here.
    fn is_gap(&self, number: u32) -> bool {
        self.newest().is_some_and(|newest| number < newest) && !self.listed.contains(&number)
    }
}

/// Every builder the server at `url` has, with its running builds, from its `/json/builders`.
/// A 404 there is a server whose `/json` is turned off: without it nothing tells what it
/// has, and catching up would post every build again.
async fn builders_here(client: &StatusClient) -> Result<BTreeMap<String, BTreeSet<u32>>, String> {
    let endpoint = client.endpoint("/json/builders");
    let Some(json) = client.get_json("/json/builders").await.map_err(|e| e.to_string())? else {
        return Err(format!(
            "{endpoint} answered 404: catching up reads what the server has from its /json API; \
             enable it (provide_feeds must include \"json\")"
        ));
    };
    let builders = json.as_object().ok_or_else(|| format!("{endpoint}: not an object of builders"))?;
    let running = |builder: &Value| -> Result<BTreeSet<u32>, String> {
        let list = builder.get("currentBuilds").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let number = |n: &Value| n.as_u64().and_then(|n| u32::try_from(n).ok());
        list.iter()
            .map(|n| number(n).ok_or_else(|| format!("{endpoint}: currentBuilds holds {n}, not a build number")))
            .collect()
    };
    builders.iter().map(|(name, builder)| Ok((name.clone(), running(builder)?))).collect()
}

impl Here {
    /// What the server at `url` has of `builder`, whose running builds are `running`: the
    /// numbers of the builds it stores (its `/json/builders/NAME/builds` names them, the newest
    /// 10,000, `cachedBuilds` among them), so a gap far below the newest is seen too.
    async fn read(client: &StatusClient, builder: &str, running: BTreeSet<u32>) -> Result<Self, String> {
        let name = percent_encoding::utf8_percent_encode(builder, percent_encoding::NON_ALPHANUMERIC);
        let path = format!("/json/builders/{name}/builds");
        let endpoint = client.endpoint(&path);
        let json = client.get_json(&path).await.map_err(|e| e.to_string())?;
        let json = json.ok_or_else(|| format!("{endpoint} answered 404"))?;
        let builds = json.as_object().ok_or_else(|| format!("{endpoint}: not an object of build numbers"))?;
        let mut listed = running.clone();
        for k in builds.keys() {
            listed.insert(k.parse::<u32>().map_err(|_| format!("{endpoint}: '{k}' is not a build number"))?);
        }
        Ok(Self { listed, running })
    }
}

/// Posts every build `api` has that `url` misses, builder by builder, oldest first.
pub async fn catch_up(api: &str, url: &str, token: &str) -> Result<CaughtUp, String> {
    let buildbot = BuildbotRest::new(api).map_err(|e| e.to_string())?;
    let mut done = CaughtUp::default();
    let client = StatusClient::new(url, token).map_err(|e| e.to_string())?;
    let here = builders_here(&client).await?;
    for (id, name) in buildbot.builders().await.map_err(|e| e.to_string())? {
        // Read only for the builders both sides have.
        let known = match here.get(&name) {
            Some(running) => Here::read(&client, &name, running.clone()).await?,
            None => Here::default(),
        };
        let Some(after) = known.ask_after() else { continue };
        for build in buildbot.builds_after(id, after).await.map_err(|e| e.to_string())? {
            let number = build.number;
            if !known.misses(number) {
                continue;
            }
            let report = buildbot.report(build, id, &name).await.map_err(|e| e.to_string())?;
            match client.post_buildbot_report(&report).await {
                Ok(answer) => {
                    let answer: Value =
                        serde_json::from_str(&answer).map_err(|e| format!("{url}: {name} #{number}: {e}: {answer}"))?;
                    done.applied += answer["applied"].as_u64().unwrap_or_default();
                    done.repeated += answer["repeated"].as_u64().unwrap_or_default();
                }
                Err(why) if why.is_conflict() => {
                    let newest = known.newest().unwrap_or_default();
                    let note = match known.is_gap(number) {
                        true => format!(
                            "it ran while buildstatus was away, but #{newest} is newer here and a \
                             builder's build numbers only grow, so it cannot be added; "
                        ),
                        false => String::new(),
                    };
                    done.refused.push(format!("{name} #{number}: {note}{why}"));
                }
                Err(why) => return Err(why.to_string()),
            }
        }
    }
    Ok(done)
}
