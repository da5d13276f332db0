//! The default send queue (burst 4, then 1 line a second) against each server's own default
//! flood limit: InspIRCd's default connect class (`threshold` 10, `commandrate` 1000) and
//! ngircd's. A bot whose queue is opened wide is in the same place for comparison: the limit
//! is real (InspIRCd throws it out; ngircd holds its lines back), and the defaults stay below
//! it (their lines come at the configured pace, not slower).

use std::time::Duration;

use super::servers::{InspircdAtheme, Ngircd, free_port};
use super::user::User;
use super::{bot, builders, has_joined, server};
use buildstatus::adapters::irc::FloodLimits;
use buildstatus::app::Storage;

const BUILDERS: usize = 24;

/// `status all` asked of `nick`: the lines heard, and whether the server threw it out.
async fn status_all(alice: &mut User, nick: &str) -> (Vec<super::user::Heard>, bool) {
    alice.say("#builds", &format!("{nick}: status all"));
    let heard = alice.hear(nick, BUILDERS, Duration::from_secs(40)).await;
    // A QUIT for flooding comes right after the lines that tripped it.
    alice.silent(nick, Duration::from_millis(1500)).await;
    let quit = alice.other.iter().any(|l| l.starts_with(&format!(":{nick}!")) && l.contains(" QUIT "));
    (heard, quit)
}

/// What the wide-open bot and then the paced one (the defaults) showed: for each, the lines
/// heard, the seconds from the first to the last, and whether the server threw it out.
struct Seen {
    wide: (usize, f64, bool),
    paced: (usize, f64, bool),
}

async fn wide_then_paced(port: u16) -> Seen {
    let mut alice = User::connect(port, "alice", &[("#builds", None)], None).await;
    let paced = bot("paced", port, "bbpaced", &[("#builds", None)]);
    assert_eq!(paced.connection.flood, FloodLimits::default());
    let mut wide = bot("wide", port, "bbwide", &[("#builds", None)]);
    wide.connection.flood = FloodLimits { burst: 1000, per_second: 1000.0 };
    wide.connection.failed_delay = Some(Duration::from_secs(600));
    wide.connection.lost_delay = Some(Duration::from_secs(600));
    wide.connection.max_delay = Duration::from_secs(600);
    let server = server(vec![paced, wide], Storage::Memory).await;
    let names: Vec<String> = (0..BUILDERS).map(|i| format!("b{i:02}")).collect();
    builders(&server, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    has_joined(&mut alice, "bbpaced", "#builds").await;
    has_joined(&mut alice, "bbwide", "#builds").await;
    let mut seen = Vec::new();
    for nick in ["bbwide", "bbpaced"] {
        let (heard, quit) = status_all(&mut alice, nick).await;
        let spread = heard.last().map_or(0.0, |l| l.at.duration_since(heard[0].at).as_secs_f64());
        println!("{nick}: {} of {BUILDERS} lines heard in {spread:.2}s, thrown out: {quit}", heard.len());
        seen.push((heard.len(), spread, quit));
    }
    drop(server);
    Seen { wide: seen[0], paced: seen[1] }
}

/// After the burst of 4, one line a second: the configured pace, not slowed by the server.
fn at_the_default_pace(paced: (usize, f64, bool)) {
    let (lines, spread, quit) = paced;
    assert!(!quit && lines == BUILDERS, "the paced bot: {lines} lines, thrown out: {quit}");
    let expected = (BUILDERS - 4) as f64;
    assert!(spread >= expected * 0.9 && spread <= expected * 1.1, "{spread:.2}s for {expected}s");
}

/// InspIRCd throws a client out (Excess Flood) past its threshold.
#[tokio::test]
async fn the_default_pace_stays_below_inspircds_default_flood_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = InspircdAtheme::start(dir.path(), (10, 1000));
    let seen = wide_then_paced(net.port).await;
    let (lines, _, quit) = seen.wide;
    assert!(quit && lines < BUILDERS, "InspIRCd's limit did not trip: {lines} lines heard");
    at_the_default_pace(seen.paced);
}

/// ngircd does not throw a flooding client out at this size: it holds back its lines (a
/// penalty per command), so what is said at once reaches the channel seconds later.
#[tokio::test]
async fn the_default_pace_stays_below_ngircds_flood_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ngircd = Ngircd::start(dir.path(), free_port(), None);
    let seen = wide_then_paced(ngircd.port).await;
    let (lines, spread, quit) = seen.wide;
    assert!(!quit && lines == BUILDERS && spread > 3.0, "ngircd did not hold the wide bot back: {:?}", seen.wide);
    at_the_default_pace(seen.paced);
}
