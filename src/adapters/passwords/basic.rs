//! `BasicAuth`: users and their password hashes given in the configuration (never the
//! passwords themselves: `htpasswd -nB USER` makes a line to copy).

use async_trait::async_trait;

use super::verify_off_thread;
use crate::domain::auth::Identity;
use crate::domain::auth::password::HashFormat;
use crate::ports::{AuthError, Authenticator};

#[derive(Clone)]
pub struct BasicAuth {
    users: Vec<(String, String)>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.users.iter().map(|(u, _)| u.as_str()).collect();
        write!(f, "BasicAuth({names:?})")
    }
}

impl BasicAuth {
    /// `users` as (name, hash) pairs. The error names every user whose hash is in no known
    /// format (a plain-text password is refused), and an empty list, which would refuse all.
    pub fn new(users: Vec<(String, String)>) -> Result<Self, Vec<String>> {
        if users.is_empty() {
            return Err(vec!["no users: nobody could log in".to_owned()]);
        }
        let problems: Vec<String> = (users.iter())
            .filter(|(_, hash)| HashFormat::of(hash).is_none())
            .map(|(user, _)| {
                format!("'{user}': not a password hash (store it hashed: `htpasswd -nB {user}` prints one)")
            })
            .collect();
        if problems.is_empty() { Ok(Self { users }) } else { Err(problems) }
    }
}

#[async_trait]
impl Authenticator for BasicAuth {
    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Identity>, AuthError> {
        let hash = self.users.iter().find(|(u, _)| u == user).map(|(_, h)| h.clone());
        let decoy = self.users.first().map(|(_, h)| h.clone());
        Ok(verify_off_thread(password, hash, decoy).await?.then(|| Identity::new(user)))
    }

    fn describe(&self) -> String {
        format!("{} configured users", self.users.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS_WORD_SHA: &str = "{SHA}2oguq15ANCGsJCWKX31fllwpyEk=";

    #[tokio::test]
    async fn a_user_with_the_right_password_is_known_and_no_one_else() {
        let auth = BasicAuth::new(vec![("bob".into(), PASS_WORD_SHA.into())]).expect("valid");
        let bob = auth.authenticate("bob", "pass word").await.expect("answers");
        assert_eq!(bob, Some(Identity::new("bob")));
        assert_eq!(auth.authenticate("bob", "pass wore").await.expect("answers"), None);
        assert_eq!(auth.authenticate("eve", "pass word").await.expect("answers"), None, "unknown, same answer");
        assert!(!format!("{auth:?}").contains("SHA"), "Debug shows no hash");
    }

    #[test]
    fn plain_text_passwords_and_empty_lists_are_refused() {
        let e = BasicAuth::new(vec![("bob".into(), "secret-pass".into())]).expect_err("plain");
        assert_eq!(e, ["'bob': not a password hash (store it hashed: `htpasswd -nB bob` prints one)"]);
        assert!(BasicAuth::new(vec![]).is_err());
    }
}
