use serde_json::json;

use super::*;
use crate::domain::model::{Properties, Property, SourceStamp};
use crate::domain::notify::verdict::{Busy, ChangeBuild, Failed, Shortfall};

const SHA: &str = "4f3c2a1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";

fn build(revision: Option<&str>, properties: &[(&str, Value)]) -> Build {
    let properties: Properties = properties
        .iter()
        .map(|(n, v)| ((*n).to_owned(), Property { value: v.clone(), source: "test".into() }))
        .collect();
    Build {
        builder: "linux".into(),
        number: 7,
        properties,
        sourcestamps: vec![SourceStamp { revision: revision.map(str::to_owned), ..SourceStamp::default() }],
        blamelist: Vec::new(),
        worker: "w1".into(),
        started: chrono::DateTime::from_timestamp(0, 0).expect("time"),
        text: Vec::new(),
        steps: Vec::new(),
        ..Build::default()
    }
}

fn rules() -> GitHubRules {
    let template = |t: &str| Interpolate::parse(t).expect("template");
    GitHubRules::new("gh", template("%(prop:github_repo_owner)s"), template("%(prop:github_repo_name)s"))
}

fn linux() -> Builder {
    Builder { name: "linux".into(), tags: vec!["fast".into()], ..Builder::default() }
}

fn repo_props() -> Vec<(&'static str, Value)> {
    vec![("github_repo_owner", json!("buildbot")), ("github_repo_name", json!("bbtools"))]
}

fn sent(decision: Decision) -> CommitStatus {
    match decision {
        Decision::Send(status) => status,
        other => panic!("expected a status, got {other:?}"),
    }
}

#[test]
fn a_build_is_pending_when_it_starts_and_its_results_state_when_it_ends() {
    let (rules, site) = (rules(), Site::default());
    let b = build(Some(SHA), &repo_props());
    let start = sent(decide(&rules, &linux(), &b, Moment::Started, &site));
    assert_eq!(
        start,
        CommitStatus {
            owner: "buildbot".into(),
            repo: "bbtools".into(),
            sha: SHA.into(),
            state: State::Pending,
            target_url: Some("http://localhost:8010/builders/linux/builds/7".into()),
            description: "Build started.".into(),
            context: "buildbot/linux".into(),
        }
    );
    assert_eq!(
        start.body(),
        json!({"state": "pending", "target_url": "http://localhost:8010/builders/linux/builds/7",
               "description": "Build started.", "context": "buildbot/linux"})
    );
    for (result, state) in [
        (BuildResult::Success, State::Success),
        (BuildResult::Warnings, State::Success),
        (BuildResult::Failure, State::Failure),
        (BuildResult::Skipped, State::Success),
        (BuildResult::Exception, State::Error),
        (BuildResult::Retry, State::Pending),
        (BuildResult::Cancelled, State::Error),
    ] {
        let end = sent(decide(&rules, &linux(), &b, Moment::Finished(result), &site));
        assert_eq!((end.state, end.description.as_str()), (state, "Build done."), "{result:?}");
        assert_eq!(end.key(), start.key(), "one key per sha and context");
    }
    assert_ne!(message_id(&b, Moment::Started), message_id(&b, Moment::Finished(BuildResult::Success)));
}

#[test]
fn the_state_map_can_be_changed_and_a_result_left_unreported() {
    let mut rules = rules();
    rules.states.set(BuildResult::Warnings, Some(State::Failure));
    rules.states.set(BuildResult::Skipped, None);
    let b = build(Some(SHA), &repo_props());
    let site = Site::default();
    assert_eq!(
        sent(decide(&rules, &linux(), &b, Moment::Finished(BuildResult::Warnings), &site)).state,
        State::Failure
    );
    assert!(matches!(decide(&rules, &linux(), &b, Moment::Finished(BuildResult::Skipped), &site), Decision::Skip(_)));
}

#[test]
fn renderables_context_and_descriptions_are_rendered_and_cut_to_140_characters() {
    let mut rules = rules();
    let template = |t: &str| Interpolate::parse(t).expect("template");
    rules.sha = Some(template("%(prop:pr_head)s"));
    rules.context = template("ci/%(kw:builder)s/%(prop:flavour)s");
    rules.end_description = template("%(kw:result)s: %(prop:long)s");
    let long = "é".repeat(200);
    let mut props = repo_props();
    props.extend([("pr_head", json!(SHA.to_uppercase())), ("flavour", json!("debug")), ("long", json!(long))]);
    let b = build(None, &props);
    let end = sent(decide(&rules, &linux(), &b, Moment::Finished(BuildResult::Failure), &Site::default()));
    assert_eq!(end.context, "ci/linux/debug");
    assert_eq!(end.sha, SHA, "written in lower case");
    assert_eq!(end.description.chars().count(), MAX_DESCRIPTION);
    assert!(end.description.starts_with("failure: éé") && end.description.ends_with('…'), "{}", end.description);
}

#[test]
fn a_build_of_the_latest_revision_reports_what_it_got() {
    let (rules, site) = (rules(), Site::default());
    let mut props = repo_props();
    props.push(("got_revision", json!(SHA)));
    let end = sent(decide(&rules, &linux(), &build(None, &props), Moment::Finished(BuildResult::Success), &site));
    assert_eq!(end.sha, SHA);
    // Without either, nothing is sent (the seed's "No revision found").
    assert!(matches!(decide(&rules, &linux(), &build(None, &repo_props()), Moment::Started, &site), Decision::Skip(_)));
}

#[test]
fn empty_names_are_skipped_and_malformed_ones_refused_in_words() {
    let site = Site::default();
    let rules = rules();
    assert!(matches!(decide(&rules, &linux(), &build(Some(SHA), &[]), Moment::Started, &site), Decision::Skip(_)));
    let refused = |props: &[(&str, Value)], revision: &str| match decide(
        &rules,
        &linux(),
        &build(Some(revision), props),
        Moment::Started,
        &site,
    ) {
        Decision::Refuse(why) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(&repo_props(), "HEAD~1"), "sha 'HEAD~1' is not a commit SHA (40 or 64 hexadecimal digits)");
    let evil = [("github_repo_owner", json!("../../orgs")), ("github_repo_name", json!("x"))];
    assert!(refused(&evil, SHA).starts_with("repoOwner '../../orgs' is not"));
    let evil = [("github_repo_owner", json!("ann")), ("github_repo_name", json!("a/b?c"))];
    assert!(refused(&evil, SHA).starts_with("repoName 'a/b?c' is not"));
}

#[test]
fn builders_and_tags_filter_what_is_reported() {
    let mut rules = rules();
    rules.filter.tags = Some(vec!["slow".into()]);
    let b = build(Some(SHA), &repo_props());
    assert!(matches!(decide(&rules, &linux(), &b, Moment::Started, &Site::default()), Decision::Skip(_)));
    rules.filter.tags = Some(vec!["fast".into()]);
    assert!(matches!(decide(&rules, &linux(), &b, Moment::Started, &Site::default()), Decision::Send(_)));
}

#[test]
fn the_summary_status_shares_the_commit_and_has_a_context_of_its_own() {
    let mut rules = rules();
    let b = build(Some(SHA), &repo_props());
    let verdict = Verdict::Failure {
        failed: vec![Failed { builder: "win".into(), number: Some(3), why: Shortfall::Result(BuildResult::Failure) }],
    };
    let place = place(&rules, &b).expect("valid").expect("a place");
    assert_eq!(summary_status(&rules, &place, &verdict, None), None, "only when the target asks for it");
    rules.summary = Some(SummaryRules::default());
    let status = summary_status(&rules, &place, &verdict, Some("http://x/".into())).expect("a summary");
    assert_eq!((status.state, status.context.as_str()), (State::Failure, "buildstatus/summary"));
    assert_eq!(status.description, "Failed: win (failure)");
    let pending = Verdict::Pending { busy: vec![Busy { builder: "win".into(), number: Some(4) }] };
    let again = summary_status(&rules, &place, &pending, None).expect("a summary");
    assert_eq!(again.key(), status.key());
    assert_ne!(summary_id(&again, &pending), summary_id(&status, &verdict));
    let mut running = b.clone();
    running.properties.insert("got_revision".into(), Property { value: json!(SHA), source: "Git".into() });
    assert_eq!(
        change_build(&running),
        ChangeBuild { builder: "linux".into(), number: 7, built: Some(SHA.into()), result: None }
    );
}
