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

/// Verified tokens, keyed by their last bytes (part of the signature: cheap to find and to
/// hash, and as good as unique) and checked against the whole token on a hit. Sharded so that
/// readers rarely meet a writer; a full shard drops its expired entries, or all of them, which
/// keeps it bounded without bookkeeping on the read path.
pub struct VerifiedTokens {
    shards: Vec<RwLock<HashMap<u64, Cached>>>,
    per_shard: usize,
}

struct Cached {
    token: Box<[u8]>,
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
    /// is no longer published. It comes as the header's bytes: a token found here is the one
    /// verified before, byte for byte, so only one not found needs to be checked to be text.
    pub fn verify(
        &self,
        keys: &KeyRing,
        token: &[u8],
        expect: &Expectations,
    ) -> Result<Arc<Verified>, TokenError> {
        let verified = match self.get(token) {
            Some(verified) => verified,
            None => {
                let text = std::str::from_utf8(token).map_err(|_| TokenError::Malformed)?;
                let (claims, kid) = jwt::decode(keys, text, expect)?;
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

    /// The shard and key of a token: its last 8 bytes, and the shard from the first of them. An
    /// Ed25519 signature's last characters are far from uniform (its scalar is below the group
    /// order, so its top bits are zero), which would put most tokens in a few shards.
    fn place(&self, token: &[u8]) -> (&RwLock<HashMap<u64, Cached>>, u64) {
        let mut tail = [0u8; 8];
        let kept = token.len().min(tail.len());
        tail[..kept].copy_from_slice(&token[token.len() - kept..]);
        let shard = tail[0];
        (
            &self.shards[usize::from(shard) % SHARDS],
            u64::from_le_bytes(tail),
        )
    }

    fn get(&self, token: &[u8]) -> Option<Arc<Verified>> {
        let (shard, key) = self.place(token);
        let shard = shard.read().unwrap_or_else(|e| e.into_inner());
        shard
            .get(&key)
            .filter(|c| *c.token == *token)
            .map(|c| Arc::clone(&c.verified))
    }

    /// Remembers a verified token; one with the same last bytes (rare) gives way to it.
    fn insert(&self, token: &[u8], verified: Arc<Verified>, now: i64) {
        let (shard, key) = self.place(token);
        let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.retain(|_, c| c.verified.exp > now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        let token = token.into();
        shard.insert(key, Cached { token, verified });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::oauth::fixtures::{NOW, claims, expect, keys};
    use crate::roles::RoleSet;

    /// A verified token is cached by its last bytes; a token that ends like it (here: reuses
    /// its signature) with another payload is no hit, whatever is in the cache, and bytes that
    /// are not even text are refused as malformed.
    #[test]
    fn the_cache_is_no_way_around_the_signature() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        let genuine = jwt::encode(&keys, &claims("j1", "c1", &["Read"]));
        let verified = cache
            .verify(&keys, genuine.as_bytes(), &expect(NOW))
            .unwrap();
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
                cache
                    .verify(&keys, forged.as_bytes(), &expect(NOW))
                    .is_err(),
                "{forged}"
            );
        }
        // The genuine one is still fine, from the cache.
        assert!(
            cache
                .verify(&keys, genuine.as_bytes(), &expect(NOW))
                .is_ok()
        );
        let not_text = cache.verify(&keys, b"a.b.\xff", &expect(NOW));
        assert_eq!(not_text.unwrap_err(), TokenError::Malformed);
    }

    /// A cached token is refused once its key is no longer published, and once it expired.
    #[test]
    fn what_changes_after_verifying_is_checked_at_every_use() {
        let cache = VerifiedTokens::new(1000);
        let first = keys("k1", 1);
        let token = jwt::encode(&first, &claims("j1", "c1", &["Read"]));
        assert!(cache.verify(&first, token.as_bytes(), &expect(NOW)).is_ok());
        let unwrap_err = |keys: &KeyRing, now| {
            cache
                .verify(keys, token.as_bytes(), &expect(now))
                .unwrap_err()
        };
        assert_eq!(unwrap_err(&keys("k2", 2), NOW), TokenError::UnknownKey);
        assert_eq!(unwrap_err(&first, NOW + 600), TokenError::Expired);
    }

    /// A verified token is remembered, a refused one is not; and tokens spread over the shards.
    #[test]
    fn verified_tokens_are_remembered_across_the_shards() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        let genuine = jwt::encode(&keys, &claims("j1", "c1", &["Read"]));
        cache
            .verify(&keys, genuine.as_bytes(), &expect(NOW))
            .unwrap();
        assert!(cache.get(genuine.as_bytes()).is_some());
        let forged = format!("{}x", genuine);
        assert!(
            cache
                .verify(&keys, forged.as_bytes(), &expect(NOW))
                .is_err()
        );
        assert!(cache.get(forged.as_bytes()).is_none());
        for n in 0..200 {
            let token = jwt::encode(&keys, &claims(&format!("j{n}"), "c1", &["Read"]));
            cache.verify(&keys, token.as_bytes(), &expect(NOW)).unwrap();
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
        // The same first byte of the last 8, the same shard.
        let expired: Vec<String> = (0..8).map(|n| format!("h.p.Qexpire{n}")).collect();
        let live: Vec<String> = (0..8).map(|n| format!("h.p.Qlivexx{n}")).collect();
        for token in &expired {
            cache.insert(token.as_bytes(), verified(NOW), NOW);
        }
        for token in &live {
            cache.insert(token.as_bytes(), verified(NOW + 600), NOW);
        }
        cache.insert(b"h.p.Qnextxxx", verified(NOW + 600), NOW);
        assert!(
            live.iter().all(|t| cache.get(t.as_bytes()).is_some()),
            "live ones kept"
        );
        assert!(
            expired.iter().all(|t| cache.get(t.as_bytes()).is_none()),
            "expired ones dropped"
        );
        assert!(cache.get(b"h.p.Qnextxxx").is_some());
    }

    /// However many live tokens arrive, no shard holds more than its share.
    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedTokens::new(16 * 16);
        let keys = keys("k1", 1);
        for n in 0..2_000 {
            let token = jwt::encode(&keys, &claims(&format!("j{n}"), "c1", &["Read"]));
            assert!(cache.verify(&keys, token.as_bytes(), &expect(NOW)).is_ok());
        }
        for shard in &cache.shards {
            assert!(shard.read().unwrap().len() <= cache.per_shard);
        }
    }
}
