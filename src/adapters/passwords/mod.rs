//! The seed's authentication backends (spec-web-auth §9.3), as [`Authenticator`]s:
//! [`BasicAuth`] (users and their password hashes from the configuration), [`HtpasswdAuth`]
//! (Apache password files, every format `htpasswd` writes, re-read at each login) and
//! [`UsersAuth`] (the `bb_username`/`bb_password` attributes of the users in the database).
//!
//! Each checks a password off the async threads (bcrypt takes milliseconds on purpose), and
//! checks an unknown user's password against a decoy hash of the same backend, so that a
//! login tells neither by its answer nor by its time whether the user exists.
//!
//! [`Authenticator`]: crate::ports::Authenticator

mod basic;
mod htpasswd;
mod users;

pub use basic::BasicAuth;
pub use htpasswd::HtpasswdAuth;
pub use users::UsersAuth;

use crate::domain::auth::password;
use crate::ports::AuthError;

/// Checks `password` against `hash` on a blocking thread; with no hash (an unknown user), it
/// checks it against `decoy` and says no, after the same work.
async fn verify_off_thread(password: &str, hash: Option<String>, decoy: Option<String>) -> Result<bool, AuthError> {
    let password = password.to_owned();
    let known = hash.is_some();
    let Some(against) = hash.or(decoy) else { return Ok(false) };
    let matched = tokio::task::spawn_blocking(move || password::verify(&password, &against))
        .await
        .map_err(|e| AuthError(format!("the password check did not finish: {e}")))?;
    Ok(known && matched)
}
