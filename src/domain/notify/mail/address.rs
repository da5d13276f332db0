//! Mail addresses: the pattern the old notifier accepted (spec-notify-2 §2.9.3), narrowed to
//! what a mail server takes (RFC 5322), the bare address the SMTP envelope needs, the display
//! name, and the lookup from VCS user names to addresses.

use std::sync::Arc;

use crate::domain::model::User;

/// Whether `text` is an address the notifier accepts: `local@domain.tld`, or
/// `<local@domain.tld>` optionally after a display name.
pub fn is_valid(text: &str) -> bool {
    let text = text.trim_end();
    if text.contains(['\r', '\n']) {
        return false;
    }
    if let Some(open) = text.rfind('<') {
        let Some(inner) = text[open + 1..].strip_suffix('>') else { return false };
        let name = &text[..open];
        return (name.is_empty() || name.ends_with(char::is_whitespace)) && is_bare(inner);
    }
    is_bare(text)
}

fn is_bare(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else { return false };
    // A dot-atom (RFC 5322 §3.2.3; non-ASCII as RFC 6531 allows): `a..b@`, `a,b@` or a quoted
    // local part would be refused by the mail library or the server, taking the whole mail
    // with it, so they are dropped here, with the other unusable candidates.
    let atext = |c: char| {
        (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
            || c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
    };
    // RFC 5321 §4.5.3.1: at most 64 bytes of local part and 255 of domain (254 as written
    // here, the mail library's count), 63 per label.
    if local.len() > 64 || !local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext)) {
        return false;
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    // A label (RFC 1035 §2.3.1) starts and ends with a letter or digit: `example.com-` or
    // `-x.org` is no host name, and the mail library refuses it.
    let label = |l: &&str| {
        let b = l.as_bytes();
        (1..=63).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 254 && labels.len() >= 2 && labels.iter().all(label)
}

/// `Name <address>` as (what comes before `<`, the address); a bare address has no name part.
fn split(text: &str) -> (Option<&str>, &str) {
    let text = text.trim();
    match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => (Some(&text[..open]), &text[open + 1..text.len() - 1]),
        _ => (None, text),
    }
}

/// The address alone, without a display name: what goes into `MAIL FROM` and `RCPT TO`.
/// A domain written with its root dot (`example.com.`, which the old pattern accepts) loses
/// it: it is the same domain, and the mail library (like many servers) refuses the dot.
pub fn bare(text: &str) -> &str {
    let addr = split(text).1;
    match addr.rsplit_once('@') {
        Some((_, domain)) if domain.ends_with('.') => &addr[..addr.len() - 1],
        _ => addr,
    }
}

/// The display name of `Name <address>`, without the quotes it may carry; `None` for a bare
/// address. Mail libraries quote (or encode) it again as it needs.
pub fn display_name(text: &str) -> Option<&str> {
    let name = split(text).0?.trim();
    let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name).trim();
    (!name.is_empty()).then_some(name)
}

/// Maps a VCS user name (`alice`, `Alice <alice@example.org>`) to an address, or to nobody.
pub trait EmailLookup: Send + Sync {
    fn address(&self, name: &str) -> Option<String>;
}

/// `lookup = "example.org"`: a name with an `@` is already an address, any other gets the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain(pub String);

impl EmailLookup for Domain {
    fn address(&self, name: &str) -> Option<String> {
        if name.contains('@') { Some(name.to_owned()) } else { Some(format!("{name}@{}", self.0)) }
    }
}

/// How interested users become addresses.
#[derive(Clone, Default)]
pub enum Lookup {
    /// The user database: a user whose identifier or any attribute equals the name, and who
    /// has an `email` attribute.
    #[default]
    Users,
    Domain(Domain),
    Custom(Arc<dyn EmailLookup>),
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Users => f.write_str("Users"),
            Self::Domain(d) => write!(f, "Domain({})", d.0),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Lookup {
    /// `lookup = "example.org"`, checked: a domain with an `@` in it is a mistake.
    pub fn domain(domain: &str) -> Result<Self, String> {
        if domain.contains('@') || domain.trim().is_empty() || domain.contains(char::is_whitespace) {
            return Err(format!("lookup '{domain}' must be a mail domain such as example.org (no '@')"));
        }
        Ok(Self::Domain(Domain(domain.to_owned())))
    }

    pub fn address(&self, name: &str, users: &[User]) -> Option<String> {
        match self {
            Self::Domain(d) => d.address(name),
            Self::Custom(l) => l.address(name),
            Self::Users => users
                .iter()
                .find(|u| u.identifier == name || u.attributes.values().any(|v| v == name))
                .and_then(|u| u.attributes.get("email").cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_are_judged_as_the_old_pattern_did() {
        for ok in [
            "foo+bar@example.com",
            "nobody@example.com.",
            "My Name <my.name@example.com>",
            "<my.name@example.com>",
            "egypt@example.xn--wgbh1c",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "@",
            "foo",
            "foo@",
            "@example.com",
            "foo@invalid",
            "foobar@ex+ample.com",
            "foo bar@example.net",
            "Foo\nBar <foo@example.org>",
            "test@example..invalid",
            // What a mail server (and lettre) refuses.
            "a..b@example.org",
            ".a@example.org",
            "a,b@example.org",
            "\"a b\"@example.org",
            // Unicode white space (NEL) and controls are no letters either.
            "¡\u{85}@example.org",
            "a\u{2028}b@example.org",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn bare_addresses_drop_the_display_name() {
        assert_eq!(bare("Ann Lee <ann@example.org>"), "ann@example.org");
        assert_eq!(bare("ann@example.org"), "ann@example.org");
        assert_eq!(display_name("Doe, John <john@example.org>"), Some("Doe, John"));
        assert_eq!(display_name("\"Zoë\" <z@example.org>"), Some("Zoë"));
        assert_eq!(display_name("<z@example.org>"), None);
        assert_eq!(display_name("z@example.org"), None);
        assert!(is_valid("Doe, John <john@example.org>"), "any display name: it is quoted when sent");
        assert!(!is_valid("zoë@例え.jp"), "the domain is ASCII (IDNA) here");
        assert!(is_valid("zoë@example.org"));
    }

    #[test]
    fn a_domain_with_its_root_dot_is_sent_without_it() {
        // Found by fuzzing (fuzz/seeds/mail_address/regression_root_dot): accepted here, the
        // address was refused by the mail library, and its recipient silently left out.
        assert_eq!(bare("nobody@example.com."), "nobody@example.com");
        assert_eq!(bare("No Body <nobody@example.com.>"), "nobody@example.com");
        assert!(is_valid(bare("nobody@example.com.")));
        assert_eq!(bare("a.b@example.com"), "a.b@example.com");
    }

    #[test]
    fn labels_and_lengths_are_what_a_mail_server_takes() {
        // Found by fuzzing (fuzz/seeds/mail_address/regression_label_hyphen): a domain label
        // that ends (or starts) with a hyphen was accepted here and refused by the mail library.
        for bad in ["nobody@example.com-.", "nobody@example.com-", "a@-x.org", "a@x-.org", "a@x.-"] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid("a@x-y.example.org"));
        let label = "l".repeat(63);
        assert!(is_valid(&format!("a@{label}.org")));
        assert!(!is_valid(&format!("a@{label}l.org")), "a label of 64");
        assert!(is_valid(&format!("{}@example.org", "a".repeat(64))));
        assert!(!is_valid(&format!("{}@example.org", "a".repeat(65))), "a local part of 65");
        let long = format!("{label}.{label}.{label}.{}", "l".repeat(61));
        assert_eq!(long.len(), 253);
        assert!(is_valid(&format!("a@{long}.")), "253 and the root dot");
        assert!(is_valid(&format!("a@{long}l")), "a domain of 254");
        assert!(!is_valid(&format!("a@{long}ll")), "a domain of 255");
    }

    #[test]
    fn lookups() {
        let d = Lookup::domain("example.org").unwrap();
        assert_eq!(d.address("bob", &[]).as_deref(), Some("bob@example.org"));
        assert_eq!(d.address("Bob <b@x.org>", &[]).as_deref(), Some("Bob <b@x.org>"));
        assert!(Lookup::domain("me@example.org").is_err());
        let users = [User {
            uid: 1,
            identifier: "carol".into(),
            attributes: [
                ("git".to_owned(), "Carol <c@x.org>".to_owned()),
                ("email".to_owned(), "carol@x.org".to_owned()),
            ]
            .into(),
        }];
        assert_eq!(Lookup::Users.address("Carol <c@x.org>", &users).as_deref(), Some("carol@x.org"));
        assert_eq!(Lookup::Users.address("dave", &users), None);
    }
}
