//! The `[pb]` block of `buildstatus.toml`: 0.8's `PBListener` (`buildbot statuslog`,
//! `statusgui`). `port` is a number (every interface, as 0.8) or a listener form of `listen`
//! (`tcp:9988:interface=127.0.0.1`, `ssl:…`, `unix:…`); `user`/`passwd` (or `passwd_file`)
//! the one credential pair. 0.8's well-known defaults `statusClient`/`clientpw` are accepted
//! only on loopback or a UNIX socket (P1): anywhere else the block is refused, saying so.

use std::net::SocketAddr;
use std::path::Path;

use super::listen;
use super::values::{boolean, bytes, non_empty};
use crate::adapters::http::listen::Listen;
use crate::adapters::pb::PbSettings;

pub const DEFAULT_USER: &str = "statusClient";
pub const DEFAULT_PASSWORD: &str = "clientpw";

/// The PB listener as configured.
#[derive(Clone, Debug)]
pub struct PbConfig {
    pub listen: Listen,
    pub settings: PbSettings,
}

const KEYS: &str = "port, user, passwd, passwd_file, queue_limit, answer_pushes";

/// Parses the `pb` table; every problem is returned, each naming its key.
pub fn parse(value: &toml::Value, base: &Path) -> Result<PbConfig, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["pb: expected a table ([pb])".to_owned()]);
    };
    let mut settings = PbSettings::new(DEFAULT_USER, DEFAULT_PASSWORD);
    let mut place = None;
    let mut problems = Vec::new();
    for (key, value) in table {
        let result = match key.as_str() {
            "port" => match value {
                toml::Value::Integer(n) => listen::parse(&n.to_string(), base).map(|l| place = Some(l)),
                toml::Value::String(s) => listen::parse(s, base).map(|l| place = Some(l)),
                _ => Err("expected a port number or a listener form".to_owned()),
            },
            "user" => non_empty(value).map(|u| settings.user = u),
            "passwd" => non_empty(value).map(|p| settings.password = p),
            "passwd_file" => match value.as_str() {
                Some(file) => match std::fs::read_to_string(base.join(file)) {
                    Ok(text) if !text.trim().is_empty() => {
                        settings.password = text.trim_end_matches(['\r', '\n']).to_owned();
                        Ok(())
                    }
                    Ok(_) => Err(format!("{} is empty", base.join(file).display())),
                    Err(e) => Err(format!("cannot read {}: {e}", base.join(file).display())),
                },
                None => Err("expected a file name".to_owned()),
            },
            "queue_limit" => bytes(value).map(|n| settings.queue_limit = n.max(64 * 1024)),
            "answer_pushes" => boolean(value).map(|b| settings.answer_pushes = b),
            other => Err(format!("unknown key '{other}' (keys: {KEYS})")),
        };
        if let Err(problem) = result {
            problems.push(format!("pb.{key}: {problem}"));
        }
    }
    if table.contains_key("passwd") && table.contains_key("passwd_file") {
        problems.push("pb: passwd and passwd_file both given; keep one".to_owned());
    }
    let Some(listen) = place else {
        if problems.is_empty() {
            problems.push(
                "pb.port: missing: where the PB listener listens (say 9988, or \"tcp:9988:interface=127.0.0.1\")"
                    .to_owned(),
            );
        }
        return Err(problems);
    };
    let default_credentials = settings.user == DEFAULT_USER && settings.password == DEFAULT_PASSWORD;
    if default_credentials && !local_only(&listen) {
        problems.push(format!(
            "pb: the well-known default credentials {DEFAULT_USER}/{DEFAULT_PASSWORD} are refused on {}, which is \
             reachable from other hosts: set pb.passwd (or pb.passwd_file), or listen on loopback only \
             (port = \"tcp:PORT:interface=127.0.0.1\")",
            address(&listen)
        ));
    }
    if problems.is_empty() { Ok(PbConfig { listen, settings }) } else { Err(problems) }
}

/// Whether only this host can connect: a loopback address or a UNIX socket.
fn local_only(listen: &Listen) -> bool {
    match listen {
        Listen::Tcp(address) | Listen::Tls { address, .. } => address.ip().is_loopback(),
        Listen::Unix { .. } => true,
    }
}

fn address(listen: &Listen) -> String {
    match listen {
        Listen::Tcp(a) | Listen::Tls { address: a, .. } => SocketAddr::to_string(a),
        Listen::Unix { path, .. } => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<PbConfig, Vec<String>> {
        let table: toml::Table = text.parse().expect("toml");
        parse(&table["pb"], Path::new("/etc/buildstatus"))
    }

    #[test]
    fn the_default_credentials_only_on_loopback() {
        let local = parse_text("[pb]\nport = \"tcp:9988:interface=127.0.0.1\"").unwrap();
        assert_eq!(local.settings.user, "statusClient");
        assert_eq!(local.listen, Listen::Tcp("127.0.0.1:9988".parse().unwrap()));
        let problems = parse_text("[pb]\nport = 9988").unwrap_err();
        assert!(problems[0].contains("statusClient/clientpw are refused on 0.0.0.0:9988"), "{problems:?}");
        let open = parse_text("[pb]\nport = 9988\nuser = \"ci\"\npasswd = \"s3cret-enough\"").unwrap();
        assert_eq!((open.settings.user.as_str(), open.settings.password.as_str()), ("ci", "s3cret-enough"));
    }

    #[test]
    fn every_problem_names_its_key() {
        let problems = parse_text("[pb]\nport = \"nowhere\"\nuser = \"\"\ncolour = 1").unwrap_err();
        let joined = problems.join("\n");
        for key in ["pb.port", "pb.user", "pb.colour"] {
            assert!(joined.contains(key), "{joined}");
        }
        assert!(parse_text("[pb]\nuser = \"x\"").unwrap_err()[0].starts_with("pb.port: missing"));
    }

    #[test]
    fn the_password_is_never_in_debug_output() {
        let config = parse_text("[pb]\nport = 1\npasswd = \"hunter2-secret\"").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
