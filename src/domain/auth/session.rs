//! Signed session cookies and CSRF tokens (spec-web-auth §9.4, with its recommendations).
//!
//! A session cookie is `ID.EXPIRES.MAC`: the session's random id (made outside the domain),
//! its expiry in seconds since the epoch, and the hex HMAC-SHA256 of both under the server's
//! secret. A cookie whose MAC is wrong (tampered with, or signed by another server), or whose
//! time is past, names no session, whatever the session store says; the store still has the
//! last word, so a cookie replayed after its logout is a logged-out visitor.
//!
//! A form carries a CSRF token derived from the visitor's session id (or, for a visitor not
//! logged in, from a random per-browser cookie): the HMAC of it under the same secret, which
//! a page on another site can neither read nor compute.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::hooks::verify::secrets_equal;
use crate::domain::model::Timestamp;

/// The name of the session cookie (the seed's).
pub const SESSION_COOKIE: &str = "BuildBotSession";
/// The name of the cookie a visitor not logged in gets for their CSRF tokens.
pub const CSRF_COOKIE: &str = "BuildStatusCsrf";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The server's signing secret. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SessionKey {
    bytes: [u8; 32],
    /// The HMAC already keyed with `bytes`: every request checks a MAC or two, and keying
    /// costs as much as hashing a short message.
    keyed: Hmac<Sha256>,
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        secrets_equal(&self.bytes, &other.bytes)
    }
}

impl Eq for SessionKey {}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A key from 32 secret bytes (random, drawn by the caller).
    pub fn new(bytes: [u8; 32]) -> Self {
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes).expect("HMAC takes a key of any length");
        Self { bytes, keyed }
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac
    }

    fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex(&self.mac(parts).finalize().into_bytes())
    }

    /// The cookie value of session `id`, valid until `expires`.
    pub fn sign(&self, id: &str, expires: Timestamp) -> String {
        let at = expires.timestamp().to_string();
        format!("{id}.{at}.{}", self.mac_hex(&[b"session", id.as_bytes(), at.as_bytes()]))
    }

    /// The session id a cookie value names, when it is ours, untouched and not expired at `now`.
    pub fn open<'v>(&self, value: &'v str, now: Timestamp) -> Option<&'v str> {
        let mut parts = value.split('.');
        let (id, at, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: i64 = at.parse().ok()?;
        let tag = unhex(tag)?;
        let mac = self.mac(&[b"session", id.as_bytes(), at.as_bytes()]);
        mac.verify_slice(&tag).ok()?;
        (now.timestamp() < expires).then_some(id)
    }

    /// The CSRF token of the visitor whose session id (or CSRF cookie) is `seed`.
    pub fn csrf_token(&self, seed: &str) -> String {
        self.mac_hex(&[b"csrf", seed.as_bytes()])
    }

    /// Whether `given` is the CSRF token of `seed` (compared in constant time).
    pub fn csrf_matches(&self, seed: &str, given: &str) -> bool {
        !seed.is_empty() && secrets_equal(given.as_bytes(), self.csrf_token(seed).as_bytes())
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, for the whole site, `Secure` on HTTPS; with
/// `expires`, an `Expires` date (a cookie without one lasts the browser's session).
pub fn set_cookie(name: &str, value: &str, expires: Option<Timestamp>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(at) = expires {
        cookie.push_str(&format!("; Expires={}", at.format("%a, %d %b %Y %H:%M:%S GMT")));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A `Set-Cookie` value that removes cookie `name` from the browser.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    let gone = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
    set_cookie(name, "", Some(gone), secure).replacen("; Path", "; Max-Age=0; Path", 1)
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.trim())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000 + seconds, 0).expect("time")
    }

    fn key(byte: u8) -> SessionKey {
        SessionKey::new([byte; 32])
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_cookie_opens_until_it_expires() {
        let value = key(1).sign(ID, at(3600));
        assert_eq!(key(1).open(&value, at(0)), Some(ID));
        assert_eq!(key(1).open(&value, at(3599)), Some(ID));
        assert_eq!(key(1).open(&value, at(3600)), None, "expired");
        assert_eq!(key(2).open(&value, at(0)), None, "another server's secret");
    }

    #[test]
    fn a_tampered_cookie_opens_nothing() {
        let value = key(1).sign(ID, at(3600));
        let later = value.replace(&at(3600).timestamp().to_string(), &at(999_999).timestamp().to_string());
        assert_eq!(key(1).open(&later, at(0)), None, "a pushed-back expiry");
        let other = value.replacen('0', "1", 1);
        assert_eq!(key(1).open(&other, at(0)), None, "another id");
        for broken in ["", "..", "abc", &format!("{value}.x"), &value[..value.len() - 1], "zz.1.00"] {
            assert_eq!(key(1).open(broken, at(0)), None, "{broken}");
        }
    }

    proptest! {
        #[test]
        fn no_single_character_change_survives(i in 0usize..110, c in "[0-9a-z.]") {
            let value = key(7).sign(ID, at(3600));
            prop_assume!(i < value.len());
            let mut changed = value.clone();
            changed.replace_range(i..=i, &c);
            prop_assume!(changed != value);
            prop_assert_eq!(key(7).open(&changed, at(0)), None);
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_seed_and_key() {
        let token = key(1).csrf_token("session-a");
        assert!(key(1).csrf_matches("session-a", &token));
        assert!(!key(1).csrf_matches("session-b", &token));
        assert!(!key(2).csrf_matches("session-a", &token));
        assert!(!key(1).csrf_matches("session-a", ""));
        assert!(!key(1).csrf_matches("", &key(1).csrf_token("")), "no seed, no valid token");
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        assert_eq!(
            set_cookie("BuildBotSession", "v", Some(at(0)), false),
            "BuildBotSession=v; Path=/; HttpOnly; SameSite=Lax; Expires=Sun, 15 Jun 2025 15:06:40 GMT"
        );
        assert!(set_cookie("a", "b", None, true).ends_with("SameSite=Lax; Secure"));
        assert!(clear_cookie("a", false).starts_with("a=; Max-Age=0; Path=/"));
        assert_eq!(cookie("x=1; BuildBotSession=abc.1.ff ;y=2", "BuildBotSession"), Some("abc.1.ff"));
        assert_eq!(cookie("x=1", "BuildBotSession"), None);
        assert!(!format!("{:?}", key(9)).contains('9'), "the secret is never shown");
    }
}
