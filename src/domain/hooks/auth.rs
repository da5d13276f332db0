//! `change_hook_auth`: HTTP Basic authentication of the hooks against `user:password` lines
//! (spec-web-hooks §10.1). Every entry is compared, in constant time, so timing tells neither
//! which users exist nor how much of a password was right.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::verify::secrets_equal;

/// The realm of the `WWW-Authenticate` challenge.
pub const REALM: &str = "Protected area";

/// Users allowed to call the hooks.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    users: Vec<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} users)", self.users.len())
    }
}

impl Credentials {
    /// Reads `user:password` lines; blank lines and `#` comments are skipped. The error names
    /// the first bad line by number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    users.push((user.to_owned(), password.to_owned()));
                }
                _ => return Err(format!("line {}: expected user:password", i + 1)),
            }
        }
        if users.is_empty() {
            return Err("no user:password line".to_owned());
        }
        Ok(Self { users })
    }

    /// Whether an `Authorization` header value carries the credentials of a listed user.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(basic) else { return false };
        let mut found = false;
        for (u, p) in &self.users {
            let same_user = secrets_equal(user.as_bytes(), u.as_bytes());
            let same_password = secrets_equal(password.as_bytes(), p.as_bytes());
            found |= same_user & same_password;
        }
        found
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
    fn bad_files_name_the_line() {
        assert_eq!(Credentials::parse("ok:fine\nnocolon\n").unwrap_err(), "line 2: expected user:password");
        assert_eq!(Credentials::parse(":nouser\n").unwrap_err(), "line 1: expected user:password");
        assert_eq!(Credentials::parse("# only a comment\n").unwrap_err(), "no user:password line");
    }
}
