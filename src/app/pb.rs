//! Runs the Perspective Broker status listener (`[pb]`) of a server: binds its place (TCP,
//! TLS or a UNIX socket, as `listen`), accepts clients and hands each to `adapters::pb`,
//! with the server's hub as the status to read and the event feed to follow.

use std::sync::Arc;

use axum::serve::Listener;
use tokio::task::JoinHandle;

use super::StatusServer;
use super::config::pb::PbConfig;
use crate::adapters::http::listen::{self, Bound, ListenError};
use crate::adapters::pb::{PbService, PbSettings, serve_connection};

impl StatusServer {
    /// The PB service over this server's status, with `settings`.
    pub fn pb_service(&self, settings: PbSettings) -> Arc<PbService> {
        Arc::new(PbService {
            settings,
            reader: self.hub.clone(),
            feed: self.hub.clone(),
            logs: self.shared.logs.clone(),
            clock: self.clock.clone(),
        })
    }

    /// Binds the listener `config` names; [`StatusServer::serve_pb`] serves it.
    pub async fn bind_pb(config: &PbConfig) -> Result<Bound, ListenError> {
        listen::bind(&config.listen).await
    }

    /// Serves PB clients on `bound` until the returned task is aborted.
    pub fn serve_pb(&self, bound: Bound, settings: PbSettings) -> JoinHandle<()> {
        let service = self.pb_service(settings);
        tokio::spawn(async move {
            match bound {
                Bound::Tcp(listener) => accept(listener, service).await,
                Bound::Tls(listener) => accept(listener, service).await,
                Bound::Unix(listener, _) => accept(listener, service).await,
            }
        })
    }
}

/// Where a bound PB listener is, as a client reaches it.
pub fn describe(bound: &Bound) -> String {
    match bound {
        Bound::Tcp(l) => l.local_addr().map_or_else(|_| "?".into(), |a| format!("pb://{a}")),
        other => other.describe(),
    }
}

async fn accept<L>(mut listener: L, service: Arc<PbService>)
where
    L: Listener,
    L::Io: Send + Unpin + 'static,
    L::Addr: std::fmt::Debug,
{
    loop {
        let (io, peer) = listener.accept().await;
        tokio::spawn(serve_connection(io, format!("{peer:?}"), service.clone()));
    }
}
