//! The key ring: the active Ed25519 signing key kept parsed and expanded (re-parsing per token
//! halves the token rate), the verifying keys with their `kid`s, and the JWKS document, built
//! once per reload.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::hazmat::{self, ExpandedSecretKey};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde_json::json;
use sha2::Sha512;

use zeroize::Zeroizing;

use crate::{Error, Result};

/// A signing key, opened: the Ed25519 seed (wiped from memory when dropped) and its
/// publication window.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub seed: Zeroizing<[u8; 32]>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

/// A key as admins see it (no private part).
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyView {
    pub kid: String,
    pub algorithm: &'static str,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
    pub active: bool,
}

impl StoredKey {
    /// A fresh random key.
    pub fn generate(now: i64) -> StoredKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::fill(&mut *seed);
        let day = chrono::DateTime::from_timestamp(now, 0)
            .map(|t| t.format("%Y%m%d").to_string())
            .unwrap_or_default();
        StoredKey {
            kid: format!("{day}-{}", &super::secret::random_token()[..8]),
            seed,
            created_at: now,
            retired_at: None,
            publish_until: None,
        }
    }

    pub fn view(&self) -> KeyView {
        KeyView {
            kid: self.kid.clone(),
            algorithm: "EdDSA",
            created_at: self.created_at,
            retired_at: self.retired_at,
            publish_until: self.publish_until,
            active: self.retired_at.is_none(),
        }
    }
}

pub struct ActiveKey {
    pub kid: String,
    signing: SigningKey,
    /// The signing key's SHA-512 expansion (RFC 8032 §5.1.5), which `SigningKey::sign` computes
    /// again for every signature: a SHA-512 block and a scalar reduction per token.
    expanded: ExpandedSecretKey,
    /// base64url of the JOSE header `{"alg":"EdDSA","typ":"at+jwt","kid":…}`.
    pub header_b64: String,
}

impl ActiveKey {
    /// The key of a stored seed; its expansion is derived here from the same seed, so the two
    /// always belong together (signing with a mismatched pair would leak the key).
    fn new(key: &StoredKey) -> ActiveKey {
        let signing = SigningKey::from_bytes(&key.seed);
        let expanded = ExpandedSecretKey::from(&*key.seed);
        let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid});
        ActiveKey {
            kid: key.kid.clone(),
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            signing,
            expanded,
        }
    }

    /// The Ed25519 signature of `message`: the same bytes as `SigningKey::sign`, without
    /// expanding the key again.
    pub fn sign(&self, message: &[u8]) -> Signature {
        hazmat::raw_sign::<Sha512>(&self.expanded, message, self.signing.as_ref())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }
}

pub struct KeyRing {
    pub active: ActiveKey,
    /// Newest first, so the active key is found first. A ring holds a few keys (the active one
    /// and those still published after a rotation), and every gated request looks its token's
    /// key up: a scan compares a few short strings where a map hashed the `kid` first.
    verifying: Vec<(String, VerifyingKey)>,
    jwks: serde_json::Value,
}

impl KeyRing {
    /// Builds the ring from the published keys, newest first; the newest unretired one signs.
    pub fn new(keys: &[StoredKey]) -> Result<KeyRing> {
        let active = keys
            .iter()
            .find(|k| k.retired_at.is_none())
            .ok_or_else(|| {
                Error::Internal("no active signing key; run `flowgate keys rotate`".into())
            })?;
        let active = ActiveKey::new(active);
        let verifying: Vec<(String, VerifyingKey)> = keys
            .iter()
            .map(|k| {
                (
                    k.kid.clone(),
                    SigningKey::from_bytes(&k.seed).verifying_key(),
                )
            })
            .collect();
        let jwks = json!({
            "keys": verifying
                .iter()
                .map(|(kid, public)| jwk(kid, public))
                .collect::<Vec<_>>()
        });
        Ok(KeyRing {
            active,
            verifying,
            jwks,
        })
    }

    /// A ring of one key, which signs.
    pub fn single(key: &StoredKey) -> KeyRing {
        let active = ActiveKey::new(key);
        let verifying = active.verifying_key();
        KeyRing {
            jwks: json!({"keys": [jwk(&key.kid, &verifying)]}),
            verifying: vec![(key.kid.clone(), verifying)],
            active,
        }
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        let (_, key) = self.verifying.iter().find(|(known, _)| known == kid)?;
        Some(key)
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}

/// The public JWK of a key (RFC 8037).
fn jwk(kid: &str, public: &VerifyingKey) -> serde_json::Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::fixtures::keys;
    use ed25519_dalek::Signer;

    #[test]
    fn the_jwks_publishes_each_public_key_as_an_okp_jwk() {
        let ring = keys("k1", 3);
        let public = ring.verifying_key("k1").unwrap();
        let jwks = ring.jwks();
        assert_eq!(
            jwks["keys"],
            json!([{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": "k1",
                "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
            }])
        );
        assert_eq!(public, &ring.active.verifying_key());
    }

    /// Deterministic Ed25519 (RFC 8032): the kept expansion signs exactly as the key itself,
    /// and the signature verifies.
    #[test]
    fn the_active_key_signs_as_ed25519_does() {
        let key = StoredKey::generate(0);
        let ring = KeyRing::single(&key);
        let signing = SigningKey::from_bytes(&key.seed);
        for message in [&b""[..], b"a", &[7u8; 1000]] {
            let signature = ring.active.sign(message);
            assert_eq!(signature, signing.sign(message));
            let public = ring.verifying_key(&key.kid).unwrap();
            assert!(public.verify_strict(message, &signature).is_ok());
        }
    }
}
