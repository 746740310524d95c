//! RFC 9068 access tokens: `typ: at+jwt`, EdDSA over Ed25519, signed and checked here directly
//! with ed25519-dalek (no generic JOSE layer on the hot path).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user for delegated tokens, the client otherwise.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// Space-separated scopes (`read write`).
    pub scope: String,
    /// Role names (`Read`, `Write`).
    pub roles: Vec<String>,
}

/// Why a token was refused; all of them answer `invalid_token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnknownKey,
    BadSignature,
    WrongIssuer,
    Expired,
}

impl TokenError {
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Malformed => "The access token is malformed",
            TokenError::UnknownKey => "The access token was signed by an unknown key",
            TokenError::BadSignature => "The access token signature is invalid",
            TokenError::WrongIssuer => "The access token was issued by someone else",
            TokenError::Expired => "The access token expired",
        }
    }
}

/// Signs the claims with the active key.
pub fn encode(keys: &KeyRing, claims: &AccessClaims) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let header = &keys.active.header_b64;
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = keys.active.signing.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
    token
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// Checks the signature, the header, the issuer and the expiry (`now` in Unix seconds).
pub fn decode(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let claims = decode_signed(keys, token)?;
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Checks signature and header only: for revocation, where expired tokens are fine.
pub fn decode_signed(keys: &KeyRing, token: &str) -> Result<AccessClaims, TokenError> {
    let (signed, signature_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header_b64, payload_b64) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    let header: Header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    if header.alg != "EdDSA"
        || !matches!(header.typ.as_deref(), Some("at+jwt" | "application/at+jwt"))
    {
        return Err(TokenError::Malformed);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verifying_key(kid))
        .ok_or(TokenError::UnknownKey)?;
    let signature_bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(TokenError::Malformed)?;
    key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature_bytes))
        .map_err(|_| TokenError::BadSignature)?;
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::keys::StoredKey;

    fn ring(seeds: &[(u8, bool)]) -> KeyRing {
        let keys: Vec<StoredKey> = seeds
            .iter()
            .map(|(seed, retired)| StoredKey {
                kid: format!("k{seed}"),
                seed: [*seed; 32],
                created_at: 0,
                retired_at: retired.then_some(1),
                publish_until: retired.then_some(i64::MAX),
            })
            .collect();
        KeyRing::new(&keys).unwrap()
    }

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://issuer".into(),
            sub: "c1".into(),
            aud: "https://issuer".into(),
            client_id: "c1".into(),
            exp,
            iat: exp - 3600,
            jti: "j1".into(),
            scope: "read".into(),
            roles: vec!["Read".into()],
        }
    }

    #[test]
    fn round_trip_with_header_of_rfc_9068() {
        let keys = ring(&[(1, false)]);
        let token = encode(&keys, &claims(2_000));
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"], "k1");
        assert_eq!(
            decode(&keys, &token, "https://issuer", 1_000).unwrap(),
            claims(2_000)
        );
    }

    #[test]
    fn refuses_expired_foreign_tampered_and_unknown_key() {
        let keys = ring(&[(1, false)]);
        let token = encode(&keys, &claims(2_000));
        assert_eq!(
            decode(&keys, &token, "https://issuer", 2_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            decode(&keys, &token, "https://other", 1_000),
            Err(TokenError::WrongIssuer)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9_999)).unwrap());
        parts[1] = &forged;
        assert_eq!(
            decode(&keys, &parts.join("."), "https://issuer", 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            decode(&ring(&[(2, false)]), &token, "https://issuer", 1_000),
            Err(TokenError::UnknownKey)
        );
        for junk in ["", "a.b", "a.b.c", "...", "x.y.z.w"] {
            assert!(
                decode(&keys, junk, "https://issuer", 1_000).is_err(),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn retired_keys_still_verify_but_do_not_sign() {
        let old = ring(&[(1, false)]);
        let token = encode(&old, &claims(2_000));
        let rotated = ring(&[(2, false), (1, true)]);
        assert_eq!(rotated.active.kid, "k2");
        assert!(decode(&rotated, &token, "https://issuer", 1_000).is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
