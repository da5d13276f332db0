//! Who a mail goes to (spec-notify-2 §2.9): the interested users of the build (blamelist, then
//! the `owners` property) through the lookup, cleaned and split into To and CC, plus the
//! extra recipients. Unlike the old code, one mailbox written two ways is mailed once
//! (spec-notify-8 M12) and `owners` may be a string as well as a list (M11).

use std::collections::BTreeSet;

use super::address::{self, Lookup};
use crate::domain::model::{Build, User};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// The `To:` header's entries, sorted.
    pub to: Vec<String>,
    /// The `CC:` header's entries, sorted (extra recipients when interested users were found).
    pub cc: Vec<String>,
    /// Bare addresses for `RCPT TO`, each once.
    pub envelope: Vec<String>,
    /// Candidates that were not addresses, for the delivery log.
    pub dropped: Vec<String>,
}

/// The names the build's interested users go by: its blamelist, then its owners.
pub fn interested_names(build: &Build) -> Vec<String> {
    let mut names = build.blamelist.clone();
    match build.property("owners") {
        Some(serde_json::Value::Array(items)) => {
            names.extend(items.iter().filter_map(|v| v.as_str()).map(str::to_owned))
        }
        Some(serde_json::Value::String(s)) if !s.is_empty() => names.push(s.clone()),
        _ => {}
    }
    names
}

/// The recipients of a mail about `builds`.
pub fn recipients(
    builds: &[&Build],
    lookup: &Lookup,
    users: &[User],
    send_to_interested_users: bool,
    extra: &[String],
) -> Recipients {
    let mut to = BTreeSet::new();
    let mut out = Recipients::default();
    if send_to_interested_users {
        for name in builds.iter().flat_map(|b| interested_names(b)) {
            let Some(mut candidate) = lookup.address(&name, users) else { continue };
            // 'Name <u@host>@domain' from a naive lookup: cut at the last '@'.
            if candidate.matches('@').count() > 1
                && let Some(cut) = candidate.rfind('@')
            {
                candidate.truncate(cut);
            }
            if address::is_valid(&candidate) {
                to.insert(candidate);
            } else {
                out.dropped.push(candidate);
            }
        }
    }
    let mut cc = BTreeSet::new();
    if send_to_interested_users && !to.is_empty() {
        cc.extend(extra.iter().cloned());
    } else {
        to.extend(extra.iter().cloned());
    }
    let mut seen = BTreeSet::new();
    for (set, header) in [(to, &mut out.to), (cc, &mut out.cc)] {
        for entry in set {
            // Spellings of one address are one recipient; the envelope keeps the address as
            // written (a local part may be case-sensitive).
            let bare = address::bare(&entry).to_owned();
            if seen.insert(bare.to_ascii_lowercase()) {
                header.push(entry);
                out.envelope.push(bare);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Property;

    fn build(blame: &[&str], owners: serde_json::Value) -> Build {
        let mut b: Build = serde_json::from_value(serde_json::json!({
            "builder": "linux", "number": 1, "started": "2025-01-01T00:00:00Z"
        }))
        .unwrap();
        b.blamelist = blame.iter().map(|s| (*s).to_owned()).collect();
        b.properties.insert("owners".into(), Property { value: owners, source: "Build".into() });
        b
    }

    #[test]
    fn interested_users_go_to_to_and_extras_to_cc() {
        let b = build(&["alice", "Bob <bob@example.org>"], serde_json::json!(["carol"]));
        let r = recipients(&[&b], &Lookup::domain("example.org").unwrap(), &[], true, &["list@example.org".into()]);
        assert_eq!(r.to, ["Bob <bob@example.org>", "alice@example.org", "carol@example.org"]);
        assert_eq!(r.cc, ["list@example.org"]);
        assert_eq!(r.envelope, ["bob@example.org", "alice@example.org", "carol@example.org", "list@example.org"]);
    }

    #[test]
    fn without_interested_users_extras_are_the_to() {
        let b = build(&["alice"], serde_json::json!("dave"));
        let r = recipients(&[&b], &Lookup::domain("example.org").unwrap(), &[], false, &["list@example.org".into()]);
        assert_eq!(r.to, ["list@example.org"]);
        assert!(r.cc.is_empty());
        // No lookup and no user database entries: nobody but the extras.
        let r = recipients(&[&b], &Lookup::Users, &[], true, &["list@example.org".into()]);
        assert_eq!(r.to, ["list@example.org"]);
    }

    #[test]
    fn naive_lookups_are_repaired_bad_ones_dropped_and_spellings_merged() {
        let b =
            build(&["Ann <Ann.Lee@example.org>", "not an address", "ann.lee@example.org"], serde_json::json!("dave"));
        let r = recipients(&[&b], &Lookup::domain("example.org").unwrap(), &[], true, &[]);
        assert_eq!(r.to, ["Ann <Ann.Lee@example.org>", "dave@example.org"]);
        assert_eq!(r.envelope, ["Ann.Lee@example.org", "dave@example.org"], "as written: a local part may mind case");
        assert_eq!(r.dropped, ["not an address@example.org"]);
    }
}
