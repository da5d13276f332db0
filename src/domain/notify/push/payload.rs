//! Each event's payload (spec-notify-5 §5.1.2's table): the objects of `/json`
//! (`domain::machine::json`), under 0.8's keys, so a receiver sees the shapes `/json` serves.
//! The app reads the objects; these functions only put them together.

use serde_json::{Map, Value, json};

use super::events::EventName;
use super::packet::Draft;
use crate::domain::machine::json::{self, BuilderFacts};
use crate::domain::model::{
    Build, BuildRequest, Builder, BuilderState, Buildset, Change, Property, Step, Timestamp, Worker,
};
use crate::domain::web::layout::Site;

/// `start` and `shutdown`: the master's `{title, titleURL, buildbotURL}`.
pub fn status(event: EventName, site: &Site) -> Draft {
    Draft::new(event, [("status", json::project(site))])
}

/// `builderAdded`: the builder's name and object.
pub fn builder_added(builder: &Builder, facts: &BuilderFacts) -> Draft {
    Draft::new(
        EventName::BuilderAdded,
        [("builderName", json!(builder.name)), ("builder", json::builder(builder, facts))],
    )
}

/// `builderChangedState`: the name and the state (`offline`, `idle`, `building`).
pub fn builder_state(name: &str, state: BuilderState) -> Draft {
    Draft::new(EventName::BuilderChangedState, [("builderName", json!(name)), ("state", json!(state.name()))])
}

/// `buildedRemoved` (0.8's spelling) or `builderRemoved`: the name.
pub fn builder_removed(event: EventName, name: &str) -> Draft {
    Draft::new(event, [("builderName", json!(name))])
}

/// `requestSubmitted`: the request's object (with its source stamp and properties, which
/// 0.8's synchronous form left empty).
pub fn request_submitted(request: &BuildRequest, changes: &[Change]) -> Draft {
    Draft::new(EventName::RequestSubmitted, [("request", json::build_request(request, changes))])
}

/// `requestCancelled` (0.8's `builder`, `request`): the builder's object when it is still
/// configured, and what is known of the request.
pub fn request_cancelled(builder: &str, object: Option<Value>, request: u64) -> Draft {
    Draft::new(
        EventName::RequestCancelled,
        [
            ("builderName", json!(builder)),
            ("builder", object.unwrap_or(Value::Null)),
            ("request", json!({"brid": request, "builderName": builder})),
        ],
    )
}

/// `buildsetSubmitted`: the buildset's object.
pub fn buildset_submitted(buildset: &Buildset, changes: &[Change]) -> Draft {
    Draft::new(EventName::BuildsetSubmitted, [("buildset", json::buildset(buildset, changes))])
}

/// `buildStarted` and `buildFinished`: the build's object.
pub fn build(event: EventName, site: &Site, build: &Build, changes: &[Change], now: Timestamp) -> Draft {
    Draft::new(event, [("build", json::build(site, build, changes, now))])
}

/// `stepStarted`, `stepFinished`, `logStarted`, `logFinished`: the build's properties and the
/// step's object; `stepTextChanged` adds `text`, `stepText2Changed` `text2`.
///
/// A step's object does not name its build: 0.8's receivers told it by the properties every
/// 0.8 build had, `buildername`, `buildnumber` and `slavename`, which are added here when the
/// sender did not set them.
pub fn step(event: EventName, site: &Site, build: &Build, step: &Step, now: Timestamp) -> Draft {
    let mut properties = build.properties.clone();
    for (name, value, source) in [
        ("buildername", json!(build.builder), "Builder"),
        ("buildnumber", json!(build.number), "Build"),
        ("slavename", json!(build.worker), "BuildSlave"),
    ] {
        properties.entry(name.to_owned()).or_insert_with(|| Property { value, source: source.to_owned() });
    }
    let mut draft = Draft::new(
        event,
        [("properties", json::properties(&properties)), ("step", json::step(site, build, step, now))],
    );
    match event {
        EventName::StepTextChanged => {
            draft.payload.insert("text".into(), json!(step.text));
        }
        EventName::StepText2Changed => {
            draft.payload.insert("text2".into(), json!(step.text2));
        }
        _ => {}
    }
    draft
}

/// `changeAdded`: the change's object.
pub fn change_added(change: &Change) -> Draft {
    Draft::new(EventName::ChangeAdded, [("change", json::change(change))])
}

/// `slaveConnected`: the worker's object (under 0.8's key `slave`), running nothing yet;
/// `builders` maps each builder it serves to its recent builds there, as `/json` does.
pub fn slave_connected(worker: &Worker, builders: Map<String, Value>) -> Draft {
    // The event's worker is what the master reported; that it is connected is the event.
    let worker = Worker { connected: true, ..worker.clone() };
    Draft::new(EventName::SlaveConnected, [("slave", json::worker(&worker, &[], builders))])
}

/// `slaveDisconnected`, `slavePaused`, `slaveUnpaused`: the name alone (key `slavename`).
pub fn slave_name(event: EventName, name: &str) -> Draft {
    Draft::new(event, [("slavename", json!(name))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::SourceStamp;
    use crate::domain::result::BuildResult;

    fn at(second: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_433_161_000 + second, 0).expect("time")
    }

    fn finished_build() -> Build {
        let step = Step {
            number: 0,
            name: "compile".into(),
            text: vec!["compile".into()],
            result: Some(BuildResult::Success),
            started: Some(at(0)),
            finished: Some(at(10)),
            ..Step::default()
        };
        let mut properties = crate::domain::model::Properties::new();
        properties.insert("branch".into(), Property { value: json!("master"), source: "Build".into() });
        Build {
            builder: "linux".into(),
            number: 0,
            reason: "forced".into(),
            properties,
            sourcestamps: vec![SourceStamp { branch: Some("master".into()), ..SourceStamp::default() }],
            blamelist: vec!["Alice <a@x>".into()],
            worker: "slave1".into(),
            started: at(0),
            finished: Some(at(20)),
            result: Some(BuildResult::Success),
            text: vec!["build".into(), "successful".into()],
            steps: vec![step],
            ..Build::default()
        }
    }

    /// The keys of the spec's table, with `/json`'s objects under them.
    #[test]
    fn payloads_have_the_keys_of_the_spec_table() {
        let site = Site::default();
        let build = finished_build();
        let keys = |d: &Draft| d.payload.keys().cloned().collect::<Vec<_>>();
        let finished = super::build(EventName::BuildFinished, &site, &build, &[], at(30));
        assert_eq!(keys(&finished), ["build"]);
        assert_eq!(finished.payload["build"]["results"], json!(0), "SUCCESS is 0, and kept");
        assert_eq!(finished.payload["build"]["number"], json!(0));
        let step = super::step(EventName::StepFinished, &site, &build, &build.steps[0], at(30));
        assert_eq!(keys(&step), ["properties", "step"]);
        assert_eq!(
            step.payload["properties"],
            json!([
                ["branch", "master", "Build"],
                ["buildername", "linux", "Builder"],
                ["buildnumber", 0, "Build"],
                ["slavename", "slave1", "BuildSlave"]
            ]),
            "the build's properties, with those that name the build"
        );
        assert_eq!(step.payload["step"]["results"], json!([0, []]));
        let text2 = super::step(EventName::StepText2Changed, &site, &build, &build.steps[0], at(30));
        assert_eq!(keys(&text2), ["properties", "step", "text2"]);
        assert_eq!(keys(&slave_name(EventName::SlavePaused, "w")), ["slavename"]);
        let worker = Worker { name: "w".into(), ..Worker::default() };
        let connected = slave_connected(&worker, Map::new());
        assert_eq!(
            (connected.payload["slave"]["name"].clone(), connected.payload["slave"]["connected"].clone()),
            (json!("w"), json!(true))
        );
        assert_eq!(keys(&status(EventName::Start, &site)), ["status"]);
        assert_eq!(
            status(EventName::Shutdown, &site).payload["status"],
            json!({"title": "Buildbot", "titleURL": "http://buildbot.net", "buildbotURL": "http://localhost:8010/"})
        );
    }

    #[test]
    fn a_buildset_is_0_8s_row_with_its_stamps() {
        let buildset = Buildset {
            id: 7,
            reason: "scheduler".into(),
            external_id: None,
            submitted_at: at(0),
            sourcestamps: vec![SourceStamp::default()],
            builders: vec!["linux".into()],
            complete_at: None,
            result: None,
        };
        let value = &buildset_submitted(&buildset, &[]).payload["buildset"];
        assert_eq!(value["bsid"], json!(7));
        assert_eq!(value["submitted_at"], json!("2015-06-01 12:16:40+00:00"));
        assert_eq!((value["complete"].clone(), value["results"].clone()), (json!(false), json!(-1)));
        assert_eq!(value["builderNames"], json!(["linux"]));
    }
}
