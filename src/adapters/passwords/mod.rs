//! The seed's authentication backends (spec-web-auth §9.3), as [`Authenticator`]s:
//! [`BasicAuth`] (users and their password hashes from the configuration), [`HtpasswdAuth`]
//! (Apache password files, every format `htpasswd` writes, re-read at each login) and
//! [`UsersAuth`] (the `bb_username`/`bb_password` attributes of the users in the database).
//!
//! Each checks a password off the async threads (bcrypt takes milliseconds on purpose), a few
//! at a time, and
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

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use crate::domain::auth::password;
use crate::ports::AuthError;

/// Password checks that may run at once: one per core but one, and at least one. A bcrypt
/// check keeps a core busy for milliseconds on purpose; with one per login, 20 logins at once
/// would take every core from the pages. Beyond these, logins wait their turn.
static CHECKS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores.saturating_sub(1).max(1))
});

/// Checks `password` against `hash` on a blocking thread; with no hash (an unknown user), it
/// checks it against `decoy` and says no, after the same work.
async fn verify_off_thread(password: &str, hash: Option<String>, decoy: Option<String>) -> Result<bool, AuthError> {
    let password = password.to_owned();
    let known = hash.is_some();
    let Some(against) = hash.or(decoy) else { return Ok(false) };
    let _turn = CHECKS.acquire().await.map_err(|e| AuthError(format!("the password checks stopped: {e}")))?;
    let matched = tokio::task::spawn_blocking(move || password::verify(&password, &against))
        .await
        .map_err(|e| AuthError(format!("the password check did not finish: {e}")))?;
    Ok(known && matched)
}
