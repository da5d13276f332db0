//! The connection task: connect, run one session until it ends, wait (with backoff), again.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use super::flood::Bucket;
use super::{Incoming, IrcSettings, LinkState, Request};
use crate::domain::notify::irc::line::{compose, fold};
use crate::domain::notify::irc::session::{ChannelSpec, Out, Session};
use crate::domain::notify::irc::text::wire_lines;

/// The longest line read; the rest of a longer one is read as another line.
const MAX_READ: usize = 8192;

/// How a session ended.
enum Ended {
    /// Asked to quit, or every client is gone.
    Quit,
    /// Lost; whether it had registered first.
    Lost { reason: String, registered: bool },
}

type Ack = Option<oneshot::Sender<Result<(), String>>>;

pub(super) async fn run(
    mut settings: IrcSettings,
    connector: Option<TlsConnector>,
    mut requests: mpsc::UnboundedReceiver<Request>,
    incoming: mpsc::UnboundedSender<Incoming>,
    state: watch::Sender<LinkState>,
) {
    let place = format!("{}:{}", settings.host, settings.port);
    let mut failures = 0u32;
    loop {
        state.send_replace(LinkState { up: false, text: format!("connecting to {place}"), problem: None });
        let (delay, why) = match timeout(settings.connect_timeout, connect(&settings, connector.as_ref())).await {
            Ok(Ok(stream)) => match session(stream, &mut settings, &mut requests, &incoming, &state).await {
                Ended::Quit => return,
                Ended::Lost { reason, registered } => {
                    failures = if registered { 1 } else { failures + 1 };
                    let _ = incoming.send(Incoming::Lost(reason.clone()));
                    (backoff(settings.lost_delay, (1.0, 5.0), failures, settings.max_delay), format!("lost: {reason}"))
                }
            },
            Ok(Err(e)) => {
                failures += 1;
                (
                    backoff(settings.failed_delay, (45.0, 60.0), failures, settings.max_delay),
                    format!("cannot connect: {e}"),
                )
            }
            Err(_) => {
                failures += 1;
                let why = format!("cannot connect: no answer in {}s", settings.connect_timeout.as_secs());
                (backoff(settings.failed_delay, (45.0, 60.0), failures, settings.max_delay), why)
            }
        };
        tracing::warn!("IRC {place}: {why}; next attempt in {:.1}s", delay.as_secs_f64());
        let text = format!("{place}: {why}; next attempt in {}s", delay.as_secs().max(1));
        state.send_modify(|s| {
            s.up = false;
            s.text = text;
        });
        if !wait(delay, &mut requests, &mut settings.identity.channels).await {
            return;
        }
    }
}

/// Waits `delay`, refusing what is said meanwhile (a channel joined or left is remembered for
/// the next connection); false when asked to quit.
async fn wait(
    delay: Duration,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    channels: &mut Vec<ChannelSpec>,
) -> bool {
    let until = Instant::now() + delay;
    loop {
        tokio::select! {
            () = sleep_until(until) => return true,
            request = requests.recv() => match request {
                None => return false,
                Some(Request::Quit(_, done)) => {
                    let _ = done.send(());
                    return false;
                }
                Some(Request::Say(_, ack)) => refuse(ack, "not connected"),
                Some(Request::Join(spec)) => { remember_join(channels, &spec); }
                Some(Request::Leave(name)) => remember_leave(channels, &name),
            },
        }
    }
}

/// Adds `spec` to the channels joined on each connection; whether it was not there yet.
fn remember_join(channels: &mut Vec<ChannelSpec>, spec: &ChannelSpec) -> bool {
    match channels.iter_mut().find(|c| fold(&c.name) == fold(&spec.name)) {
        Some(known) => {
            known.key.clone_from(&spec.key);
            false
        }
        None => {
            channels.push(spec.clone());
            true
        }
    }
}

fn remember_leave(channels: &mut Vec<ChannelSpec>, name: &str) {
    channels.retain(|c| fold(&c.name) != fold(name));
}

fn refuse(ack: Ack, why: &str) {
    if let Some(ack) = ack {
        let _ = ack.send(Err(why.to_owned()));
    }
}

/// A delay: `configured`, or random within `default` (seconds); doubled per earlier failure
/// up to `max`, with up to ±25% jitter of its own per bot and attempt.
fn backoff(configured: Option<Duration>, default: (f64, f64), failures: u32, max: Duration) -> Duration {
    let random = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(failures);
        (h.finish() % 10_000) as f64 / 10_000.0
    };
    let base = configured.map_or_else(|| default.0 + (default.1 - default.0) * random(), |d| d.as_secs_f64());
    let doubled = base * f64::from(1u32 << failures.saturating_sub(1).min(16));
    let jittered = doubled * (0.75 + 0.5 * random());
    Duration::from_secs_f64(jittered.min(max.as_secs_f64()).max(0.05))
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(settings: &IrcSettings, connector: Option<&TlsConnector>) -> Result<Box<dyn Stream>, String> {
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port)).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    match connector {
        None => Ok(Box::new(tcp)),
        Some(connector) => {
            let name = ServerName::try_from(settings.host.clone()).map_err(|e| format!("{}: {e}", settings.host))?;
            let tls = connector.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
            Ok(Box::new(tls))
        }
    }
}

/// One connection, from registration to its end.
async fn session(
    stream: Box<dyn Stream>,
    settings: &mut IrcSettings,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    incoming: &mpsc::UnboundedSender<Incoming>,
    state: &watch::Sender<LinkState>,
) -> Ended {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    let mut session = Session::new(settings.identity.clone());
    let mut protocol: VecDeque<String> = VecDeque::new();
    let mut chat: VecDeque<(String, Ack)> = VecDeque::new();
    let mut rejoins: Vec<(Instant, ChannelSpec)> = Vec::new();
    let mut bucket = Bucket::new(settings.flood, Instant::now());
    let mut last_heard = Instant::now();
    let mut next_ping = Instant::now() + settings.keepalive;
    let mut buf = Vec::new();
    let place = format!("{}:{}", settings.host, settings.port);
    let lost = |reason: String, session: &Session, chat: &mut VecDeque<(String, Ack)>| {
        for (_, ack) in chat.drain(..) {
            refuse(ack, &format!("connection lost: {reason}"));
        }
        Ended::Lost { reason, registered: session.registered() }
    };
    for out in session.start() {
        if let Out::Send(line) = out {
            protocol.push_back(line);
        }
    }
    loop {
        let now = Instant::now();
        let writable = !protocol.is_empty() || (session.registered() && !chat.is_empty());
        let write_at = if writable { bucket.ready_at(now) } else { now + Duration::from_secs(3600) };
        let rejoin_at = rejoins.iter().map(|(at, _)| *at).min().unwrap_or(now + Duration::from_secs(3600));
        let mut limited = (&mut reader).take((MAX_READ - buf.len().min(MAX_READ - 1)) as u64);
        tokio::select! {
            read = limited.read_until(b'\n', &mut buf) => {
                match read {
                    Ok(0) => return lost("the server closed the connection".to_owned(), &session, &mut chat),
                    Err(e) => return lost(e.to_string(), &session, &mut chat),
                    Ok(_) if !buf.ends_with(b"\n") && buf.len() < MAX_READ => continue,
                    Ok(_) => {}
                }
                last_heard = Instant::now();
                let raw = String::from_utf8_lossy(&buf).into_owned();
                buf.clear();
                for out in session.on_line(&raw) {
                    match out {
                        Out::Send(line) => protocol.push_back(line),
                        Out::Registered(nick) => {
                            // A problem of the registration (a refused SASL login) stays shown.
                            let text = format!("connected to {place} as {nick}");
                            state.send_modify(|s| {
                                s.up = true;
                                s.text = text;
                            });
                            let _ = incoming.send(Incoming::Registered(nick));
                        }
                        Out::LoggedIn => tracing::info!("IRC {place}: logged in with SASL"),
                        Out::Joined(channel) => {
                            let _ = incoming.send(Incoming::Joined(channel));
                        }
                        Out::Kicked { channel, by, reason } => {
                            tracing::warn!("IRC {place}: kicked from {channel} by {by}: {reason}");
                            let problem = format!("kicked from {channel} by {by}: {reason}");
                            state.send_modify(|s| s.problem = Some(problem));
                            if let Some(after) = settings.rejoin_after_kick {
                                let spec = settings.identity.channels.iter()
                                    .find(|c| fold(&c.name) == fold(&channel))
                                    .cloned()
                                    .unwrap_or_else(|| ChannelSpec::new(&channel, None));
                                rejoins.push((Instant::now() + after, spec));
                            }
                        }
                        Out::Chat(c) => {
                            let _ = incoming.send(Incoming::Chat(c));
                        }
                        Out::Problem(problem) => {
                            tracing::warn!("IRC {place}: {problem}");
                            state.send_modify(|s| s.problem = Some(problem));
                        }
                        Out::Closing(reason) => tracing::info!("IRC {place}: the server closes: {reason}"),
                    }
                }
            }
            request = requests.recv() => match request {
                None => return Ended::Quit,
                Some(Request::Quit(message, done)) => {
                    let line = format!("{}\r\n", compose("QUIT", &[], Some(&message)));
                    let _ = timeout(Duration::from_secs(1), async {
                        let _ = writer.write_all(line.as_bytes()).await;
                        let _ = writer.flush().await;
                    }).await;
                    let _ = done.send(());
                    return Ended::Quit;
                }
                Some(Request::Join(spec)) => {
                    remember_join(&mut settings.identity.channels, &spec);
                    protocol.push_back(Session::join(&spec));
                }
                Some(Request::Leave(name)) => {
                    remember_leave(&mut settings.identity.channels, &name);
                    rejoins.retain(|(_, c)| fold(&c.name) != fold(&name));
                    // After what was said before it (the goodbye to that channel).
                    chat.push_back((compose("PART", &[&name], Some("told to leave")), None));
                }
                Some(Request::Say(says, ack)) => {
                    let lines: Vec<String> = says.iter().flat_map(|s| wire_lines(s, session.nicklen())).collect();
                    match lines.len() {
                        0 => if let Some(ack) = ack { let _ = ack.send(Ok(())); },
                        n => {
                            let mut ack = ack;
                            for (i, line) in lines.into_iter().enumerate() {
                                chat.push_back((line, if i + 1 == n { ack.take() } else { None }));
                            }
                        }
                    }
                }
            },
            () = sleep_until(write_at), if writable => {
                let (line, ack) = match protocol.pop_front() {
                    Some(line) => (line, None),
                    None => match chat.pop_front() { Some(item) => item, None => continue },
                };
                bucket.take(Instant::now());
                let written = writer.write_all(format!("{line}\r\n").as_bytes()).await;
                if let Err(e) = written.and(writer.flush().await) {
                    refuse(ack, &e.to_string());
                    return lost(e.to_string(), &session, &mut chat);
                }
                if let Some(ack) = ack {
                    let _ = ack.send(Ok(()));
                }
            }
            () = sleep_until(next_ping) => {
                if last_heard.elapsed() > settings.keepalive * 2 {
                    let silent = last_heard.elapsed().as_secs();
                    return lost(format!("nothing heard from the server for {silent}s"), &session, &mut chat);
                }
                let server = session.server().unwrap_or(&settings.host).to_owned();
                protocol.push_back(compose("PING", &[], Some(&server)));
                next_ping = Instant::now() + settings.keepalive;
            }
            () = sleep_until(rejoin_at), if !rejoins.is_empty() => {
                let now = Instant::now();
                let (due, later): (Vec<_>, Vec<_>) = rejoins.drain(..).partition(|(at, _)| *at <= now);
                rejoins = later;
                protocol.extend(due.iter().map(|(_, spec)| Session::join(spec)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::irc::IrcClient;
    use crate::domain::notify::irc::session::Identity;
    use tokio::io::AsyncBufReadExt;

    /// A listener on loopback, and the settings of a bot `bb` connecting to it that waits
    /// long before reconnecting (so a test sees one connection).
    async fn server_and_bot() -> (tokio::net::TcpListener, IrcSettings) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let settings = IrcSettings {
            host: "127.0.0.1".into(),
            port,
            identity: Identity { nick: "bb".into(), ..Identity::default() },
            lost_delay: Some(Duration::from_secs(30)),
            ..IrcSettings::default()
        };
        (listener, settings)
    }

    /// A server that welcomes the bot, then says nothing: the bot pings it, and once nothing
    /// came for two keep-alive periods it counts the connection lost.
    #[tokio::test]
    async fn a_silent_server_is_pinged_then_left() {
        let (listener, settings) = server_and_bot().await;
        let settings = IrcSettings { keepalive: Duration::from_millis(300), ..settings };
        let (client, _incoming, task) = IrcClient::spawn(settings).expect("client");
        let (socket, _) = listener.accept().await.expect("accept");
        let (read, mut write) = socket.into_split();
        write.write_all(b":srv 001 bb :welcome\r\n").await.expect("welcome");
        let mut lines = BufReader::new(read).lines();
        let mut heard = Vec::new();
        // Until the bot hangs up; a bot that keeps pinging forever fails after 5 seconds.
        let until = Instant::now() + Duration::from_secs(5);
        while let Ok(Ok(Some(line))) = tokio::time::timeout_at(until, lines.next_line()).await {
            heard.push(line);
        }
        assert_eq!(heard[..2], ["NICK bb", "USER bb 0 * :buildstatus"]);
        assert!(heard.iter().any(|l| l == "PING :srv"), "{heard:?}");
        let state = client.state().borrow().clone();
        assert!(!state.up && state.text.contains("nothing heard from the server"), "{state:?}");
        task.abort();
    }

    /// Bytes no server should send (not UTF-8, NUL, a line of 20 000 bytes, lines that are no
    /// message): the bot reads past each, stays connected, and still hears what follows.
    #[tokio::test]
    async fn garbage_from_the_server_never_stops_the_bot() {
        let (listener, settings) = server_and_bot().await;
        let (client, mut incoming, task) = IrcClient::spawn(settings).expect("client");
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut garbage: Vec<u8> =
            b":srv 001 bb :welcome\r\n\xff\xfe\xc3(\r\n\0\0\0\n:\r\n:x PRIVMSG\r\n   \r\n".to_vec();
        garbage.extend(std::iter::repeat_n(b'a', 20_000));
        garbage.extend(b"\r\n:x 005 bb NICKLEN=zz :yes\r\n:alice!a@h PRIVMSG bb :\x01\r\n");
        garbage.extend(b":alice!a@h PRIVMSG bb :hello \xe2\x82 there\r\n");
        socket.write_all(&garbage).await.expect("garbage");
        let mut heard = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(event)) = tokio::time::timeout_at(until, incoming.recv()).await {
            if let Incoming::Chat(chat) = &event
                && chat.text.starts_with("hello")
            {
                heard.push(event);
                break;
            }
            heard.push(event);
        }
        let Some(Incoming::Chat(chat)) = heard.last() else { panic!("{heard:?}") };
        assert_eq!((chat.from.as_str(), chat.text.as_str()), ("alice", "hello \u{fffd} there"));
        assert!(client.state().borrow().up, "{:?}", client.state().borrow());
        task.abort();
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let max = Duration::from_secs(300);
        let d1 = backoff(Some(Duration::from_secs(10)), (1.0, 5.0), 1, max).as_secs_f64();
        let d3 = backoff(Some(Duration::from_secs(10)), (1.0, 5.0), 3, max).as_secs_f64();
        assert!((7.5..=12.5).contains(&d1), "{d1}");
        assert!((30.0..=50.0).contains(&d3), "{d3}");
        assert_eq!(backoff(Some(Duration::from_secs(10)), (1.0, 5.0), 20, max), max);
        let default = backoff(None, (45.0, 60.0), 1, max).as_secs_f64();
        assert!((33.0..=75.0).contains(&default), "{default}");
    }
}
