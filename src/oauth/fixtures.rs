//! Tokens and keys for the unit tests of what checks tokens.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client_auth::ClientAuth;
use super::jwt::{AccessClaims, Expectations};
use super::keys::{KeyRing, StoredKey};
use super::secret;
use crate::roles::RoleSet;

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

/// An `Authorization: Basic` value, as a client sends its credentials.
pub fn basic(id: &str, secret: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
}

/// An enabled confidential client (no developer app, so approved) with this secret and roles.
pub fn client(id: &str, secret: &str, roles: RoleSet) -> ClientAuth {
    ClientAuth {
        client_id: id.into(),
        name: id.to_uppercase(),
        secret_hash: Some(secret::hash(secret)),
        enabled: true,
        approved: true,
        is_app: false,
        roles,
        redirect_uris: vec![],
        tokens_not_before: None,
    }
}
