//! One `/events` client of the load tool: it reads the stream as a browser would, and checks
//! what it gets — every event number after its start once, in order (a `status` message lists
//! them), no `summary` (a client that keeps up must not get one) — and notes when each
//! message came, to compare with when the ingest API acknowledged its events.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use memchr::memmem;

/// One message: the first event number it listed, and when it came.
pub struct Received {
    pub first: u64,
    pub at: Instant,
}

/// What one client saw.
#[derive(Default)]
pub struct Seen {
    pub messages: Vec<Received>,
    /// Event numbers listed out of order, twice, or with a gap before them.
    pub out_of_order: u64,
    pub summaries: u64,
    /// The last event number listed.
    pub last: u64,
    pub events: u64,
    pub error: Option<String>,
}

/// Reads `/events?after=START` until an event numbered `until` (known once the load stops)
/// has come, or `deadline`. `connected` is told once the stream is open.
pub async fn follow(
    client: reqwest::Client,
    base: String,
    start: u64,
    connected: tokio::sync::mpsc::Sender<()>,
    mut until: tokio::sync::watch::Receiver<Option<(u64, Instant)>>,
) -> Seen {
    let mut seen = Seen { last: start, ..Seen::default() };
    let response = match client.get(format!("{base}/events?after={start}")).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            seen.error = Some(format!("answer {}", r.status()));
            let _ = connected.send(()).await;
            return seen;
        }
        Err(e) => {
            seen.error = Some(e.to_string());
            let _ = connected.send(()).await;
            return seen;
        }
    };
    let _ = connected.send(()).await;
    drop(connected);
    let mut body = response.bytes_stream();
    let mut text: Vec<u8> = Vec::new();
    let seq = memmem::Finder::new(b"\"seq\":");
    loop {
        let done = *until.borrow();
        if let Some((last, deadline)) = done {
            if seen.last >= last {
                return seen;
            }
            if Instant::now() > deadline {
                seen.error = Some(format!("had {} of {last} when the wait ended", seen.last));
                return seen;
            }
        }
        let piece = tokio::select! {
            piece = body.next() => piece,
            _ = until.changed() => continue,
            () = tokio::time::sleep(Duration::from_millis(500)) => continue,
        };
        let piece = match piece {
            Some(Ok(piece)) => piece,
            Some(Err(e)) => {
                seen.error = Some(e.to_string());
                return seen;
            }
            None => {
                seen.error = Some("the stream ended".into());
                return seen;
            }
        };
        let at = Instant::now();
        text.extend_from_slice(&piece);
        let mut used = 0;
        while let Some(end) = memmem::find(&text[used..], b"\n\n") {
            let message = &text[used..used + end];
            used += end + 2;
            read_message(message, &seq, at, &mut seen);
        }
        text.drain(..used);
    }
}

/// Checks one message's event numbers against what came before.
fn read_message(message: &[u8], seq: &memmem::Finder, at: Instant, seen: &mut Seen) {
    let mut kind: &[u8] = b"";
    let mut data: &[u8] = b"";
    for line in message.split(|b| *b == b'\n') {
        if let Some(k) = line.strip_prefix(b"event: ") {
            kind = k;
        } else if let Some(d) = line.strip_prefix(b"data: ") {
            data = d;
        }
    }
    if data.is_empty() {
        return; // a comment, a keep-alive, the retry time
    }
    if kind == b"summary" {
        // Missed events for this check; it goes on from the summary's last number.
        seen.summaries += 1;
        if let Some(at_to) = memmem::find(data, b"\"to\":") {
            seen.last = seen.last.max(number(&data[at_to + 5..]));
        }
        return;
    }
    let mut first = None;
    for at_seq in seq.find_iter(data) {
        let n = number(&data[at_seq + 6..]);
        if n != seen.last + 1 {
            seen.out_of_order += 1;
        }
        seen.last = seen.last.max(n);
        seen.events += 1;
        first.get_or_insert(n);
    }
    if let Some(first) = first {
        seen.messages.push(Received { first, at });
    }
}

/// The number `text` starts with.
fn number(text: &[u8]) -> u64 {
    text.iter().take_while(|b| b.is_ascii_digit()).fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
}
