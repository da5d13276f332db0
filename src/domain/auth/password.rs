//! Password hashes: every format Apache's `htpasswd` writes (bcrypt `$2y$`, `$apr1$` MD5,
//! `{SHA}`, traditional DES `crypt`, SHA-256 `$5$` and SHA-512 `$6$` crypt, and glibc's MD5
//! `$1$`), and the seed's `UsersAuth` format (16 hex characters of salt, then the hex SHA-1 of
//! the password followed by that salt). Verification only: buildstatus never writes a hash.
//!
//! Plain-text lines (`htpasswd -p`) are refused, as Apache refuses them on Unix: a value in no
//! known format never matches. Every comparison of our own is constant time; bcrypt and the
//! crypt family compare in constant time in their crates. Verifying bcrypt costs milliseconds
//! on purpose: callers run it off the async threads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use sha1::Sha1;

use crate::domain::hooks::verify::secrets_equal;

/// The formats a stored hash may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFormat {
    /// `$2y$`, `$2a$`, `$2b$` (htpasswd -B).
    Bcrypt,
    /// `$apr1$` (htpasswd -m, its default).
    Apr1,
    /// `{SHA}` + base64 of the SHA-1 (htpasswd -s).
    Sha1,
    /// 13 characters of traditional DES crypt (htpasswd -d).
    DesCrypt,
    /// `$1$`, glibc's MD5 crypt.
    Md5Crypt,
    /// `$5$` (htpasswd -2).
    Sha256Crypt,
    /// `$6$` (htpasswd -5).
    Sha512Crypt,
}

impl HashFormat {
    /// The format of `hash`, or `None` when it is in none (a plain-text password, say).
    pub fn of(hash: &str) -> Option<Self> {
        let format = if ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
            HashFormat::Bcrypt
        } else if hash.starts_with("$apr1$") {
            HashFormat::Apr1
        } else if hash.starts_with("{SHA}") {
            HashFormat::Sha1
        } else if hash.starts_with("$1$") {
            HashFormat::Md5Crypt
        } else if hash.starts_with("$5$") {
            HashFormat::Sha256Crypt
        } else if hash.starts_with("$6$") {
            HashFormat::Sha512Crypt
        } else if hash.len() == 13 && hash.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
            HashFormat::DesCrypt
        } else {
            return None;
        };
        Some(format)
    }

    pub fn name(self) -> &'static str {
        match self {
            HashFormat::Bcrypt => "bcrypt",
            HashFormat::Apr1 => "apr1-MD5",
            HashFormat::Sha1 => "SHA-1",
            HashFormat::DesCrypt => "DES crypt",
            HashFormat::Md5Crypt => "MD5 crypt",
            HashFormat::Sha256Crypt => "SHA-256 crypt",
            HashFormat::Sha512Crypt => "SHA-512 crypt",
        }
    }
}

/// The characters of crypt's base 64, in its order.
const CRYPT_ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `password` is the one `hash` was made from. A hash in no known format never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    match HashFormat::of(hash) {
        Some(HashFormat::Bcrypt) => bcrypt::verify(password, hash).unwrap_or(false),
        Some(HashFormat::Apr1) => apr1_verify(password, hash),
        Some(HashFormat::Sha1) => {
            let digest = STANDARD.encode(Sha1::digest(password.as_bytes()));
            secrets_equal(digest.as_bytes(), &hash.as_bytes()["{SHA}".len()..])
        }
        Some(HashFormat::DesCrypt) => pwhash::unix_crypt::verify(password, hash),
        Some(HashFormat::Md5Crypt) => pwhash::md5_crypt::verify(password, hash),
        Some(HashFormat::Sha256Crypt) => pwhash::sha256_crypt::verify(password, hash),
        Some(HashFormat::Sha512Crypt) => pwhash::sha512_crypt::verify(password, hash),
        None => false,
    }
}

/// Whether `password` matches a `bb_password` of the users table: 16 hex characters of salt,
/// then the hex SHA-1 of the password followed by the salt.
pub fn verify_users_table(password: &str, stored: &str) -> bool {
    let Some(salt) = stored.get(..16) else { return false };
    let mut sha = Sha1::new();
    sha.update(password.as_bytes());
    sha.update(salt.as_bytes());
    let expected: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    secrets_equal(format!("{salt}{expected}").as_bytes(), stored.as_bytes())
}

/// `$apr1$SALT$HASH`: Apache's MD5 (FreeBSD's md5crypt with its own magic), recomputed and
/// compared in constant time.
fn apr1_verify(password: &str, hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix("$apr1$") else { return false };
    let Some((salt, _)) = rest.split_once('$') else { return false };
    secrets_equal(apr1(password, salt).as_bytes(), hash.as_bytes())
}

/// The `$apr1$` hash of `password` with `salt` (at most 8 characters of it are used).
pub fn apr1(password: &str, salt: &str) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let (pw, salt) = (password.as_bytes(), &salt.as_bytes()[..salt.len().min(8)]);
    let alternate = Md5::new().chain_update(pw).chain_update(salt).chain_update(pw).finalize();
    let mut ctx = Md5::new().chain_update(pw).chain_update(MAGIC).chain_update(salt);
    for chunk in (0..pw.len()).step_by(16) {
        ctx.update(&alternate[..(pw.len() - chunk).min(16)]);
    }
    let mut bits = pw.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        bits >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round & 1 == 1 {
            ctx.update(pw);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(pw);
        }
        if round & 1 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(pw);
        }
        digest = ctx.finalize();
    }
    let mut out = format!("$apr1${}$", String::from_utf8_lossy(salt));
    let mut put = |value: u32, chars: usize| {
        for i in 0..chars {
            out.push(char::from(CRYPT_ALPHABET[((value >> (6 * i)) & 0x3f) as usize]));
        }
    };
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put(d(a) << 16 | d(b) << 8 | d(c), 4);
    }
    put(d(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes of "pass word" written by `htpasswd -nb` (-B -C 5, -m, -s, -d, -2, -5) and by
    /// `openssl passwd` (-1, and -6 of a non-ASCII password).
    const PASS_WORD: &[(&str, HashFormat)] = &[
        ("$2y$05$/6XkUgh8W/hjqchGpblLQeZrb7SPMQ8YXvB9esdb2F1Ud2OWZIaF6", HashFormat::Bcrypt),
        ("$apr1$SKWdaMOm$ZY8O0NAlJmxspx4A.Na.j/", HashFormat::Apr1),
        ("{SHA}2oguq15ANCGsJCWKX31fllwpyEk=", HashFormat::Sha1),
        ("8OB7wnpzCaBf6", HashFormat::DesCrypt),
        ("$5$xriizRgQiAKwwDU/$w4AVIvAWCkD/8wDigbSExuj.VWpciUQD7XbZJiuIbF/", HashFormat::Sha256Crypt),
        (
            "$6$3LmKYx/cKfjOxcYK$FDA.yn7ZSf2TLyLmaw8rTVb.4RO4XqvhiBah6mhyjNlO.mESvgavnZ78ZqbaCCbwfCFAf16aEIQllWq.Ya7AY0",
            HashFormat::Sha512Crypt,
        ),
        ("$1$saltsalt$1K7dkhtbTNVUwUicA5kOT1", HashFormat::Md5Crypt),
    ];

    #[test]
    fn each_format_htpasswd_writes_verifies_the_right_password_only() {
        for (hash, format) in PASS_WORD {
            assert_eq!(HashFormat::of(hash), Some(*format), "{hash}");
            assert!(verify("pass word", hash), "{} {hash}", format.name());
            assert!(!verify("Pass word", hash), "{} {hash}", format.name());
            assert!(!verify("", hash), "{} {hash}", format.name());
        }
        // DES crypt reads 8 characters: what follows them never counts (htpasswd -d warns so).
        assert!(verify("pass wor-anything", "8OB7wnpzCaBf6"));
        let umlauts =
            "$6$saltsalt$TQjRhpJdqmLx0U8it3EsUajwkmOMMvw5vhUFc7mohzFFoj/QHrfYUHU1oSkwyCEoTUCDOiAOW135nel3bqtKe.";
        assert!(verify("pässwörd", umlauts) && !verify("passwort", umlauts));
    }

    #[test]
    fn apr1_matches_the_published_vector() {
        assert_eq!(apr1("password", "RandSalt"), "$apr1$RandSalt$PgCXHRrkpSt4cbyC2C6bm/");
        assert!(verify("password", "$apr1$RandSalt$PgCXHRrkpSt4cbyC2C6bm/"));
        assert!(!verify("password", "$apr1$RandSalt$PgCXHRrkpSt4cbyC2C6bm."));
        assert!(!verify("password", "$apr1$RandSalt"), "no hash part");
    }

    #[test]
    fn plain_text_and_unknown_formats_never_match() {
        assert_eq!(HashFormat::of("pass word"), None);
        assert!(!verify("pass word", "pass word"), "htpasswd -p: refused, as Apache on Unix does");
        assert!(!verify("x", "$9$whatever"));
        assert!(!verify("", ""));
        assert!(!verify("x", "$2y$05$short"), "a broken bcrypt hash is no match, not a panic");
    }

    #[test]
    fn users_table_passwords_are_salted_sha1() {
        let stored = "0123456789abcdef6391d7a2d9edb9b44ad49ff357fe4582efeff52c";
        assert!(verify_users_table("pass word", stored));
        assert!(!verify_users_table("pass wore", stored));
        assert!(!verify_users_table("pass word", &stored[..40]));
        assert!(!verify_users_table("pass word", "short"));
    }
}
