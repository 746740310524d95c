//! RFC 9068 access tokens: `typ: at+jwt`, EdDSA over Ed25519, signed and checked here directly
//! with ed25519-dalek (no generic JOSE layer on the hot path).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;
use crate::roles::{Role, RoleSet};

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
    /// Not before (RFC 7519 §4.1.5); ours carry none, but one that does is honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    /// Space-separated scopes (`read write`).
    pub scope: String,
    /// Role names (`Read`, `Write`).
    pub roles: Vec<String>,
}

/// The claims of a token being issued, borrowed from what the grant already holds: the same
/// JSON as [`AccessClaims`] (a test keeps them equal), without a copy of every string.
#[derive(Serialize)]
pub struct NewClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub client_id: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub jti: &'a str,
    pub scope: &'a str,
    #[serde(serialize_with = "role_names")]
    pub roles: RoleSet,
}

fn role_names<S: serde::Serializer>(roles: &RoleSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(roles.iter().map(Role::name))
}

/// Why a token was refused; all of them answer `invalid_token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnknownKey,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    NotYetValid,
    /// Lives longer than this server issues tokens for (`exp − iat` over the configured TTL).
    TooLong,
    Expired,
}

/// Seconds of clock difference tolerated for `iat` and `nbf`.
pub const LEEWAY: i64 = 60;

/// What a token must say to be accepted here (RFC 9068 §4).
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// The access-token lifetime this server issues: no genuine token lives longer.
    pub max_lifetime: i64,
    pub now: i64,
}

/// Checks the claims of a token whose signature verified.
fn check_claims(claims: &AccessClaims, expect: &Expectations) -> Result<(), TokenError> {
    if claims.iss != expect.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != expect.audience {
        return Err(TokenError::WrongAudience);
    }
    if claims.exp <= expect.now {
        return Err(TokenError::Expired);
    }
    if claims.iat > expect.now + LEEWAY || claims.nbf.is_some_and(|nbf| nbf > expect.now + LEEWAY) {
        return Err(TokenError::NotYetValid);
    }
    if claims.exp.saturating_sub(claims.iat) > expect.max_lifetime {
        return Err(TokenError::TooLong);
    }
    Ok(())
}

impl TokenError {
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Malformed => "The access token is malformed",
            TokenError::UnknownKey => "The access token was signed by an unknown key",
            TokenError::BadSignature => "The access token signature is invalid",
            TokenError::WrongIssuer => "The access token was issued by someone else",
            TokenError::WrongAudience => "The access token is for someone else",
            TokenError::NotYetValid => "The access token is not valid yet",
            TokenError::TooLong => "The access token claims a longer life than this server gives",
            TokenError::Expired => "The access token expired",
        }
    }
}

/// Signs the claims ([`AccessClaims`] or [`NewClaims`]) with the active key.
pub fn encode(keys: &KeyRing, claims: &impl Serialize) -> String {
    // Room for the claims flowgate issues, so that the buffer is not grown on the way.
    let mut payload = Vec::with_capacity(512);
    let _ = serde_json::to_writer(&mut payload, claims);
    let header = &keys.active.header_b64;
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = keys.active.sign(token.as_bytes());
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

/// Checks the signature, the header and the claims; returns them with the signing key's `kid`.
pub fn decode(
    keys: &KeyRing,
    token: &str,
    expect: &Expectations,
) -> Result<(AccessClaims, String), TokenError> {
    let (claims, kid) = decode_signed_with_kid(keys, token)?;
    check_claims(&claims, expect)?;
    Ok((claims, kid))
}

/// Checks signature and header only: for revocation, where expired tokens are fine.
pub fn decode_signed(keys: &KeyRing, token: &str) -> Result<AccessClaims, TokenError> {
    decode_signed_with_kid(keys, token).map(|(claims, _)| claims)
}

fn decode_signed_with_kid(
    keys: &KeyRing,
    token: &str,
) -> Result<(AccessClaims, String), TokenError> {
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
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = keys.verifying_key(&kid).ok_or(TokenError::UnknownKey)?;
    let signature_bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(TokenError::Malformed)?;
    key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature_bytes))
        .map_err(|_| TokenError::BadSignature)?;
    let claims = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    Ok((claims, kid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::keys::StoredKey;

    #[test]
    fn issued_claims_are_the_claims_a_token_is_read_as() {
        let roles = RoleSet::parse_list("Read,Admin").unwrap();
        let issued = NewClaims {
            iss: "https://gate.test",
            sub: "p1",
            aud: "https://gate.test/v1",
            client_id: "c1",
            exp: 1_600,
            iat: 1_000,
            jti: "j1",
            scope: "read admin",
            roles,
        };
        let read = AccessClaims {
            iss: "https://gate.test".into(),
            sub: "p1".into(),
            aud: "https://gate.test/v1".into(),
            client_id: "c1".into(),
            exp: 1_600,
            iat: 1_000,
            nbf: None,
            jti: "j1".into(),
            scope: "read admin".into(),
            roles: vec!["Read".into(), "Admin".into()],
        };
        assert_eq!(
            serde_json::to_string(&issued).unwrap(),
            serde_json::to_string(&read).unwrap()
        );
    }

    fn ring(seeds: &[(u8, bool)]) -> KeyRing {
        let keys: Vec<StoredKey> = seeds
            .iter()
            .map(|(seed, retired)| StoredKey {
                kid: format!("k{seed}"),
                seed: [*seed; 32].into(),
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
            nbf: None,
            jti: "j1".into(),
            scope: "read".into(),
            roles: vec!["Read".into()],
        }
    }

    fn at(now: i64) -> Expectations<'static> {
        Expectations {
            issuer: "https://issuer",
            audience: "https://issuer",
            max_lifetime: 3600,
            now,
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
            decode(&keys, &token, &at(1_000)).unwrap(),
            (claims(2_000), "k1".to_owned())
        );
    }

    #[test]
    fn refuses_expired_foreign_tampered_and_unknown_key() {
        let keys = ring(&[(1, false)]);
        let token = encode(&keys, &claims(2_000));
        assert_eq!(decode(&keys, &token, &at(2_000)), Err(TokenError::Expired));
        let other_issuer = Expectations {
            issuer: "https://other",
            ..at(1_000)
        };
        assert_eq!(
            decode(&keys, &token, &other_issuer),
            Err(TokenError::WrongIssuer)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9_999)).unwrap());
        parts[1] = &forged;
        assert_eq!(
            decode(&keys, &parts.join("."), &at(1_000)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            decode(&ring(&[(2, false)]), &token, &at(1_000)),
            Err(TokenError::UnknownKey)
        );
        for junk in ["", "a.b", "a.b.c", "...", "x.y.z.w"] {
            assert!(decode(&keys, junk, &at(1_000)).is_err(), "{junk:?}");
        }
    }

    /// RFC 9068 §4: `aud`, `iat`, `nbf`, and a life no longer than this server gives.
    #[test]
    fn refuses_other_audiences_future_tokens_and_endless_lives() {
        let keys = ring(&[(1, false)]);
        let check = |claims: AccessClaims| decode(&keys, &encode(&keys, &claims), &at(1_000));
        let foreign = AccessClaims {
            aud: "https://api.elsewhere".into(),
            ..claims(2_000)
        };
        assert_eq!(check(foreign), Err(TokenError::WrongAudience));
        let future = AccessClaims {
            iat: 1_000 + LEEWAY + 1,
            ..claims(2_000)
        };
        assert_eq!(check(future), Err(TokenError::NotYetValid));
        let not_before = AccessClaims {
            nbf: Some(5_000),
            ..claims(2_000)
        };
        assert_eq!(check(not_before), Err(TokenError::NotYetValid));
        let endless = AccessClaims {
            exp: i64::MAX,
            iat: 900,
            ..claims(2_000)
        };
        assert_eq!(check(endless), Err(TokenError::TooLong));
        let skewed = AccessClaims {
            iat: 1_000 + LEEWAY,
            exp: 1_000 + LEEWAY + 3_600,
            nbf: Some(1_000 + LEEWAY),
            ..claims(2_000)
        };
        assert!(check(skewed).is_ok(), "a minute of clock skew is fine");
        let valid_soon = AccessClaims {
            nbf: Some(1_001),
            ..claims(2_000)
        };
        assert!(check(valid_soon).is_ok(), "within the skew");
    }

    #[test]
    fn each_refusal_says_what_is_wrong() {
        use TokenError::*;
        let all = [
            Malformed,
            UnknownKey,
            BadSignature,
            WrongIssuer,
            WrongAudience,
            NotYetValid,
            TooLong,
            Expired,
        ];
        let said: std::collections::HashSet<_> = all.iter().map(|e| e.description()).collect();
        assert_eq!(said.len(), all.len(), "each its own words");
        assert!(said.iter().all(|s| s.starts_with("The access token")));
    }

    /// Only `typ: at+jwt` (RFC 9068 §2.1): an ID token or a generic JWT signed by the same key
    /// is not an access token.
    #[test]
    fn refuses_tokens_of_another_type_or_algorithm() {
        let keys = ring(&[(1, false)]);
        let token = encode(&keys, &claims(2_000));
        let (_, rest) = token.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        for header in [
            r#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"EdDSA","kid":"k1"}"#,
            r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#,
        ] {
            let signed = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
            let signature = keys.active.sign(signed.as_bytes());
            let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
            assert_eq!(
                decode(&keys, &forged, &at(1_000)),
                Err(TokenError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn retired_keys_still_verify_but_do_not_sign() {
        let old = ring(&[(1, false)]);
        let token = encode(&old, &claims(2_000));
        let rotated = ring(&[(2, false), (1, true)]);
        assert_eq!(rotated.active.kid, "k2");
        assert!(decode(&rotated, &token, &at(1_000)).is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
