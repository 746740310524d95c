//! Tokens and keys for the unit tests of what checks tokens.

use super::jwt::{AccessClaims, Expectations};
use super::keys::{KeyRing, StoredKey};

pub const ISSUER: &str = "https://gw.example";
pub const NOW: i64 = 1_000_000;

pub fn expect(now: i64) -> Expectations<'static> {
    Expectations {
        issuer: ISSUER,
        audience: ISSUER,
        max_lifetime: 3600,
        now,
    }
}

/// A ring of one key, `kid`, from a seed of `seed` bytes.
pub fn keys(kid: &str, seed: u8) -> KeyRing {
    KeyRing::single(&StoredKey {
        kid: kid.into(),
        seed: [seed; 32].into(),
        created_at: 0,
        retired_at: None,
        publish_until: None,
    })
}

/// A token of client `c1` for `sub` (`c1` itself, or a person), live for ten minutes at NOW.
pub fn claims(jti: &str, sub: &str, roles: &[&str]) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: sub.into(),
        aud: ISSUER.into(),
        client_id: "c1".into(),
        exp: NOW + 600,
        iat: NOW - 10,
        nbf: None,
        jti: jti.into(),
        scope: "read".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}
