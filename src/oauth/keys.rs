//! The key ring: the active Ed25519 signing key kept parsed (re-parsing per token halves the
//! token rate), the verifying keys by `kid`, and the JWKS document, built once per reload.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::json;

use crate::store::keys::StoredKey;
use crate::{Error, Result};

pub struct ActiveKey {
    pub kid: String,
    pub signing: SigningKey,
    /// base64url of the JOSE header `{"alg":"EdDSA","typ":"at+jwt","kid":…}`.
    pub header_b64: String,
}

pub struct KeyRing {
    pub active: ActiveKey,
    verifying: HashMap<String, VerifyingKey>,
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
        let signing = SigningKey::from_bytes(&active.seed);
        let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": active.kid});
        let active = ActiveKey {
            kid: active.kid.clone(),
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            signing,
        };
        let verifying: HashMap<String, VerifyingKey> = keys
            .iter()
            .map(|k| {
                (
                    k.kid.clone(),
                    SigningKey::from_bytes(&k.seed).verifying_key(),
                )
            })
            .collect();
        let jwks = json!({
            "keys": keys.iter().map(|k| {
                let public = verifying[&k.kid];
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": k.kid,
                    "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                })
            }).collect::<Vec<_>>()
        });
        Ok(KeyRing {
            active,
            verifying,
            jwks,
        })
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.get(kid)
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}
