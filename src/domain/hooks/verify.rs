//! Signature and secret checks. Every comparison is constant time: a MAC is checked with
//! `Mac::verify_slice`, and two secrets are compared through their HMACs, so neither the
//! position of the first wrong byte nor the expected length leaks through timing.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::Sha256;

/// Hash functions a hook signature may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha1,
    Md5,
}

/// Whether `hex_tag` is the hex HMAC of `body` keyed by `secret`.
pub fn hmac_matches(algorithm: Algorithm, secret: &[u8], body: &[u8], hex_tag: &str) -> bool {
    let Some(tag) = decode_hex(hex_tag.trim()) else { return false };
    match algorithm {
        Algorithm::Sha256 => mac_matches::<Hmac<Sha256>>(secret, body, &tag),
        Algorithm::Sha1 => mac_matches::<Hmac<Sha1>>(secret, body, &tag),
        Algorithm::Md5 => mac_matches::<Hmac<Md5>>(secret, body, &tag),
    }
}

fn mac_matches<M: Mac + KeyInit>(secret: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(tag).is_ok()
}

/// The hex HMAC of `body` keyed by `secret`: what a sender puts in its signature header.
pub fn hmac_hex(algorithm: Algorithm, secret: &[u8], body: &[u8]) -> String {
    fn run<M: Mac + KeyInit>(secret: &[u8], body: &[u8]) -> Vec<u8> {
        match <M as KeyInit>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(body);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    let bytes = match algorithm {
        Algorithm::Sha256 => run::<Hmac<Sha256>>(secret, body),
        Algorithm::Sha1 => run::<Hmac<Sha1>>(secret, body),
        Algorithm::Md5 => run::<Hmac<Md5>>(secret, body),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in constant time, whatever their lengths.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    const KEY: &[u8] = b"buildstatus: constant-time secret comparison";
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY) else { return false };
    mac.update(given);
    let Ok(mut reference) = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY) else { return false };
    reference.update(expected);
    mac.verify_slice(&reference.finalize().into_bytes()).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_vector_matches() {
        // RFC 4231 test case 2.
        let tag = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(hmac_matches(Algorithm::Sha256, b"Jefe", b"what do ya want for nothing?", tag));
        assert_eq!(hmac_hex(Algorithm::Sha256, b"Jefe", b"what do ya want for nothing?"), tag);
        assert!(hmac_matches(Algorithm::Sha256, b"Jefe", b"what do ya want for nothing?", &tag.to_uppercase()));
    }

    #[test]
    fn wrong_truncated_and_garbage_tags_fail() {
        let good = hmac_hex(Algorithm::Sha1, b"k", b"body");
        assert!(hmac_matches(Algorithm::Sha1, b"k", b"body", &good));
        assert!(!hmac_matches(Algorithm::Sha1, b"k", b"body!", &good));
        assert!(!hmac_matches(Algorithm::Sha1, b"other", b"body", &good));
        assert!(!hmac_matches(Algorithm::Sha1, b"k", b"body", &good[..good.len() - 2]));
        assert!(!hmac_matches(Algorithm::Sha1, b"k", b"body", ""));
        assert!(!hmac_matches(Algorithm::Sha1, b"k", b"body", "zz"));
        assert!(!hmac_matches(Algorithm::Sha1, b"k", b"body", "é"));
        assert!(!hmac_matches(Algorithm::Sha256, b"k", b"body", &good), "a SHA-1 tag is not a SHA-256 tag");
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_equal(b"s3cret", b"s3cret"));
        assert!(!secrets_equal(b"s3cret", b"s3cre"));
        assert!(!secrets_equal(b"", b"s3cret"));
        assert!(secrets_equal(b"", b""));
    }
}
