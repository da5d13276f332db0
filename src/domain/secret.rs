//! A secret from the configuration (a token, a password): it never prints. Its `Debug` shows
//! a short fingerprint, so a target's description (which a reload compares) changes when the
//! secret does, while logs and pages never see it.

use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digest = Sha256::digest(self.0.as_bytes());
        write!(f, "Secret(sha256:{:02x}{:02x}{:02x}{:02x})", digest[0], digest[1], digest[2], digest[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_but_its_fingerprint_changes_with_it() {
        let token = Secret::new("ghp_s3cr3t");
        let shown = format!("{token:?}");
        assert!(!shown.contains("s3cr3t") && shown.starts_with("Secret(sha256:"), "{shown}");
        assert_ne!(shown, format!("{:?}", Secret::new("ghp_other")));
        assert_eq!(token.expose(), "ghp_s3cr3t");
    }
}
