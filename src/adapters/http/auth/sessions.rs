//! The live sessions, in memory (spec-web-auth §9.4: lost on restart, never extended): a
//! session's random id names who logged in and until when. Logging out removes it, so its
//! cookie, replayed, names nobody. Expired sessions are dropped as new ones come, and the
//! store holds at most [`MAX_SESSIONS`] (the oldest go first).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::auth::Identity;
use crate::domain::model::Timestamp;

/// Sessions kept at most: a flood of logins cannot grow the store without bound.
pub const MAX_SESSIONS: usize = 10_000;

#[derive(Clone, Debug)]
struct Session {
    identity: Identity,
    expires: Timestamp,
}

#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
}

impl SessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a session `id` of `identity` until `expires`.
    pub fn insert(&self, id: String, identity: Identity, expires: Timestamp, now: Timestamp) {
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.expires > now);
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(id, _)| id.clone());
            match oldest {
                Some(id) => sessions.remove(&id),
                None => break,
            };
        }
        sessions.insert(id, Session { identity, expires });
    }

    /// Who session `id` is, if it is live at `now`.
    pub fn get(&self, id: &str, now: Timestamp) -> Option<Identity> {
        self.lock().get(id).filter(|s| s.expires > now).map(|s| s.identity.clone())
    }

    /// Ends session `id` (logging out).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000 + s, 0).expect("time")
    }

    #[test]
    fn a_session_lives_until_it_expires_or_is_ended() {
        let store = SessionStore::default();
        store.insert("a".into(), Identity::new("bob"), at(100), at(0));
        assert_eq!(store.get("a", at(99)).map(|i| i.user), Some("bob".into()));
        assert_eq!(store.get("a", at(100)), None);
        store.insert("b".into(), Identity::new("ann"), at(200), at(150));
        assert_eq!(store.len(), 1, "the expired one was dropped");
        store.remove("b");
        assert_eq!(store.get("b", at(150)), None);
    }

    #[test]
    fn the_store_is_bounded() {
        let store = SessionStore::default();
        for i in 0..MAX_SESSIONS + 5 {
            store.insert(format!("s{i}"), Identity::new("u"), at(1000 + i as i64), at(0));
        }
        assert_eq!(store.len(), MAX_SESSIONS);
        assert!(store.get("s0", at(0)).is_none() && store.get(&format!("s{}", MAX_SESSIONS + 4), at(0)).is_some());
    }
}
