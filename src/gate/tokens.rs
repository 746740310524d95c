//! Bearer token checks. A verified token is remembered (bounded, until it expires) so that an
//! authorized request costs a hash lookup, not a signature check; revocation, client state and
//! role changes are applied from the in-memory view on every request.

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;

use crate::answers::gate::Refusal;
use crate::caller::{Caller, Subject};
use crate::oauth::jwt::{self, Expectations, TokenError};
use crate::roles::{Role, RoleSet};
use crate::scope::ScopeSet;
use crate::services::View;

/// What a verified token says.
#[derive(Clone, Debug)]
struct Verified {
    /// The key that signed it: once no longer published, the token is refused, cached or not.
    kid: String,
    client_id: String,
    subject: Subject,
    jti: String,
    iat: i64,
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
        expect: &Expectations,
        authorization: Option<&[u8]>,
    ) -> Result<Caller, Refusal> {
        let now = expect.now;
        let token = bearer(authorization).ok_or(Refusal::Missing)?;
        let verified = match self.get(token) {
            Some(verified) => verified,
            None => {
                if !is_token68(token) {
                    return Err(Refusal::Missing);
                }
                let (claims, kid) = jwt::decode(&view.keys, token, expect)
                    .map_err(|e: TokenError| Refusal::Invalid(e.description()))?;
                let subject = if claims.sub == claims.client_id {
                    Subject::Client
                } else {
                    Subject::Person { sub: claims.sub }
                };
                let verified = Arc::new(Verified {
                    kid,
                    roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
                    scopes: ScopeSet::parse(&claims.scope).unwrap_or_default(),
                    client_id: claims.client_id,
                    subject,
                    jti: claims.jti,
                    iat: claims.iat,
                    exp: claims.exp,
                });
                self.insert(token, Arc::clone(&verified), now);
                verified
            }
        };
        if verified.exp <= now {
            return Err(Refusal::Invalid(TokenError::Expired.description()));
        }
        if view.keys.verifying_key(&verified.kid).is_none() {
            return Err(Refusal::Invalid(TokenError::UnknownKey.description()));
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
        if client.cut_off(verified.iat) {
            return Err(Refusal::Invalid("The access token was revoked"));
        }
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
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::oauth::client_auth::ClientAuth;
    use crate::oauth::jwt::AccessClaims;
    use crate::oauth::keys::{KeyRing, StoredKey};

    const ISSUER: &str = "https://gw.example";
    const NOW: i64 = 1_000_000;

    fn expect() -> Expectations<'static> {
        Expectations {
            issuer: ISSUER,
            audience: ISSUER,
            max_lifetime: 3600,
            now: NOW,
        }
    }

    fn key(kid: &str, seed: u8) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            seed: [seed; 32].into(),
            created_at: 0,
            retired_at: None,
            publish_until: None,
        }
    }

    /// A view with one client `c1` holding Read and Admin, signing with `k1`.
    fn view() -> View {
        let mut view = View::empty();
        view.keys = KeyRing::single(&key("k1", 1));
        view.clients.insert(
            "c1".into(),
            ClientAuth {
                client_id: "c1".into(),
                name: "C1".into(),
                secret_hash: Some("sha256$x".into()),
                enabled: true,
                approved: true,
                is_app: false,
                roles: RoleSet::parse_list("Read,Admin").unwrap(),
                redirect_uris: vec![],
                tokens_not_before: None,
            },
        );
        view
    }

    fn claims(jti: &str, roles: &[&str]) -> AccessClaims {
        AccessClaims {
            iss: ISSUER.into(),
            sub: "c1".into(),
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

    fn header(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    /// A verified token is cached by its signature; a token that reuses the signature with
    /// another payload is no hit, whatever is in the cache.
    #[test]
    fn the_cache_is_no_way_around_the_signature() {
        let cache = TokenCache::new(1000);
        let view = view();
        let genuine = jwt::encode(&view.keys, &claims("j1", &["Read"]));
        let caller = cache
            .check(&view, &expect(), Some(&header(&genuine)))
            .unwrap();
        assert_eq!(caller.roles.names(), ["Read"]);
        let (head, rest) = genuine.split_once('.').unwrap();
        let (_, signature) = rest.rsplit_once('.').unwrap();
        let wider =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims("j1", &["Read", "Admin"])).unwrap());
        for forged in [
            format!("{head}.{wider}.{signature}"),
            format!("x.y.{signature}"),
        ] {
            assert!(
                cache
                    .check(&view, &expect(), Some(&header(&forged)))
                    .is_err(),
                "{forged}"
            );
        }
        // The genuine one is still fine, from the cache.
        assert!(
            cache
                .check(&view, &expect(), Some(&header(&genuine)))
                .is_ok()
        );
    }

    /// A cached token is refused once its key is no longer published.
    #[test]
    fn a_retired_key_takes_its_cached_tokens_along() {
        let cache = TokenCache::new(1000);
        let mut view = view();
        let token = jwt::encode(&view.keys, &claims("j1", &["Read"]));
        assert!(cache.check(&view, &expect(), Some(&header(&token))).is_ok());
        view.keys = KeyRing::single(&key("k2", 2));
        assert_eq!(
            cache
                .check(&view, &expect(), Some(&header(&token)))
                .unwrap_err(),
            Refusal::Invalid(TokenError::UnknownKey.description())
        );
    }

    /// However many live tokens arrive, no shard holds more than its share.
    #[test]
    fn the_cache_stays_bounded() {
        let cache = TokenCache::new(16 * 16);
        let view = view();
        for n in 0..2_000 {
            let token = jwt::encode(&view.keys, &claims(&format!("j{n}"), &["Read"]));
            assert!(cache.check(&view, &expect(), Some(&header(&token))).is_ok());
        }
        for shard in &cache.shards {
            assert!(shard.read().unwrap().len() <= cache.per_shard);
        }
    }

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
