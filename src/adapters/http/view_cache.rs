//! Rendered views, kept until the status changes. A view is a pure function of the status
//! (named by the newest event's number), its URL and the time to the second, so a page asked
//! for again with all three the same is the same bytes: a wall of screens showing the console
//! costs one computation per status change, not one per screen.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Views kept at most; past that the cache starts afresh (views change with every event).
const MAX_VIEWS: usize = 256;

/// What a cached view was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewKey {
    /// Path and query, as asked.
    pub uri: String,
    /// The newest event's number when the view's data was read.
    pub seq: u64,
    /// The page's time, in whole seconds.
    pub second: i64,
}

#[derive(Debug, Default)]
pub struct ViewCache(Mutex<HashMap<ViewKey, Bytes>>);

impl ViewCache {
    pub fn get(&self, key: &ViewKey) -> Option<Bytes> {
        self.lock().get(key).cloned()
    }

    pub fn put(&self, key: ViewKey, body: Bytes) {
        let mut map = self.lock();
        // Views of older status can never be asked for again under their key.
        map.retain(|k, _| k.seq >= key.seq && k.second >= key.second);
        if map.len() >= MAX_VIEWS {
            map.clear();
        }
        map.insert(key, body);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ViewKey, Bytes>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
