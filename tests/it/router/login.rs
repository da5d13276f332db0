//! Logging in and out, sessions, CSRF, `view`, front ends and bad requests, through the real
//! router: a signed HttpOnly cookie (Secure over TLS) that a logout, an expiry or any change
//! turns into a visitor not logged in; failed logins that look alike and are limited; actions
//! without the right token, or on what does not exist, that do nothing; UsersAuth against the
//! users of the database.

use std::net::IpAddr;
use std::sync::Arc;

use crate::common::web::{Browser, location};
use crate::common::{at, record_fixture};
use axum::http::StatusCode;
use buildstatus::adapters::http::{AuthSettings, FrontEnd, Login, LoginLimits, Peer};
use buildstatus::adapters::memory::master::Action as Asked;
use buildstatus::adapters::memory::{MemoryClock, MemoryMaster, MemoryUsers};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::auth::{Action, Authz, Rule};
use buildstatus::domain::control::ForceScheduler;
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::User;

fn users() -> Login {
    Login::Password(Arc::new(MemoryUsers::new([("bob", "pw"), ("ann", "pw")])))
}

/// A server with the fixture, `auth`, a recording master with a `force` scheduler, and the
/// clock to move.
async fn start(auth: AuthSettings) -> (StatusServer, Arc<MemoryMaster>, Arc<MemoryClock>) {
    let master = Arc::new(MemoryMaster::with_schedulers(vec![ForceScheduler::new("force", vec!["linux".into()])]));
    let clock = Arc::new(MemoryClock::new(at(45)));
    let setup = Setup { auth, master: Some(master.clone()), ..Setup::default() };
    let server = StatusServer::start_with_clock(setup, clock.clone()).await.expect("server");
    record_fixture(&server.sink()).await;
    (server, master, clock)
}

fn with(authz: Authz, login: Login) -> AuthSettings {
    AuthSettings { authz: Arc::new(authz), login, ..AuthSettings::default() }
}

fn forcing() -> Authz {
    Authz::builder().authenticated(Action::ForceBuild).build()
}

/// Whether the browser's visitor is logged in, as the pages say.
async fn logged_in_as(browser: &mut Browser<'_>) -> Option<String> {
    let (_, page, _) = browser.get("/builders").await;
    let at = page.find("Logged in as ")? + "Logged in as ".len();
    Some(page[at..].split(['<', ' ']).next()?.to_owned())
}

#[tokio::test]
async fn a_login_is_a_signed_http_only_cookie_that_logout_ends() {
    let (server, _, _) = start(with(forcing(), users())).await;
    let mut bob = Browser::new(&server);
    assert!(bob.get("/builders").await.1.contains("<form class=\"login\""), "the header offers a login");
    let (status, _, headers) = bob.login("bob", "pw").await;
    assert_eq!((status, location(&headers)), (StatusCode::FOUND, "./"));
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().expect("ascii"))
        .find(|c| c.starts_with("BuildBotSession="));
    let cookie = cookie.expect("a session cookie");
    for part in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Expires="] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(logged_in_as(&mut bob).await.as_deref(), Some("bob"));
    let stolen = bob.cookies.clone();

    let (status, _, headers) = bob.act("/logout", &[]).await;
    assert_eq!((status, location(&headers)), (StatusCode::FOUND, "./"));
    assert!(!bob.cookies.contains_key("BuildBotSession"), "the cookie is cleared");
    assert_eq!(logged_in_as(&mut bob).await, None);
    let mut replay = Browser::new(&server);
    replay.cookies = stolen;
    assert_eq!(logged_in_as(&mut replay).await, None, "a cookie replayed after its logout names nobody");
}

#[tokio::test]
async fn a_login_goes_back_to_the_page_it_came_from_on_this_site_only() {
    let (server, _, _) = start(with(forcing(), users())).await;
    let mut bob = Browser::new(&server);
    bob.headers =
        vec![("host".into(), "ci.example".into()), ("referer".into(), "http://ci.example/builders/linux".into())];
    assert_eq!(location(&bob.login("bob", "pw").await.2), "http://ci.example/builders/linux");
    let mut ann = Browser::new(&server);
    ann.headers = vec![("host".into(), "ci.example".into()), ("referer".into(), "http://evil.example/x".into())];
    assert_eq!(location(&ann.login("ann", "pw").await.2), "./", "never to another site");
}

#[tokio::test]
async fn over_tls_the_session_cookie_is_secure() {
    let (server, _, _) = start(with(forcing(), users())).await;
    let mut bob = Browser::new(&server);
    bob.peer = Some(Peer { address: Some(IpAddr::from([127, 0, 0, 1])), tls: true, unix: false });
    let (_, _, headers) = bob.login("bob", "pw").await;
    let cookie = headers["set-cookie"].to_str().expect("ascii");
    assert!(cookie.starts_with("BuildBotSession=") && cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_fail_alike() {
    let (server, _, _) = start(with(forcing(), users())).await;
    let mut answers = Vec::new();
    for (user, password) in [("bob", "wrong"), ("nobody", "pw"), ("bob", ""), ("", "pw")] {
        let mut b = Browser::new(&server);
        let (status, body, headers) = b.login(user, password).await;
        assert!(!b.cookies.contains_key("BuildBotSession"), "{user}");
        answers.push((status, body, location(&headers).to_owned()));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "the same answer whoever asks: {answers:?}");
    assert_eq!(answers[0].2, "./authfail");
    let (_, page, _) = Browser::new(&server).get("/authfail").await;
    assert!(page.contains("<title>Authentication Failed</title>"), "{page}");
}

#[tokio::test]
async fn a_session_expires_and_a_changed_cookie_is_nobody() {
    let auth = AuthSettings { session_length: chrono::Duration::hours(1), ..with(forcing(), users()) };
    let (server, _, clock) = start(auth).await;
    let mut bob = Browser::new(&server);
    bob.login("bob", "pw").await;
    let value = bob.cookies["BuildBotSession"].clone();
    let (id, rest) = value.split_once('.').expect("id.expires.mac");
    let (expires, mac) = rest.split_once('.').expect("expires.mac");
    let flip = |s: &str| format!("{}{}", if s.starts_with('0') { '1' } else { '0' }, &s[1..]);
    for tampered in [
        format!("{}.{expires}.{mac}", flip(id)),
        format!("{id}.{}.{mac}", expires.parse::<i64>().expect("seconds") + 86_400),
        format!("{id}.{expires}.{}", flip(mac)),
        format!("{id}.{expires}"),
        "garbage".to_owned(),
    ] {
        let mut forger = Browser::new(&server);
        forger.cookies.insert("BuildBotSession".into(), tampered.clone());
        assert_eq!(logged_in_as(&mut forger).await, None, "{tampered}");
    }
    // The same cookie, from another server (another secret): nobody there.
    let (other, _, _) = start(with(forcing(), users())).await;
    let mut elsewhere = Browser::new(&other);
    elsewhere.cookies = bob.cookies.clone();
    assert_eq!(logged_in_as(&mut elsewhere).await, None);

    assert_eq!(logged_in_as(&mut bob).await.as_deref(), Some("bob"));
    clock.advance(std::time::Duration::from_secs(3599));
    assert_eq!(logged_in_as(&mut bob).await.as_deref(), Some("bob"), "never extended, but not over yet");
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(logged_in_as(&mut bob).await, None, "expired after an hour");
}

#[tokio::test]
async fn failed_logins_are_limited_per_user_and_per_address() {
    let limits = LoginLimits { per_user: 3, per_address: 5, window: chrono::Duration::minutes(15) };
    let (server, _, clock) = start(AuthSettings { limits, ..with(forcing(), users()) }).await;
    let from = |last: u8| Some(Peer { address: Some(IpAddr::from([10, 0, 0, last])), ..Peer::default() });
    let mut guesser = Browser::new(&server);
    guesser.peer = from(1);
    for _ in 0..3 {
        guesser.login("bob", "guess").await;
    }
    let mut bob = Browser::new(&server);
    bob.peer = from(2);
    let (_, _, headers) = bob.login("bob", "pw").await;
    assert!(location(&headers).starts_with("./authfail?alert_msg=Too%20many%20failed%20logins"), "{headers:?}");
    assert!(!bob.cookies.contains_key("BuildBotSession"), "even the right password waits");
    assert_eq!(location(&Browser::new(&server).login("ann", "pw").await.2), "./", "other users are not held back");
    // Two more failures from 10.0.0.1 (other names) reach its address's limit.
    for name in ["x", "y"] {
        guesser.login(name, "guess").await;
    }
    assert!(location(&guesser.login("ann", "pw").await.2).contains("Too%20many"), "the address waits");
    clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
    assert_eq!(location(&bob.login("bob", "pw").await.2), "./", "the window passed");
}

#[tokio::test]
async fn an_action_without_the_right_token_does_nothing() {
    let (server, master, _) = start(with(Authz::builder().allow(Action::PingBuilder).build(), Login::Nobody)).await;
    let mut visitor = Browser::new(&server);
    let token = visitor.token().await;
    assert!(!token.is_empty(), "a visitor who may act gets a token");
    let mut other = Browser::new(&server);
    let other_token = other.token().await;
    for fields in [vec![], vec![("csrf", "0123")], vec![("csrf", other_token.as_str())]] {
        let (status, body, _) = visitor.post("/builders/linux/ping", &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(body.contains("CSRF token is missing or wrong"), "{body}");
    }
    assert!(master.actions().is_empty(), "nothing was done");
    let (status, _, headers) = visitor.get("/builders/linux/ping").await;
    assert_eq!((status, &headers["allow"]), (StatusCode::METHOD_NOT_ALLOWED, &"POST".parse().expect("header")));
    let (status, _, _) = visitor.post("/builders/linux/ping", &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(master.actions().len(), 1);
}

#[tokio::test]
async fn an_action_on_what_does_not_exist_is_a_404_naming_it() {
    let everything = Authz::builder().default_action(Rule::Allow).build();
    let (server, master, _) = start(with(everything, Login::Nobody)).await;
    let mut visitor = Browser::new(&server);
    for (uri, fields, message) in [
        ("/builders/nope/force", vec![("forcescheduler", "force")], "No such builder 'nope'"),
        ("/builders/nope/ping", vec![], "No such builder 'nope'"),
        ("/builders/linux/builds/99/stop", vec![], "No build #99 of builder 'linux'"),
        ("/builders/linux/builds/99/rebuild", vec![], "No build #99 of builder 'linux'"),
        ("/builders/linux/builds/x/stop", vec![], "build number 'x' is not a number"),
        ("/buildslaves/nope/pause", vec![], "No such slave 'nope'"),
        ("/buildslaves/nope/shutdown", vec![], "No such slave 'nope'"),
        ("/builders/linux/cancelbuild", vec![("id", "5")], "No pending request '5' of builder 'linux'"),
        ("/builders/linux/stopchange", vec![("change", "99")], "No change number 99"),
        ("/builders/_all/stopchangeall", vec![("change", "99")], "No change number 99"),
        ("/builders/_selected/stopselected", vec![("selected", "nope")], "No such builder 'nope'"),
        ("/builders/_selected/forceselected", vec![("selected", "nope")], "No such builder 'nope'"),
        ("/builders/_selected/cancelpendingselected", vec![("selected", "nope")], "No such builder 'nope'"),
    ] {
        let (status, body, _) = visitor.act(uri, &fields).await;
        let expected =
            if message.contains("is not a number") { StatusCode::BAD_REQUEST } else { StatusCode::NOT_FOUND };
        assert_eq!(status, expected, "{uri}");
        assert!(body.contains(&message.replace('\'', "&#39;")) || body.contains(message), "{uri}: {body}");
    }
    assert!(master.actions().is_empty(), "nothing was done: {:?}", master.actions());
}

#[tokio::test]
async fn a_bad_form_or_a_refusing_master_says_why() {
    let everything = Authz::builder().default_action(Rule::Allow).build();
    let (server, master, _) = start(with(everything, Login::Nobody)).await;
    let mut visitor = Browser::new(&server);
    for (fields, said) in [
        (vec![], "forcescheduler%20arg%20not%20found"),
        (vec![("forcescheduler", "nightly")], "no%20scheduler%20found%20named%20%27nightly%27"),
        (
            vec![("forcescheduler", "force"), ("property1_name", "x y"), ("property1_value", "1")],
            "bad%20property%20name%3D%27x%20y%27",
        ),
    ] {
        let (_, _, headers) = visitor.act("/builders/linux/force", &fields).await;
        assert!(location(&headers).contains(said), "{fields:?}: {}", location(&headers));
    }
    assert!(master.actions().is_empty());
    master.refuse(Some("the build farm is frozen"));
    let (_, _, headers) = visitor.act("/builders/linux/ping", &[]).await;
    assert!(location(&headers).contains("Nothing%20was%20done%3A%20the%20master%20refused%3A%20the%20build%20farm"));
    master.refuse(None);
    let (_, _, headers) = visitor.act("/builders/linux/force", &[("forcescheduler", "force")]).await;
    let to = location(&headers).to_owned();
    assert_eq!(to, "../../builders/linux?alert_msg=Build%20requested%20%28request%201%29.");
    let (_, page, _) = visitor.get(&to.replacen("../..", "", 1)).await;
    assert!(page.contains("<div class=\"alert\">Build requested (request 1).</div>"), "the result shows");
}

#[tokio::test]
async fn view_closes_every_page_and_resource_but_the_door() {
    let private = Authz::builder().authenticated(Action::View).build();
    let (server, _, _) = start(with(private, users())).await;
    let mut visitor = Browser::new(&server);
    for (uri, to) in
        [("/builders", "./"), ("/builders/linux/builds/1", "../../../"), ("/waterfall", "./"), ("/users", "./")]
    {
        let (status, _, headers) = visitor.get(uri).await;
        assert_eq!((status, location(&headers)), (StatusCode::FOUND, to), "{uri}");
    }
    for uri in ["/json/builders", "/rss", "/atom", "/png?builder=linux", "/badges/linux.svg", "/cc.xml", "/events"] {
        assert_eq!(visitor.get(uri).await.0, StatusCode::FORBIDDEN, "{uri}");
    }
    let log = "/builders/linux/builds/1/steps/compile/logs/stdio";
    assert_eq!(visitor.get(log).await.0, StatusCode::FOUND, "logs too");
    for uri in
        ["/", "/login", "/authfail", "/authzfail", "/default.css", "/robots.txt", "/health/live", "/health/ready"]
    {
        assert_eq!(visitor.get(uri).await.0, StatusCode::OK, "{uri} stays open");
    }
    let (_, home, _) = visitor.get("/").await;
    assert!(home.contains("This status is private") && !home.contains("href=\"./waterfall\""), "{home}");
    visitor.login("bob", "pw").await;
    for uri in ["/builders", "/json/builders", "/badges/linux.svg", log] {
        assert_eq!(visitor.get(uri).await.0, StatusCode::OK, "{uri} for bob");
    }
}

#[tokio::test]
async fn a_front_end_user_is_believed_only_from_its_address() {
    let front = FrontEnd {
        trusted: vec![IpAddr::from([127, 0, 0, 1])],
        trust_unix: false,
        header: "X-Remote-User".into(),
        login_url: Some("https://sso.example/login".into()),
    };
    let (server, master, _) = start(with(forcing(), Login::FrontEnd(front))).await;
    let mut proxied = Browser::new(&server);
    proxied.peer = Some(Peer { address: Some(IpAddr::from([127, 0, 0, 1])), ..Peer::default() });
    proxied.headers = vec![("x-remote-user".into(), "ann".into())];
    assert_eq!(logged_in_as(&mut proxied).await.as_deref(), Some("ann"));
    let (_, _, headers) = proxied.act("/builders/linux/force", &[("forcescheduler", "force")]).await;
    assert!(location(&headers).contains("Build%20requested"), "{headers:?}");
    let buildstatus::adapters::memory::master::Action::Force(request) = &master.actions()[0] else { panic!() };
    assert_eq!(request.owner, "ann <ann@localhost>");

    let mut direct = Browser::new(&server);
    direct.peer = Some(Peer { address: Some(IpAddr::from([10, 9, 9, 9])), ..Peer::default() });
    direct.headers = proxied.headers.clone();
    assert_eq!(logged_in_as(&mut direct).await, None, "a header anyone could send");
    let (_, page, _) = direct.get("/builders").await;
    assert!(page.contains("<a href=\"https://sso.example/login\">Login</a>"), "the front end's login");
    assert_eq!(location(&direct.get("/login").await.2), "https://sso.example/login");
}

#[tokio::test]
async fn the_users_page_asks_to_log_in_when_logging_in_would_do() {
    let authz = Authz::builder().authenticated(Action::ShowUsersPage).build();
    let (server, _, _) = start(with(authz, users())).await;
    let mut visitor = Browser::new(&server);
    assert_eq!(location(&visitor.get("/users").await.2), "./login");
    let (status, page, _) = visitor.get("/login").await;
    assert!(status == StatusCode::OK && page.contains("name=\"passwd\""), "{page}");
    visitor.login("bob", "pw").await;
    assert_eq!(visitor.get("/users").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_users_of_the_database_log_in_with_their_bb_password() {
    let rule = Authz::builder().check(Action::ForceBuild, |user, _| user.user == "ann").build();
    let (server, master, _) = start(with(rule, Login::UsersTable)).await;
    let attributes = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    // The seed's bb_password: 16 hex characters of salt, then the hex SHA-1 of the password
    // followed by that salt (here of "pass word", as Python's hashlib computes it).
    let stored = "0123456789abcdef6391d7a2d9edb9b44ad49ff357fe4582efeff52c";
    let users = [
        User {
            uid: 1,
            identifier: "Ann".into(),
            attributes: attributes(&[("bb_username", "ann"), ("bb_password", stored)]),
        },
        User {
            uid: 2,
            identifier: "Bob".into(),
            attributes: attributes(&[("bb_username", "bob"), ("bb_password", stored)]),
        },
        User { uid: 3, identifier: "Cy".into(), attributes: attributes(&[("bb_username", "cy")]) },
    ];
    for user in users {
        server.sink().record(StatusEvent::UserChanged { user }).await.expect("user");
    }
    for (user, password) in
        [("ann", "pass wore"), ("Ann", "pass word"), ("cy", ""), ("cy", "pass word"), ("dan", "pass word")]
    {
        let mut b = Browser::new(&server);
        assert_eq!(location(&b.login(user, password).await.2), "./authfail", "{user}/{password}");
        assert!(!b.cookies.contains_key("BuildBotSession"), "{user}");
    }
    let mut ann = Browser::new(&server);
    assert_eq!(location(&ann.login("ann", "pass word").await.2), "./");
    assert_eq!(logged_in_as(&mut ann).await.as_deref(), Some("Ann"), "named by the user's identifier");
    let fields = [("forcescheduler", "force"), ("reason", "mine")];
    let (_, _, headers) = ann.act("/builders/linux/force", &fields).await;
    assert!(location(&headers).starts_with("../../builders/linux?alert_msg=Build%20requested"), "{headers:?}");
    let mut bob = Browser::new(&server);
    assert_eq!(location(&bob.login("bob", "pass word").await.2), "./");
    assert_eq!(
        location(&bob.act("/builders/linux/force", &fields).await.2),
        "../../authzfail",
        "the rule is about ann"
    );
    let forced: Vec<_> = master
        .actions()
        .into_iter()
        .filter_map(|a| match a {
            Asked::Force(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(forced.len(), 1, "{forced:?}");
    assert_eq!(forced[0].owner, "Ann <ann@localhost>", "the owner the rule saw");
}
