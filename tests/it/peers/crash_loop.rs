//! Crash loops: the binary is killed with SIGKILL 50 times at random moments while change
//! hooks, ingest batches and mails flow, and restarted each time on the same data directory.
//! Afterwards every request answered 2xx is stored (each build finished, with its step's log
//! whole; each hook's change), the journal has no gap (the numbers it lacks are the log
//! chunks, which are numbered but kept in the log store), no mail arrived twice except one in
//! flight at a kill, and SQLite's `integrity_check` finds nothing.
//!
//! The moments are random but seeded: the seed is printed, and `CRASH_SEED=N` repeats a
//! schedule. Needs `python3` with aiosmtpd (the mail tests' SMTP sink).
use crate::common::{self, data_dir};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::mail::Smtp;
use crate::common::buildbot::free_port;

const KILLS: usize = 50;
const TOKEN: &str = "crash-token-0123456789abcdef";
const BUILDER: &str = "crash";

/// splitmix64: a few lines of well-spread random numbers from a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Where the server listens now (`http://127.0.0.1:PORT`); `None` while it is down.
type Base = Arc<Mutex<Option<String>>>;

fn current(base: &Base) -> Option<String> {
    base.lock().expect("not poisoned").clone()
}

/// What the senders saw: the 2xx answers, and anything that is neither 2xx nor a dropped
/// connection (a 5xx would be a bug: nothing here is the machine's fault).
#[derive(Default)]
struct Seen {
    /// Build numbers whose batch was answered 200.
    builds: Vec<u32>,
    /// Hook number → the change number its 202 named.
    changes: BTreeMap<u32, u64>,
    unexpected: Vec<String>,
}

/// The output of build `n`'s one step.
fn log_text(n: u32) -> String {
    format!("compiling build {n}\nbuild {n} done\n")
}

/// Ingest batches, one build each (started, a step with its log, finished), every 100 ms. A batch is sent again
/// until it is answered (its event ids make a repeat harmless), as a careful client would.
async fn ingest(base: Base, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    for n in 0u32.. {
        let result = if n % 3 == 0 { "failure" } else { "success" };
        let (b, log) = (BUILDER, "stdio");
        let batch = json!([
            {"event_id": format!("s{n}"), "type": "build_started",
             "build": {"builder": b, "number": n, "started": "2026-03-01T10:00:00Z", "worker": "w1"}},
            {"event_id": format!("s{n}.0"), "type": "step_started", "builder": b, "number": n,
             "step": {"number": 0, "name": "compile", "started": "2026-03-01T10:00:01Z"}},
            {"event_id": format!("l{n}"), "type": "log_started", "builder": b, "number": n, "step": 0, "log": log},
            {"event_id": format!("c{n}"), "type": "log_chunk", "builder": b, "number": n, "step": 0, "log": log,
             "channel": "stdout", "text": log_text(n)},
            {"event_id": format!("lf{n}"), "type": "log_finished", "builder": b, "number": n, "step": 0, "log": log},
            {"event_id": format!("f{n}.0"), "type": "step_finished", "builder": b, "number": n, "step": 0,
             "result": result, "at": "2026-03-01T10:04:00Z"},
            {"event_id": format!("f{n}"), "type": "build_finished", "builder": b, "number": n,
             "result": result, "at": "2026-03-01T10:05:00Z"},
        ]);
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let Some(url) = current(&base) else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let sent = http.post(format!("{url}/api/v1/events")).bearer_auth(TOKEN).json(&batch).send().await;
            match sent {
                Ok(answer) if answer.status().is_success() => {
                    // Acknowledged only once the whole answer is read.
                    if answer.bytes().await.is_ok() {
                        seen.lock().expect("not poisoned").builds.push(n);
                        break;
                    }
                }
                Ok(answer) => {
                    let status = answer.status();
                    let body = answer.text().await.unwrap_or_default();
                    seen.lock().expect("not poisoned").unexpected.push(format!("ingest {n}: {status} {body}"));
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `base` change hooks, one change each, every 50 ms; never sent again (a hook sender does
/// not know whether a request that got no answer was stored).
async fn hooks(base: Base, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut i = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let Some(url) = current(&base) else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        i += 1;
        let form = format!("author=ann&comments=crash+hook+{i}&branch=main&revision={i:040x}");
        let sent = http
            .post(format!("{url}/change_hook/base"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        if let Ok(answer) = sent {
            let status = answer.status();
            if let Ok(text) = answer.text().await {
                match text.strip_prefix("1 change(s) added: ") {
                    Some(number) if status == 202 => {
                        let number = number.trim().parse().expect("a change number");
                        seen.lock().expect("not poisoned").changes.insert(i, number);
                    }
                    _ => seen.lock().expect("not poisoned").unexpected.push(format!("hook {i}: {status} {text}")),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Message-IDs the SMTP sink received, in the order it received them.
fn message_ids(inbox: &Path) -> Vec<String> {
    let received = crate::peers::mail::received(inbox);
    received.iter().map(|m| m.header("message-id").expect("a Message-ID").trim().to_owned()).collect()
}

/// Whether a connection to the sink on `port` is still open: after a kill, the sink may still be
/// reading, and then writing, a mail whose data the killed server had sent.
fn sink_busy(port: u16) -> bool {
    let local_port = |line: &str| {
        let local = line.split_whitespace().nth(1)?;
        u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()
    };
    // The fourth column is the state; 0A is LISTEN, the sink's own listening socket.
    let open = |line: &str| line.split_whitespace().nth(3).is_some_and(|state| state != "0A");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        text.lines().skip(1).any(|line| local_port(line) == Some(port) && open(line))
    })
}

/// How many mails the sink holds once it has written what reached it: a mail whose data was
/// sent before a kill may be written a moment later (the sink is a Python process, slower on
/// a busy machine), and it belongs to the mails before that kill. Settled when no connection
/// to the sink is left and the count has held for 300 ms.
async fn settled_count(inbox: &Path, port: u16) -> usize {
    let mut count = message_ids(inbox).len();
    let mut still = 0;
    let give_up = Instant::now() + Duration::from_secs(30);
    while still < 3 && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = message_ids(inbox).len();
        still = if now == count && !sink_busy(port) { still + 1 } else { 0 };
        count = now;
    }
    count
}

fn config(dir: &Path, smtp_port: u16) -> String {
    let file = dir.join("buildstatus.toml");
    std::fs::write(
        &file,
        format!(
            "[ingest]\ntokens = [\"{TOKEN}\"]\ncreate_builders = true\n\n\
             [change_hook.base]\nallow_unauthenticated = true\n\n\
             [[mail]]\nfromaddr = \"bb@example.org\"\nmode = \"all\"\nsendToInterestedUsers = false\n\
             extraRecipients = [\"list@example.org\"]\nrelayhost = \"127.0.0.1\"\nsmtpPort = {smtp_port}\n\
             smtpPoolSize = 1\nsmtpTimeout = 2\nretryDelay = 1\nretryMaxDelay = 2\nmaxAttempts = 1000\n"
        ),
    )
    .expect("config");
    file.to_str().expect("a path").to_owned()
}

async fn start(args: &[String], data: &Path) -> common::Binary {
    let (args, data) = (args.to_vec(), data.to_owned());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::start_binary_with_data(&args, &data)
    })
    .await
    .expect("started")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_sigkills_while_hooks_ingest_and_mail_flow_lose_nothing_and_send_nothing_twice() {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos() as u64
    });
    println!("crash loop seed: {seed} (CRASH_SEED={seed} repeats this schedule of kills)");
    let mut rng = Rng(seed);
    let inbox = tempfile::tempdir().expect("tempdir");
    let smtp_port = free_port();
    let _smtp = Smtp::start(smtp_port, inbox.path(), &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let args = ["serve".to_owned(), "--config".to_owned(), config(dir.path(), smtp_port)];

    let base: Base = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let senders = [
        tokio::spawn(ingest(base.clone(), stop.clone(), seen.clone())),
        tokio::spawn(hooks(base.clone(), stop.clone(), seen.clone())),
    ];

    // How many mails had arrived by each kill (once the sink has written what reached it).
    let mut arrived_by_kill = Vec::new();
    let started = Instant::now();
    for _ in 0..KILLS {
        let mut server = start(&args, &data).await;
        *base.lock().expect("not poisoned") = Some(server.base.clone());
        tokio::time::sleep(Duration::from_millis(rng.below(700))).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        *base.lock().expect("not poisoned") = None;
        arrived_by_kill.push(settled_count(inbox.path(), smtp_port).await);
    }
    let looped = started.elapsed();

    // A last start: the senders stop, and every acknowledged build's mail must arrive.
    let mut server = start(&args, &data).await;
    *base.lock().expect("not poisoned") = Some(server.base.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.expect("the sender ran");
    }
    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    println!(
        "{KILLS} kills in {looped:?}: {} batches and {} hooks acknowledged, {} mails by the last kill",
        seen.builds.len(),
        seen.changes.len(),
        arrived_by_kill.last().copied().unwrap_or(0)
    );
    assert!(seen.unexpected.is_empty(), "answers that are neither 2xx nor a dropped connection: {:?}", seen.unexpected);
    assert!(seen.builds.len() >= KILLS && seen.changes.len() >= KILLS, "too little went through to prove anything");

    let wanted: Vec<String> = seen.builds.iter().map(|n| format!("<build.{n}.{BUILDER}.mail@example.org>")).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = message_ids(inbox.path());
        let missing: Vec<&String> = wanted.iter().filter(|w| !ids.contains(w)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{} acknowledged builds were never mailed: {missing:?}", missing.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each acknowledged build's log holds its whole output (log content is written after the
    // commit, before the answer).
    for n in &seen.builds {
        let url = format!("{}/builders/{BUILDER}/builds/{n}/steps/compile/logs/stdio/text", server.base);
        let text = reqwest::get(&url).await.expect("an answer").text().await.expect("text");
        assert_eq!(text, log_text(*n), "{url}");
    }
    // Give a late duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");

    // A mail arrives again only when it was in flight at a kill: some kill lies between the
    // two copies (the first had arrived by it, the second had not), and each kill sends at
    // most one mail again (one SMTP connection). The copy may come a few kills later (a
    // restarted server may be killed again before it resends), so each pair of copies is
    // matched with a kill of its own among those between them, the pairs whose last
    // possible kill comes first taking the first free kill. A mail in flight at two kills in
    // a row arrives three times.
    let ids = message_ids(inbox.path());
    let mut copies: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, id) in ids.iter().enumerate() {
        copies.entry(id).or_default().push(index);
    }
    let mut between: Vec<(usize, usize, &str)> = Vec::new();
    for (id, at) in &copies {
        for pair in at.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let kills: Vec<usize> = (0..arrived_by_kill.len())
                .filter(|&k| before < arrived_by_kill[k] && arrived_by_kill[k] <= after)
                .collect();
            let (Some(&first), Some(&last)) = (kills.first(), kills.last()) else {
                panic!("{id} arrived again (mails {at:?}) with no kill since; mails by each kill: {arrived_by_kill:?}");
            };
            between.push((last, first, id));
        }
    }
    between.sort();
    let mut resent_at: BTreeMap<usize, &str> = BTreeMap::new();
    for (last, first, id) in between {
        let Some(kill) = (first..=last).find(|k| !resent_at.contains_key(k)) else {
            panic!("more mails sent again than kills to explain them: {id} and {resent_at:?}");
        };
        resent_at.insert(kill, id);
    }
    println!("{} mails, {} of them copies of one in flight at a kill", ids.len(), resent_at.len());

    let db = data_dir::open(&data).await;
    assert_eq!(data_dir::integrity(&db).await, ["ok"]);
    // No gap: the numbers the journal lacks are exactly the log chunks, one per log.
    let (events, last) = data_dir::journal(&db).await;
    assert!(events.last().is_some_and(|(seq, _)| *seq <= last), "the journal runs past {last}");
    let holes = data_dir::journal_holes(&db).await;
    let chunk = (Some("log_started".to_owned()), Some("log_finished".to_owned()));
    let gaps: Vec<_> = holes.iter().filter(|(_, before, after)| (before.clone(), after.clone()) != chunk).collect();
    assert!(gaps.is_empty(), "the journal has gaps that are not log chunks: {gaps:?}");
    let logs_begun = events.iter().filter(|(_, kind)| kind == "log_started").count();
    assert_eq!(holes.len(), logs_begun, "one log chunk per log");
    let builds = data_dir::builds(&db, BUILDER).await;
    let lost: Vec<&u32> = seen.builds.iter().filter(|n| builds.get(n) != Some(&true)).collect();
    assert!(lost.is_empty(), "acknowledged builds not stored finished: {lost:?}");
    let changes = data_dir::changes(&db).await;
    for (hook, number) in &seen.changes {
        assert_eq!(
            changes.get(number).map(String::as_str),
            Some(format!("crash hook {hook}").as_str()),
            "change {number}"
        );
    }
    let mut hooks_stored: Vec<&String> = changes.values().collect();
    hooks_stored.sort();
    hooks_stored.dedup();
    assert_eq!(hooks_stored.len(), changes.len(), "a hook's change was stored twice");
}
