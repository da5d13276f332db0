//! The observers a PB client subscribes to its build requests (`request.subscribe`): each
//! hears `newbuild` for every build that claims the request, until its buildset finishes. A
//! request is known by its buildset and builder (0.8 made one request per builder of a
//! buildset; the store forgets a request once claimed, a build keeps its buildsets). Bounded:
//! at most `limit` observers per connection.

use std::collections::BTreeMap;

/// A build request as a client holds it: its buildset and its builder.
pub type RequestKey = (u64, String);

/// Why an observer was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyObservers;

#[derive(Debug)]
pub struct RequestObservers {
    observers: BTreeMap<RequestKey, Vec<i64>>,
    limit: usize,
}

impl RequestObservers {
    pub fn new(limit: usize) -> Self {
        Self { observers: BTreeMap::new(), limit }
    }

    /// Adds `observer` to `key`; the same one again takes no other place.
    pub fn subscribe(&mut self, key: &RequestKey, observer: i64) -> Result<(), TooManyObservers> {
        let count: usize = self.observers.values().map(Vec::len).sum();
        let observers = self.observers.entry(key.clone()).or_default();
        if observers.contains(&observer) {
            return Ok(());
        }
        if count >= self.limit {
            if observers.is_empty() {
                self.observers.remove(key);
            }
            return Err(TooManyObservers);
        }
        observers.push(observer);
        Ok(())
    }

    pub fn unsubscribe(&mut self, key: &RequestKey, observer: i64) {
        if let Some(observers) = self.observers.get_mut(key) {
            observers.retain(|o| *o != observer);
            if observers.is_empty() {
                self.observers.remove(key);
            }
        }
    }

    /// Every observer goes (the client logged out or unsubscribed).
    pub fn clear(&mut self) {
        self.observers.clear();
    }

    /// The buildset finished: no build will claim its requests any more.
    pub fn finished(&mut self, buildset: u64) {
        self.observers.retain(|(set, _), _| *set != buildset);
    }

    /// Whether any request of `builder` is observed (a starting build of it is worth a look).
    pub fn watches(&self, builder: &str) -> bool {
        self.observers.keys().any(|(_, b)| b == builder)
    }

    /// The observers a build of `builder` that claimed requests of `buildsets` is told of.
    pub fn of_build(&self, builder: &str, buildsets: &[u64]) -> Vec<i64> {
        let claimed = |(set, b): &RequestKey| b == builder && buildsets.contains(set);
        self.observers.iter().filter(|(key, _)| claimed(key)).flat_map(|(_, o)| o.iter().copied()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_reaches_the_observers_of_the_requests_it_claimed_until_the_buildset_finishes() {
        let mut observers = RequestObservers::new(4);
        let linux = (7, "linux".to_owned());
        observers.subscribe(&linux, 5).unwrap();
        observers.subscribe(&(8, "linux".into()), 6).unwrap();
        observers.subscribe(&(7, "macos".into()), 7).unwrap();
        assert!(observers.watches("linux") && !observers.watches("windows"));
        assert_eq!(observers.of_build("linux", &[7]), [5]);
        assert_eq!(observers.of_build("linux", &[7, 8]), [5, 6]);
        assert_eq!(observers.of_build("macos", &[8]), [] as [i64; 0]);
        observers.unsubscribe(&linux, 5);
        assert_eq!(observers.of_build("linux", &[7]), [] as [i64; 0]);
        observers.finished(8);
        assert_eq!(observers.of_build("linux", &[8]), [] as [i64; 0], "went with its buildset");
        assert_eq!(observers.of_build("macos", &[7]), [7]);
    }

    #[test]
    fn observers_are_bounded() {
        let mut observers = RequestObservers::new(2);
        let a = (1, "a".to_owned());
        assert_eq!(observers.subscribe(&a, 1), Ok(()));
        assert_eq!(observers.subscribe(&a, 1), Ok(()), "the same observer again takes no place");
        assert_eq!(observers.subscribe(&(2, "b".into()), 2), Ok(()));
        assert_eq!(observers.subscribe(&a, 3), Err(TooManyObservers));
        assert_eq!(observers.subscribe(&(3, "c".into()), 3), Err(TooManyObservers));
        assert!(!observers.watches("c"), "a refused one leaves nothing behind");
        observers.unsubscribe(&a, 1);
        assert_eq!(observers.subscribe(&a, 3), Ok(()));
    }
}
