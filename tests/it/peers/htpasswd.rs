//! Password files written by Apache's own `htpasswd` (Debian's apache2-utils), in every format
//! it offers, against the running server: each user logs in with their password and only
//! with it, a file changed while the server runs is read at the next login, the plain-text
//! format is refused (as Apache refuses it on Unix), `change_hook_auth` takes several such
//! files, and nothing of a password, hash, cookie or token reaches the log. Over HTTPS the
//! session cookie is `Secure`.

use std::path::Path;
use std::process::Command;

use crate::common::web::post_form;
use crate::common::{self, Binary, tls::certificates};

/// `htpasswd ARGS…`; fails the test with its message when it fails.
fn htpasswd(dir: &Path, args: &[&str]) {
    let out = Command::new("htpasswd")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("htpasswd runs (apt-get install apache2-utils; scripts/test installs it)");
    assert!(out.status.success(), "htpasswd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// (user, password, htpasswd's format flags): one user per format it offers.
const USERS: &[(&str, &str, &[&str])] = &[
    ("bcrypt", "pw of bcrypt", &["-B", "-C", "5"]),
    ("bcrypt10", "pw of bcrypt10", &["-B", "-C", "10"]),
    ("apr1", "pw of apr1", &["-m"]),
    ("sha1", "pw of sha1", &["-s"]),
    ("crypt", "pwcrypt1", &["-d"]),
    ("sha256", "pw of sha256", &["-2"]),
    ("sha512", "pw of sha512", &["-5"]),
    ("sha512r", "pw of sha512r", &["-5", "-r", "20000"]),
];

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// Logs in at `base`; the session cookie (`BuildBotSession=…`) when it worked.
async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> Option<String> {
    let answer = post_form(http, &format!("{base}/login"), &[("username", user), ("passwd", password)]).send().await;
    let answer = answer.expect("login answered");
    assert_eq!(answer.status(), reqwest::StatusCode::FOUND, "{user}");
    let cookie = answer.headers().get_all("set-cookie").iter().find_map(|c| {
        let c = c.to_str().ok()?;
        c.starts_with("BuildBotSession=").then(|| c.split(';').next().unwrap_or_default().to_owned())
    });
    let to = answer.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(cookie.is_some(), !to.contains("authfail"), "{user}: {to}");
    cookie
}

async fn page(http: &reqwest::Client, url: &str, cookie: &str) -> String {
    http.get(url).header("cookie", cookie).send().await.expect("page").text().await.expect("text")
}

fn serve(dir: tempfile::TempDir, config: &str) -> Binary {
    std::fs::write(dir.path().join("buildstatus.toml"), config).expect("config");
    let path = dir.path().join("buildstatus.toml");
    let args = ["serve", "--config", path.to_str().expect("path")];
    common::start_binary_logged(&args, dir)
}

#[tokio::test]
async fn every_htpasswd_format_logs_in_with_its_password_only_and_nothing_secret_is_logged() {
    let dir = tempfile::tempdir().expect("dir");
    for (i, (user, password, flags)) in USERS.iter().enumerate() {
        let mut args = vec![if i == 0 { "-cb" } else { "-b" }];
        args.extend_from_slice(flags);
        args.extend(["users.htpasswd", user, password]);
        htpasswd(dir.path(), &args);
    }
    let file = std::fs::read_to_string(dir.path().join("users.htpasswd")).expect("file");
    for prefix in [
        "bcrypt:$2y$05$",
        "bcrypt10:$2y$10$",
        "apr1:$apr1$",
        "sha1:{SHA}",
        "sha256:$5$",
        "sha512:$6$",
        "sha512r:$6$rounds=20000$",
    ] {
        assert!(file.contains(prefix), "htpasswd wrote {prefix}…: {file}");
    }
    let server = serve(dir, "[authz]\nforceBuild = \"auth\"\n[auth]\nhtpasswd = \"users.htpasswd\"\n");
    let http = client();
    let mut secrets: Vec<String> = file.lines().filter_map(|l| l.split_once(':')).map(|(_, h)| h.to_owned()).collect();
    for (user, password, _) in USERS {
        let cookie = login(&http, &server.base, user, password).await.unwrap_or_else(|| panic!("{user} logs in"));
        let builders = page(&http, &format!("{}/builders", server.base), &cookie).await;
        assert!(builders.contains(&format!("Logged in as {user}")), "{user}: {builders}");
        let token = common::web::csrf_of(&builders).expect("a token");
        assert!(login(&http, &server.base, user, &format!("{password}!")).await.is_none() || *user == "crypt");
        assert!(login(&http, &server.base, user, "wrong").await.is_none(), "{user} with a wrong password");
        secrets.extend([password.to_string(), cookie.split_once('=').expect("value").1.to_owned(), token]);
    }
    // DES crypt reads 8 characters, as Apache's does: more after them do not matter.
    assert!(login(&http, &server.base, "crypt", "pwcrypt1 and more").await.is_some());
    assert!(login(&http, &server.base, "nobody", "pw of bcrypt").await.is_none());

    // The file is read at each login: a user added now logs in without a restart.
    htpasswd(server.dir.path(), &["-b", "-B", "users.htpasswd", "late", "pw of late"]);
    assert!(login(&http, &server.base, "late", "pw of late").await.is_some());

    let log = std::fs::read_to_string(server.dir.path().join("stderr.log")).expect("log");
    assert!(log.contains("logged in") && log.contains("login failed"), "the log has the logins: {log}");
    for secret in secrets {
        assert!(!log.contains(&secret), "the log shows a secret ({secret}): {log}");
    }
}

#[test]
fn a_plain_text_password_file_is_refused_as_apache_refuses_it() {
    let dir = tempfile::tempdir().expect("dir");
    htpasswd(dir.path(), &["-cbp", "plain.htpasswd", "bob", "pw of bob"]);
    std::fs::write(dir.path().join("buildstatus.toml"), "[auth]\nhtpasswd = \"plain.htpasswd\"\n").expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus"))
        .args(["check-config", dir.path().join("buildstatus.toml").to_str().expect("path")])
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("the password of 'bob' is in no known hash format (plain text is refused)"), "{said}");
    assert!(!said.contains("pw of bob"), "{said}");
}

#[tokio::test]
async fn change_hook_auth_takes_several_files_of_both_kinds() {
    let dir = tempfile::tempdir().expect("dir");
    htpasswd(dir.path(), &["-cbB", "a.htpasswd", "ci", "pw of ci"]);
    htpasswd(dir.path(), &["-cbm", "b.htpasswd", "bot", "pw of bot"]);
    std::fs::write(dir.path().join("plain.passwd"), "legacy:pw of legacy\n").expect("plain");
    let config = "[change_hook]\nauth = [\"file:plain.passwd\", \"htpasswd:a.htpasswd\", \"htpasswd:b.htpasswd\"]\nbase = true\n";
    let server = serve(dir, config);
    let http = client();
    let post = |user: &'static str, password: &'static str, n: u32| {
        let revision = format!("r{n}");
        let fields = [("author", "Ann"), ("comments", "c"), ("revision", revision.as_str())];
        let request =
            post_form(&http, &format!("{}/change_hook/base", server.base), &fields).basic_auth(user, Some(password));
        async move { request.send().await.expect("answered").status().as_u16() }
    };
    assert_eq!(post("ci", "pw of ci", 1).await, 202);
    assert_eq!(post("bot", "pw of bot", 2).await, 202);
    assert_eq!(post("legacy", "pw of legacy", 3).await, 202);
    assert_eq!(post("bot", "pw of ci", 4).await, 401);
    assert_eq!(post("nobody", "pw of ci", 5).await, 401);
    let changes: serde_json::Value =
        http.get(format!("{}/json/changes", server.base)).send().await.expect("json").json().await.expect("json");
    assert_eq!(changes.as_object().map(|c| c.len()), Some(3), "{changes}");
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, cert, key) = certificates(dir.path());
    htpasswd(dir.path(), &["-cbB", "users.htpasswd", "bob", "pw of bob"]);
    std::fs::write(
        dir.path().join("buildstatus.toml"),
        "[authz]\nforceBuild = \"auth\"\n[auth]\nhtpasswd = \"users.htpasswd\"\n",
    )
    .expect("config");
    let tls = format!("ssl:0:interface=127.0.0.1:privateKey={}:certKey={}", key.display(), cert.display());
    let config = dir.path().join("buildstatus.toml");
    let server = common::start_binary_listening(&["serve", "--config", config.to_str().expect("path")], &[&tls], dir);
    let https = server.places[0].replace("127.0.0.1", "localhost");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).expect("ca")).expect("pem");
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer =
        post_form(&http, &format!("{https}login"), &[("username", "bob"), ("passwd", "pw of bob")]).send().await;
    let answer = answer.expect("login");
    let cookie = answer.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(
        cookie.starts_with("BuildBotSession=") && cookie.contains("; HttpOnly") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
}
