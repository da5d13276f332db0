//! Every listener form at once, as a user configures them: plain TCP on IPv4 and IPv6, HTTPS
//! with a certificate from a test CA (reqwest and Chromium trusting the CA, an untrusting client
//! refused), and a UNIX socket with its mode (curl `--unix-socket`, as a front end proxies).
//! A bad form or a missing certificate is a `check-config` error naming it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{self, tls::certificates};

async fn body(client: &reqwest::Client, url: &str) -> String {
    let answer = client.get(url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.text().await.expect("a body")
}

fn trusting(ca: &Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).expect("ca")).expect("a PEM CA");
    reqwest::Client::builder().tls_certs_only([ca]).build().expect("a client")
}

/// An NSS database trusting `ca`, in `home/.pki/nssdb`, where Chromium on Linux looks.
fn nss_trusting(home: &Path, ca: &Path) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).expect("nssdb dir");
    let db = format!("sql:{}", db.display());
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec!["-A", "-d", &db, "-t", "C,,", "-n", "buildstatus test CA", "-i", ca.to_str().expect("path")],
    ] {
        let out = Command::new("certutil").args(&args).output().expect("certutil runs (libnss3-tools)");
        assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test]
async fn every_listener_form_serves_the_site() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates(dir.path());
    let socket = dir.path().join("bs.sock");
    let tls = format!("ssl:0:interface=127.0.0.1:privateKey={}:certKey={}", key.display(), cert.display());
    let unix = format!("unix:{}:mode=660", socket.display());
    let forms = ["127.0.0.1:0", "tcp:0:interface=[::1]", tls.as_str(), unix.as_str()];
    let server =
        common::start_binary_listening(&["demo", "--history", "20"], &forms, tempfile::tempdir().expect("cwd"));
    let [plain, ipv6, https, unix_place] = &server.places[..] else { panic!("four places: {:?}", server.places) };
    assert!(ipv6.starts_with("http://[::1]:") && https.starts_with("https://127.0.0.1:"), "{:?}", server.places);
    assert_eq!(unix_place, &format!("unix:{}", socket.display()));

    let client = reqwest::Client::new();
    assert!(body(&client, &format!("{plain}builders")).await.contains("linux-gcc"));
    assert!(body(&client, &format!("{ipv6}builders")).await.contains("linux-gcc"));

    // HTTPS, by name as a browser would: trusted through the test CA, refused without it.
    let https = https.replace("127.0.0.1", "localhost");
    assert!(body(&trusting(&ca), &format!("{https}builders")).await.contains("linux-gcc"));
    let refused = client.get(format!("{https}builders")).send().await.expect_err("an untrusted certificate");
    assert!(format!("{refused:?}").to_lowercase().contains("certificate"), "{refused:?}");

    // The UNIX socket: its mode as configured, and a front end's requests answered.
    let mode = std::fs::metadata(&socket).expect("the socket exists").permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--unix-socket", socket.to_str().expect("path"), "http://localhost/builders"])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("linux-gcc"));

    // Chromium, trusting the CA through its certificate database, renders the HTTPS page.
    let home = tempfile::tempdir().expect("home");
    nss_trusting(home.path(), &ca);
    let profile = tempfile::tempdir().expect("profile");
    let dom = Command::new(crate::peers::browser::chromium())
        .env("HOME", home.path())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{https}builders"))
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("linux-gcc"), "Chromium's DOM over HTTPS: {dom}");

    // Stopped by SIGTERM, it removes its socket; killed, it leaves one that the next start
    // replaces.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    server.child.wait().expect("it stops");
    assert!(!socket.exists(), "a stopped server leaves no socket behind");
    let stale = std::os::unix::net::UnixListener::bind(&socket).expect("a stale socket");
    drop(stale);
    let again = common::start_binary_listening(&["serve"], &[unix.as_str()], tempfile::tempdir().expect("cwd"));
    assert_eq!(again.places, [format!("unix:{}", socket.display())], "a stale socket is replaced");
}

#[test]
fn a_bad_listener_is_a_config_error_naming_the_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (listen, says) in [
        ("\"localhost\"", "the forms are PORT, ADDRESS:PORT"),
        ("[\"8010\", \"ssl:8443:privateKey=none.pem:certKey=none.pem\"]", "none.pem: cannot read"),
    ] {
        let file = dir.path().join("buildstatus.toml");
        std::fs::write(&file, format!("listen = {listen}\n")).expect("config");
        let out =
            Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("check-config").arg(&file).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("listen: ") && err.contains(says), "{err}");
    }
}
