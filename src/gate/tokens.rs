//! Bearer token checks. A verified token is remembered (bounded, until it expires) so that an
//! authorized request costs a hash lookup, not a signature check; revocation, client state and
//! role changes are applied from the in-memory view on every request.

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;

use crate::answers::gate::Refusal;
use crate::caller::{Caller, Subject};
use crate::oauth::jwt::{self, TokenError};
use crate::roles::{Role, RoleSet};
use crate::scope::ScopeSet;
use crate::services::View;

/// What a verified token says.
#[derive(Clone, Debug)]
struct Verified {
    client_id: String,
    subject: Subject,
    jti: String,
    exp: i64,
    scopes: ScopeSet,
    roles: RoleSet,
}

/// Verified tokens, keyed by their signature (short to hash, unique per token) and checked
/// against the whole token on a hit. Sharded so that readers rarely meet a writer; a full
/// shard drops its expired entries, or all of them, which keeps it bounded without bookkeeping
/// on the read path.
pub struct TokenCache {
    shards: Vec<RwLock<HashMap<Box<str>, Cached>>>,
    per_shard: usize,
}

struct Cached {
    token: Box<str>,
    verified: Arc<Verified>,
}

const SHARDS: usize = 16;

impl TokenCache {
    pub fn new(capacity: u64) -> TokenCache {
        TokenCache {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard: (capacity as usize / SHARDS).max(16),
        }
    }

    fn shard(&self, signature: &str) -> &RwLock<HashMap<Box<str>, Cached>> {
        let last = signature.as_bytes().last().copied().unwrap_or(0);
        &self.shards[usize::from(last) % SHARDS]
    }

    fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let signature = signature_of(token);
        let shard = self
            .shard(signature)
            .read()
            .unwrap_or_else(|e| e.into_inner());
        shard
            .get(signature)
            .filter(|c| *c.token == *token)
            .map(|c| Arc::clone(&c.verified))
    }

    fn insert(&self, token: &str, verified: Arc<Verified>, now: i64) {
        let signature = signature_of(token);
        let mut shard = self
            .shard(signature)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.retain(|_, c| c.verified.exp > now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(
            signature.into(),
            Cached {
                token: token.into(),
                verified,
            },
        );
    }

    /// Checks `Authorization: Bearer …` against the view.
    pub fn check(
        &self,
        view: &View,
        issuer: &str,
        authorization: Option<&[u8]>,
        now: i64,
    ) -> Result<Caller, Refusal> {
        let token = bearer(authorization).ok_or(Refusal::Missing)?;
        let verified = match self.get(token) {
            Some(verified) => verified,
            None => {
                if !is_token68(token) {
                    return Err(Refusal::Missing);
                }
                let claims = jwt::decode(&view.keys, token, issuer, now)
                    .map_err(|e: TokenError| Refusal::Invalid(e.description()))?;
                let subject = if claims.sub == claims.client_id {
                    Subject::Client
                } else {
                    Subject::Person { sub: claims.sub }
                };
                let verified = Arc::new(Verified {
                    roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
                    scopes: ScopeSet::parse(&claims.scope).unwrap_or_default(),
                    client_id: claims.client_id,
                    subject,
                    jti: claims.jti,
                    exp: claims.exp,
                });
                self.insert(token, Arc::clone(&verified), now);
                verified
            }
        };
        if verified.exp <= now {
            return Err(Refusal::Invalid(TokenError::Expired.description()));
        }
        if view.revoked.contains(&verified.jti) {
            return Err(Refusal::Invalid("The access token was revoked"));
        }
        let client = view
            .clients
            .get(&verified.client_id)
            .filter(|c| c.enabled)
            .ok_or(Refusal::Invalid(
                "The client of this token is disabled or gone",
            ))?;
        let mut roles = verified.roles.intersection(client.roles);
        if let Subject::Person { sub } = &verified.subject {
            let person = view
                .people
                .get(sub)
                .filter(|p| p.enabled)
                .ok_or(Refusal::Invalid(
                    "The person of this token is disabled or gone",
                ))?;
            roles = roles.intersection(person.roles);
        }
        Ok(Caller {
            client_id: verified.client_id.clone(),
            subject: verified.subject.clone(),
            jti: verified.jti.clone(),
            exp: verified.exp,
            scopes: verified.scopes,
            roles,
        })
    }
}

/// The last dot-separated part of a JWT: its signature.
fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or(token)
}

/// The credentials of `Bearer <credentials>` (scheme case-insensitive, RFC 6750 §2.1), not yet
/// checked to be a token68: a cached token was checked when it was verified.
fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let header = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// RFC 6750 §2.1 `b64token`.
fn is_token68(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::{bearer, is_token68};

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(Some(b"Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer(Some(b"bearer abc")), Some("abc"));
        assert_eq!(bearer(Some(b"Basic abc")), None);
        assert_eq!(bearer(Some(b"Bearer ")), None);
        assert_eq!(bearer(Some(b"Bearer \xff")), None);
        assert!(is_token68("abc.DEF-_~+/="));
        assert!(!is_token68("a b"));
        assert!(!is_token68("a\"b"));
        assert_eq!(bearer(None), None);
    }
}
