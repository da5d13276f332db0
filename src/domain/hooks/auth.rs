//! `change_hook_auth`: HTTP Basic authentication of the hooks (spec-web-hooks §10.1) against
//! the seed's `user:password` files (`file:PATH`, passwords in the clear, as Twisted's
//! `FilePasswordDB` reads them) and Apache password files (`htpasswd:PATH`, every format
//! `htpasswd` writes), several of them at once. Every user name is compared in constant time,
//! and an unknown user's password is checked against a decoy, so timing tells neither which
//! users exist nor how much of a password was right. Checking a bcrypt hash takes
//! milliseconds: [`Credentials::slow`] tells the caller to do it off the async threads.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::verify::secrets_equal;
use crate::domain::auth::htpasswd::Htpasswd;
use crate::domain::auth::password::{self, HashFormat};

/// The realm of the `WWW-Authenticate` challenge.
pub const REALM: &str = "Protected area";

/// A user's password, as its file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Secret {
    Plain(String),
    Hashed(String),
}

/// Users allowed to call the hooks.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    users: Arc<Vec<(String, Secret)>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} users)", self.users.len())
    }
}

impl Credentials {
    /// Reads `user:password` lines (the seed's `file:` form); blank lines and `#` comments
    /// are skipped. The error names the first bad line by number; a password that is an
    /// htpasswd hash is one (such a file is named `htpasswd:PATH`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((_, password)) if HashFormat::of(password).is_some_and(|f| f != HashFormat::DesCrypt) => {
                    return Err(format!("line {}: a password hash: name an htpasswd file htpasswd:PATH", i + 1));
                }
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    users.push((user.to_owned(), Secret::Plain(password.to_owned())));
                }
                _ => return Err(format!("line {}: expected user:password", i + 1)),
            }
        }
        if users.is_empty() {
            return Err("no user:password line".to_owned());
        }
        Ok(Self { users: Arc::new(users) })
    }

    /// Reads an Apache password file (`htpasswd:` form): every line `user:hash`, in any
    /// format `htpasswd` writes. A line no password can match is an error naming its user.
    pub fn parse_htpasswd(text: &str) -> Result<Self, String> {
        let file = Htpasswd::parse(text);
        if let Some(problem) = file.problems().into_iter().next() {
            return Err(problem);
        }
        let users: Vec<(String, Secret)> = (text.lines())
            .filter_map(|l| l.trim_end().split_once(':'))
            .filter(|(user, _)| file.hash_of(user).is_some())
            .map(|(user, hash)| (user.to_owned(), Secret::Hashed(hash.to_owned())))
            .collect();
        if users.is_empty() {
            return Err("no user:hash line".to_owned());
        }
        Ok(Self { users: Arc::new(users) })
    }

    /// These users and `other`'s (a user of both: the first file's line counts).
    pub fn merged(self, other: Credentials) -> Self {
        let mut users = Arc::unwrap_or_clone(self.users);
        users.extend(Arc::unwrap_or_clone(other.users));
        Self { users: Arc::new(users) }
    }

    /// Whether checking a request costs a password hash (then: off the async threads).
    pub fn slow(&self) -> bool {
        self.users.iter().any(|(_, secret)| matches!(secret, Secret::Hashed(_)))
    }

    /// Whether an `Authorization` header value carries the credentials of a listed user.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(basic) else { return false };
        let mut plain_match = false;
        let mut hash: Option<&str> = None;
        for (u, secret) in self.users.iter() {
            let same_user = secrets_equal(user.as_bytes(), u.as_bytes());
            match secret {
                Secret::Plain(p) => plain_match |= same_user & secrets_equal(password.as_bytes(), p.as_bytes()),
                Secret::Hashed(h) if same_user && hash.is_none() => hash = Some(h),
                Secret::Hashed(_) => {}
            }
        }
        // An unknown user's password is checked against a decoy, and the answer dropped.
        let decoy = self.users.iter().find_map(|(_, s)| match s {
            Secret::Hashed(h) => Some(h.as_str()),
            Secret::Plain(_) => None,
        });
        let hashed_match = match (hash, decoy) {
            (Some(h), _) => password::verify(&password, h),
            (None, Some(d)) => {
                std::hint::black_box(password::verify(&password, d));
                false
            }
            (None, None) => false,
        };
        plain_match | hashed_match
    }
}

/// `Basic BASE64(user:password)` → the user and password.
fn basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_password: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_password))
    }

    #[test]
    fn listed_users_with_their_password_are_allowed() {
        let c = Credentials::parse("# hooks\nalice:wonder:land\n\nbob:builder\r\n").expect("valid");
        assert!(c.allows(Some(&header("alice:wonder:land"))), "a password may contain ':'");
        assert!(c.allows(Some(&header("bob:builder"))));
        assert!(c.allows(Some(&format!("basic  {}", STANDARD.encode("bob:builder")))));
        assert!(!c.allows(Some(&header("bob:wonder:land"))));
        assert!(!c.allows(Some(&header("carol:builder"))));
        assert!(!c.allows(Some(&header("bob:"))));
        assert!(!c.allows(Some("Bearer abc")));
        assert!(!c.allows(Some("Basic ???")));
        assert!(!c.allows(None));
    }

    #[test]
    fn htpasswd_files_are_checked_by_hash_and_files_merge() {
        let hashed = Credentials::parse_htpasswd("ci:{SHA}2oguq15ANCGsJCWKX31fllwpyEk=\n").expect("valid");
        assert!(hashed.slow());
        assert!(hashed.allows(Some(&header("ci:pass word"))));
        assert!(!hashed.allows(Some(&header("ci:{SHA}2oguq15ANCGsJCWKX31fllwpyEk="))), "the hash is no password");
        assert!(!hashed.allows(Some(&header("eve:pass word"))));
        let both = Credentials::parse("bob:builder\n").expect("valid").merged(hashed);
        assert!(both.allows(Some(&header("bob:builder"))) && both.allows(Some(&header("ci:pass word"))));
        assert_eq!(
            Credentials::parse("ci:$apr1$x$y\n").unwrap_err(),
            "line 1: a password hash: name an htpasswd file htpasswd:PATH"
        );
        assert!(Credentials::parse_htpasswd("ci:plain\n").unwrap_err().contains("'ci'"));
    }

    #[test]
    fn bad_files_name_the_line() {
        assert_eq!(Credentials::parse("ok:fine\nnocolon\n").unwrap_err(), "line 2: expected user:password");
        assert_eq!(Credentials::parse(":nouser\n").unwrap_err(), "line 1: expected user:password");
        assert_eq!(Credentials::parse("# only a comment\n").unwrap_err(), "no user:password line");
    }
}
