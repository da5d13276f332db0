use serde_json::json;

use super::*;

fn build(result: Option<BuildResult>) -> Build {
    serde_json::from_value(json!({
        "builder": "linux", "number": 7, "started": "2025-01-01T00:00:00Z",
        "text": ["build", "successful"], "result": result,
        "properties": {"branch": {"value": "main", "source": "test"}}
    }))
    .expect("build")
}

fn args<'a>(build: &'a Build, result: Option<BuildResult>, arg: &'a Value) -> BuildArgs<'a> {
    BuildArgs { builder: "linux", build, result, build_url: Some("http://bb/builders/linux/builds/7".into()), arg }
}

#[test]
fn the_default_review_is_the_seeds() {
    let (b, arg) = (build(Some(BuildResult::Failure)), Value::Null);
    let review = BuildCallback::Default.review(&args(&b, Some(BuildResult::Failure), &arg)).expect("ok");
    assert_eq!(
        review,
        Some(Review::new(
            "Buildbot finished compiling your patchset\non configuration: linux\nThe result is: FAILURE\n",
            &[("Verified", -1)]
        ))
    );
    let retried = BuildCallback::Default.review(&args(&b, Some(BuildResult::Retry), &arg)).expect("ok");
    assert_eq!(retried, None, "a build that will be retried says nothing");
}

#[test]
fn the_default_summary_is_the_seeds() {
    let builds = [
        BuildInfo {
            name: "linux".into(),
            result: 0,
            result_text: result_text(BuildResult::Success),
            text: "build successful".into(),
            url: Some("http://bb/builders/linux/builds/7".into()),
        },
        BuildInfo {
            name: "win".into(),
            result: 2,
            result_text: result_text(BuildResult::Failure),
            text: "failed compile".into(),
            url: None,
        },
    ];
    let arg = Value::Null;
    let summary = SummaryArgs { builds: &builds, result: BuildResult::Failure, arg: &arg };
    let review = SummaryCallback::Default.review(&summary).expect("ok").expect("a review");
    assert_eq!(
        review.message.as_deref(),
        Some(
            "Builder linux succeeded (build successful) - http://bb/builders/linux/builds/7\n\nBuilder win failed (failed compile)."
        )
    );
    assert_eq!(review.labels, BTreeMap::from([("Verified".to_owned(), -1)]));
    assert_eq!(result_text(BuildResult::Skipped), "completed with unknown result 3");
    assert_eq!(result_text(BuildResult::Retry), "completed with unknown result 5");
    let passing = SummaryArgs { builds: &builds[..1], result: BuildResult::Success, arg: &arg };
    let review = SummaryCallback::Default.review(&passing).expect("ok").expect("a review");
    assert_eq!(review.labels["Verified"], 1);
}

#[test]
fn closures_may_return_any_of_the_seeds_shapes() {
    let (b, arg) = (build(None), json!("http://bb/"));
    let start: BuildFn = Arc::new(|a: &BuildArgs| {
        Reply::Text(format!("Buildbot started compiling your patchset\non configuration: {}\n{}", a.builder, a.arg))
    });
    let review = BuildCallback::Closure(start).review(&args(&b, None, &arg)).expect("ok").expect("a review");
    assert_eq!(
        review.message.as_deref(),
        Some("Buildbot started compiling your patchset\non configuration: linux\n\"http://bb/\"")
    );
    assert!(review.labels.is_empty());
    let legacy: BuildFn = Arc::new(|_: &BuildArgs| Reply::from((Some("done".to_owned()), 1, 0)));
    let review = BuildCallback::Closure(legacy).review(&args(&b, None, &arg)).expect("ok").expect("a review");
    assert_eq!(review.labels, BTreeMap::from([("Code-Review".to_owned(), 0), ("Verified".to_owned(), 1)]));
}

#[test]
fn templates_give_the_message_votes_and_when_to_post() {
    let labels = vec![
        ("Verified".to_owned(), "{{ 1 if result == 'success' else -1 }}".to_owned()),
        ("Code-Review".to_owned(), "{% if arg.review %}{{ arg.review }}{% endif %}".to_owned()),
    ];
    let template = ReviewTemplate::new(
        "{{ builder }} #{{ build.number }} on {{ properties.branch }}: {{ result|upper }} ({{ text }}) {{ build_url }}",
        &labels,
        Some("result != 'retry'"),
    )
    .expect("compiles");
    let callback = BuildCallback::Template(Arc::new(template));
    let b = build(Some(BuildResult::Success));
    let arg = json!({"review": null});
    let review = callback.review(&args(&b, Some(BuildResult::Success), &arg)).expect("ok").expect("a review");
    assert_eq!(
        review.message.as_deref(),
        Some("linux #7 on main: SUCCESS (build successful) http://bb/builders/linux/builds/7")
    );
    assert_eq!(review.labels, BTreeMap::from([("Verified".to_owned(), 1)]), "an empty vote leaves the label out");
    assert_eq!(callback.review(&args(&b, Some(BuildResult::Retry), &arg)).expect("ok"), None);
}

#[test]
fn template_mistakes_are_named() {
    assert!(ReviewTemplate::new("{% if %}", &[], None).unwrap_err().starts_with("message: "));
    let bad_label = [("Verified".to_owned(), "{{".to_owned())];
    assert!(ReviewTemplate::new("x", &bad_label, None).unwrap_err().starts_with("labels.Verified: "));
    let bad_name = [("Ver ified".to_owned(), "1".to_owned())];
    assert!(ReviewTemplate::new("x", &bad_name, None).unwrap_err().contains("not a Gerrit label name"));
    let not_a_number = [("Verified".to_owned(), "{{ result }}".to_owned())];
    let callback = BuildCallback::Template(Arc::new(ReviewTemplate::new("x", &not_a_number, None).expect("ok")));
    let (b, arg) = (build(None), Value::Null);
    let error = callback.review(&args(&b, Some(BuildResult::Failure), &arg)).unwrap_err();
    assert_eq!(error, "labels.Verified: 'failure' is not a whole number");
    let typo = BuildCallback::Template(Arc::new(ReviewTemplate::new("{{ buidler }}", &[], None).expect("ok")));
    assert!(typo.review(&args(&b, None, &arg)).unwrap_err().starts_with("message: "));
}
