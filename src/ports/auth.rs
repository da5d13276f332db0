//! How a login is checked: a backend that says whether a password is a user's, and who that
//! user is. The seed's `BasicAuth`, `HTPasswdAuth` and `UsersAuth` are in
//! `adapters::passwords`; an embedding master may bring its own (a directory service, say).

use async_trait::async_trait;

use crate::domain::auth::Identity;

/// Why a backend could not answer (a password file gone, the store down): the login fails,
/// and the reason goes to the log (never the password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The user, when `password` is theirs; `None` for a wrong password and an unknown user
    /// alike, after the same work, so that neither answer nor time tells them apart. Slow
    /// hashes (bcrypt) are checked off the async threads.
    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Identity>, AuthError>;

    /// What the backend checks against, for the log (`htpasswd /etc/buildstatus/users`).
    fn describe(&self) -> String;
}
