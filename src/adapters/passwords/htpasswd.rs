//! `HTPasswdAuth` (and the seed's `HTPasswdAprAuth`, now the same thing): Apache password
//! files, every format `htpasswd` writes, re-read at each login so that a changed file needs
//! no restart. With several files, the first that lists the user decides.

use std::path::PathBuf;

use async_trait::async_trait;

use super::verify_off_thread;
use crate::domain::auth::Identity;
use crate::domain::auth::htpasswd::Htpasswd;
use crate::ports::{AuthError, Authenticator};

#[derive(Clone, Debug)]
pub struct HtpasswdAuth {
    files: Vec<PathBuf>,
}

impl HtpasswdAuth {
    /// The files must exist now (a missing one later fails the logins that read it). The
    /// error lists every file that cannot be read and every line that can never match.
    pub fn new(files: Vec<PathBuf>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if files.is_empty() {
            problems.push("no password file".to_owned());
        }
        for file in &files {
            match std::fs::read_to_string(file) {
                Ok(text) => {
                    let parsed = Htpasswd::parse(&text);
                    if parsed.is_empty() {
                        problems.push(format!("{}: no user:hash line", file.display()));
                    }
                    problems.extend(parsed.problems().into_iter().map(|p| format!("{}: {p}", file.display())));
                }
                Err(e) => problems.push(format!("{}: cannot read: {e}", file.display())),
            }
        }
        if problems.is_empty() { Ok(Self { files }) } else { Err(problems) }
    }
}

#[async_trait]
impl Authenticator for HtpasswdAuth {
    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Identity>, AuthError> {
        let (mut hash, mut decoy) = (None, None);
        for file in &self.files {
            let text = tokio::fs::read_to_string(file)
                .await
                .map_err(|e| AuthError(format!("No such file: {} ({e})", file.display())))?;
            let parsed = Htpasswd::parse(&text);
            decoy = decoy.or_else(|| parsed.decoy().map(str::to_owned));
            if let Some(found) = parsed.hash_of(user) {
                hash = Some(found.to_owned());
                break;
            }
        }
        Ok(verify_off_thread(password, hash, decoy).await?.then(|| Identity::new(user)))
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!("htpasswd {}", names.join(", "))
    }
}
