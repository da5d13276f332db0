//! A build number as a URL writes it: `7`, or `-1` for the newest.

/// A build number as written in a URL: absolute, or negative counting from the newest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildNumber {
    Absolute(u32),
    FromEnd(u32),
    /// Not a number (the text as given): the page answers 400 naming it.
    Invalid(String),
}

impl BuildNumber {
    pub fn parse(text: &str) -> Self {
        let invalid = || Self::Invalid(text.to_owned());
        if let Some(back) = text.strip_prefix('-') {
            return back.parse().ok().filter(|n| *n > 0).map_or_else(invalid, Self::FromEnd);
        }
        text.parse().map_or_else(|_| invalid(), Self::Absolute)
    }

    /// The absolute number, given the newest build's number.
    pub fn resolve(&self, newest: Option<u32>) -> Option<u32> {
        match *self {
            Self::Absolute(n) => Some(n),
            Self::FromEnd(back) => newest?.checked_sub(back - 1),
            Self::Invalid(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_numbers_count_back_from_the_newest() {
        assert_eq!(BuildNumber::parse("-1").resolve(Some(9)), Some(9));
        assert_eq!(BuildNumber::parse("-10").resolve(Some(9)), Some(0));
        assert_eq!(BuildNumber::parse("-11").resolve(Some(9)), None);
        assert_eq!(BuildNumber::parse("-0"), BuildNumber::Invalid("-0".into()));
        assert_eq!(BuildNumber::parse("4").resolve(None), Some(4));
        assert_eq!(BuildNumber::parse("-1").resolve(None), None);
    }
}
