//! Build and step result codes, with the names, CSS classes and colours the pages and the wire
//! formats share. Codes 0–5 are Buildbot 0.8's; CANCELLED (6) is Buildbot 0.9's addition.

use serde::{Deserialize, Serialize};

/// The outcome of a finished build or step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildResult {
    Success,
    Warnings,
    Failure,
    Skipped,
    Exception,
    Retry,
    Cancelled,
}

impl BuildResult {
    pub const ALL: [BuildResult; 7] =
        [Self::Success, Self::Warnings, Self::Failure, Self::Skipped, Self::Exception, Self::Retry, Self::Cancelled];

    /// The numeric code used on the wire (JSON, PB) and in the database.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Warnings => 1,
            Self::Failure => 2,
            Self::Skipped => 3,
            Self::Exception => 4,
            Self::Retry => 5,
            Self::Cancelled => 6,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| i64::from(r.code()) == code)
    }

    /// Lower-case name, as in feed titles, PNG names and result cells.
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warnings => "warnings",
            Self::Failure => "failure",
            Self::Skipped => "skipped",
            Self::Exception => "exception",
            Self::Retry => "retry",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// The CSS class of a box showing this result (same as the name).
    pub fn css_class(self) -> &'static str {
        self.name()
    }

    /// Background colour of `default.css` for this result.
    pub fn colour(self) -> &'static str {
        match self {
            Self::Success => "#8d4",
            Self::Warnings => "#fa3",
            Self::Failure => "#e88",
            Self::Skipped => "#AADDEE",
            Self::Exception | Self::Retry | Self::Cancelled => "#c6c",
        }
    }

    /// Rank for "worst status" merging: higher is worse.
    /// RETRY > EXCEPTION (and CANCELLED) > FAILURE > WARNINGS > SKIPPED > SUCCESS.
    fn badness(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Skipped => 1,
            Self::Warnings => 2,
            Self::Failure => 3,
            Self::Cancelled => 4,
            Self::Exception => 5,
            Self::Retry => 6,
        }
    }

    /// The worse of two results, as used when combining a buildset's builds.
    pub fn worst(self, other: Self) -> Self {
        if other.badness() > self.badness() { other } else { self }
    }
}

/// CSS class of a build or step box: the result's class, or `running` when not finished.
pub fn box_class(result: Option<BuildResult>) -> &'static str {
    result.map_or("running", BuildResult::css_class)
}

/// CSS class from the plain class table: the result's class, or empty when not finished.
pub fn table_class(result: Option<BuildResult>) -> &'static str {
    result.map_or("", BuildResult::css_class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_are_the_wire_names() {
        for r in BuildResult::ALL {
            assert_eq!(BuildResult::from_code(r.code().into()), Some(r));
            assert_eq!(BuildResult::parse(r.name()), Some(r));
        }
        assert_eq!(BuildResult::Success.code(), 0);
        assert_eq!(BuildResult::Retry.name(), "retry");
        assert_eq!(BuildResult::from_code(7), None);
        assert_eq!(serde_json::to_string(&BuildResult::Failure).unwrap(), "\"failure\"");
    }

    #[test]
    fn worst_follows_the_buildbot_order() {
        use BuildResult::*;
        assert_eq!(Success.worst(Skipped), Skipped);
        assert_eq!(Warnings.worst(Skipped), Warnings);
        assert_eq!(Failure.worst(Warnings), Failure);
        assert_eq!(Exception.worst(Failure), Exception);
        assert_eq!(Exception.worst(Retry), Retry);
        for a in BuildResult::ALL {
            for b in BuildResult::ALL {
                assert_eq!(a.worst(b), b.worst(a));
            }
        }
    }

    #[test]
    fn unfinished_boxes_are_running_in_boxes_and_blank_in_tables() {
        assert_eq!(box_class(None), "running");
        assert_eq!(table_class(None), "");
        assert_eq!(box_class(Some(BuildResult::Warnings)), "warnings");
    }
}
