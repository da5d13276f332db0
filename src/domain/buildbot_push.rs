//! What Buildbot 4's `HttpStatusPush` reporter posts, by default: the build as its data API
//! has it (with `builder`, `buildset` and `properties`), once when the build starts
//! (`complete: false`) and once when it finishes. This turns such a body into our events,
//! each with an id made from builder and number, so that a repeated or re-sent report is
//! acknowledged and not applied twice (through the same receipts as `/api/v1/events`).
//!
//! A finish report also carries the start: when the start was missed (buildstatus was down),
//! the build is started and finished at once. Its properties are the build's final ones
//! (`got_revision` appears only once the checkout ran): its finish carries them, so a build
//! whose start was reported ends with them too. The start claims the build's request
//! (`buildrequestid`), which then leaves the builder's queue.

use serde_json::Value;

use super::event::StatusEvent;
use super::ingest::{IngestError, Posted};
use super::model::{Build, Property, SourceStamp, Timestamp};
use super::result::BuildResult;

fn bad(field: &str, message: &str) -> IngestError {
    IngestError { index: Some(0), field: Some(field.to_owned()), message: message.to_owned() }
}

fn epoch(body: &Value, field: &str) -> Result<Timestamp, IngestError> {
    let seconds = body[field].as_f64().ok_or_else(|| bad(field, "expected seconds since the epoch"))?;
    super::hooks::json::epoch(seconds).ok_or_else(|| bad(field, "not a representable time"))
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The events a report stands for.
pub fn parse(body: &[u8]) -> Result<Vec<Posted>, IngestError> {
    let body: Value = serde_json::from_slice(body).map_err(|e| IngestError {
        index: None,
        field: None,
        message: format!("not valid JSON: {e}"),
    })?;
    let builder = body["builder"]["name"].as_str().ok_or_else(|| bad("builder.name", "expected the builder's name"))?;
    let number = body["number"].as_u64().and_then(|n| u32::try_from(n).ok());
    let number = number.ok_or_else(|| bad("number", "expected the build number"))?;
    let complete = body["complete"].as_bool().ok_or_else(|| bad("complete", "expected true or false"))?;
    let mut properties = std::collections::BTreeMap::new();
    if let Some(map) = body["properties"].as_object() {
        for (name, pair) in map {
            let (value, source) = match pair.as_array().map(Vec::as_slice) {
                Some([value, source]) => (value.clone(), source.as_str().unwrap_or_default().to_owned()),
                _ => (pair.clone(), String::new()),
            };
            properties.insert(name.clone(), Property { value, source });
        }
    }
    let sourcestamps = body["buildset"]["sourcestamps"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|ss| SourceStamp {
                    codebase: text(&ss["codebase"]).unwrap_or_default(),
                    repository: text(&ss["repository"]).unwrap_or_default(),
                    project: text(&ss["project"]).unwrap_or_default(),
                    branch: text(&ss["branch"]),
                    revision: text(&ss["revision"]),
                    changes: Vec::new(),
                    patch: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let worker = properties.get("workername").and_then(|p| p.value.as_str()).unwrap_or_default().to_owned();
    // A finish report's properties are the build's final ones: its finish carries them too,
    // since its start was applied (and is skipped as a repeat) when the start was reported.
    let final_properties = if complete { properties.clone() } else { Default::default() };
    let build = Build {
        builder: builder.to_owned(),
        number,
        reason: text(&body["buildset"]["reason"]).unwrap_or_default(),
        properties,
        sourcestamps,
        blamelist: Vec::new(),
        worker,
        started: epoch(&body, "started_at")?,
        finished: None,
        result: None,
        text: Vec::new(),
        steps: Vec::new(),
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    };
    let id = |what: &str| format!("buildbot:{builder}#{number}:{what}");
    // The request the build claimed leaves the queue (an imported one keeps Buildbot's id).
    let requests = body["buildrequestid"].as_u64().into_iter().collect();
    let mut events = vec![Posted { id: id("started"), event: StatusEvent::BuildStarted { build, requests } }];
    if complete {
        let result = body["results"].as_i64().and_then(BuildResult::from_code).unwrap_or(BuildResult::Exception);
        let text = text(&body["state_string"]).into_iter().collect();
        let at = epoch(&body, "complete_at")?;
        let properties = final_properties;
        let finished = StatusEvent::BuildFinished { builder: builder.to_owned(), number, result, text, at, properties };
        events.push(Posted { id: id("finished"), event: finished });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTED: &str = r#"{"buildid": 1, "number": 4, "buildrequestid": 12, "started_at": 1795617240, "complete_at": null,
        "complete": false, "state_string": "starting", "results": null,
        "properties": {"workername": ["w1", "Worker"], "buildnumber": [4, "Build"]},
        "buildset": {"reason": "The Periodic scheduler named 'often' triggered this build",
                     "sourcestamps": [{"branch": "main", "revision": null, "project": "", "repository": "r", "codebase": ""}]},
        "builder": {"builderid": 1, "name": "tiny", "tags": []}}"#;

    #[test]
    fn a_start_report_starts_the_build_and_a_finish_report_finishes_it() {
        let events = parse(STARTED.as_bytes()).expect("valid");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, "buildbot:tiny#4:started");
        let StatusEvent::BuildStarted { build, requests } = &events[0].event else { panic!("{events:?}") };
        assert_eq!((build.builder.as_str(), build.number, build.worker.as_str()), ("tiny", 4, "w1"));
        assert_eq!(requests, &[12], "the build claimed its request");
        assert_eq!(build.branch(), Some("main"));
        assert_eq!(build.started.timestamp(), 1_795_617_240);
        let finished = STARTED
            .replace("\"complete\": false", "\"complete\": true")
            .replace("\"complete_at\": null", "\"complete_at\": 1795617242.5")
            .replace("\"results\": null", "\"results\": 2")
            .replace("starting", "failed hello");
        let events = parse(finished.as_bytes()).expect("valid");
        assert_eq!(
            events.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["buildbot:tiny#4:started", "buildbot:tiny#4:finished"]
        );
        let StatusEvent::BuildFinished { result, text, at, properties, .. } = &events[1].event else {
            panic!("{events:?}")
        };
        assert_eq!(
            (*result, text.as_slice(), at.timestamp_millis()),
            (BuildResult::Failure, &["failed hello".to_owned()][..], 1_795_617_242_500)
        );
        assert_eq!(
            properties.keys().collect::<Vec<_>>(),
            ["buildnumber", "workername"],
            "the finish carries the report's properties, the build's final ones"
        );
        // A property set while the build ran reaches the finish, whose start was applied before.
        let with_revision = finished.replace(
            r#""buildnumber": [4, "Build"]"#,
            r#""buildnumber": [4, "Build"], "got_revision": ["4f3c2a1", "Git"]"#,
        );
        let events = parse(with_revision.as_bytes()).expect("valid");
        let StatusEvent::BuildFinished { properties, .. } = &events[1].event else { panic!("{events:?}") };
        let got = &properties["got_revision"];
        assert_eq!((got.value.as_str(), got.source.as_str()), (Some("4f3c2a1"), "Git"));
        assert_eq!(properties.len(), 3, "{properties:?}");
    }

    #[test]
    fn a_report_without_what_is_needed_names_the_field() {
        let e = parse(STARTED.replace("\"number\": 4,", "").as_bytes()).expect_err("no number");
        assert_eq!(e.field.as_deref(), Some("number"));
        let e = parse(br#"{"number": 1}"#).expect_err("no builder");
        assert_eq!(e.field.as_deref(), Some("builder.name"));
        assert!(parse(b"[").expect_err("json").message.starts_with("not valid JSON"));
    }
}
