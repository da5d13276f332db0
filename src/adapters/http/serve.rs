//! Serving the router on bound listeners, one hyper HTTP/1.1 connection at a time, within the
//! server's [`Limits`]: a request's head must arrive within `header_timeout` and stay within
//! `max_header_bytes` (else hyper closes the connection, or answers 431), its body within
//! `body_timeout`; connections past `max_connections` are answered 503, and those from one
//! address past its share 429, each in a line that says why, and closed.
//!
//! axum's own `serve` sets no timer, so a client that sends its headers a byte at a time
//! (slowloris) would hold its connection forever: that is why this loop exists.
//!
//! Architecture invariant: a refused connection costs a task for at most [`REFUSING_FOR`], and
//! at most [`MAX_REFUSING`] of them exist at once; past that, a connection is closed unread.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use super::body::with_deadline;
use super::limits::{Limits, OpenCounter};
use super::listen::{Bound, NoDelay, Peer};

/// Connections being refused at once, at most.
const MAX_REFUSING: usize = 1024;
/// How long a refused connection may take to send its request and read the refusal.
const REFUSING_FOR: Duration = Duration::from_secs(2);

/// What every connection of a server shares.
struct Serving {
    router: Router,
    limits: Limits,
    connections: Arc<OpenCounter>,
    refusing: AtomicUsize,
}

/// Serves `router` on every listener until `shutdown` completes; then each stops taking
/// connections and finishes the requests it has. Handlers see who connected (`Peer`).
pub async fn serve_all(
    listeners: Vec<Bound>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let serving = Arc::new(Serving { router, limits, connections: Arc::default(), refusing: AtomicUsize::new(0) });
    let (stop, stopping) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let (serving, stopping) = (serving.clone(), stopping.clone());
        match listener {
            Bound::Tcp(tcp) => {
                servers.spawn(accept(
                    NoDelay(tcp),
                    |a| Peer { address: Some(a.ip()), tls: false, unix: false },
                    serving,
                    stopping,
                ));
            }
            Bound::Tls(tls) => {
                servers.spawn(accept(
                    tls,
                    |a| Peer { address: Some(a.ip()), tls: true, unix: false },
                    serving,
                    stopping,
                ));
            }
            Bound::Unix(unix, path) => {
                servers.spawn(async move {
                    accept(unix, |_| Peer { address: None, tls: false, unix: true }, serving, stopping).await;
                    let _ = std::fs::remove_file(&path);
                });
            }
        }
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let mut outcome = Ok(());
    while let Some(done) = servers.join_next().await {
        if let Err(e) = done
            && e.is_panic()
        {
            outcome = Err(std::io::Error::other(format!("a listener failed: {e}")));
        }
    }
    outcome
}

/// Takes `listener`'s connections until the server stops, then waits for those it took.
async fn accept<L: Listener>(
    mut listener: L,
    peer_of: fn(&L::Addr) -> Peer,
    serving: Arc<Serving>,
    mut stopping: watch::Receiver<bool>,
) {
    // Each connection holds a sender; when all are dropped, every connection has ended.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    loop {
        let (io, address) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let (serving, stopping, open) = (serving.clone(), stopping.clone(), open.clone());
        let peer = peer_of(&address);
        tokio::spawn(async move {
            connection(&serving, io, peer, stopping).await;
            drop(open);
        });
    }
    drop(open);
    let _ = all_closed.recv().await;
}

/// Serves one connection, or refuses it.
async fn connection<Io>(serving: &Serving, io: Io, peer: Peer, stopping: watch::Receiver<bool>)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = &serving.limits;
    let admitted = serving.connections.open(
        limits.applies_to(peer.address),
        limits.max_connections,
        limits.max_connections_per_address,
        "connections",
    );
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).max_header_size(limits.max_header_bytes);
    match admitted {
        Ok(_counted) => {
            builder.header_read_timeout(limits.header_timeout);
            let (router, body_timeout) = (serving.router.clone(), limits.body_timeout);
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut request = request.map(|body| with_deadline(body, body_timeout));
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            });
            let mut connection = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
            let mut stopping = stopping;
            tokio::select! {
                outcome = connection.as_mut() => {
                    if let Err(e) = outcome {
                        tracing::trace!("connection ended: {e}");
                    }
                    return;
                }
                _ = stopping.wait_for(|stop| *stop) => {}
            }
            // The server stops: the request under way is finished, then the connection closed.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
        Err(refusal) => {
            if serving.refusing.fetch_add(1, Ordering::Relaxed) < MAX_REFUSING {
                builder.header_read_timeout(REFUSING_FOR).keep_alive(false);
                let service = hyper::service::service_fn(move |_: Request<Incoming>| {
                    let mut answer = refusal.answer();
                    answer.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    std::future::ready(Ok::<_, Infallible>(answer))
                });
                let served = builder.serve_connection(TokioIo::new(io), service);
                let _ = tokio::time::timeout(REFUSING_FOR, served).await;
            }
            serving.refusing.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
