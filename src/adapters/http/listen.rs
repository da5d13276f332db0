//! Where the web server listens (`serve.rs` serves what is bound here): TCP on any address (IPv4 or IPv6), TLS over TCP (rustls with
//! the aws-lc-rs provider; certificate chain and key from PEM files), or a UNIX socket (what a
//! front end proxies to, instead of 0.8's `distrib_port`), several at once, all serving one
//! router and stopping together.
//!
//! The forms are read by `app::config` (`8010`, `tcp:8010:interface=127.0.0.1`,
//! `ssl:8443:privateKey=key.pem:certKey=cert.pem`, `unix:/run/buildstatus.sock:mode=660`);
//! tests start each on loopback and talk to it with reqwest, curl `--unix-socket` and
//! Chromium.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// One place to listen, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    /// HTTPS: the certificate chain (leaf first) and the private key, PEM files.
    Tls {
        address: SocketAddr,
        cert: PathBuf,
        key: PathBuf,
    },
    /// A UNIX socket at `path`, its permission bits set to `mode` (say 0o660) when given.
    Unix {
        path: PathBuf,
        mode: Option<u32>,
    },
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(address) => write!(f, "http://{address}/"),
            Self::Tls { address, .. } => write!(f, "https://{address}/"),
            Self::Unix { path, .. } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {what}: {source}")]
    Bind {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Tls { path: String, why: String },
}

/// Where a request came from, as the listener saw it: its address (none on a UNIX socket),
/// and whether it came over TLS. Login rate limits count by address, a front end's user
/// header is trusted by address, and session cookies are `Secure` over TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    pub address: Option<IpAddr>,
    pub tls: bool,
    pub unix: bool,
}

/// A TCP listener whose connections send at once: without TCP_NODELAY a response sent in two
/// writes (a file's headers, then its body) waits for the client's delayed ACK of the first,
/// 40 ms a request.
pub struct NoDelay(pub TcpListener);

impl axum::serve::Listener for NoDelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.0).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on a connection: {e}");
        }
        (stream, address)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A listener bound and ready to serve.
pub enum Bound {
    Tcp(TcpListener),
    Tls(TlsListener),
    Unix(UnixListener, PathBuf),
}

impl Bound {
    /// Where it listens, as a user would reach it (the port the system chose for port 0).
    pub fn describe(&self) -> String {
        match self {
            Self::Tcp(l) => l.local_addr().map_or_else(|_| "?".into(), |a| format!("http://{a}/")),
            Self::Tls(l) => l.tcp_address.map_or_else(|| "?".into(), |a| format!("https://{a}/")),
            Self::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }
}

/// Reads and checks a certificate chain and its key: what `check-config` reports, and what
/// a TLS listener serves.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ListenError> {
    let bad = |path: &Path, why: String| ListenError::Tls { path: path.display().to_string(), why };
    let pem = std::fs::read(cert).map_err(|e| bad(cert, format!("cannot read: {e}")))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "holds no certificate".into()));
    }
    let pem = std::fs::read(key).map_err(|e| bad(key, format!("cannot read: {e}")))?;
    let key_der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad(key, format!("not a PEM private key: {e}")))?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad(key, format!("does not go with the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Binds `listen`. A UNIX socket left by a process that is gone is replaced; the socket's
/// mode is set before anyone can connect through the new one.
pub async fn bind(listen: &Listen) -> Result<Bound, ListenError> {
    let failed = |source| ListenError::Bind { what: listen.to_string(), source };
    match listen {
        Listen::Tcp(address) => Ok(Bound::Tcp(TcpListener::bind(address).await.map_err(failed)?)),
        Listen::Tls { address, cert, key } => {
            let config = tls_config(cert, key)?;
            let tcp = TcpListener::bind(address).await.map_err(failed)?;
            Ok(Bound::Tls(TlsListener::new(tcp, TlsAcceptor::from(config))))
        }
        Listen::Unix { path, mode } => {
            if std::os::unix::net::UnixStream::connect(path).is_err() {
                // Nobody answers there: a stale socket file (or none).
                let _ = std::fs::remove_file(path);
            }
            let listener = UnixListener::bind(path).map_err(failed)?;
            if let Some(mode) = mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).map_err(failed)?;
            }
            Ok(Bound::Unix(listener, path.clone()))
        }
    }
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Handshakes done and waiting to be served.
const READY: usize = 64;
/// Handshakes under way at once, at most: past it a new connection is closed at once, so a
/// flood of connections that never finish their handshake costs a bounded amount.
const HANDSHAKES: usize = 1024;

/// TCP connections that become HTTPS: each handshake runs on its own task (a slow client
/// never holds up the others), and those that complete are served.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    tcp_address: Option<SocketAddr>,
    _accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        let tcp_address = tcp.local_addr().ok();
        let (done, ready) = mpsc::channel(READY);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::debug!("TLS listener: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!("TCP_NODELAY not set on a connection: {e}");
                }
                let Ok(permit) = handshakes.clone().try_acquire_owned() else {
                    tracing::debug!("TLS listener: {HANDSHAKES} handshakes under way; {peer} closed");
                    continue;
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                });
            }
        });
        Self { ready, tcp_address, _accepting: accepting }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self._accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task is gone only when the listener is: serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp_address.ok_or_else(|| std::io::Error::other("no address"))
    }
}
