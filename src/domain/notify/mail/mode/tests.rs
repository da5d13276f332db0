//! The decision table of spec-notify-2 §2.3.3, checked over every (mode, result, previous).

use proptest::prelude::*;

use super::*;
use crate::domain::result::BuildResult::{self, *};

/// Whether a build with result `this` mails, given the previous finished build's result.
fn wants_mail(modes: &Modes, this: BuildResult, prev: Option<BuildResult>) -> bool {
    firing_mode(modes, this, prev).is_some()
}

fn prev_strategy() -> impl Strategy<Value = Option<BuildResult>> {
    prop_oneof![Just(None), proptest::sample::select(BuildResult::ALL.to_vec()).prop_map(Some)]
}

fn modes_strategy() -> impl Strategy<Value = Vec<Mode>> {
    proptest::sample::subsequence(Mode::ALL.to_vec(), 0..=6)
}

/// The table written out independently of `firing_mode`: one row per mode word.
fn fires(mode: Mode, this: BuildResult, prev: Option<BuildResult>) -> bool {
    match mode {
        Mode::Change => matches!(prev, Some(p) if p != this),
        Mode::Failing => this == Failure,
        Mode::Passing => this == Success,
        Mode::Problem => {
            this == Failure && matches!(prev, Some(Success | Warnings | Skipped | Exception | Retry | Cancelled))
        }
        Mode::Warnings => this == Warnings,
        Mode::Exception => this == Exception,
    }
}

proptest! {
    #[test]
    fn a_set_of_modes_mails_exactly_when_one_of_its_modes_fires(
        words in modes_strategy(),
        this in proptest::sample::select(BuildResult::ALL.to_vec()),
        prev in prev_strategy(),
    ) {
        let modes = Modes::new(words.clone());
        let expected = words.iter().any(|m| fires(*m, this, prev));
        prop_assert_eq!(wants_mail(&modes, this, prev), expected);
        if let Some(m) = firing_mode(&modes, this, prev) {
            prop_assert!(words.contains(&m) && fires(m, this, prev));
        }
    }

    #[test]
    fn no_previous_build_never_mails_for_change_or_problem(this in proptest::sample::select(BuildResult::ALL.to_vec())) {
        let modes = Modes::new([Mode::Change, Mode::Problem]);
        prop_assert!(!wants_mail(&modes, this, None));
    }
}

#[test]
fn the_common_modes_follow_the_spec_table() {
    let default = Modes::default();
    assert!(wants_mail(&default, Success, None));
    assert!(wants_mail(&default, Warnings, None));
    assert!(wants_mail(&default, Failure, Some(Failure)));
    assert!(!wants_mail(&default, Exception, None));
    assert!(!wants_mail(&default, Skipped, Some(Success)));

    let problem = Modes::from_word("problem").unwrap();
    assert!(wants_mail(&problem, Failure, Some(Success)));
    assert!(!wants_mail(&problem, Failure, Some(Failure)));
    assert!(!wants_mail(&problem, Failure, None), "a first build that fails is not a problem");
    assert!(!wants_mail(&problem, Exception, Some(Success)));

    let warnings = Modes::from_word("warnings").unwrap();
    assert_eq!(warnings.names(), ["failing", "warnings"]);
    assert!(!wants_mail(&warnings, Success, None));

    // The page's `all`: change is in it, so a skipped build after a success mails.
    let all = Modes::from_word("all").unwrap();
    assert_eq!(all.names().len(), 6);
    assert!(wants_mail(&all, Skipped, Some(Success)));
    assert!(wants_mail(&all, Retry, Some(Failure)));
    assert!(!wants_mail(&all, Skipped, Some(Skipped)));
}

#[test]
fn bad_words_are_named_and_all_is_refused_in_a_list() {
    assert_eq!(
        Modes::from_list(&["failing", "all", "sometimes"]).unwrap_err(),
        [
            "mode 'all' is not valid in an iterator and must be passed in as a separate string",
            "mode 'sometimes' is not a valid mode (expected one of change, failing, passing, problem, warnings, exception)",
        ]
    );
    assert!(Modes::from_word("never").is_err());
    assert_eq!(Modes::from_list(&["change", "change"]).unwrap().names(), ["change"]);
}
