//! The IRC connection (no IRC client crate: the `irc` crate's codec ends its stream on a line
//! that is not UTF-8 or not a message, and its SASL and flood control are not what the bot
//! needs). TCP or TLS (rustls, verified unless explicitly not), the protocol of
//! `domain::notify::irc::session` fed line by line (a malformed line is logged and skipped),
//! every line written through the token bucket of [`flood`], keep-alive pings (a silent
//! server is a lost connection), rejoining a channel after a kick when configured, and
//! reconnecting with jittered exponential backoff (`lostDelay` after a lost connection,
//! `failedDelay` after a failed attempt, each doubling up to a cap, reset once registered).
//!
//! [`IrcClient::spawn`] starts the connection task; the client says texts (waiting until they
//! are written, or failing when the connection is down), reports what people say on a
//! channel, and shows the connection's state.

mod connection;
pub mod flood;
pub mod tls;

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use flood::FloodLimits;
pub use tls::{Tls, check_ca};

use crate::domain::notify::irc::command::Chat;
use crate::domain::notify::irc::session::{ChannelSpec, Identity};
use crate::domain::notify::irc::text::Say;

/// Where and how the bot connects.
#[derive(Clone, PartialEq)]
pub struct IrcSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub identity: Identity,
    pub flood: FloodLimits,
    /// Before reconnecting after a lost connection (the first time; doubling after); random
    /// between 1 and 5 seconds when not set.
    pub lost_delay: Option<Duration>,
    /// Before retrying after a failed attempt (doubling after); random between 45 and 60
    /// seconds when not set.
    pub failed_delay: Option<Duration>,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// A `PING` to the server this often; nothing heard for two of these is a lost connection.
    pub keepalive: Duration,
    /// Rejoin a channel this long after a kick; never when `None`.
    pub rejoin_after_kick: Option<Duration>,
    pub connect_timeout: Duration,
}

impl Default for IrcSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 6667,
            tls: Tls::Off,
            identity: Identity::default(),
            flood: FloodLimits::default(),
            lost_delay: None,
            failed_delay: None,
            max_delay: Duration::from_secs(300),
            keepalive: Duration::from_secs(120),
            rejoin_after_kick: None,
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Secrets show as `***`.
impl std::fmt::Debug for IrcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = &self.identity;
        let secret = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("IrcSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("nick", &id.nick)
            .field("server_password", &secret(&id.server_password))
            .field("sasl_account", &id.sasl.as_ref().map(|(a, _)| a))
            .field("nickserv_password", &secret(&id.nickserv_password))
            .field(
                "channels",
                &id.channels.iter().map(|c| (&c.name, c.key.as_ref().map(|_| "***"))).collect::<Vec<_>>(),
            )
            .field("flood", &self.flood)
            .field("lost_delay", &self.lost_delay)
            .field("failed_delay", &self.failed_delay)
            .field("max_delay", &self.max_delay)
            .field("keepalive", &self.keepalive)
            .field("rejoin_after_kick", &self.rejoin_after_kick)
            .finish()
    }
}

/// The connection's state, for `/notifications`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Registered with the server.
    pub up: bool,
    /// In words: connected as whom, or why not and when the next attempt is.
    pub text: String,
    /// The last thing that went wrong while connected (a refused login, a channel key).
    pub problem: Option<String>,
}

/// What the connection reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Registered under this nick (after each (re)connection).
    Registered(String),
    Joined(String),
    Chat(Chat),
    /// The connection was lost (a new attempt follows).
    Lost(String),
}

enum Request {
    Say(Vec<Say>, Option<oneshot::Sender<Result<(), String>>>),
    /// Join this channel now and on every later connection.
    Join(ChannelSpec),
    /// Leave this channel, and no longer join it.
    Leave(String),
    Quit(String, oneshot::Sender<()>),
}

/// The bot's side of the connection task; cheap to clone.
#[derive(Clone)]
pub struct IrcClient {
    requests: mpsc::UnboundedSender<Request>,
    state: watch::Receiver<LinkState>,
}

impl IrcClient {
    /// Starts connecting (and reconnecting until [`IrcClient::quit`] or every client is
    /// dropped). Fails at once only on unusable TLS settings.
    pub fn spawn(settings: IrcSettings) -> Result<(Self, mpsc::UnboundedReceiver<Incoming>, JoinHandle<()>), String> {
        let connector = tls::connector(&settings.tls)?;
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(LinkState { up: false, text: "starting".to_owned(), problem: None });
        let task = tokio::spawn(connection::run(settings, connector, requests_rx, incoming_tx, state_tx));
        Ok((Self { requests, state }, incoming, task))
    }

    /// Says `says` and waits until every line is written to the server; an error when the
    /// connection is down or is lost first.
    pub async fn say(&self, says: Vec<Say>) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.requests.send(Request::Say(says, Some(ack))).map_err(|_| "the IRC connection stopped".to_owned())?;
        done.await.map_err(|_| "the IRC connection stopped".to_owned())?
    }

    /// Says `says` when it can (replies to commands): dropped if the connection is down.
    pub fn say_soon(&self, says: Vec<Say>) {
        let _ = self.requests.send(Request::Say(says, None));
    }

    /// Waits up to `limit` for the connection to be registered; whether it is.
    pub async fn wait_up(&self, limit: Duration) -> bool {
        let mut state = self.state.clone();
        tokio::time::timeout(limit, state.wait_for(|s| s.up)).await.is_ok_and(|r| r.is_ok())
    }

    /// Joins `channel` (now if connected) and on every later connection.
    pub fn join(&self, channel: ChannelSpec) {
        let _ = self.requests.send(Request::Join(channel));
    }

    /// Leaves `channel` and no longer joins it on connecting.
    pub fn leave(&self, channel: &str) {
        let _ = self.requests.send(Request::Leave(channel.to_owned()));
    }

    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Says goodbye (`QUIT :message`) and stops the connection task; waits up to 2 seconds.
    pub async fn quit(&self, message: &str) {
        let (ack, done) = oneshot::channel();
        if self.requests.send(Request::Quit(message.to_owned(), ack)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), done).await;
        }
    }
}
