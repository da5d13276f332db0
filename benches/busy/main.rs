//! The busy-master load tool (issue 21, "fast while busy"): ingests events through
//! `POST /api/v1/events` at a given rate while holding many `/events` streams open, and checks
//! that every stream got every event once, in order, and never more than a second after the
//! ingest API acknowledged it. `benches/busy/run.sh` starts a server and drives wrk at the
//! pages meanwhile; this tool prints its own figures and exits non-zero if a stream failed.
//!
//!   busy --url http://127.0.0.1:PORT --token TOKEN [--rate 5000] [--clients 500]
//!        [--seconds 20] [--batch 100] [--lanes 8] [--builders 20]
//!
//! It prints `LOAD STARTED` when the streams are open and the ingest begins, and
//! `LOAD STOPPED` when the ingest ends (the script times wrk by these lines).

mod sse;
mod workload;

use std::time::{Duration, Instant};

struct Args {
    url: String,
    token: String,
    rate: f64,
    clients: usize,
    seconds: f64,
    batch: usize,
    lanes: usize,
    builders: usize,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8010".into(),
        token: String::new(),
        rate: 5000.0,
        clients: 500,
        seconds: 20.0,
        batch: 100,
        lanes: 8,
        builders: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value(),
            "--token" => a.token = value(),
            "--rate" => a.rate = value().parse().unwrap_or(a.rate),
            "--clients" => a.clients = value().parse().unwrap_or(a.clients),
            "--seconds" => a.seconds = value().parse().unwrap_or(a.seconds),
            "--batch" => a.batch = value().parse().unwrap_or(a.batch),
            "--lanes" => a.lanes = value().parse().unwrap_or(a.lanes),
            "--builders" => a.builders = value().parse().unwrap_or(a.builders),
            _ => {} // `cargo bench` adds `--bench`
        }
    }
    a.lanes = a.lanes.clamp(1, a.builders.max(1));
    a
}

/// A batch acknowledged: the newest event number it made, when, and how long it took.
struct Ack {
    seq: u64,
    at: Instant,
    took: Duration,
}

/// Posts one batch; the receipt's `seq`.
async fn post(client: &reqwest::Client, a: &Args, body: String) -> Result<u64, String> {
    let response = client
        .post(format!("{}/api/v1/events", a.url))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    let receipt: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    receipt["seq"].as_u64().ok_or_else(|| format!("no seq in {text}"))
}

/// One lane's batches, `interval` apart from `start` (at once when behind), until `end`.
async fn lane(
    client: reqwest::Client,
    a: std::sync::Arc<Args>,
    mut events: workload::Lane,
    start: Instant,
    interval: Duration,
    end: Instant,
) -> (Vec<Ack>, Vec<String>) {
    let (mut acks, mut errors) = (Vec::new(), Vec::new());
    let mut due = start;
    while due < end {
        tokio::time::sleep_until(due.into()).await;
        let body = events.batch(a.batch);
        let sent = Instant::now();
        match post(&client, &a, body).await {
            Ok(seq) => acks.push(Ack { seq, at: Instant::now(), took: sent.elapsed() }),
            Err(e) => errors.push(e),
        }
        due += interval;
    }
    (acks, errors)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let a = std::sync::Arc::new(args());
    let run = format!("busy{}x{}", std::process::id(), chrono::Utc::now().timestamp_millis());
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("an HTTP client");
    let start = match post(&client, &a, workload::setup(&run, a.builders)).await {
        Ok(seq) => seq,
        Err(e) => {
            eprintln!("busy: the setup batch failed: {e}");
            std::process::exit(2);
        }
    };

    // The streams, all from the number the setup ended at.
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel(a.clients.max(1));
    let (until_tx, until) = tokio::sync::watch::channel(None);
    let streams = reqwest::Client::builder().build().expect("an HTTP client");
    let readers: Vec<_> = (0..a.clients)
        .map(|_| tokio::spawn(sse::follow(streams.clone(), a.url.clone(), start, connected_tx.clone(), until.clone())))
        .collect();
    drop(connected_tx);
    for _ in 0..a.clients {
        connected.recv().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "LOAD STARTED: {} events/s in batches of {} ({} lanes) for {} s, {} streams",
        a.rate, a.batch, a.lanes, a.seconds, a.clients
    );
    let began = Instant::now();
    let end = began + Duration::from_secs_f64(a.seconds);
    let interval = Duration::from_secs_f64(a.batch as f64 * a.lanes as f64 / a.rate);
    let lanes: Vec<_> = (0..a.lanes)
        .map(|l| {
            let events = workload::Lane::new(&run, l, a.lanes, a.builders);
            let offset = interval.mul_f64(l as f64 / a.lanes as f64);
            tokio::spawn(lane(client.clone(), a.clone(), events, began + offset, interval, end))
        })
        .collect();
    let (mut acks, mut errors) = (Vec::new(), Vec::new());
    for l in lanes {
        let (acked, failed) = l.await.expect("a lane");
        acks.extend(acked);
        errors.extend(failed);
    }
    let stopped = Instant::now();
    println!("LOAD STOPPED");
    let last = acks.iter().map(|a| a.seq).max().unwrap_or(start);
    let _ = until_tx.send(Some((last, Instant::now() + Duration::from_secs(10))));
    let mut seen = Vec::new();
    for r in readers {
        seen.push(r.await.expect("a reader"));
    }

    // Ingest figures.
    let events = acks.len() * a.batch;
    let elapsed = stopped.duration_since(began).as_secs_f64();
    let mut took: Vec<Duration> = acks.iter().map(|a| a.took).collect();
    took.sort();
    println!(
        "ingest: {events} events in {} batches of {} over {elapsed:.1} s = {:.0} events/s; per batch p50 {}, p99 {}, max {}; {} failed",
        acks.len(),
        a.batch,
        events as f64 / elapsed,
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.99)),
        ms(took.last().copied().unwrap_or_default()),
        errors.len()
    );
    for e in errors.iter().take(3) {
        println!("  ingest error: {e}");
    }

    // When each event was acknowledged: the first answer whose seq reaches it.
    acks.sort_by_key(|a| a.seq);
    let mut acked_by: Vec<(u64, Instant)> = acks.iter().map(|a| (a.seq, a.at)).collect();
    for i in (0..acked_by.len().saturating_sub(1)).rev() {
        acked_by[i].1 = acked_by[i].1.min(acked_by[i + 1].1);
    }
    let acked = |seq: u64| {
        let i = acked_by.partition_point(|(s, _)| *s < seq);
        acked_by.get(i).map(|(_, at)| *at)
    };
    let mut lags = Vec::new();
    let (mut failed, mut summaries, mut disorder, mut messages, mut late) = (0, 0, 0, 0, 0);
    let expected = last - start;
    for s in &seen {
        summaries += s.summaries;
        disorder += s.out_of_order;
        messages += s.messages.len();
        let mut behind = Duration::ZERO;
        for m in &s.messages {
            if let Some(at) = acked(m.first) {
                behind = behind.max(m.at.saturating_duration_since(at));
                lags.push(m.at.saturating_duration_since(at));
            }
        }
        late += u64::from(behind > Duration::from_secs(1));
        let whole = s.error.is_none() && s.out_of_order == 0 && s.summaries == 0 && s.events == expected;
        if !whole {
            failed += 1;
            if failed <= 3 {
                println!(
                    "  stream: {} of {expected} events, {} out of order, {} summaries, error {:?}",
                    s.events, s.out_of_order, s.summaries, s.error
                );
            }
        }
    }
    lags.sort();
    println!(
        "streams: {} clients, {expected} events each ({} to {last}), {messages} messages; {failed} incomplete, {disorder} events out of order or repeated, {summaries} summaries",
        seen.len(),
        start + 1
    );
    println!(
        "stream delay after the ingest's answer, per message: p50 {}, p99 {}, max {}; {late} clients more than 1 s behind",
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.99)),
        ms(lags.last().copied().unwrap_or_default())
    );
    // The load is what it says only if the server took it: at least 90 % of the rate.
    let took_rate = events as f64 >= 0.9 * a.rate * a.seconds;
    if !took_rate {
        println!("the server took {events} events, under 90 % of {} events/s for {} s", a.rate, a.seconds);
    }
    let ok = failed == 0 && late == 0 && errors.is_empty() && took_rate;
    println!("load tool CPU: {:.1} s (its streams' reading, the ingest's requests)", cpu_seconds());
    println!("{}", if ok { "BUSY OK" } else { "BUSY FAILED" });
    std::process::exit(if ok { 0 } else { 1 });
}

/// The CPU time this process used, user and system: the load it adds to the machine.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
