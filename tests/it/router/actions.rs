//! Every action × every kind of authz value, through the real router: denied (a redirect to
//! authzfail, the master asked nothing, no form), allowed to everyone, allowed to logged-in
//! users only, and decided by a rule that looks at the builder (the worker, for the worker
//! actions; the user, for actions about nothing). Each case posts the action's form with a
//! valid CSRF token and checks what the master was asked and where the visitor was sent; the
//! form shows on the action's page exactly when the post would be allowed.

use std::sync::Arc;

use crate::common::fixture_server_setup;
use crate::common::web::{Browser, location};
use axum::http::StatusCode;
use buildstatus::adapters::http::{AuthSettings, Login};
use buildstatus::adapters::memory::master::Action as Asked;
use buildstatus::adapters::memory::{MemoryMaster, MemoryUsers};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::auth::{Action, Authz, Rule, Subject};
use buildstatus::domain::control::ForceScheduler;
use buildstatus::domain::model::BuildKey;

/// One action of the seed, as a visitor does it.
struct Case {
    action: Action,
    /// The page that shows its form, and a mark of that form (no page: the spec has no form
    /// for it, scripts post it).
    page: Option<&'static str>,
    form: &'static str,
    /// What is posted, and the fields.
    post: &'static str,
    fields: &'static [(&'static str, &'static str)],
    /// Where a done action sends the visitor (before `?alert_msg=`).
    done: &'static str,
    /// What the master is asked.
    asked: fn(&Asked) -> bool,
    /// The object a rule allows and one it refuses (builder or worker names); `None`: the
    /// action is about nothing, so its rule looks at the user.
    objects: Option<(&'static str, &'static str)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            action: Action::ForceBuild,
            page: Some("/builders/linux"),
            form: "class=\"command_forcebuild\"",
            post: "/builders/linux/force",
            fields: &[("forcescheduler", "force"), ("reason", "check it"), ("branch", "main")],
            done: "../../builders/linux",
            asked: |a| matches!(a, Asked::Force(r) if r.builders == ["linux"] && r.reason == "check it"),
            objects: Some(("linux", "macos")),
        },
        Case {
            action: Action::ForceBuild,
            page: Some("/builders/linux/builds/4"),
            form: "class=\"command_rebuild\"",
            post: "/builders/linux/builds/4/rebuild",
            fields: &[("comments", "again"), ("useSourcestamp", "exact")],
            done: "../../../../builders/linux",
            asked: |a| {
                matches!(a, Asked::Rebuild { original, request }
                    if *original == BuildKey { builder: "linux".into(), number: 4 } && request.reason.ends_with(": again"))
            },
            objects: Some(("linux", "macos")),
        },
        Case {
            action: Action::ForceAllBuilds,
            page: Some("/builders"),
            form: "builders/_all/forceall",
            post: "/builders/_all/forceall",
            fields: &[("forcescheduler", "force")],
            done: "../../builders",
            asked: |a| matches!(a, Asked::Force(r) if r.builders.len() == 3),
            objects: None,
        },
        Case {
            action: Action::PingBuilder,
            page: Some("/builders/linux"),
            form: "class=\"command_ping\"",
            post: "/builders/linux/ping",
            fields: &[],
            done: "../../builders/linux",
            asked: |a| *a == Asked::Ping("linux".into()),
            objects: Some(("linux", "macos")),
        },
        Case {
            action: Action::GracefulShutdown,
            page: Some("/buildslaves/w1"),
            form: "class=\"command_shutdown\"",
            post: "/buildslaves/w1/shutdown",
            fields: &[],
            done: "../../buildslaves/w1",
            asked: |a| *a == Asked::ShutdownWorker("w1".into()),
            objects: Some(("w1", "w2")),
        },
        Case {
            action: Action::PauseSlave,
            page: Some("/buildslaves/w1"),
            form: "class=\"command_pause\"",
            post: "/buildslaves/w1/pause",
            fields: &[],
            done: "../../buildslaves/w1",
            asked: |a| *a == Asked::Pause { worker: "w1".into(), paused: true },
            objects: Some(("w1", "w2")),
        },
        Case {
            action: Action::StopBuild,
            page: Some("/builders/macos/builds/1"),
            form: "class=\"command_stopbuild\"",
            post: "/builders/macos/builds/1/stop",
            fields: &[("comments", "wrong branch")],
            done: "../../../../builders/macos",
            asked: |a| matches!(a, Asked::Stop { builder, number: 1, reason } if builder == "macos" && reason.contains(": wrong branch")),
            objects: Some(("macos", "linux")),
        },
        Case {
            action: Action::StopAllBuilds,
            page: Some("/builders"),
            form: "class=\"command_stopbuilds\"",
            post: "/builders/_all/stopall",
            fields: &[("comments", "all of them")],
            done: "../../",
            asked: |a| matches!(a, Asked::Stop { builder, number: 1, .. } if builder == "macos"),
            objects: None,
        },
        Case {
            action: Action::CancelPendingBuild,
            page: Some("/builders/linux"),
            form: "class=\"command_cancelbuild\"",
            post: "/builders/linux/cancelbuild",
            fields: &[("id", "77")],
            done: "../../builders/linux",
            asked: |a| *a == Asked::Cancel(77),
            objects: Some(("linux", "macos")),
        },
        Case {
            action: Action::CancelAllPendingBuilds,
            page: Some("/builders"),
            form: "class=\"command_cancelpending\"",
            post: "/builders/_all/cancelpendingall",
            fields: &[],
            done: "../../",
            asked: |a| *a == Asked::Cancel(77),
            objects: None,
        },
        Case {
            action: Action::StopChange,
            page: None,
            form: "",
            post: "/builders/macos/stopchange",
            fields: &[("change", "1")],
            done: "../../builders/macos",
            asked: |a| matches!(a, Asked::Stop { builder, number: 1, .. } if builder == "macos"),
            objects: Some(("macos", "linux")),
        },
        Case {
            action: Action::StopChange,
            page: Some("/changes/1"),
            form: "class=\"command_stopchange\"",
            post: "/builders/_all/stopchangeall",
            fields: &[("change", "1")],
            done: "../../",
            asked: |a| matches!(a, Asked::Stop { builder, number: 1, .. } if builder == "macos"),
            objects: None,
        },
        Case {
            action: Action::CleanShutdown,
            page: Some("/"),
            form: "class=\"command_clean_shutdown\"",
            post: "/shutdown",
            fields: &[],
            done: "./",
            asked: |a| *a == Asked::Shutdown { clean: true },
            objects: None,
        },
    ]
}

/// A server with the fixture, users bob and ann (password `pw`), a master offering the
/// `force` scheduler over every builder, and `authz`.
async fn start(authz: Authz) -> (StatusServer, Arc<MemoryMaster>) {
    let builders = vec!["linux".into(), "macos".into(), crate::common::HOSTILE.into()];
    let master = Arc::new(MemoryMaster::with_schedulers(vec![ForceScheduler::new("force", builders)]));
    let auth = AuthSettings {
        authz: Arc::new(authz),
        login: Login::Password(Arc::new(MemoryUsers::new([("bob", "pw"), ("ann", "pw")]))),
        ..AuthSettings::default()
    };
    let setup = Setup { auth, master: Some(master.clone()), ..Setup::default() };
    (fixture_server_setup(setup).await, master)
}

/// Does `case` as the browser's visitor; whether it was done (else: refused), checked both
/// ways: where the visitor is sent and what the master was asked.
async fn attempt(browser: &mut Browser<'_>, master: &MemoryMaster, case: &Case) -> bool {
    let before = master.actions().len();
    let (status, _, headers) = browser.act(case.post, case.fields).await;
    let what = format!("{} {}", case.action, case.post);
    assert_eq!(status, StatusCode::FOUND, "{what}");
    let to = location(&headers).to_owned();
    let asked = master.actions()[before..].to_vec();
    if to.ends_with("authzfail") {
        assert!(asked.is_empty(), "{what}: refused, yet the master was asked {asked:?}");
        return false;
    }
    assert!(to.starts_with(&format!("{}?alert_msg=", case.done)), "{what}: sent to {to}");
    assert!(asked.iter().any(case.asked), "{what}: the master was asked {asked:?}");
    true
}

/// Whether the case's page shows its form to the browser's visitor (`expected` when the
/// action has no form).
async fn shows_form(browser: &mut Browser<'_>, case: &Case, expected: bool) -> bool {
    let Some(path) = case.page else { return expected };
    let (status, page, _) = browser.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    page.contains(case.form)
}

/// The rule of a case: the builder (or worker) it allows, or bob for an action about nothing.
fn rule_for(case: &Case) -> Rule {
    match case.objects {
        Some((allowed, _)) => Rule::check(move |_, subject: &Subject<'_>| {
            subject.builder_name().or(subject.worker_name()) == Some(allowed)
        }),
        None => Rule::check(|user, _| user.user == "bob"),
    }
}

#[tokio::test]
async fn a_denied_action_sends_to_authzfail_asks_nothing_and_shows_no_form() {
    for case in cases() {
        // Everything else is open to logged-in users, so forms and tokens exist.
        let (server, master) =
            start(Authz::builder().default_action(Rule::Authenticated).deny(case.action).build()).await;
        let mut bob = Browser::new(&server);
        bob.login("bob", "pw").await;
        assert!(!shows_form(&mut bob, &case, false).await, "{}: form shown", case.action);
        assert!(!attempt(&mut bob, &master, &case).await, "{}: done although denied", case.action);
    }
}

#[tokio::test]
async fn an_action_allowed_to_everyone_is_done_for_a_visitor_not_logged_in() {
    for case in cases() {
        let (server, master) = start(Authz::builder().allow(case.action).build()).await;
        let mut visitor = Browser::new(&server);
        assert!(shows_form(&mut visitor, &case, true).await, "{}: no form", case.action);
        assert!(attempt(&mut visitor, &master, &case).await, "{}: refused", case.action);
    }
}

#[tokio::test]
async fn an_auth_action_is_done_only_for_a_logged_in_user() {
    for case in cases() {
        let (server, master) = start(Authz::builder().authenticated(case.action).build()).await;
        let mut visitor = Browser::new(&server);
        assert!(!shows_form(&mut visitor, &case, false).await, "{}: form shown to a visitor", case.action);
        assert!(!attempt(&mut visitor, &master, &case).await, "{}: done for a visitor", case.action);
        let mut bob = Browser::new(&server);
        assert_eq!(bob.login("bob", "pw").await.0, StatusCode::FOUND);
        assert!(shows_form(&mut bob, &case, true).await, "{}: no form for bob", case.action);
        assert!(attempt(&mut bob, &master, &case).await, "{}: refused to bob", case.action);
    }
}

#[tokio::test]
async fn a_rule_decides_by_the_builder_worker_or_user_it_is_given() {
    for case in cases() {
        let (server, master) = start(Authz::builder().rule(case.action, rule_for(&case)).build()).await;
        let mut user = Browser::new(&server);
        // A builder or worker rule is asked about the object; ann is any user to it.
        let name = if case.objects.is_some() { "ann" } else { "bob" };
        user.login(name, "pw").await;
        assert!(shows_form(&mut user, &case, true).await, "{}: no form where the rule allows", case.action);
        assert!(attempt(&mut user, &master, &case).await, "{}: refused where the rule allows", case.action);

        // The same rule, given the other object (or ann): refused, no form.
        let Some((allowed, refused)) = case.objects else {
            let mut ann = Browser::new(&server);
            ann.login("ann", "pw").await;
            assert!(!shows_form(&mut ann, &case, false).await, "{}: form shown to ann", case.action);
            assert!(!attempt(&mut ann, &master, &case).await, "{}: done for ann", case.action);
            continue;
        };
        let other = Rule::check(move |_, subject: &Subject<'_>| {
            subject.builder_name().or(subject.worker_name()) == Some(refused)
        });
        let (server, master) = start(Authz::builder().rule(case.action, other).build()).await;
        let mut user = Browser::new(&server);
        user.login("ann", "pw").await;
        assert!(
            !shows_form(&mut user, &case, false).await,
            "{}: form shown where the rule only allows {refused}",
            case.action
        );
        assert!(
            !attempt(&mut user, &master, &case).await,
            "{}: done on {allowed}, allowed {refused} only",
            case.action
        );
    }
}

/// The URLs the matrix does not post: each selected form's and the twins' (all of a builder's
/// pending requests, unpausing, cancelling a shutdown), and what the pages then say.
#[tokio::test]
async fn the_selected_forms_and_the_twins_do_what_they_say() {
    let (server, master) = start(Authz::builder().default_action(Rule::Allow).build()).await;
    let mut visitor = Browser::new(&server);
    let asked = |from: usize| master.actions()[from..].to_vec();
    let done = |fields: &[(&'static str, &'static str)]| fields.to_vec();
    let n = master.actions().len();
    let (_, _, headers) = visitor
        .act(
            "/builders/_selected/forceselected",
            &done(&[("forcescheduler", "force"), ("selected", "macos"), ("selected", "linux")]),
        )
        .await;
    assert!(location(&headers).starts_with("../../builders?alert_msg=Builds%20requested%20on%202%20builders"));
    assert!(
        matches!(&asked(n)[..], [Asked::Force(r)] if r.builders == ["macos", "linux"]),
        "one buildset: {:?}",
        asked(n)
    );

    let n = master.actions().len();
    visitor.act("/builders/_selected/stopselected", &[("selected", "linux")]).await;
    assert!(asked(n).is_empty(), "linux runs nothing");
    visitor.act("/builders/_selected/stopselected", &[("selected", "macos")]).await;
    assert!(matches!(&asked(n)[..], [Asked::Stop { builder, number: 1, .. }] if builder == "macos"));

    let n = master.actions().len();
    visitor.act("/builders/_selected/cancelpendingselected", &[("selected", "linux")]).await;
    visitor.act("/builders/linux/cancelbuild", &[("id", "all")]).await;
    assert_eq!(asked(n), [Asked::Cancel(77), Asked::Cancel(77)]);

    let n = master.actions().len();
    visitor.act("/buildslaves/w1/unpause", &[]).await;
    assert_eq!(asked(n), [Asked::Pause { worker: "w1".into(), paused: false }]);

    visitor.act("/shutdown", &[]).await;
    let (_, home, _) = visitor.get("/").await;
    assert!(home.contains("Master is shutting down") && home.contains("Cancel Shutdown"), "{home}");
    let (_, _, headers) = visitor.act("/cancel_shutdown", &[]).await;
    assert_eq!(location(&headers), "./?alert_msg=Clean%20shutdown%20cancelled.");
    assert!(visitor.get("/").await.1.contains("value=\"Clean Shutdown\""));
    assert_eq!(master.actions().last(), Some(&Asked::CancelShutdown));
}
