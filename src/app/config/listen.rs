//! `listen`: where the web server listens, in the forms a 0.8 user knows (the seed's
//! `http_port` strports) and plainer ones, one or a list:
//!
//! - `8010`: TCP port 8010 on every IPv4 address;
//! - `127.0.0.1:8010`, `[::1]:8010`: an address and a port;
//! - `tcp:8010:interface=127.0.0.1` (also `tcp:port=8010`, `interface=[::1]` or `\:\:1`);
//! - `ssl:8443:privateKey=key.pem:certKey=cert.pem` (also `tls:`), HTTPS, with the same
//!   `interface=`; the files are PEM, relative to the config file, and checked when it is read;
//! - `unix:/run/buildstatus.sock:mode=660` (also `unix:address=PATH`): a UNIX socket for a front
//!   end, its permission bits `mode` (octal).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use crate::adapters::http::listen::{Listen, tls_config};

/// The forms, for an error message.
pub const FORMS: &str = "PORT, ADDRESS:PORT, tcp:PORT[:interface=ADDRESS], \
    ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem[:interface=ADDRESS], unix:PATH[:mode=OCTAL]";

/// One listener form; paths are relative to `base`.
pub fn parse(text: &str, base: &Path) -> Result<Listen, String> {
    let text = text.trim();
    let refuse = |why: String| Err(format!("'{text}': {why} (the forms are {FORMS})"));
    if let Ok(port) = text.parse::<u16>() {
        return Ok(Listen::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(Listen::Tcp(address));
    }
    let Some((kind, rest)) = text.split_once(':') else { return refuse("not a listener".into()) };
    let fields = match fields(rest) {
        Ok(f) => f,
        Err(why) => return refuse(why),
    };
    let result = match kind {
        "tcp" => tcp(&fields, &["port", "interface"]).map(Listen::Tcp),
        "ssl" | "tls" => tls(&fields, base),
        "unix" => unix(&fields, base),
        other => Err(format!("unknown kind '{other}:'")),
    };
    result.or_else(refuse)
}

/// `key=value` fields, the one without a key (the port, or the path) under "".
fn fields(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for field in split(text) {
        let (key, value) =
            field.split_once('=').map_or((String::new(), field.clone()), |(k, v)| (k.to_owned(), v.to_owned()));
        if out.iter().any(|(k, _)| *k == key) {
            return Err(if key.is_empty() { "two values without a key".into() } else { format!("'{key}' twice") });
        }
        out.push((key, value));
    }
    Ok(out)
}

/// `text` cut at each `:` that is not escaped (`\:`) nor inside brackets, unescaped.
fn split(text: &str) -> Vec<String> {
    let (mut out, mut field, mut depth, mut chars) = (Vec::new(), String::new(), 0, text.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            '[' => {
                depth += 1;
                field.push(c);
            }
            ']' => {
                depth -= 1;
                field.push(c);
            }
            ':' if depth == 0 => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn only(fields: &[(String, String)], keys: &[&str]) -> Result<(), String> {
    match fields.iter().find(|(k, _)| !k.is_empty() && !keys.contains(&k.as_str())) {
        Some((k, _)) => Err(format!("unknown option '{k}'")),
        None => Ok(()),
    }
}

/// The address of `tcp:` and `ssl:`: the port (alone or `port=`) and `interface=`.
fn tcp(fields: &[(String, String)], keys: &[&str]) -> Result<SocketAddr, String> {
    only(fields, keys)?;
    let port = get(fields, "").or(get(fields, "port")).ok_or("no port")?;
    let port: u16 = port.parse().map_err(|_| format!("'{port}' is not a port"))?;
    let ip = match get(fields, "interface") {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(i) => i.trim_matches(['[', ']']).parse().map_err(|_| format!("'{i}' is not an IP address"))?,
    };
    Ok(SocketAddr::new(ip, port))
}

fn tls(fields: &[(String, String)], base: &Path) -> Result<Listen, String> {
    let address = tcp(fields, &["port", "interface", "privateKey", "certKey"])?;
    let key = base.join(get(fields, "privateKey").ok_or("no privateKey=KEY.pem")?);
    let cert = base.join(get(fields, "certKey").ok_or("no certKey=CERT.pem")?);
    tls_config(&cert, &key).map_err(|e| e.to_string())?;
    Ok(Listen::Tls { address, cert, key })
}

fn unix(fields: &[(String, String)], base: &Path) -> Result<Listen, String> {
    only(fields, &["address", "mode"])?;
    let path = get(fields, "").or(get(fields, "address")).filter(|p| !p.is_empty()).ok_or("no socket path")?;
    let mode = match get(fields, "mode") {
        None => None,
        Some(m) => Some(
            u32::from_str_radix(m, 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or(format!("'{m}' is not an octal mode such as 660"))?,
        ),
    };
    Ok(Listen::Unix { path: base.join(path), mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(text: &str) -> SocketAddr {
        match parse(text, Path::new("/etc/bs")) {
            Ok(Listen::Tcp(a)) => a,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn tcp_forms_name_an_address_and_a_port() {
        assert_eq!(tcp("8010"), "0.0.0.0:8010".parse().unwrap());
        assert_eq!(tcp("127.0.0.1:8010"), "127.0.0.1:8010".parse().unwrap());
        assert_eq!(tcp("[::1]:8010"), "[::1]:8010".parse().unwrap());
        assert_eq!(tcp("tcp:8010:interface=127.0.0.1"), "127.0.0.1:8010".parse().unwrap());
        assert_eq!(tcp("tcp:port=8010:interface=[::1]"), "[::1]:8010".parse().unwrap());
        assert_eq!(tcp(r"tcp:8010:interface=\:\:1"), "[::1]:8010".parse().unwrap());
        assert_eq!(tcp("tcp:8010"), "0.0.0.0:8010".parse().unwrap());
    }

    #[test]
    fn a_unix_socket_is_a_path_and_a_mode() {
        let parsed = parse("unix:sock:mode=660", Path::new("/etc/bs")).expect("valid");
        assert_eq!(parsed, Listen::Unix { path: "/etc/bs/sock".into(), mode: Some(0o660) });
        let parsed = parse("unix:address=/run/bs.sock", Path::new("/etc/bs")).expect("valid");
        assert_eq!(parsed, Listen::Unix { path: "/run/bs.sock".into(), mode: None });
    }

    #[test]
    fn bad_forms_are_named_with_the_forms_that_work() {
        for (text, says) in [
            ("localhost", "not a listener"),
            ("tcp:http", "'http' is not a port"),
            ("tcp:8010:interface=example.org", "is not an IP address"),
            ("tcp:8010:backlog=5", "unknown option 'backlog'"),
            ("udp:53", "unknown kind 'udp:'"),
            ("ssl:8443:certKey=c.pem", "no privateKey"),
            ("ssl:8443:privateKey=missing.pem:certKey=missing.pem", "cannot read"),
            ("unix:/run/x.sock:mode=999", "not an octal mode"),
            ("unix:", "no socket path"),
        ] {
            let e = parse(text, Path::new("/nonexistent")).expect_err(text);
            assert!(e.contains(says) && e.contains("the forms are"), "{text}: {e}");
        }
    }
}
