//! When a finished build produces mail (spec-notify-2 §2.2–2.3): the mode words, their
//! normalisation, and the decision table.
//!
//! Where the old code and the seed page disagree, the page wins: `all` means every mode,
//! `change` and `problem` included (so skipped and retried builds mail under `all` when the
//! result changed). "Previous build" is the previous *finished* build of the builder
//! (spec-notify-8 M6): a build still running is never compared with.

use crate::domain::result::BuildResult;

/// One reason to send mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Change,
    Failing,
    Passing,
    Problem,
    Warnings,
    Exception,
}

impl Mode {
    pub const ALL: [Mode; 6] =
        [Self::Change, Self::Failing, Self::Passing, Self::Problem, Self::Warnings, Self::Exception];

    pub fn name(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Failing => "failing",
            Self::Passing => "passing",
            Self::Problem => "problem",
            Self::Warnings => "warnings",
            Self::Exception => "exception",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == word)
    }
}

/// A normalised mode: a set of [`Mode`]s, in the order they were given, without repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modes(Vec<Mode>);

impl Default for Modes {
    /// `("failing", "passing", "warnings")`.
    fn default() -> Self {
        Self(vec![Mode::Failing, Mode::Passing, Mode::Warnings])
    }
}

impl Modes {
    pub fn new(modes: impl IntoIterator<Item = Mode>) -> Self {
        let mut out = Vec::new();
        for m in modes {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        Self(out)
    }

    /// A mode given as one string: `all`, the `warnings` shortcut, or a single word.
    pub fn from_word(word: &str) -> Result<Self, String> {
        match word {
            "all" => Ok(Self::new(Mode::ALL)),
            "warnings" => Ok(Self::new([Mode::Failing, Mode::Warnings])),
            other => Self::from_list(&[other]).map_err(|mut e| e.remove(0)),
        }
    }

    /// A mode given as a list of words; every bad word is reported.
    pub fn from_list(words: &[&str]) -> Result<Self, Vec<String>> {
        let mut modes = Vec::new();
        let mut problems = Vec::new();
        for word in words {
            match Mode::parse(word) {
                Some(m) => modes.push(m),
                None if *word == "all" => problems
                    .push("mode 'all' is not valid in an iterator and must be passed in as a separate string".to_owned()),
                None => problems.push(format!(
                    "mode '{word}' is not a valid mode (expected one of change, failing, passing, problem, warnings, exception)"
                )),
            }
        }
        if problems.is_empty() { Ok(Self::new(modes)) } else { Err(problems) }
    }

    pub fn contains(&self, mode: Mode) -> bool {
        self.0.contains(&mode)
    }

    pub fn iter(&self) -> impl Iterator<Item = Mode> + '_ {
        self.0.iter().copied()
    }

    /// The words, as a formatter receives them.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|m| m.name()).collect()
    }
}

/// The mode that makes a build mail (the first that fires, in the spec's order: [`Mode::ALL`]),
/// if any.
/// `prev` is the result of the previous finished build; `None` when there is none (or when a
/// previous-build hook said there is none), which silences `change` and `problem`.
pub fn firing_mode(modes: &Modes, this: BuildResult, prev: Option<BuildResult>) -> Option<Mode> {
    use BuildResult::*;
    Mode::ALL.into_iter().filter(|m| modes.contains(*m)).find(|m| match m {
        Mode::Change => prev.is_some_and(|p| p != this),
        Mode::Failing => this == Failure,
        Mode::Passing => this == Success,
        Mode::Problem => this == Failure && prev.is_some_and(|p| p != Failure),
        Mode::Warnings => this == Warnings,
        Mode::Exception => this == Exception,
    })
}

#[cfg(test)]
mod tests;
