//! Access tokens whose signature and claims were checked once. A verified token is remembered
//! (bounded, until it expires) so that the gate and introspection pay a hash lookup for it, not
//! an Ed25519 signature check and a JSON parse. What can change after it was verified is not
//! remembered: its expiry and its key's publication are checked here at every use, revocation,
//! client and person state by their caller, against the current view.

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;

use super::jwt::{self, Expectations, TokenError};
use super::keys::KeyRing;
use crate::caller::{Subject, Verified};
use crate::roles::Role;
use crate::scope::ScopeSet;

/// Verified tokens, keyed by their signature (short to hash, unique per token) and checked
/// against the whole token on a hit. Sharded so that readers rarely meet a writer; a full
/// shard drops its expired entries, or all of them, which keeps it bounded without bookkeeping
/// on the read path.
pub struct VerifiedTokens {
    shards: Vec<RwLock<HashMap<Box<str>, Cached>>>,
    per_shard: usize,
}

struct Cached {
    token: Box<str>,
    verified: Arc<Verified>,
}

const SHARDS: usize = 16;

impl VerifiedTokens {
    pub fn new(capacity: u64) -> VerifiedTokens {
        VerifiedTokens {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard: (capacity as usize / SHARDS).max(16),
        }
    }

    /// The token, verified now or found verified before; refused once expired or once its key
    /// is no longer published.
    pub fn verify(
        &self,
        keys: &KeyRing,
        token: &str,
        expect: &Expectations,
    ) -> Result<Arc<Verified>, TokenError> {
        let verified = match self.get(token) {
            Some(verified) => verified,
            None => {
                let (claims, kid) = jwt::decode(keys, token, expect)?;
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
                self.insert(token, Arc::clone(&verified), expect.now);
                verified
            }
        };
        if verified.exp <= expect.now {
            return Err(TokenError::Expired);
        }
        if keys.verifying_key(&verified.kid).is_none() {
            return Err(TokenError::UnknownKey);
        }
        Ok(verified)
    }

    fn shard(&self, signature: &str) -> &RwLock<HashMap<Box<str>, Cached>> {
        // Its first character: the last of an Ed25519 signature's 86 carries only 2 bits, which
        // put every token in 4 of the 16 shards.
        let first = signature.as_bytes().first().copied().unwrap_or(0);
        &self.shards[usize::from(first) % SHARDS]
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
}

/// The last dot-separated part of a JWT: its signature.
fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::oauth::fixtures::{NOW, claims, expect, keys};
    use crate::roles::RoleSet;

    /// A verified token is cached by its signature; a token that reuses the signature with
    /// another payload is no hit, whatever is in the cache.
    #[test]
    fn the_cache_is_no_way_around_the_signature() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        let genuine = jwt::encode(&keys, &claims("j1", "c1", &["Read"]));
        let verified = cache.verify(&keys, &genuine, &expect(NOW)).unwrap();
        assert_eq!(verified.roles.names(), ["Read"]);
        assert_eq!(verified.sub(), "c1");
        let (head, rest) = genuine.split_once('.').unwrap();
        let (_, signature) = rest.rsplit_once('.').unwrap();
        let wider = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims("j1", "c1", &["Read", "Admin"])).unwrap());
        for forged in [
            format!("{head}.{wider}.{signature}"),
            format!("x.y.{signature}"),
        ] {
            assert!(
                cache.verify(&keys, &forged, &expect(NOW)).is_err(),
                "{forged}"
            );
        }
        // The genuine one is still fine, from the cache.
        assert!(cache.verify(&keys, &genuine, &expect(NOW)).is_ok());
    }

    /// A cached token is refused once its key is no longer published, and once it expired.
    #[test]
    fn what_changes_after_verifying_is_checked_at_every_use() {
        let cache = VerifiedTokens::new(1000);
        let first = keys("k1", 1);
        let token = jwt::encode(&first, &claims("j1", "c1", &["Read"]));
        assert!(cache.verify(&first, &token, &expect(NOW)).is_ok());
        let unwrap_err =
            |keys: &KeyRing, now| cache.verify(keys, &token, &expect(now)).unwrap_err();
        assert_eq!(unwrap_err(&keys("k2", 2), NOW), TokenError::UnknownKey);
        assert_eq!(unwrap_err(&first, NOW + 600), TokenError::Expired);
    }

    /// A verified token is remembered, a refused one is not; and tokens spread over the shards.
    #[test]
    fn verified_tokens_are_remembered_across_the_shards() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        let genuine = jwt::encode(&keys, &claims("j1", "c1", &["Read"]));
        cache.verify(&keys, &genuine, &expect(NOW)).unwrap();
        assert!(cache.get(&genuine).is_some());
        let forged = format!("{}x", genuine);
        assert!(cache.verify(&keys, &forged, &expect(NOW)).is_err());
        assert!(cache.get(&forged).is_none());
        for n in 0..200 {
            let token = jwt::encode(&keys, &claims(&format!("j{n}"), "c1", &["Read"]));
            cache.verify(&keys, &token, &expect(NOW)).unwrap();
        }
        let used = cache
            .shards
            .iter()
            .filter(|s| !s.read().unwrap().is_empty());
        assert!(used.count() > SHARDS / 2, "200 tokens in few shards");
    }

    /// A full shard makes room by dropping what expired (a token that expires now is expired)
    /// and keeps what is live.
    #[test]
    fn a_full_shard_drops_the_expired_first() {
        let cache = VerifiedTokens::new(0);
        let verified = |exp| {
            Arc::new(Verified {
                kid: "k1".into(),
                client_id: "c1".into(),
                subject: Subject::Client,
                jti: "j".into(),
                iat: NOW - 10,
                exp,
                scopes: ScopeSet::default(),
                roles: RoleSet::default(),
            })
        };
        // Same first character of the signature, same shard.
        let expired: Vec<String> = (0..8).map(|n| format!("h.p.Qexpired{n}")).collect();
        let live: Vec<String> = (0..8).map(|n| format!("h.p.Qlive{n}")).collect();
        for token in &expired {
            cache.insert(token, verified(NOW), NOW);
        }
        for token in &live {
            cache.insert(token, verified(NOW + 600), NOW);
        }
        cache.insert("h.p.Qnext", verified(NOW + 600), NOW);
        assert!(
            live.iter().all(|t| cache.get(t).is_some()),
            "live ones kept"
        );
        assert!(
            expired.iter().all(|t| cache.get(t).is_none()),
            "expired ones dropped"
        );
        assert!(cache.get("h.p.Qnext").is_some());
    }

    /// However many live tokens arrive, no shard holds more than its share.
    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedTokens::new(16 * 16);
        let keys = keys("k1", 1);
        for n in 0..2_000 {
            let token = jwt::encode(&keys, &claims(&format!("j{n}"), "c1", &["Read"]));
            assert!(cache.verify(&keys, &token, &expect(NOW)).is_ok());
        }
        for shard in &cache.shards {
            assert!(shard.read().unwrap().len() <= cache.per_shard);
        }
    }
}
