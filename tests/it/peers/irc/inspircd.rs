//! InspIRCd 3 linked to Atheme: SASL PLAIN and NickServ identification with an account the
//! test registers, TLS verified against the test CA (and refused without it, unless the
//! opt-out says so), and flood control: `status all` on 500 builders under a connect class
//! whose flood threshold is low completes at the configured rate, never disconnected.

use std::time::{Duration, Instant};

use super::servers::InspircdAtheme;
use super::user::User;
use super::{bot, builders, has_joined, page_until, sees_join, server};
use buildstatus::adapters::irc::{FloodLimits, Tls};
use buildstatus::app::Storage;

/// Registers `account` with Atheme's NickServ (as a user of that nick).
async fn register(port: u16, account: &str, password: &str) {
    let mut user = User::connect(port, account, &[], None).await;
    user.say("NickServ", &format!("REGISTER {password} {account}@example.org"));
    let heard = user.hear("NickServ", 1, Duration::from_secs(10)).await;
    assert!(heard.first().is_some_and(|h| h.text.contains("is now registered")), "{heard:?}");
    user.send_raw("QUIT :done");
}

/// The account `nick` is logged in as, from WHOIS (330), if any.
async fn account_of(user: &mut User, nick: &str) -> Option<String> {
    let lines = user.whois_lines(nick).await;
    lines.iter().find(|l| l.contains(" 330 ")).and_then(|l| l.split(' ').nth(4).map(str::to_owned))
}

#[tokio::test]
async fn sasl_nickserv_and_verified_tls_against_inspircd_and_atheme() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = InspircdAtheme::start(dir.path(), (10, 1000));
    register(net.port, "bbacct", "s3cret-pw").await;
    register(net.port, "bbns", "other-pw").await;
    let mut alice = User::connect(net.port, "alice", &[("#builds", None)], None).await;
    let ca = std::fs::read(&net.ca).expect("ca");

    // SASL over TLS, verified against the test CA.
    let mut sasl = bot("sasl", net.tls_port, "bbsasl", &[("#builds", None)]);
    sasl.connection.host = "localhost".into();
    sasl.connection.tls = Tls::Verified { extra_ca_pem: vec![ca.clone()] };
    sasl.connection.identity.sasl = Some(("bbacct".into(), "s3cret-pw".into()));
    sasl.rules.style.notice_on_channel = true;
    // NickServ IDENTIFY (the seed's `password`), plain TCP.
    let mut ns = bot("nickserv", net.port, "bbns", &[("#builds", None)]);
    ns.connection.identity.nickserv_password = Some("other-pw".into());
    // A wrong SASL password, and TLS without the CA: each says why on /notifications.
    let mut wrong = bot("wrong", net.port, "bbwrong", &[]);
    wrong.connection.identity.sasl = Some(("bbacct".into(), "not-it".into()));
    let mut untrusted = bot("untrusted", net.tls_port, "bbtls", &[]);
    untrusted.connection.host = "localhost".into();
    untrusted.connection.tls = Tls::Verified { extra_ca_pem: vec![] };
    let mut opted_out = bot("opted-out", net.tls_port, "bbinsecure", &[("#builds", None)]);
    opted_out.connection.host = "localhost".into();
    opted_out.connection.tls = Tls::Unverified;

    let server = server(vec![sasl, ns, wrong, untrusted, opted_out], Storage::Memory).await;
    builders(&server, &["linux"]).await;
    sees_join(&mut alice, "bbsasl", "#builds").await;
    assert_eq!(account_of(&mut alice, "bbsasl").await.as_deref(), Some("bbacct"));
    has_joined(&mut alice, "bbinsecure", "#builds").await;
    has_joined(&mut alice, "bbns", "#builds").await;
    let start = Instant::now();
    while account_of(&mut alice, "bbns").await.is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "NickServ never identified bbns");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // noticeOnChannel: the answer in the channel is a NOTICE.
    alice.say("#builds", "bbsasl: status linux");
    let answer = alice.hear("bbsasl", 1, Duration::from_secs(10)).await;
    assert!(answer[0].notice && answer[0].text == "linux: idle", "{answer:?}");

    page_until(&server, "/notifications", "SASL login failed").await;
    let page = page_until(&server, "/notifications", "UnknownIssuer").await;
    assert!(page.contains("Down: localhost:"), "{page}");
    drop(server);
}

#[tokio::test]
async fn status_all_on_500_builders_comes_at_the_configured_rate_without_a_flood_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Excess Flood once 20 commands outrun a decay of 20 a second.
    let net = InspircdAtheme::start(dir.path(), (20, 20_000));
    let mut alice = User::connect(net.port, "alice", &[("#builds", None)], None).await;
    let mut b = bot("flood", net.port, "bb", &[("#builds", None)]);
    let rate = 12.0;
    b.connection.flood = FloodLimits { burst: 4, per_second: rate };
    let server = server(vec![b], Storage::Memory).await;
    let names: Vec<String> = (0..500).map(|i| format!("b{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    builders(&server, &refs).await;
    sees_join(&mut alice, "bb", "#builds").await;

    alice.say("#builds", "bb: status all");
    let heard = alice.hear("bb", 500, Duration::from_secs(120)).await;
    assert_eq!(heard.len(), 500, "every line arrived (the bot was not disconnected)");
    assert_eq!(heard[0].text, "b000: idle");
    assert_eq!(heard[499].text, "b499: idle");
    let spread = heard[499].at.duration_since(heard[0].at).as_secs_f64();
    // After the burst, one line per 1/rate seconds.
    let expected = (500.0 - 4.0) / rate;
    println!("500 status lines: {spread:.2}s from first to last, expected {expected:.2}s at {rate} lines/s");
    assert!(spread >= expected * 0.9 && spread <= expected * 1.1, "{spread:.2}s, expected {expected:.2}s");
    let log =
        net.inspircd.log_text() + &std::fs::read_to_string(dir.path().join("inspircd-file.log")).unwrap_or_default();
    assert!(!log.contains("Excess Flood"), "the server saw a flood");
    assert!(!alice.other.iter().any(|l| l.starts_with(":bb!") && l.contains("QUIT")), "{:?}", alice.other);
    page_until(&server, "/notifications", "Up: connected").await;
    drop(server);
}
