//! Apache password files as `HTPasswdAuth` reads them (spec-web-auth §9.3): one `user:hash`
//! per line, split at the first `:`, trailing white space dropped; the first line of a user
//! counts. Blank lines and `#` comments are skipped.

use super::password::HashFormat;

/// The entries of a password file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Htpasswd {
    entries: Vec<(String, String)>,
}

impl Htpasswd {
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .filter(|(user, _)| !user.is_empty())
            .map(|(user, hash)| (user.to_owned(), hash.to_owned()))
            .collect();
        Self { entries }
    }

    /// The hash of `user`'s first line.
    pub fn hash_of(&self, user: &str) -> Option<&str> {
        self.entries.iter().find(|(u, _)| u == user).map(|(_, h)| h.as_str())
    }

    /// A hash to check an unknown user's password against (and ignore the answer), so that a
    /// login of someone not in the file costs what a wrong password costs.
    pub fn decoy(&self) -> Option<&str> {
        self.entries.first().map(|(_, h)| h.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines that can never match, each naming its user: what `check-config` reports.
    pub fn problems(&self) -> Vec<String> {
        (self.entries.iter())
            .filter(|(_, hash)| HashFormat::of(hash).is_none())
            .map(|(user, _)| format!("the password of '{user}' is in no known hash format (plain text is refused)"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_of_a_user_counts() {
        let file = Htpasswd::parse(
            "# users\nbob:{SHA}2oguq15ANCGsJCWKX31fllwpyEk=  \n\nbob:$apr1$x$y\nann:a:b\n:nouser\nnocolon\n",
        );
        assert_eq!(file.hash_of("bob"), Some("{SHA}2oguq15ANCGsJCWKX31fllwpyEk="));
        assert_eq!(file.hash_of("ann"), Some("a:b"), "split at the first colon");
        assert_eq!(file.hash_of("nocolon"), None);
        assert_eq!(file.hash_of(""), None);
        assert_eq!(file.decoy(), file.hash_of("bob"));
        assert_eq!(file.problems(), ["the password of 'ann' is in no known hash format (plain text is refused)"]);
    }
}
