//! One connection's protocol, as a pure state machine: what the bot sends on connecting
//! (`CAP REQ :sasl` when SASL is configured, `PASS`, `NICK`, `USER`), and what it does with
//! each line the server sends — SASL PLAIN (`AUTHENTICATE`, in 400-byte pieces), the nick
//! collision rule (433: `_` appended), the welcome (NickServ `IDENTIFY`, the channels joined
//! with their keys), `PING`, ISUPPORT's `NICKLEN`, joins, kicks, CTCP `VERSION`/`PING`, and the
//! chat it passes on. The adapter does the I/O and the timers; every line goes through
//! [`Session::on_line`], which never panics (a property test feeds it arbitrary lines) and
//! whose every [`Out::Send`] is one clean line.

use base64::Engine;

use super::command::Chat;
use super::line::{Line, compose, fold, is_channel};
use super::text::DEFAULT_NICKLEN;

/// A channel to join, with its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// As configured; `#` is put in front of a name that starts with no channel prefix.
    pub name: String,
    pub key: Option<String>,
}

impl ChannelSpec {
    pub fn new(name: &str, key: Option<&str>) -> Self {
        let name = if is_channel(name) { name.to_owned() } else { format!("#{name}") };
        Self { name, key: key.map(str::to_owned) }
    }
}

/// Who the bot is on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub nick: String,
    /// `PASS`, sent before `NICK` (a server password).
    pub server_password: Option<String>,
    /// SASL PLAIN: the account and its password.
    pub sasl: Option<(String, String)>,
    /// Sent to NickServ (`IDENTIFY`) once registered.
    pub nickserv_password: Option<String>,
    pub channels: Vec<ChannelSpec>,
    pub realname: String,
}

/// What the adapter does after a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// Write this line (CR LF added by the writer).
    Send(String),
    /// Registered (001) as this nick.
    Registered(String),
    /// The bot joined this channel.
    Joined(String),
    /// The bot was kicked from this channel.
    Kicked { channel: String, by: String, reason: String },
    /// Chat that reached the bot (a channel line or a private message).
    Chat(Chat),
    /// Something the operator should know (a failed login, a channel that refused us).
    Problem(String),
    /// SASL logged in.
    LoggedIn,
    /// The server closes the connection (`ERROR`).
    Closing(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sasl {
    Off,
    Requested,
    Authenticating,
    Done,
}

/// The state of one connection.
#[derive(Clone, Debug)]
pub struct Session {
    identity: Identity,
    nick: String,
    registered: bool,
    sasl: Sasl,
    nicklen: usize,
    server: Option<String>,
}

impl Session {
    pub fn new(identity: Identity) -> Self {
        let nick = identity.nick.clone();
        Self { identity, nick, registered: false, sasl: Sasl::Off, nicklen: DEFAULT_NICKLEN, server: None }
    }

    /// The nick the server knows the bot by now.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    pub fn registered(&self) -> bool {
        self.registered
    }

    /// The server's NICKLEN (9 until it says).
    pub fn nicklen(&self) -> usize {
        self.nicklen
    }

    /// The server's name, once it welcomed the bot (the keep-alive pings it).
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The lines that open the connection.
    pub fn start(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        if self.identity.sasl.is_some() {
            self.sasl = Sasl::Requested;
            out.push(Out::Send(compose("CAP", &["REQ"], Some("sasl"))));
        }
        if let Some(password) = &self.identity.server_password {
            out.push(Out::Send(compose("PASS", &[], Some(password))));
        }
        out.push(Out::Send(compose("NICK", &[&self.nick], None)));
        let realname = if self.identity.realname.is_empty() { "buildstatus" } else { &self.identity.realname };
        out.push(Out::Send(compose("USER", &[&self.identity.nick, "0", "*"], Some(realname))));
        out
    }

    /// The `JOIN` of one channel.
    pub fn join(channel: &ChannelSpec) -> String {
        match &channel.key {
            Some(key) => compose("JOIN", &[&channel.name, key], None),
            None => compose("JOIN", &[&channel.name], None),
        }
    }

    /// Acts on one line from the server; a line that is no message is reported, not fatal.
    pub fn on_line(&mut self, raw: &str) -> Vec<Out> {
        let Some(line) = Line::parse(raw) else {
            return if raw.trim().is_empty() {
                Vec::new()
            } else {
                vec![Out::Problem(format!("unreadable line: {raw:?}"))]
            };
        };
        let mine = |who: Option<&str>, nick: &str| who.is_some_and(|w| fold(w) == fold(nick));
        let command = line.command.to_ascii_uppercase();
        match command.as_str() {
            "PING" => vec![Out::Send(compose("PONG", &[], Some(line.param(0).unwrap_or(""))))],
            "CAP" => self.cap(&line),
            "AUTHENTICATE" if self.sasl == Sasl::Authenticating && line.param(0) == Some("+") => self.sasl_payload(),
            "903" => {
                self.sasl = Sasl::Done;
                vec![Out::LoggedIn, Out::Send(compose("CAP", &["END"], None))]
            }
            "902" | "904" | "905" | "906" | "908" if self.sasl != Sasl::Done => {
                self.sasl = Sasl::Done;
                let why = line.params.last().copied().unwrap_or("");
                vec![Out::Problem(format!("SASL login failed: {why}")), Out::Send(compose("CAP", &["END"], None))]
            }
            "001" => self.welcome(&line),
            "005" => {
                for token in line.params.iter().skip(1) {
                    if let Some(n) = token.strip_prefix("NICKLEN=").and_then(|n| n.parse::<usize>().ok()) {
                        self.nicklen = n.clamp(1, 100);
                    }
                }
                Vec::new()
            }
            "433" | "436" if !self.registered => {
                self.nick.push('_');
                vec![Out::Send(compose("NICK", &[&self.nick], None))]
            }
            "432" if !self.registered => vec![Out::Problem(format!("the server refused the nick '{}'", self.nick))],
            "464" => vec![Out::Problem("the server refused the password".to_owned())],
            "471" | "473" | "474" | "475" | "477" | "403" | "405" => {
                let channel = line.param(1).unwrap_or("?");
                let why = line.params.last().copied().unwrap_or("");
                vec![Out::Problem(format!("cannot join {channel}: {why}"))]
            }
            "NICK" if mine(line.nick(), &self.nick) => {
                self.nick = line.param(0).unwrap_or(&self.nick).to_owned();
                Vec::new()
            }
            "JOIN" if mine(line.nick(), &self.nick) => {
                line.param(0).map(|c| vec![Out::Joined(c.to_owned())]).unwrap_or_default()
            }
            "KICK" if mine(line.param(1), &self.nick) => vec![Out::Kicked {
                channel: line.param(0).unwrap_or("").to_owned(),
                by: line.nick().unwrap_or("").to_owned(),
                reason: line.param(2).unwrap_or("").to_owned(),
            }],
            "PRIVMSG" => self.privmsg(&line),
            "ERROR" => vec![Out::Closing(line.param(0).unwrap_or("").to_owned())],
            _ => Vec::new(),
        }
    }

    fn cap(&mut self, line: &Line) -> Vec<Out> {
        let (sub, caps) = (line.param(1).unwrap_or(""), line.params.last().copied().unwrap_or(""));
        let sasl_named = caps.split(' ').any(|c| c.eq_ignore_ascii_case("sasl"));
        match (sub.to_ascii_uppercase().as_str(), self.sasl) {
            ("ACK", Sasl::Requested) if sasl_named => {
                self.sasl = Sasl::Authenticating;
                vec![Out::Send(compose("AUTHENTICATE", &["PLAIN"], None))]
            }
            ("NAK", Sasl::Requested) => {
                self.sasl = Sasl::Done;
                vec![
                    Out::Problem("the server does not offer SASL".to_owned()),
                    Out::Send(compose("CAP", &["END"], None)),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// `authzid NUL authcid NUL password`, base64, in 400-byte `AUTHENTICATE` pieces (a `+`
    /// after a last piece of exactly 400).
    fn sasl_payload(&mut self) -> Vec<Out> {
        let Some((account, password)) = &self.identity.sasl else { return Vec::new() };
        let plain = format!("{account}\0{account}\0{password}");
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        let mut out: Vec<Out> = encoded
            .as_bytes()
            .chunks(400)
            .map(|c| Out::Send(compose("AUTHENTICATE", &[std::str::from_utf8(c).unwrap_or("")], None)))
            .collect();
        if encoded.len() % 400 == 0 {
            out.push(Out::Send(compose("AUTHENTICATE", &["+"], None)));
        }
        out
    }

    fn welcome(&mut self, line: &Line) -> Vec<Out> {
        self.registered = true;
        if let Some(nick) = line.param(0).filter(|n| !n.is_empty()) {
            self.nick = nick.to_owned();
        }
        self.server = line.prefix.map(str::to_owned);
        let mut out = vec![Out::Registered(self.nick.clone())];
        if let Some(password) = &self.identity.nickserv_password {
            out.push(Out::Send(compose("PRIVMSG", &["NickServ"], Some(&format!("IDENTIFY {password}")))));
        }
        out.extend(self.identity.channels.iter().map(|c| Out::Send(Self::join(c))));
        out
    }

    fn privmsg(&self, line: &Line) -> Vec<Out> {
        let (Some(from), Some(target), Some(text)) = (line.nick(), line.param(0), line.param(1)) else {
            return Vec::new();
        };
        if let Some(ctcp) = text.strip_prefix('\x01') {
            let ctcp = ctcp.trim_end_matches('\x01');
            let (verb, arg) = ctcp.split_once(' ').unwrap_or((ctcp, ""));
            let reply = |t: &str| vec![Out::Send(compose("NOTICE", &[from], Some(&format!("\x01{t}\x01"))))];
            return match verb {
                "ACTION" => vec![Out::Chat(Chat {
                    from: from.to_owned(),
                    target: target.to_owned(),
                    text: arg.to_owned(),
                    action: true,
                })],
                "VERSION" => reply(&format!("VERSION buildstatus {}", env!("CARGO_PKG_VERSION"))),
                "PING" => reply(&format!("PING {arg}")),
                _ => Vec::new(),
            };
        }
        vec![Out::Chat(Chat { from: from.to_owned(), target: target.to_owned(), text: text.to_owned(), action: false })]
    }
}

#[cfg(test)]
mod tests;
