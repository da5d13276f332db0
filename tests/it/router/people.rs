//! `/buildstatus` and the users pages through the real router: snapshots, the
//! `showUsersPage` switch, and errors that name the problem.

use std::sync::Arc;

use crate::common::{HOSTILE, fixture_server_setup, get, snapshot};
use axum::http::StatusCode;
use buildstatus::adapters::http::AuthSettings;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::auth::{Action, Authz};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::User;
use buildstatus::domain::web::layout::Site;

/// `showUsersPage = true`, or left denied.
fn users_shown(site: Site, shown: bool) -> Setup {
    let authz = if shown { Authz::builder().allow(Action::ShowUsersPage).build() } else { Authz::default() };
    Setup { site, auth: AuthSettings { authz: Arc::new(authz), ..AuthSettings::default() }, ..Setup::default() }
}

async fn server(show_users_page: bool) -> StatusServer {
    let server = fixture_server_setup(users_shown(Site::default(), show_users_page)).await;
    let ann = User {
        uid: 1,
        identifier: "ann".into(),
        attributes: [("git", "Ann Lee <ann@example.org>"), ("bb_password", "secret"), ("irc", HOSTILE)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    let bob = User { uid: 2, identifier: HOSTILE.into(), attributes: Default::default() };
    for user in [ann, bob] {
        server.sink().record(StatusEvent::UserChanged { user }).await.expect("user");
    }
    server
}

#[tokio::test]
async fn buildstatus_shows_the_steps_newest_first() {
    let server = server(false).await;
    let (status, body, headers) = get(&server, "/buildstatus?builder=linux&number=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-cache");
    let (test, compile, start) =
        (body.find("BuildStep failure"), body.find("BuildStep success"), body.find("BuildStep start"));
    assert!(test < compile && compile < start && test.is_some(), "test, then compile, then the build: {body}");
    assert!(body.contains("href=\"./builders/linux/builds/1/steps/test/logs/stdio\" target=\"_blank\""));
    assert!(!body.contains("class=\"header\""), "a fragment, no navigation");
    snapshot("buildstatus", &body);
    let (_, running, _) = get(&server, "/buildstatus?builder=macos&number=-1").await;
    assert!(running.contains("BuildStep running"), "{running}");
    for (uri, status, message) in [
        ("/buildstatus", StatusCode::BAD_REQUEST, "builder and number parameter missing"),
        ("/buildstatus?builder=linux", StatusCode::BAD_REQUEST, "builder and number parameter missing"),
        ("/buildstatus?builder=nope&number=1", StatusCode::NOT_FOUND, "No such builder 'nope'"),
        (
            "/buildstatus?builder=linux&number=x",
            StatusCode::BAD_REQUEST,
            "argument 'number': 'x' is not a build number",
        ),
        ("/buildstatus?builder=linux&number=9", StatusCode::NOT_FOUND, "No build #9 of builder 'linux'"),
    ] {
        let (got, body, _) = get(&server, uri).await;
        assert_eq!(got, status, "{uri}");
        assert!(body.contains(message), "{uri}: {body}");
    }
}

#[tokio::test]
async fn users_pages_follow_show_users_page() {
    let hidden = server(false).await;
    // Refused as the seed says: to authfail (nobody can log in here, so no login prompt).
    for (uri, to) in [("/users", "./authfail"), ("/users/table", "../authfail"), ("/users/table/1", "../../authfail")] {
        let (status, _, headers) = get(&hidden, uri).await;
        assert_eq!(status, StatusCode::FOUND, "{uri}");
        assert_eq!(headers["location"], to, "{uri}");
    }
    let shown = server(true).await;
    let (status, list, _) = get(&shown, "/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"./users/1\"") && !list.contains("<script>alert"), "{list}");
    assert_eq!(get(&shown, "/users/table").await.1.replace("../", "./"), list, "the same page, links relative to it");
    snapshot("users", &list);
    let (status, ann, _) = get(&shown, "/users/table/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ann.contains("User: ann") && ann.contains("Ann Lee &lt;ann@example.org&gt;"));
    assert!(!ann.contains("secret"), "passwords are never shown");
    snapshot("user", &get(&shown, "/users/1").await.1);
    assert_eq!(get(&shown, "/users/9").await.0, StatusCode::NOT_FOUND);
    let (status, body, _) = get(&shown, "/users/x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("'x' is not a user number"));
}

#[tokio::test]
async fn about_lists_the_versions() {
    let (_, about, _) = get(&server(false).await, "/about").await;
    for name in ["buildstatus: ", "axum: 0.8", "tiny-skia: 0.12"] {
        assert!(about.contains(name), "/about lacks {name}");
    }
}

#[tokio::test]
async fn provide_feeds_turns_feeds_off_and_users_appear_in_the_navigation() {
    let site = Site { provide_feeds: vec!["rss".into()], ..Site::default() };
    let limited = fixture_server_setup(users_shown(site, true)).await;
    assert_eq!(get(&limited, "/rss").await.0, StatusCode::OK);
    for uri in ["/atom", "/json", "/json/builders"] {
        let (status, body, _) = get(&limited, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body.contains("is not provided on this server (provide_feeds)"), "{uri}: {body}");
    }
    assert!(get(&limited, "/builders").await.1.contains("<a href=\"./users\">Users</a>"));
    assert!(!get(&server(false).await, "/builders").await.1.contains(">Users</a>"));
}
