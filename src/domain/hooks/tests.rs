//! Every dialect on realistic payloads (several commits, unicode authors, renamed and deleted
//! files, tags, deleted branches), and the signature rules with correct, wrong, missing and
//! truncated signatures.

use chrono::{DateTime, Utc};

use super::verify::{Algorithm, hmac_hex};
use super::*;

/// A payload of `tests/fixtures/hooks/`, compiled in (the domain does no I/O, not even in tests).
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hooks/", $name)).to_vec()
    };
}

fn now() -> Timestamp {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a time")
}

fn time(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
}

fn run_with(
    settings: &HookSettings,
    dialect: &Dialect,
    method: &str,
    headers: &[(&str, &str)],
    query: &str,
    body: &[u8],
) -> Result<HookOutcome, HookError> {
    let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    let request = HookRequest { method, headers: &headers, query, body, now: now() };
    parse(settings, dialect, &request, &["widget".to_owned(), "docs".to_owned()])
}

fn run(dialect: &Dialect, headers: &[(&str, &str)], query: &str, body: &[u8]) -> Result<HookOutcome, HookError> {
    run_with(&HookSettings::default(), dialect, "POST", headers, query, body)
}

fn changes(outcome: Result<HookOutcome, HookError>) -> Vec<NewChange> {
    match outcome {
        Ok(HookOutcome::Changes(c)) => c,
        other => panic!("expected changes, got {other:?}"),
    }
}

fn ignored(outcome: Result<HookOutcome, HookError>) -> String {
    match outcome {
        Ok(HookOutcome::Ignored(why)) => why,
        other => panic!("expected an ignored request, got {other:?}"),
    }
}

fn github() -> Dialect {
    Dialect::Github(GithubOptions::default())
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const PUSH: (&str, &str) = ("X-GitHub-Event", "push");

#[test]
fn a_github_push_gives_one_change_per_new_commit() {
    let c = changes(run(&github(), &[JSON, PUSH], "", &fixture!("github-push.json")));
    assert_eq!(c.len(), 2, "the commit with distinct=false is not new");
    assert_eq!(c[0].who, "Zoë Ångström <zoe@example.org>");
    assert_eq!(c[0].files, ["src/parser.rs", "src/lib.rs", "src/util.rs"], "added, modified, removed");
    assert_eq!(c[0].comments, "Rename the parser module\n\nIt was called util, which said nothing.");
    assert_eq!(c[0].revision.as_deref(), Some("c441029cf673f84c8b7db52d0a5944ee5c52ff89"));
    assert_eq!(c[0].when, time("2026-11-20T08:57:02Z"));
    assert_eq!(c[0].branch.as_deref(), Some("feature/ünïcode"));
    assert_eq!(c[0].category, None);
    assert_eq!(
        c[0].revlink.as_deref(),
        Some("https://github.com/octo-org/widget/commit/c441029cf673f84c8b7db52d0a5944ee5c52ff89")
    );
    assert_eq!(c[0].repository, "https://github.com/octo-org/widget");
    assert_eq!(c[0].project, "octo-org/widget");
    assert_eq!(c[1].who, "李小龙 <li@example.cn>");
    assert_eq!(c[1].files, ["tests/fixtures/old-1.json", "tests/fixtures/old-2.json"]);
}

#[test]
fn the_url_sets_project_and_codebase_and_the_form_field_works_like_a_body() {
    let body = fixture!("github-push.json");
    let form = format!(
        "payload={}",
        percent_encoding::utf8_percent_encode(&String::from_utf8_lossy(&body), percent_encoding::NON_ALPHANUMERIC)
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), PUSH];
    let c = changes(run(&github(), &headers, "project=widget&codebase=main-cb", form.as_bytes()));
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].project, "widget");
    assert_eq!(c[0].codebase, "main-cb");
    assert_eq!(c[1].who, "李小龙 <li@example.cn>", "unicode survives form encoding");
    let options = GithubOptions { codebase: Some("from-config".into()), ..GithubOptions::default() };
    let c = changes(run(&Dialect::Github(options), &[JSON, PUSH], "", &body));
    assert_eq!(c[0].codebase, "from-config");
}

#[test]
fn tags_branch_deletions_ping_and_pull_requests() {
    let c = changes(run(&github(), &[JSON, PUSH], "", &fixture!("github-tag.json")));
    assert_eq!(c.len(), 1, "a tag push without commits is its head commit");
    assert_eq!(c[0].branch.as_deref(), Some("v2.0.0"));
    assert_eq!(c[0].category.as_deref(), Some("tag"));
    assert_eq!(c[0].comments, "Release 2.0.0");
    let why = ignored(run(&github(), &[JSON, PUSH], "", &fixture!("github-delete.json")));
    assert_eq!(why, "'refs/heads/old-feature' was deleted");
    let why = ignored(run(&github(), &[JSON, ("X-GitHub-Event", "ping")], "", b"{\"zen\": \"Keep it simple.\"}"));
    assert_eq!(why, "ping received");
    let why = ignored(run(&github(), &[JSON, ("X-GitHub-Event", "issues")], "", b"{}"));
    assert_eq!(why, "event 'issues' ignored");
    let pr =
        changes(run(&github(), &[JSON, ("X-GitHub-Event", "pull_request")], "", &fixture!("github-pull-request.json")));
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].branch.as_deref(), Some("refs/pull/42/head"));
    assert_eq!(pr[0].revision.as_deref(), Some("aaaabbbbccccddddeeeeffff0000111122223333"));
    assert_eq!(pr[0].category.as_deref(), Some("pull"));
    assert_eq!(pr[0].who, "zoe");
    assert_eq!(pr[0].comments, "GitHub Pull Request #42 (3 commits)\nFaster parser");
    assert_eq!(pr[0].repository, "https://github.com/octo-org/widget.git");
}

#[test]
fn bad_github_requests_say_what_is_wrong() {
    let no_event = run(&github(), &[JSON], "", b"{}");
    assert_eq!(no_event, Err(HookError::BadRequest("the request has no X-GitHub-Event header".into())));
    let garbage = run(&github(), &[JSON, PUSH], "", b"{\"ref\": ");
    assert!(
        matches!(&garbage, Err(HookError::BadRequest(m)) if m.starts_with("malformed JSON payload")),
        "{garbage:?}"
    );
    let missing = run(&github(), &[JSON, PUSH], "", br#"{"ref": "refs/heads/main", "commits": [{"id": "x"}]}"#);
    assert_eq!(missing, Err(HookError::BadRequest("payload has no 'repository'".into())));
    let body =
        br#"{"ref": "refs/heads/main", "repository": {"url": "u"}, "commits": [{"id": "x", "author": {"name": "a"}}]}"#;
    assert_eq!(
        run(&github(), &[JSON, PUSH], "", body),
        Err(HookError::BadRequest("payload has no 'commits[0].timestamp'".into()))
    );
    let xml = run(&github(), &[("Content-Type", "text/xml"), PUSH], "", b"<push/>");
    assert_eq!(
        xml,
        Err(HookError::BadRequest(
            "unknown content type 'text/xml': send application/json or application/x-www-form-urlencoded".into()
        ))
    );
    let charset =
        run(&github(), &[("Content-Type", "application/json; charset=utf-8"), PUSH], "", &fixture!("github-push.json"));
    assert_eq!(changes(charset).len(), 2, "parameters of the media type do not matter");
    assert_eq!(
        run_with(&HookSettings::default(), &github(), "PUT", &[JSON, PUSH], "", b"{}"),
        Err(HookError::Method("PUT".into()))
    );
}

fn signed(secret: &str) -> Dialect {
    Dialect::Github(GithubOptions { secret: Some(secret.into()), strict: true, ..GithubOptions::default() })
}

#[test]
fn github_signatures_are_checked() {
    let body = fixture!("github-push.json");
    let good = format!("sha256={}", hmac_hex(Algorithm::Sha256, b"s3cret", &body));
    let sig = |v: &str| ("X-Hub-Signature-256", v.to_owned());
    let with = |h: &(&str, String)| run(&signed("s3cret"), &[JSON, PUSH, (h.0, h.1.as_str())], "", &body);
    assert_eq!(changes(with(&sig(&good))).len(), 2);
    let forbidden = |r: Result<HookOutcome, HookError>| matches!(r, Err(HookError::Forbidden(_)));
    assert!(forbidden(with(&sig(&good[..good.len() - 1]))), "truncated");
    assert!(forbidden(with(&sig(&good[..good.len() - 2]))), "truncated by a byte");
    assert!(forbidden(with(&sig(&format!("sha256={}", hmac_hex(Algorithm::Sha256, b"wrong", &body))))), "wrong key");
    assert!(forbidden(with(&sig(good.trim_start_matches("sha256=")))), "no algorithm");
    assert!(forbidden(with(&sig("sha256="))), "empty");
    let mut tampered = body.clone();
    tampered[20] ^= 1;
    let r = run(&signed("s3cret"), &[JSON, PUSH, ("X-Hub-Signature-256", good.as_str())], "", &tampered);
    assert!(forbidden(r), "the body was changed");
    assert_eq!(
        run(&signed("s3cret"), &[JSON, PUSH], "", &body),
        Err(HookError::Forbidden("the request has no X-Hub-Signature-256 signature".into())),
        "strict: unsigned requests are refused"
    );
    let sha1 = format!("sha1={}", hmac_hex(Algorithm::Sha1, b"s3cret", &body));
    let r = run(&signed("s3cret"), &[JSON, PUSH, ("X-Hub-Signature", sha1.as_str())], "", &body);
    assert!(forbidden(r), "SHA-1 only when allowed");
    let allow_sha1 = Dialect::Github(GithubOptions {
        secret: Some("s3cret".into()),
        strict: true,
        allow_sha1: true,
        codebase: None,
    });
    assert_eq!(changes(run(&allow_sha1, &[JSON, PUSH, ("X-Hub-Signature", sha1.as_str())], "", &body)).len(), 2);
    let bad_sha1 = format!("sha1={}", hmac_hex(Algorithm::Sha1, b"nope", &body));
    assert!(forbidden(run(&allow_sha1, &[JSON, PUSH, ("X-Hub-Signature", bad_sha1.as_str())], "", &body)));
    let lax = Dialect::Github(GithubOptions { secret: Some("s3cret".into()), ..GithubOptions::default() });
    assert_eq!(changes(run(&lax, &[JSON, PUSH], "", &body)).len(), 2, "not strict: unsigned is accepted");
    assert!(
        forbidden(run(&lax, &[JSON, PUSH, ("X-Hub-Signature-256", "sha256=00")], "", &body)),
        "but never a bad one"
    );
}

#[test]
fn the_base_dialect_reads_form_and_query_fields() {
    let body = "author=Ann+Lee+%3Cann%40example.org%3E&files=%5B%22a.c%22%2C%22b%2Fc.h%22%5D&comments=fix%0Athings\
                &revision=abc123&when=1750000000.5&branch=main&category=hot&revlink=http%3A%2F%2Fx%2Fabc123\
                &properties=%7B%22prio%22%3A+3%7D&repository=git%3A%2F%2Fr&project=widget";
    let c = changes(run(
        &Dialect::Base,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "codebase=cb",
        body.as_bytes(),
    ));
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.who, "Ann Lee <ann@example.org>");
    assert_eq!(c.files, ["a.c", "b/c.h"]);
    assert_eq!(c.comments, "fix\nthings");
    assert_eq!(c.revision.as_deref(), Some("abc123"));
    assert_eq!(c.when, DateTime::from_timestamp(1_750_000_000, 500_000_000).expect("a time"));
    assert_eq!((c.branch.as_deref(), c.category.as_deref()), (Some("main"), Some("hot")));
    assert_eq!(c.properties["prio"].value, serde_json::json!(3));
    assert_eq!(c.properties["prio"].source, "Change");
    assert_eq!((c.repository.as_str(), c.project.as_str(), c.codebase.as_str()), ("git://r", "widget", "cb"));
    let plain = changes(run(&Dialect::Base, &[], "who=bob&comments=hi", b""));
    assert_eq!((plain[0].who.as_str(), plain[0].when, plain[0].repository.as_str()), ("bob", now(), ""));
    for (query, problem) in [
        ("files=nope", "argument 'files' is not a JSON list of strings"),
        ("properties=[1]", "argument 'properties' is not a JSON object"),
        ("when=yesterday", "argument 'when': 'yesterday' is not a time in seconds since 1970"),
    ] {
        let r = run(&Dialect::Base, &[], query, b"");
        assert!(matches!(&r, Err(HookError::BadRequest(m)) if m.starts_with(problem)), "{query}: {r:?}");
    }
}

#[test]
fn ci_skip_drops_commits_that_ask_for_it() {
    assert!(says_skip_ci("fixed readme [ci skip]"));
    assert!(says_skip_ci("[Skip CI] docs"));
    assert!(says_skip_ci("docs [ ci  skip ]"));
    assert!(!says_skip_ci("skip ci"));
    assert!(!says_skip_ci("[ci] skip"));
    assert!(!says_skip_ci("[ci skip"));
    let gitlab = Dialect::Gitlab(GitlabOptions::default());
    let c = changes(run(&gitlab, &[], "", &fixture!("gitlab-push.json")));
    assert_eq!(c.len(), 1, "the [ci skip] commit is dropped");
    let keep = HookSettings { skip_ci: false, ..HookSettings::default() };
    let c = changes(run_with(&keep, &gitlab, "POST", &[], "", &fixture!("gitlab-push.json")));
    assert_eq!(c.len(), 2, "unless skip_ci is off");
    let all = run(&Dialect::Base, &[], "comments=wip+%5Bskip+ci%5D", b"");
    assert_eq!(ignored(all), "all 1 change(s) say [ci skip]");
}

#[test]
fn gitlab_pushes_and_tags() {
    let gitlab = Dialect::Gitlab(GitlabOptions::default());
    let c = changes(run(&gitlab, &[("X-Gitlab-Event", "Push Hook")], "codebase=cb", &fixture!("gitlab-push.json")));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].who, "Jordi Mallach <jordi@softcatala.org>");
    assert_eq!(c[0].files, ["CHANGELOG", "app/controller/application.rb"]);
    assert_eq!(c[0].when, time("2011-12-12T12:27:31Z"));
    assert_eq!(c[0].branch.as_deref(), Some("master"));
    assert_eq!(c[0].repository, "git@example.com:mike/diaspora.git");
    assert_eq!(c[0].project, "mike/diaspora");
    assert_eq!(c[0].codebase, "cb");
    let tag = changes(run(&gitlab, &[], "project=ex", &fixture!("gitlab-tag.json")));
    assert_eq!(tag.len(), 1);
    assert_eq!(tag[0].branch.as_deref(), Some("v1.0.0"));
    assert_eq!(tag[0].category.as_deref(), Some("tag"));
    assert_eq!(tag[0].revision.as_deref(), Some("82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"));
    assert_eq!(tag[0].who, "John Smith <john@example.com>");
    assert_eq!(tag[0].project, "ex");
    let mr = run(&gitlab, &[], "", br#"{"object_kind": "merge_request"}"#);
    assert_eq!(ignored(mr), "event 'merge_request' ignored");
    let deleted =
        br#"{"object_kind": "push", "ref": "refs/heads/x", "after": "0000000000000000000000000000000000000000",
        "repository": {"url": "u"}, "commits": []}"#;
    assert_eq!(ignored(run(&gitlab, &[], "", deleted)), "'refs/heads/x' was deleted");
}

#[test]
fn the_gitlab_token_is_checked() {
    let gitlab = Dialect::Gitlab(GitlabOptions { secret: Some("t0ken".into()) });
    let body = fixture!("gitlab-push.json");
    assert_eq!(changes(run(&gitlab, &[("X-Gitlab-Token", "t0ken")], "", &body)).len(), 1);
    for token in ["t0ke", "t0ken!", "", "T0KEN"] {
        let r = run(&gitlab, &[("X-Gitlab-Token", token)], "", &body);
        assert_eq!(r, Err(HookError::Forbidden("X-Gitlab-Token is wrong".into())), "{token}");
    }
    assert_eq!(run(&gitlab, &[], "", &body), Err(HookError::Forbidden("the request has no X-Gitlab-Token".into())));
}

#[test]
fn bitbucket_cloud_server_and_the_old_post_service() {
    let bb = Dialect::Bitbucket(BitbucketOptions::default());
    let c = changes(run(&bb, &[JSON, ("X-Event-Key", "repo:push")], "", &fixture!("bitbucket-cloud-push.json")));
    assert_eq!(c.len(), 2, "the deleted branch gives nothing");
    assert_eq!(c[0].comments, "First: add the thing\n", "oldest first");
    assert_eq!(c[1].revision.as_deref(), Some("e0d0c2041e09746be5ce4b55067d5a8e3098c843"));
    assert_eq!(c[1].who, "Ünal Öztürk <unal@example.org>");
    assert_eq!(c[1].branch.as_deref(), Some("main"));
    assert_eq!(c[1].repository, "https://bitbucket.org/team/widget");
    assert_eq!(c[1].project, "team/widget");
    assert_eq!(
        c[1].revlink.as_deref(),
        Some("https://bitbucket.org/team/widget/commits/e0d0c2041e09746be5ce4b55067d5a8e3098c843")
    );
    let s =
        changes(run(&bb, &[JSON, ("X-Event-Key", "repo:refs_changed")], "", &fixture!("bitbucket-server-push.json")));
    assert_eq!(s.len(), 2, "the deleted ref gives nothing");
    assert_eq!(s[0].who, "Administrator <admin@example.com>");
    assert_eq!(s[0].branch.as_deref(), Some("master"));
    assert_eq!(s[0].revision.as_deref(), Some("178864a7d521b6f5e720b386b2c2b0ef8563e0dc"));
    assert_eq!(s[0].when, time("2026-11-22T01:15:30Z"));
    assert_eq!(s[0].project, "PROJ/repository_1");
    assert_eq!(s[1].category.as_deref(), Some("tag"));
    let legacy = format!(
        "payload={}",
        percent_encoding::utf8_percent_encode(
            &String::from_utf8_lossy(&fixture!("bitbucket-legacy.json")),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let l =
        changes(run(&bb, &[("Content-Type", "application/x-www-form-urlencoded")], "project=px", legacy.as_bytes()));
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].who, "Marcus Bertrand <marcus@somedomain.com>");
    assert_eq!(l[0].files, ["somefile.py", "docs/ß.txt"]);
    assert_eq!(l[0].repository, "https://bitbucket.org/marcus/project-x/");
    assert_eq!(
        l[0].revlink.as_deref(),
        Some("https://bitbucket.org/marcus/project-x/commits/620ade18607ac42d872b568bb92acaa9a28620e9")
    );
    assert_eq!(l[0].project, "px");
    assert_eq!(l[0].when, time("2012-05-30T03:58:56Z"));
    assert_eq!(
        ignored(run(&bb, &[JSON, ("X-Event-Key", "diagnostics:ping")], "", b"{}")),
        "event 'diagnostics:ping' ignored"
    );
}

#[test]
fn the_bitbucket_secret_is_checked() {
    let bb = Dialect::Bitbucket(BitbucketOptions { secret: Some("bbs".into()) });
    let body = fixture!("bitbucket-cloud-push.json");
    let good = format!("sha256={}", hmac_hex(Algorithm::Sha256, b"bbs", &body));
    assert_eq!(changes(run(&bb, &[JSON, ("X-Hub-Signature", good.as_str())], "", &body)).len(), 2);
    assert_eq!(changes(run(&bb, &[JSON], "secret=bbs", &body)).len(), 2);
    let forbidden = |r: Result<HookOutcome, HookError>| matches!(r, Err(HookError::Forbidden(_)));
    assert!(forbidden(run(&bb, &[JSON, ("X-Hub-Signature", &good[..20])], "", &body)));
    assert!(forbidden(run(&bb, &[JSON], "secret=bb", &body)));
    assert!(forbidden(run(&bb, &[JSON], "", &body)));
}

#[test]
fn gitorious_and_googlecode() {
    let form = format!(
        "payload={}",
        percent_encoding::utf8_percent_encode(
            &String::from_utf8_lossy(&fixture!("gitorious.json")),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let g = changes(run(
        &Dialect::Gitorious,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "",
        form.as_bytes(),
    ));
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].who, "jason <jason@nospam.org>");
    assert_eq!(g[0].branch.as_deref(), Some("new_look"), "the ref as sent");
    assert_eq!(g[0].project, "q");
    assert_eq!(g[0].repository, "http://gitorious.org/q/mainline");
    assert!(g[0].files.is_empty());
    assert_eq!(g[0].when, time("2012-01-10T18:02:27Z"));

    let body = fixture!("googlecode.json");
    let options = GooglecodeOptions { secret_key: Some("FSP3p-Ghdn4T0oqX".into()), branch: "master".into() };
    let gc = Dialect::Googlecode(options);
    let mac = hmac_hex(Algorithm::Md5, b"FSP3p-Ghdn4T0oqX", &body);
    let c = changes(run(&gc, &[("Google-Code-Project-Hosting-Hook-Hmac", mac.as_str())], "", &body));
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].revision.as_deref(), Some("1"));
    assert_eq!(c[0].branch.as_deref(), Some("master"));
    assert_eq!(c[0].project, "webhook-test");
    assert_eq!(c[1].files, ["/README", "/a", "/b"], "the union, sorted");
    assert_eq!(c[1].when, DateTime::from_timestamp(1_324_082_200, 500_000_000).expect("a time"));
    let forbidden = |r: Result<HookOutcome, HookError>| matches!(r, Err(HookError::Forbidden(_)));
    assert!(forbidden(run(&gc, &[("google-code-project-hosting-hook-hmac", &mac[..30])], "", &body)));
    assert!(forbidden(run(&gc, &[], "", &body)));
    let open = changes(run(&Dialect::Googlecode(GooglecodeOptions::default()), &[], "", &body));
    assert_eq!(open[0].branch.as_deref(), Some("default"));
}

#[test]
fn the_poller_dialect_names_what_to_poll() {
    let all = Dialect::Poller(PollerOptions::default());
    assert_eq!(run(&all, &[], "", b""), Ok(HookOutcome::Poll(vec!["widget".into(), "docs".into()])));
    assert_eq!(run(&all, &[], "poller=docs", b""), Ok(HookOutcome::Poll(vec!["docs".into()])));
    let multipart = b"--b\r\nContent-Disposition: form-data; name=\"poller\"\r\n\r\nwidget\r\n--b--\r\n";
    let r = run(&all, &[("Content-Type", "multipart/form-data; boundary=b")], "", multipart);
    assert_eq!(r, Ok(HookOutcome::Poll(vec!["widget".into()])), "curl -F poller=widget");
    let only_docs = Dialect::Poller(PollerOptions { allowed: Some(vec!["docs".into()]) });
    assert_eq!(run(&only_docs, &[], "", b""), Ok(HookOutcome::Poll(vec!["docs".into()])));
    assert_eq!(
        run(&only_docs, &[], "poller=docs&poller=widget&poller=nope", b""),
        Err(HookError::BadRequest("Could not find pollers: widget,nope".into()))
    );
}
