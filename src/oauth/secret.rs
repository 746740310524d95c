//! Client secrets: 256 random bits, shown once, stored as a SHA-256 digest and compared in
//! constant time. A fast hash is sound here because the secrets are not human-chosen.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sha256$";

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    format!(
        "{PREFIX}{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
    )
}

/// Whether `presented` matches the stored hash, in time independent of where they differ.
pub fn verify(presented: &str, stored: &str) -> bool {
    let Some(expected) = stored
        .strip_prefix(PREFIX)
        .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
    else {
        return false;
    };
    let actual = Sha256::digest(presented.as_bytes());
    actual.as_slice().ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_verify_only_themselves() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits in base64url");
        let stored = hash(&a);
        assert!(!stored.contains(&a));
        assert!(verify(&a, &stored));
        assert!(!verify(&b, &stored));
        assert!(!verify(&a, "plain"));
        assert!(!verify(&a, "sha256$!!"));
    }
}
