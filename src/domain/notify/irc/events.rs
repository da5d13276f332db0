//! The events a contact can be notified of (`notify on EVENT`): `started`, `finished`, the four
//! results and the sixteen `xToY` transitions (spec-notify-3 §3.7.1), as a set, and the one
//! rule that decides whether a finished build is announced to a contact (§3.7.3), with the
//! previous *finished* build (spec-notify-8 I7, X4) and every result handled.

use serde::{Deserialize, Serialize};

use crate::domain::result::BuildResult;

/// The results that have an event name, in the spec's order.
const NAMED: [BuildResult; 4] =
    [BuildResult::Success, BuildResult::Warnings, BuildResult::Failure, BuildResult::Exception];

/// Bits 0–5: started, finished, success, warnings, failure, exception; 6–21: xToY, x major.
const SINGLES: [&str; 6] = ["started", "finished", "success", "warnings", "failure", "exception"];

fn named_index(result: BuildResult) -> Option<usize> {
    NAMED.iter().position(|r| *r == result)
}

/// A result's description, as the messages show it (`Success`, …).
pub fn description(result: BuildResult) -> &'static str {
    match result {
        BuildResult::Success => "Success",
        BuildResult::Warnings => "Warnings",
        BuildResult::Failure => "Failure",
        BuildResult::Exception => "Exception",
        BuildResult::Retry => "Retry",
        BuildResult::Skipped => "Skipped",
        BuildResult::Cancelled => "Cancelled",
    }
}

/// A set of event names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventSet(u32);

impl EventSet {
    pub const EMPTY: Self = Self(0);

    /// The bit of a valid event name (exact, case-sensitive); `None` for any other word.
    fn bit(name: &str) -> Option<u32> {
        if let Some(i) = SINGLES.iter().position(|s| *s == name) {
            return Some(i as u32);
        }
        let (from, to) = name.split_once("To")?;
        let x = NAMED.iter().position(|r| r.name() == from)?;
        let y = NAMED.iter().position(|r| description(*r) == to)?;
        Some((6 + x * 4 + y) as u32)
    }

    fn name_of(bit: u32) -> String {
        match bit as usize {
            i @ 0..6 => SINGLES[i].to_owned(),
            i => {
                let (x, y) = ((i - 6) / 4, (i - 6) % 4);
                format!("{}To{}", NAMED[x].name(), description(NAMED[y]))
            }
        }
    }

    /// Whether `name` is an event name.
    pub fn valid(name: &str) -> bool {
        Self::bit(name).is_some()
    }

    /// The set of `names`, or the first name that is no event.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = Self::EMPTY;
        for name in names {
            set.0 |= 1 << Self::bit(name).ok_or_else(|| name.to_owned())?;
        }
        Ok(set)
    }

    pub fn contains(self, name: &str) -> bool {
        Self::bit(name).is_some_and(|b| self.0 & (1 << b) != 0)
    }

    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every event of `other` is in this set.
    pub fn covers(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names, in the spec's order.
    pub fn names(self) -> Vec<String> {
        (0..22).filter(|b| self.0 & (1 << b) != 0).map(Self::name_of).collect()
    }

    /// Every event name, in the spec's order.
    pub fn all_names() -> Vec<String> {
        (0..22).map(Self::name_of).collect()
    }

    pub fn started(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether a build that finished with `result`, after `previous` (the previous finished
    /// build's result, if any), is announced: `finished`, the result's own name, or the
    /// transition from the previous result. Results without a name (skipped, retry,
    /// cancelled) are announced with `finished` only.
    pub fn wants_finished(self, previous: Option<BuildResult>, result: BuildResult) -> bool {
        if self.0 & 2 != 0 {
            return true;
        }
        let Some(y) = named_index(result) else { return false };
        if self.0 & (1 << (2 + y)) != 0 {
            return true;
        }
        previous.and_then(named_index).is_some_and(|x| self.0 & (1 << (6 + x * 4 + y)) != 0)
    }
}

impl Serialize for EventSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

impl<'de> Deserialize<'de> for EventSet {
    /// Names no longer valid are dropped, so an old note never breaks a contact.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        Ok(Self::parse(names.iter().map(String::as_str).filter(|n| Self::valid(n))).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_names_of_the_spec_and_no_others() {
        assert_eq!(EventSet::all_names().len(), 22);
        for name in ["started", "warnings", "failureToFailure", "exceptionToSuccess"] {
            assert!(EventSet::valid(name), "{name}");
        }
        for name in ["retry", "skipped", "retryToSuccess", "successToRetry", "Started", "successtoFailure", ""] {
            assert!(!EventSet::valid(name), "{name}");
        }
        assert_eq!(EventSet::parse(["finished", "nope"]), Err("nope".to_owned()));
    }

    fn result() -> impl Strategy<Value = BuildResult> {
        proptest::sample::select(BuildResult::ALL.to_vec())
    }

    proptest! {
        /// The decision, restated from the spec for every (event set, previous, result).
        #[test]
        fn finished_is_announced_exactly_as_the_spec_says(
            bits in 0u32..(1 << 22),
            previous in proptest::option::of(result()),
            result in result(),
        ) {
            let set = EventSet(bits);
            let names = set.names();
            let has = |n: &str| names.iter().any(|x| x == n);
            let named = |r: BuildResult| NAMED.contains(&r);
            let transition = previous.filter(|p| named(*p) && named(result))
                .map(|p| format!("{}To{}", p.name(), description(result)));
            let expected = has("finished")
                || (named(result) && has(result.name()))
                || transition.is_some_and(|t| has(&t));
            prop_assert_eq!(set.wants_finished(previous, result), expected);
        }

        #[test]
        fn names_read_back_to_the_same_set(bits in 0u32..(1 << 22)) {
            let set = EventSet(bits);
            let names = set.names();
            prop_assert_eq!(EventSet::parse(names.iter().map(String::as_str)), Ok(set));
            let json = serde_json::to_string(&set).unwrap();
            prop_assert_eq!(serde_json::from_str::<EventSet>(&json).unwrap(), set);
        }
    }
}
