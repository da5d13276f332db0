//! Property test: no request — any bytes, any headers, any query, a real payload cut short or
//! with bytes changed, any JSON document — makes a hook parser panic. Each gets an answer:
//! changes, "ignored", or an error that says what is wrong.

use std::collections::BTreeMap;

use buildstatus::domain::hooks::{
    self, BitbucketOptions, Dialect, GithubOptions, GitlabOptions, GooglecodeOptions, HookError, HookOutcome,
    HookRequest, HookSettings, PollerOptions,
};
use proptest::prelude::*;
use serde_json::Value;

fn dialects() -> Vec<Dialect> {
    let secret = || Some("s".to_owned());
    vec![
        Dialect::Base,
        Dialect::Github(GithubOptions::default()),
        Dialect::Github(GithubOptions { secret: secret(), strict: true, allow_sha1: true, codebase: None }),
        Dialect::Gitlab(GitlabOptions::default()),
        Dialect::Gitlab(GitlabOptions { secret: secret() }),
        Dialect::Bitbucket(BitbucketOptions::default()),
        Dialect::Bitbucket(BitbucketOptions { secret: secret() }),
        Dialect::Gitorious,
        Dialect::Googlecode(GooglecodeOptions::default()),
        Dialect::Googlecode(GooglecodeOptions { secret_key: secret(), branch: "b".into() }),
        Dialect::Poller(PollerOptions::default()),
        Dialect::Poller(PollerOptions { allowed: Some(vec!["a".into()]) }),
    ]
}

const FIXTURES: [&str; 11] = [
    include_str!("../../fixtures/hooks/github-push.json"),
    include_str!("../../fixtures/hooks/github-tag.json"),
    include_str!("../../fixtures/hooks/github-pull-request.json"),
    include_str!("../../fixtures/hooks/gitlab-push.json"),
    include_str!("../../fixtures/hooks/gitlab-tag.json"),
    include_str!("../../fixtures/hooks/bitbucket-cloud-push.json"),
    include_str!("../../fixtures/hooks/bitbucket-server-push.json"),
    include_str!("../../fixtures/hooks/bitbucket-legacy.json"),
    include_str!("../../fixtures/hooks/gitorious.json"),
    include_str!("../../fixtures/hooks/googlecode.json"),
    include_str!("../../fixtures/hooks/bench-github-push.json"),
];

const CONTENT_TYPES: [&str; 5] =
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain", ""];

const EVENTS: [(&str, &str); 8] = [
    ("X-GitHub-Event", "push"),
    ("X-GitHub-Event", "pull_request"),
    ("X-GitHub-Event", "ping"),
    ("X-Gitlab-Event", "Tag Push Hook"),
    ("X-Event-Key", "repo:push"),
    ("X-Event-Key", "repo:refs_changed"),
    ("X-Hub-Signature-256", "sha256=00ff"),
    ("Google-Code-Project-Hosting-Hook-Hmac", "zz"),
];

/// Runs every dialect on one request; the result must be a well-formed answer.
fn every_dialect(content_type: &str, extra: &[(String, String)], query: &str, body: &[u8]) {
    let settings = HookSettings { dialects: BTreeMap::new(), ..HookSettings::default() };
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    headers.extend_from_slice(extra);
    for method in ["POST", "GET"] {
        let request = HookRequest { method, headers: &headers, query, body, now: Default::default() };
        for dialect in dialects() {
            match hooks::parse(&settings, &dialect, &request, &["a".to_owned()]) {
                Ok(HookOutcome::Changes(changes)) => assert!(!changes.is_empty()),
                Ok(HookOutcome::Ignored(why)) => assert!(!why.is_empty()),
                Ok(HookOutcome::Poll(_)) => assert!(matches!(dialect, Dialect::Poller(_))),
                Err(HookError::BadRequest(why) | HookError::Forbidden(why)) => assert!(!why.is_empty()),
                Err(HookError::Method(m)) => panic!("{m} is a hook method"),
            }
        }
    }
}

fn headers_from(events: &[usize]) -> Vec<(String, String)> {
    events.iter().map(|i| EVENTS[i % EVENTS.len()]).map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9/:. -]{0,12}".prop_map(Value::String),
        prop_oneof![Just("refs/heads/main"), Just("refs/tags/v1"), Just("2026-11-20T10:00:00Z")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    let keys = prop_oneof![
        Just("ref"),
        Just("commits"),
        Just("repository"),
        Just("author"),
        Just("timestamp"),
        Just("id"),
        Just("push"),
        Just("changes"),
        Just("new"),
        Just("revisions"),
        Just("name"),
        Just("url"),
        Just("x"),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(
        body in prop::collection::vec(any::<u8>(), 0..400),
        content_type in 0..CONTENT_TYPES.len(),
        events in prop::collection::vec(0..EVENTS.len(), 0..3),
        query in "[a-z=&%+0-9]{0,30}",
    ) {
        every_dialect(CONTENT_TYPES[content_type], &headers_from(&events), &query, &body);
    }

    #[test]
    fn real_payloads_cut_or_changed(
        fixture in 0..FIXTURES.len(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        events in prop::collection::vec(0..EVENTS.len(), 1..3),
    ) {
        let mut body = FIXTURES[fixture].as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        body.truncate(cut.index(body.len() + 1));
        every_dialect("application/json", &headers_from(&events), "", &body);
        let form = format!("payload={}", String::from_utf8_lossy(&body));
        every_dialect("application/x-www-form-urlencoded", &headers_from(&events), "project=p", form.as_bytes());
    }

    #[test]
    fn any_json_document(value in json_value(), events in prop::collection::vec(0..EVENTS.len(), 1..3)) {
        let body = serde_json::to_vec(&value).unwrap_or_default();
        every_dialect("application/json", &headers_from(&events), "", &body);
    }

    #[test]
    fn any_multipart_body(
        parts in prop::collection::vec(("[a-z\"]{0,6}", prop::collection::vec(any::<u8>(), 0..30)), 0..4),
        tail in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let mut body = Vec::new();
        for (name, value) in parts {
            body.extend_from_slice(format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
            body.extend_from_slice(&value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&tail);
        every_dialect("multipart/form-data; boundary=b", &[], "", &body);
    }
}

#[test]
fn every_fixture_is_accepted_by_its_own_dialect() {
    // The property tests' starting points are real: each fixture yields changes as it is.
    let settings = HookSettings::default();
    let cases: [(usize, Dialect, &str, (&str, &str)); 4] = [
        (0, Dialect::Github(GithubOptions::default()), "application/json", ("X-GitHub-Event", "push")),
        (3, Dialect::Gitlab(GitlabOptions::default()), "application/json", ("X-Gitlab-Event", "Push Hook")),
        (6, Dialect::Bitbucket(BitbucketOptions::default()), "application/json", ("X-Event-Key", "repo:refs_changed")),
        (10, Dialect::Github(GithubOptions::default()), "application/json", ("X-GitHub-Event", "push")),
    ];
    for (fixture, dialect, content_type, event) in cases {
        let headers =
            vec![("Content-Type".to_owned(), content_type.to_owned()), (event.0.to_owned(), event.1.to_owned())];
        let request = HookRequest {
            method: "POST",
            headers: &headers,
            query: "",
            body: FIXTURES[fixture].as_bytes(),
            now: Default::default(),
        };
        let outcome = hooks::parse(&settings, &dialect, &request, &[]);
        assert!(matches!(outcome, Ok(HookOutcome::Changes(_))), "fixture {fixture}: {outcome:?}");
    }
}
