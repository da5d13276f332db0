//! Reading when a peer asks to be left alone: HTTP's `Retry-After` (seconds, or a date) and a
//! rate limit's reset time (seconds since the epoch, as GitHub's `X-RateLimit-Reset`). Pure:
//! the transport gives the header and the time it read it at.

use crate::domain::model::Timestamp;

/// When `Retry-After: value`, received at `now`, says to come back.
pub fn retry_after(value: &str, now: Timestamp) -> Option<Timestamp> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return now.checked_add_signed(chrono::Duration::seconds(i64::from(seconds)));
    }
    chrono::DateTime::parse_from_rfc2822(value).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// The time of a reset given in seconds since the epoch.
pub fn reset_at(value: &str) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(value.trim().parse::<i64>().ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_retry_after_and_an_epoch_reset_are_read() {
        let now = chrono::DateTime::from_timestamp(1_445_412_000, 0).expect("time");
        assert_eq!(retry_after("120", now), Some(now + chrono::Duration::seconds(120)));
        let date = retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now).expect("a date");
        assert_eq!(date.timestamp(), 1_445_412_480);
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(reset_at("1445412480").map(|t| t.timestamp()), Some(1_445_412_480));
        assert_eq!(reset_at("x"), None);
    }
}
