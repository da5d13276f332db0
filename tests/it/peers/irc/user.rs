//! The user's side: a second, independent IRC client (the `irc` crate, plain TCP) that joins
//! channels, talks to the bot, and collects what it hears, with the time each line arrived.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use irc::client::ClientStream;
use irc::client::prelude::{Client, Command, Config};

/// One line heard.
#[derive(Clone, Debug)]
pub struct Heard {
    pub from: String,
    pub target: String,
    pub text: String,
    pub notice: bool,
    pub at: Instant,
}

pub struct User {
    pub nick: String,
    client: Client,
    stream: ClientStream,
    /// Server lines other than chat (numerics, joins), as text.
    pub other: Vec<String>,
}

impl User {
    /// Connects as `nick` and joins `channels` (`(name, key)`), waiting for each join.
    pub async fn connect(port: u16, nick: &str, channels: &[(&str, Option<&str>)], password: Option<&str>) -> Self {
        let config = Config {
            nickname: Some(nick.to_owned()),
            server: Some("127.0.0.1".to_owned()),
            port: Some(port),
            password: password.map(str::to_owned),
            ping_time: Some(600),
            ping_timeout: Some(600),
            ..Config::default()
        };
        let mut client = Client::from_config(config).await.expect("the user connects");
        client.identify().expect("identify");
        let stream = client.stream().expect("stream");
        let mut user = Self { nick: nick.to_owned(), client, stream, other: Vec::new() };
        user.wait_other(|l| l.contains(" 001 ") || l.contains("RPL_WELCOME"), Duration::from_secs(20)).await;
        for (name, key) in channels {
            user.join(name, *key).await;
        }
        user
    }

    pub async fn join(&mut self, channel: &str, key: Option<&str>) {
        match key {
            Some(key) => self.client.send_join_with_keys(channel, key),
            None => self.client.send_join(channel),
        }
        .expect("join");
        let me = format!(":{}!", self.nick);
        let channel = channel.to_owned();
        self.wait_other(
            |l| l.starts_with(&me) && l.contains(" JOIN ") && l.contains(&channel),
            Duration::from_secs(20),
        )
        .await;
    }

    pub fn say(&self, target: &str, text: &str) {
        self.client.send_privmsg(target, text).expect("send");
    }

    pub fn send_raw(&self, line: &str) {
        self.client.send(line).expect("send");
    }

    /// Reads the next message; `None` at the deadline.
    async fn next(&mut self, deadline: Instant) -> Option<Result<Heard, String>> {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, self.stream.next()).await.ok()??.ok()?;
        let from = message.source_nickname().unwrap_or("").to_owned();
        Some(match &message.command {
            Command::PRIVMSG(target, text) => {
                Ok(Heard { from, target: target.clone(), text: text.clone(), notice: false, at: Instant::now() })
            }
            Command::NOTICE(target, text) => {
                Ok(Heard { from, target: target.clone(), text: text.clone(), notice: true, at: Instant::now() })
            }
            _ => Err(message.to_string()),
        })
    }

    /// Waits for a non-chat line matching `wanted` (panics after `limit`); returns it.
    pub async fn wait_other(&mut self, wanted: impl Fn(&str) -> bool, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            match self.next(deadline).await {
                Some(Err(line)) => {
                    let line = line.trim_end().to_owned();
                    self.other.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Some(Ok(_)) => {}
                None => panic!("{}: the line awaited never came; heard: {:#?}", self.nick, self.other),
            }
        }
    }

    /// A non-chat line matching `wanted` heard already, or the next one (panics after `limit`).
    pub async fn seen_or_wait(&mut self, wanted: impl Fn(&str) -> bool, limit: Duration) -> String {
        match self.other.iter().find(|l| wanted(l)) {
            Some(line) => line.clone(),
            None => self.wait_other(wanted, limit).await,
        }
    }

    /// Collects what `from` says until `count` lines came (or `limit` passed).
    pub async fn hear(&mut self, from: &str, count: usize, limit: Duration) -> Vec<Heard> {
        let deadline = Instant::now() + limit;
        let mut heard = Vec::new();
        while heard.len() < count {
            match self.next(deadline).await {
                Some(Ok(h)) if h.from.eq_ignore_ascii_case(from) => heard.push(h),
                Some(Ok(_)) => {}
                Some(Err(line)) => self.other.push(line),
                None => break,
            }
        }
        heard
    }

    /// The texts of the next `count` lines from `from`, failing with what came when fewer came.
    pub async fn expect_texts(&mut self, from: &str, count: usize) -> Vec<String> {
        let heard = self.hear(from, count, Duration::from_secs(20)).await;
        let texts: Vec<String> = heard.iter().map(|h| h.text.clone()).collect();
        assert_eq!(texts.len(), count, "{} expected {count} lines from {from}, heard {texts:#?}", self.nick);
        texts
    }

    /// Asks `to` (in `target`) and returns the answers' texts.
    pub async fn ask(&mut self, target: &str, text: &str, bot: &str, answers: usize) -> Vec<String> {
        self.say(target, text);
        self.expect_texts(bot, answers).await
    }

    /// Nothing from `from` within `quiet`.
    pub async fn silent(&mut self, from: &str, quiet: Duration) {
        let heard = self.hear(from, 1, quiet).await;
        assert!(heard.is_empty(), "{from} said {heard:?}");
    }

    pub fn whois_account(&self, nick: &str) {
        self.client.send(Command::WHOIS(None, nick.to_owned())).expect("whois");
    }

    /// Waits for the end of a WHOIS, returning its lines.
    pub async fn whois_lines(&mut self, nick: &str) -> Vec<String> {
        self.whois_account(nick);
        let start = self.other.len();
        self.wait_other(|l| l.contains(" 318 "), Duration::from_secs(10)).await;
        self.other[start..].to_vec()
    }
}
