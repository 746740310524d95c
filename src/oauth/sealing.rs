//! Signing keys at rest: each Ed25519 seed is sealed with ChaCha20-Poly1305 (RFC 8439) under a
//! key-encryption key (KEK) that is not in the database, bound to its `kid` as associated data
//! (a sealed seed moved to another row does not open). Whoever can read the database alone
//! cannot forge tokens.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// First byte of a sealed seed: the format.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const SEALED_LEN: usize = 1 + NONCE_LEN + 32 + 16;

/// The key-encryption key.
pub struct Kek {
    cipher: ChaCha20Poly1305,
}

impl Kek {
    pub fn from_bytes(mut bytes: [u8; 32]) -> Kek {
        let key = Key::from(bytes);
        bytes.zeroize();
        Kek {
            cipher: ChaCha20Poly1305::new(&key),
        }
    }

    /// A new random KEK and its text form (for a key file).
    pub fn generate() -> (Kek, Zeroizing<String>) {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes));
        (Kek::from_bytes(bytes), text)
    }

    /// 32 bytes as base64 (standard or URL-safe, padded or not) or 64 hex digits.
    pub fn parse(text: &str) -> Result<Kek> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .ok()
        } else {
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(text))
                .ok()
        };
        let mut decoded = Zeroizing::new(decoded.unwrap_or_default());
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            Error::invalid("the key-encryption key must be 32 bytes, as base64 or 64 hex digits")
        })?;
        decoded.zeroize();
        Ok(Kek::from_bytes(bytes))
    }

    /// The sealed form of a seed: format byte, random nonce, ciphertext with its tag.
    pub fn seal(&self, kid: &str, seed: &[u8; 32]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: seed,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("sealing a signing key failed"))?;
        let mut out = Vec::with_capacity(SEALED_LEN);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The seed of a sealed key; an error when the KEK is not the one it was sealed with.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        if !is_sealed(sealed) {
            return Err(Error::internal(format!("signing key {kid} is not sealed")));
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| Error::internal("damaged nonce"))?;
        let opened = Zeroizing::new(
            self.cipher
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: &sealed[1 + NONCE_LEN..],
                        aad: kid.as_bytes(),
                    },
                )
                .map_err(|_| {
                    Error::Unavailable(format!(
                        "signing key {kid} does not open with this key-encryption key: give \
                         every instance the key the database was sealed with \
                         (FLOWGATE_KEY_ENCRYPTION_KEY or the key file)"
                    ))
                })?,
        );
        let seed: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| Error::internal(format!("signing key {kid} is damaged")))?;
        Ok(Zeroizing::new(seed))
    }
}

/// Whether stored key bytes are sealed (older databases kept plain 32-byte seeds).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.len() == SEALED_LEN && bytes[0] == SEALED_V1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_seeds_open_only_with_their_key_and_kid() {
        let (kek, text) = Kek::generate();
        let seed = [7u8; 32];
        let sealed = kek.seal("k1", &seed).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!is_sealed(&seed), "a plain seed of an older database");
        assert!(
            !is_sealed(&[SEALED_V1; 32]),
            "plain, whatever its first byte"
        );
        let mut unknown_format = sealed.clone();
        unknown_format[0] ^= 0xff;
        assert!(!is_sealed(&unknown_format));
        assert!(
            !sealed.windows(32).any(|w| w == seed),
            "no plain seed inside"
        );
        assert_eq!(*kek.open("k1", &sealed).unwrap(), seed);
        assert!(kek.open("k2", &sealed).is_err(), "bound to its kid");
        let (other, _) = Kek::generate();
        assert!(
            other.open("k1", &sealed).is_err(),
            "another KEK does not open it"
        );
        let same = Kek::parse(&text).unwrap();
        assert_eq!(*same.open("k1", &sealed).unwrap(), seed);
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(kek.open("k1", &tampered).is_err());
        assert_ne!(
            kek.seal("k1", &seed).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn kek_text_forms() {
        assert!(Kek::parse(&"ab".repeat(32)).is_ok(), "hex");
        assert!(
            Kek::parse(&STANDARD.encode([1u8; 32])).is_ok(),
            "padded base64"
        );
        // 43 characters of base64 that are all hex digits: base64, since hex has 64.
        let hex_looking = format!("{}A", "a".repeat(42));
        assert!(Kek::parse(&hex_looking).is_ok(), "base64 of hex digits");
        assert!(Kek::parse("short").is_err());
    }
}
