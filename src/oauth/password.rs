//! People's passwords: Argon2id (RFC 9106) with a random salt, stored as a PHC string. Hashing
//! and checking cost tens of milliseconds on purpose: call them off the async threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::{Error, Result};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 1024;

/// A password people may choose: long enough, not absurdly long, no control characters.
pub fn check(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(Error::attribute(
            "password",
            format!("a password has {MIN_LENGTH} to {MAX_LENGTH} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::attribute(
            "password",
            "a password has no control characters",
        ));
    }
    Ok(())
}

/// The PHC string of a new hash.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(Error::internal)
}

/// A hash of nothing anyone knows, checked against when the username is unknown so that an
/// unknown name takes as long as a wrong password.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash(&super::secret::random_token()).unwrap_or_default());

/// Whether `password` matches the stored hash (`None`: the person does not exist).
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let decoy = stored.is_none();
    let stored = stored.unwrap_or(DECOY.as_str());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && !decoy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("correct horse batterY", Some(&stored)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("x", Some("not a hash")));
        assert_ne!(hash("same").unwrap(), hash("same").unwrap(), "salted");
    }

    #[test]
    fn choosable_passwords() {
        assert!(check("long enough").is_ok());
        assert!(check("short").is_err());
        assert!(check("tab\tinside it").is_err());
    }
}
