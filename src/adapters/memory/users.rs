//! [`MemoryUsers`]: an `Authenticator` over users and passwords held in memory, compared in
//! constant time: a double for tests and examples (production passwords are stored hashed,
//! through `adapters::passwords`).

use async_trait::async_trait;

use crate::domain::auth::Identity;
use crate::domain::hooks::verify::secrets_equal;
use crate::ports::{AuthError, Authenticator};

#[derive(Clone, Default)]
pub struct MemoryUsers {
    users: Vec<(String, String)>,
}

impl std::fmt::Debug for MemoryUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryUsers({} users)", self.users.len())
    }
}

impl MemoryUsers {
    /// Users by (name, password).
    pub fn new<'a>(users: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { users: users.into_iter().map(|(u, p)| (u.to_owned(), p.to_owned())).collect() }
    }
}

#[async_trait]
impl Authenticator for MemoryUsers {
    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Identity>, AuthError> {
        let mut found = false;
        for (u, p) in &self.users {
            found |= secrets_equal(u.as_bytes(), user.as_bytes()) & secrets_equal(p.as_bytes(), password.as_bytes());
        }
        Ok(found.then(|| Identity::new(user)))
    }

    fn describe(&self) -> String {
        format!("{} users in memory", self.users.len())
    }
}
