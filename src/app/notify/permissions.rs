//! Who may act through a notifier that takes commands (an IRC bot's `force build`, `stop
//! build`): the server's `[authz]`, with the groups `[auth]` gives each user, as they stand
//! now. A reload replaces them here, so a running bot obeys the new rules without restarting.

use std::sync::{Arc, RwLock};

use crate::adapters::http::auth::AuthSettings;
use crate::domain::auth::{Action, Identity, Subject};

/// The server's current rules, shared by every target that asks.
#[derive(Clone, Default)]
pub struct Permissions(Arc<RwLock<Arc<AuthSettings>>>);

impl Permissions {
    /// Takes `settings` as the rules from now on.
    pub fn set(&self, settings: &AuthSettings) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings.clone());
    }

    /// Whether `user` (a name other than a web login: an IRC nick) may do `action` on `subject`.
    pub fn allows(&self, action: Action, user: &str, subject: &Subject<'_>) -> bool {
        let settings = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        let who = settings.with_groups(Identity::new(user));
        settings.authz.allows(action, Some(&who), subject)
    }
}

impl std::fmt::Debug for Permissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permissions")
    }
}
