//! A review result (spec-notify-6.2): what a callback asks to post on a change, a message and
//! label votes. The seed's callbacks returned it in several shapes, and some of them crashed
//! 0.8.12 (G4); every one is accepted here and comes to one [`Review`], or to nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What is posted on a change: a message (`None`: nothing is posted at all; empty: the votes
/// alone) and label votes by label name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub message: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, i64>,
}

impl Review {
    /// A message and votes (the seed's helper).
    pub fn new(message: &str, labels: &[(&str, i64)]) -> Self {
        let labels = labels.iter().map(|(name, value)| ((*name).to_owned(), *value)).collect();
        Self { message: Some(message.to_owned()), labels }
    }

    /// Whether there is anything to post: a message (even empty) with some text or a vote.
    pub fn says_anything(&self) -> bool {
        match &self.message {
            None => false,
            Some(text) => !text.is_empty() || !self.labels.is_empty(),
        }
    }
}

/// What a review, start or summary callback returned, in any of the seed's shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The mapping form `{"message": …, "labels": {…}}` of 0.8.12.
    Review(Review),
    /// The documented tuple `(message, verified, reviewed)`: both labels are sent, even 0.
    Legacy { message: Option<String>, verified: i64, reviewed: i64 },
    /// A plain message, as the documented start callback returns (it crashed 0.8.12).
    Text(String),
    /// Nothing to say (a plain `None`, which crashed 0.8.12).
    Nothing,
}

impl Reply {
    /// The review to post, if any.
    pub fn into_review(self) -> Option<Review> {
        let review = match self {
            Self::Review(review) => review,
            Self::Legacy { message, verified, reviewed } => Review {
                message,
                labels: BTreeMap::from([("Verified".to_owned(), verified), ("Code-Review".to_owned(), reviewed)]),
            },
            Self::Text(message) => Review { message: Some(message), labels: BTreeMap::new() },
            Self::Nothing => return None,
        };
        review.says_anything().then_some(review)
    }
}

impl From<Review> for Reply {
    fn from(review: Review) -> Self {
        Self::Review(review)
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<(Option<String>, i64, i64)> for Reply {
    fn from((message, verified, reviewed): (Option<String>, i64, i64)) -> Self {
        Self::Legacy { message, verified, reviewed }
    }
}

impl<T: Into<Reply>> From<Option<T>> for Reply {
    fn from(reply: Option<T>) -> Self {
        reply.map_or(Self::Nothing, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_of_the_seeds_callbacks_comes_to_one_review_or_none() {
        let legacy = Reply::from((Some("done".to_owned()), -1, 0)).into_review().expect("a review");
        assert_eq!(legacy, Review::new("done", &[("Code-Review", 0), ("Verified", -1)]), "both labels, even 0");
        assert_eq!(Reply::from((None, 0, 0)).into_review(), None, "no message: nothing is sent");
        assert_eq!(Reply::from("started".to_owned()).into_review(), Some(Review::new("started", &[])));
        assert_eq!(Reply::from(None::<String>).into_review(), None);
        let votes_only = Review { message: Some(String::new()), labels: BTreeMap::from([("Verified".into(), 1)]) };
        assert_eq!(Reply::from(votes_only.clone()).into_review(), Some(votes_only));
        let silent = Review { message: Some(String::new()), labels: BTreeMap::new() };
        assert_eq!(Reply::from(silent).into_review(), None, "an empty message without votes says nothing");
        let no_message = Review { message: None, labels: BTreeMap::from([("Verified".into(), 1)]) };
        assert_eq!(Reply::from(no_message).into_review(), None, "labels without a message are not sent (6.2)");
    }
}
