//! What every request leaves behind: a line in `http.log` (the NCSA combined format 0.8 wrote,
//! appended by a writer thread of its own, so no request ever waits on the disk) and its
//! figures for `/metrics` (requests by route and status, latency by route). One middleware
//! around the whole router, so the hooks and the ingest API count too.
//!
//! Routes are labelled by their pattern (`/builders/{builder}`), never by the path asked, so a
//! crawler cannot grow the metrics without bound.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::access_log::AccessLog;
use super::listen::Peer;
use crate::domain::machine::prometheus::{Family, Histogram, Kind, Sample};
use crate::ports::Clock;

/// Put in a response's extensions by the site's route table: the pattern it answered by.
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

/// Latency buckets, in seconds.
const LATENCY: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The web server's own figures, kept for the whole life of the server (across reloads).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// (route, status) → requests.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// `/events` streams and followed log pages open now.
    pub live_streams: AtomicI64,
    pub view_cache_hits: AtomicU64,
    pub view_cache_misses: AtomicU64,
    /// `http.log` lines dropped because its writer fell behind.
    pub log_lines_dropped: AtomicU64,
}

impl HttpMetrics {
    fn observe(&self, route: &str, status: u16, seconds: f64) {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((route.to_owned(), status)).or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        latency.entry(route.to_owned()).or_insert_with(|| Histogram::new(LATENCY)).observe(seconds);
    }

    /// The families `/metrics` shows for the web server.
    pub fn families(&self) -> Vec<Family> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let samples = requests
            .iter()
            .map(|((route, status), n)| {
                Sample::number(vec![("route", route.clone()), ("status", status.to_string())], *n as f64)
            })
            .collect();
        let latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let histograms = latency
            .iter()
            .map(|(route, h)| Sample { labels: vec![("route", route.clone())], value: h.value() })
            .collect();
        vec![
            Family {
                name: "buildstatus_http_requests_total",
                help: "Requests answered, by route pattern and status.",
                kind: Kind::Counter,
                samples,
            },
            Family {
                name: "buildstatus_http_request_duration_seconds",
                help: "Time to the response's head, by route pattern.",
                kind: Kind::Histogram,
                samples: histograms,
            },
            Family::single(
                "buildstatus_live_streams",
                "Live /events streams and followed log pages open now.",
                Kind::Gauge,
                self.live_streams.load(Ordering::Relaxed) as f64,
            ),
            Family::single(
                "buildstatus_view_cache_hits_total",
                "Views and JSON answers served from the view cache.",
                Kind::Counter,
                self.view_cache_hits.load(Ordering::Relaxed) as f64,
            ),
            Family::single(
                "buildstatus_view_cache_misses_total",
                "Views and JSON answers computed (not in the view cache).",
                Kind::Counter,
                self.view_cache_misses.load(Ordering::Relaxed) as f64,
            ),
            Family::single(
                "buildstatus_http_log_lines_dropped_total",
                "http.log lines dropped because its writer fell behind.",
                Kind::Counter,
                self.log_lines_dropped.load(Ordering::Relaxed) as f64,
            ),
        ]
    }
}

/// Counts a stream open until it is dropped.
pub struct StreamGuard(Arc<HttpMetrics>);

impl StreamGuard {
    pub fn open(metrics: &Arc<HttpMetrics>) -> Self {
        metrics.live_streams.fetch_add(1, Ordering::Relaxed);
        Self(metrics.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.live_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the middleware writes to.
#[derive(Clone)]
pub struct Access {
    pub metrics: Arc<HttpMetrics>,
    pub clock: Arc<dyn Clock>,
    /// `None`: no `http.log`.
    pub log: Option<AccessLog>,
}

/// The middleware: times the request, then records it.
pub async fn record(State(access): State<Access>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = request.extensions().get::<ConnectInfo<Peer>>().and_then(|c| c.0.address);
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let line = access.log.as_ref().map(|_| RequestLine::of(&request));
    let response = next.run(request).await;
    let route = match response.extensions().get::<RouteLabel>() {
        Some(label) => label.0.to_owned(),
        None => matched.unwrap_or_else(|| "(unmatched)".to_owned()),
    };
    let status = response.status().as_u16();
    access.metrics.observe(&route, status, started.elapsed().as_secs_f64());
    if let (Some(log), Some(line)) = (&access.log, line) {
        let bytes = response.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).unwrap_or("-");
        let when = access.clock.now().format("%d/%b/%Y:%H:%M:%S +0000");
        let host = peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let entry = format!(
            "{host} - - [{when}] \"{}\" {status} {} \"{}\" \"{}\"\n",
            line.request,
            escape(bytes),
            line.referer,
            line.agent
        );
        if !log.write(entry) {
            access.metrics.log_lines_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    response
}

/// What the log line says of the request, read before the handler takes it.
struct RequestLine {
    request: String,
    referer: String,
    agent: String,
}

impl RequestLine {
    fn of(request: &Request) -> Self {
        let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let version = format!("{:?}", request.version());
        let text = format!("{} {target} {version}", request.method());
        let header =
            |headers: &HeaderMap, name| headers.get(name).map_or("-".to_owned(), |v| escape_bytes(v.as_bytes()));
        Self {
            request: escape(&text),
            referer: header(request.headers(), header::REFERER),
            agent: header(request.headers(), header::USER_AGENT),
        }
    }
}

fn escape(text: &str) -> String {
    escape_bytes(text.as_bytes())
}

/// A value as the log may hold it: quotes and backslashes escaped, and every byte that is not
/// printable ASCII (a CR or LF that would forge a line, an escape sequence for a terminal) as
/// `\xNN`, as Apache writes them.
fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            other => out.push_str(&format!("\\x{other:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_value_cannot_forge_a_line() {
        assert_eq!(escape("GET /a\r\nX\"y\\ HTTP/1.1"), "GET /a\\x0d\\x0aX\\\"y\\\\ HTTP/1.1");
        assert_eq!(escape_bytes("é\u{1b}".as_bytes()), "\\xc3\\xa9\\x1b");
    }
}
