//! The Perspective Broker status listener (0.8's `PBListener`): `buildbot statuslog`,
//! `statusgui` and other Twisted programs log in with the MD5 challenge, call the status
//! perspective and the Builder/Build/Step/Log/BuildSet objects it hands out, and subscribe to
//! the status events at a mode. The codec and the mode matrix are `domain::pb`; this folder
//! owns sockets, the reference table, subscriptions (each connection follows the hub's
//! `EventFeed` itself, not the outbox) and the limits that keep one client from costing the
//! server more than its share (P3: frame size, references, an outgoing queue in bytes).

mod methods;
mod pushes;
mod session;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::ports::{Clock, EventFeed, LogStore, StatusReader};

/// The listener's settings (`[pb]`).
#[derive(Clone)]
pub struct PbSettings {
    pub user: String,
    pub password: String,
    /// The largest expression a client may send, in bytes on the wire.
    pub frame_limit: usize,
    /// The most bytes waiting to be written to one client; a client past it is disconnected.
    pub queue_limit: usize,
    /// The most objects one client may hold references to at once; also the most calls it
    /// may have waiting (`waitUntilFinished`) and the most build observers it may subscribe,
    /// so that what a client makes us remember stays bounded.
    pub max_references: usize,
    /// Whether pushed events ask the client for an answer (`answerRequired`), as 0.8 did.
    pub answer_pushes: bool,
}

impl std::fmt::Debug for PbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbSettings")
            .field("user", &self.user)
            .field("password", &"…")
            .field("frame_limit", &self.frame_limit)
            .field("queue_limit", &self.queue_limit)
            .field("max_references", &self.max_references)
            .finish()
    }
}

impl PbSettings {
    /// 0.8's limits: 640 KiB expressions, 1,024 references; 4 MiB of queued output.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            frame_limit: crate::domain::pb::banana::SIZE_LIMIT + 1024,
            queue_limit: 4 << 20,
            max_references: 1024,
            answer_pushes: true,
        }
    }
}

/// What every connection reads from.
pub struct PbService {
    pub settings: PbSettings,
    pub reader: Arc<dyn StatusReader>,
    pub feed: Arc<dyn EventFeed>,
    pub logs: Arc<dyn LogStore>,
    pub clock: Arc<dyn Clock>,
}

/// Accepts clients on `listener` until the task is dropped, each on its own task.
pub async fn serve(listener: TcpListener, service: Arc<PbService>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, peer.to_string(), service.clone()));
            }
            Err(e) => {
                tracing::warn!("pb: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one client until it leaves, breaks the protocol or stops reading.
pub async fn serve_connection<S>(stream: S, peer: String, service: Arc<PbService>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    session::run(stream, peer, service).await;
}
