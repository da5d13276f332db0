//! `[[irc]]` blocks of buildstatus.toml: one IRC bot each, with the seed's argument names
//! (`host`, `nick`, `channels`, `notify_events`, `allowForce`, `useColors`, `lostDelay`, …) and
//! what spec-notify-8 asks for beside them: SASL (`saslPassword`), a server password apart
//! from NickServ's (`serverPassword`), verified TLS (`useSSL`, `caFile`, `tlsVerify = false`
//! to opt out), flood control (`floodBurst`, `floodRate`), rejoining after a kick, and secrets
//! read from files (`…File`). `notify_events` are checked here (I14), each problem naming its
//! block and key.
//!
//! ```toml
//! [[irc]]
//! host = "irc.example.org"
//! nick = "bb"
//! channels = ["#builds", { channel = "#private", password = "key" }]
//! notify_events = ["exception", "successToFailure", "failureToSuccess"]
//! useSSL = true
//! saslPasswordFile = "irc-password"
//! ```

use std::path::Path;
use std::time::Duration;

use super::targets;
use super::values::{boolean, non_empty, number, string, strings};
use crate::adapters::irc::{IrcSettings, Tls, check_ca};
use crate::app::notify::{BotRules, IrcTarget, Overrides};
use crate::domain::notify::irc::events::EventSet;
use crate::domain::notify::irc::session::ChannelSpec;

/// Parses every `[[irc]]` block (`value` is the array of them).
pub fn parse(value: &toml::Value, base: &Path) -> Result<Vec<IrcTarget>, Vec<String>> {
    targets::blocks("irc", value, |table, name, delivery| read(table, name, delivery, base), |t| t.name.as_str())
}

/// A block as it is read: what depends on several keys is settled at the end.
#[derive(Default)]
struct Block {
    name: String,
    settings: IrcSettings,
    rules: BotRules,
    categories: Option<Vec<String>>,
    use_ssl: bool,
    verify: bool,
    ca: Vec<Vec<u8>>,
    port: Option<u16>,
    password: Option<String>,
    sasl_account: Option<String>,
    sasl_password: Option<String>,
}

fn read(table: &toml::Table, name: String, delivery: Overrides, base: &Path) -> Result<IrcTarget, Vec<String>> {
    let mut block = Block { name, verify: true, ..Block::default() };
    let mut problems = Vec::new();
    for (key, v) in table {
        let known = (|| Ok::<bool, String>(block.connection(key, v, base)? || block.bot(key, v)?))();
        match known {
            Ok(true) => {}
            Ok(false) => problems.push(format!("{key}: unknown key '{key}'")),
            Err(p) => problems.push(format!("{key}: {p}")),
        }
    }
    for required in ["host", "nick"] {
        if !table.contains_key(required) {
            problems.push(format!("{required}: required"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(block.finish(delivery))
}

/// A secret: the key's value, or the first line of the file `…File` names.
fn secret(key: &str, v: &toml::Value, base: &Path) -> Result<String, String> {
    if key.ends_with("File") {
        let path = base.join(string(v)?);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(text.lines().next().unwrap_or("").to_owned())
    } else {
        non_empty(v)
    }
}

fn seconds(v: &toml::Value) -> Result<Duration, String> {
    match v {
        toml::Value::Float(f) if *f > 0.0 && *f <= 86_400.0 => Ok(Duration::from_secs_f64(*f)),
        _ => number(v, 1, 86_400).map(|n| Duration::from_secs(n.unsigned_abs())),
    }
}

/// `["#a", { channel = "#b", password = "key" }]`.
fn channels(v: &toml::Value) -> Result<Vec<ChannelSpec>, String> {
    let items = v.as_array().ok_or("expected a list of channels")?;
    items
        .iter()
        .map(|item| match item {
            toml::Value::String(name) if !name.trim().is_empty() => Ok(ChannelSpec::new(name, None)),
            toml::Value::Table(t) => {
                let name = t.get("channel").and_then(|c| c.as_str()).ok_or("a channel table needs `channel`")?;
                let key = match t.get("password") {
                    Some(k) => Some(k.as_str().ok_or("a channel's password is a string")?),
                    None => None,
                };
                if let Some(other) = t.keys().find(|k| *k != "channel" && *k != "password") {
                    return Err(format!("unknown key '{other}' in a channel"));
                }
                Ok(ChannelSpec::new(name, key))
            }
            other => Err(format!("{other} is not a channel name or {{ channel = …, password = … }}")),
        })
        .collect()
}

/// `notify_events`: a list of names, or the seed's table whose keys are the names.
fn events(v: &toml::Value) -> Result<EventSet, String> {
    let names: Vec<String> = match v {
        toml::Value::Table(t) => t.keys().cloned().collect(),
        _ => strings(v).map_err(|_| "expected a list of event names (or a table whose keys are)")?,
    };
    EventSet::parse(names.iter().map(String::as_str)).map_err(|bad| {
        format!("'{bad}' is not an event (started, finished, success, warnings, failure, exception, or xToY such as successToFailure)")
    })
}

impl Block {
    fn connection(&mut self, key: &str, v: &toml::Value, base: &Path) -> Result<bool, String> {
        let s = &mut self.settings;
        match key {
            "name" => self.name = non_empty(v)?,
            "host" => s.host = non_empty(v)?,
            "port" => self.port = Some(u16::try_from(number(v, 1, 65535)?).unwrap_or(6667)),
            "nick" => {
                let nick = non_empty(v)?;
                if nick.contains([' ', ',', '*', '?', '!', '@', ':', '#']) {
                    return Err(format!("'{nick}' is not a nick"));
                }
                s.identity.nick = nick;
            }
            "channels" => s.identity.channels = channels(v)?,
            "password" | "passwordFile" => self.password = Some(secret(key, v, base)?),
            "serverPassword" | "serverPasswordFile" => s.identity.server_password = Some(secret(key, v, base)?),
            "saslAccount" => self.sasl_account = Some(non_empty(v)?),
            "saslPassword" | "saslPasswordFile" => self.sasl_password = Some(secret(key, v, base)?),
            "useSSL" => self.use_ssl = boolean(v)?,
            "tlsVerify" => self.verify = boolean(v)?,
            "caFile" => {
                let path = base.join(string(v)?);
                let pem = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                check_ca(&pem)?;
                self.ca.push(pem);
            }
            "lostDelay" => s.lost_delay = Some(seconds(v)?),
            "failedDelay" => s.failed_delay = Some(seconds(v)?),
            "maxDelay" => s.max_delay = seconds(v)?,
            "keepAlive" => s.keepalive = seconds(v)?,
            "rejoinAfterKick" => {
                s.rejoin_after_kick = match v {
                    toml::Value::Boolean(false) => None,
                    toml::Value::Boolean(true) => Some(Duration::from_secs(10)),
                    _ => Some(seconds(v)?),
                }
            }
            "floodBurst" => s.flood.burst = u32::try_from(number(v, 1, 100)?).unwrap_or(4),
            "floodRate" => {
                let rate =
                    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).ok_or("expected lines per second")?;
                if !(0.01..=1000.0).contains(&rate) {
                    return Err(format!("{rate} is outside 0.01..=1000 lines per second"));
                }
                s.flood.per_second = rate;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn bot(&mut self, key: &str, v: &toml::Value) -> Result<bool, String> {
        let r = &mut self.rules;
        match key {
            "notify_events" => r.notify_events = events(v)?,
            "pm_to_nicks" => r.pm_to_nicks = strings(v)?,
            "tags" => r.tags = Some(strings(v)?),
            "categories" => self.categories = Some(strings(v)?),
            "allowForce" => r.allow_force = boolean(v).map_err(|_| format!("allowForce must be boolean, not {v}"))?,
            "allowShutdown" => {
                r.allow_shutdown = boolean(v).map_err(|_| format!("allowShutdown must be boolean, not {v}"))?
            }
            "channelAdmins" => r.channel_admins = strings(v)?,
            "noticeOnChannel" => r.style.notice_on_channel = boolean(v)?,
            "showBlameList" => r.style.blamelist = boolean(v)?,
            "useRevisions" => r.style.revisions = boolean(v)?,
            "useColors" => r.style.colours = boolean(v)?,
            "skipOlderThan" => r.skip_older_than = seconds(v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(mut self, delivery: Overrides) -> IrcTarget {
        if self.rules.tags.is_none() {
            self.rules.tags = self.categories.take();
        }
        let s = &mut self.settings;
        s.tls = match (self.use_ssl, self.verify) {
            (false, _) => Tls::Off,
            (true, true) => Tls::Verified { extra_ca_pem: self.ca },
            (true, false) => Tls::Unverified,
        };
        s.port = self.port.unwrap_or(if self.use_ssl { 6697 } else { 6667 });
        // The seed's `password` claims the nick with NickServ (its page says so).
        s.identity.nickserv_password = self.password;
        if let Some(password) = self.sasl_password {
            let account = self.sasl_account.unwrap_or_else(|| s.identity.nick.clone());
            s.identity.sasl = Some((account, password));
        }
        let mut target = IrcTarget::new(&self.name, self.settings, self.rules);
        target.delivery = delivery;
        target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::irc::FloodLimits;

    fn parse_one(text: &str) -> Result<IrcTarget, Vec<String>> {
        let table: toml::Table = text.parse().unwrap();
        parse(&table["irc"], Path::new(".")).map(|mut v| v.remove(0))
    }

    #[test]
    fn a_full_block_is_read() {
        let t = parse_one(
            r##"
            [[irc]]
            host = "irc.example.org"
            nick = "bb"
            channels = ["builds", { channel = "#secret", password = "k" }]
            notify_events = { exception = 1, successToFailure = 1 }
            password = "ns"
            serverPassword = "srv"
            saslPassword = "sasl"
            useSSL = true
            allowForce = true
            categories = ["linux"]
            useColors = false
            lostDelay = 2
            failedDelay = 0.5
            floodBurst = 5
            floodRate = 2.5
            rejoinAfterKick = 3
            pm_to_nicks = ["alice"]
            channelAdmins = ["alice", "bob"]
            "##,
        )
        .unwrap();
        let s = &t.connection;
        assert_eq!(
            (s.host.as_str(), s.port, &s.tls),
            ("irc.example.org", 6697, &Tls::Verified { extra_ca_pem: vec![] })
        );
        assert_eq!(s.identity.channels, [ChannelSpec::new("#builds", None), ChannelSpec::new("#secret", Some("k"))]);
        assert_eq!(s.identity.sasl, Some(("bb".into(), "sasl".into())));
        assert_eq!(s.identity.nickserv_password.as_deref(), Some("ns"));
        assert_eq!(s.identity.server_password.as_deref(), Some("srv"));
        assert_eq!(s.flood, FloodLimits { burst: 5, per_second: 2.5 });
        assert_eq!((s.lost_delay, s.failed_delay), (Some(Duration::from_secs(2)), Some(Duration::from_millis(500))));
        assert_eq!(s.rejoin_after_kick, Some(Duration::from_secs(3)));
        assert_eq!(t.rules.notify_events.names(), ["exception", "successToFailure"]);
        assert!(t.rules.allow_force && !t.rules.style.colours);
        assert_eq!(t.rules.tags, Some(vec!["linux".to_owned()]));
        assert_eq!(t.rules.channel_admins, ["alice", "bob"]);
        let debug = format!("{t:?}");
        assert!(!debug.contains("sasl\"") && !debug.contains("\"srv\"") && !debug.contains("\"ns\""), "{debug}");
    }

    #[test]
    fn every_problem_names_its_key() {
        let mut problems = parse_one(
            r##"
            [[irc]]
            channels = "#x"
            notify_events = ["started", "retry"]
            allowForce = 1
            colour = true
            "##,
        )
        .unwrap_err();
        problems.sort();
        assert_eq!(
            problems,
            [
                "irc[1].allowForce: allowForce must be boolean, not 1",
                "irc[1].channels: expected a list of channels",
                "irc[1].colour: unknown key 'colour'",
                "irc[1].host: required",
                "irc[1].nick: required",
                "irc[1].notify_events: 'retry' is not an event (started, finished, success, warnings, failure, \
                 exception, or xToY such as successToFailure)",
            ]
        );
    }
}
