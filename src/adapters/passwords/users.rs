//! `UsersAuth`: the users of the database (the users pages' users), by their `bb_username`
//! attribute, with the password hash of their `bb_password` (the seed's salted SHA-1).

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::auth::Identity;
use crate::domain::auth::password::verify_users_table;
use crate::ports::{AuthError, Authenticator, StatusReader};

/// A `bb_password` no password matches, checked for unknown users so they cost the same.
const DECOY: &str = "0000000000000000ffffffffffffffffffffffffffffffffffffffff";

#[derive(Clone)]
pub struct UsersAuth {
    reader: Arc<dyn StatusReader>,
}

impl UsersAuth {
    pub fn new(reader: Arc<dyn StatusReader>) -> Self {
        Self { reader }
    }
}

#[async_trait]
impl Authenticator for UsersAuth {
    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Identity>, AuthError> {
        let users = self.reader.users().await.map_err(|e| AuthError(format!("the users cannot be read: {e}")))?;
        let found = users.iter().find(|u| u.attributes.get("bb_username").is_some_and(|n| n == user));
        let stored = found.and_then(|u| u.attributes.get("bb_password")).map_or(DECOY, String::as_str);
        let matched = verify_users_table(password, stored);
        Ok(found.filter(|_| matched).map(|u| Identity {
            full_name: if u.identifier.is_empty() { user.to_owned() } else { u.identifier.clone() },
            email: u.attributes.get("email").cloned().unwrap_or_else(|| format!("{user}@localhost")),
            ..Identity::new(user)
        }))
    }

    fn describe(&self) -> String {
        "the users of the database".to_owned()
    }
}
