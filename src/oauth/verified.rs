//! Access tokens whose signature and claims were checked once. A verified token is remembered
//! (bounded, until it expires) so that the gate and introspection pay a hash lookup for it, not
//! an Ed25519 signature check and a JSON parse. What can change after it was verified is not
//! remembered: its expiry and its key's publication are checked here at every use, revocation,
//! client and person state by their caller, against the current view.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
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
///
/// In front of the shards, each thread keeps its own copies of the tokens it met last
/// ([`NEAR`]). A shard's lock and a shared entry's reference count are written by every reader:
/// with one token used on every core, their cache lines went from core to core on each request
/// (a tenth of a microsecond a gated GET on two cores, BENCHMARKS.md). A thread's copy is read
/// and counted by that thread alone.
pub struct VerifiedTokens {
    /// Tells this cache's entries in [`NEAR`] from another's (tests run several servers in one
    /// process, each with its own keys and issuer).
    id: u64,
    shards: Vec<RwLock<HashMap<u64, Shared>>>,
    per_shard: usize,
}

struct Shared {
    token: Box<[u8]>,
    verified: Verified,
}

/// A thread's copy of a verified token.
struct Near {
    token: Box<[u8]>,
    verified: Arc<Verified>,
}

const SHARDS: usize = 16;

/// Tokens a thread keeps copies of; a full set is cleared. A thread that meets more tokens than
/// this in turn copies each from the shards again (a few allocations a request), so it is sized
/// for a fleet of clients, at under a kilobyte a copy.
const NEAR_CAPACITY: usize = 256;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's copies, by (cache, key).
    static NEAR: RefCell<HashMap<(u64, u64), Near>> = RefCell::new(HashMap::new());
}

impl VerifiedTokens {
    pub fn new(capacity: u64) -> VerifiedTokens {
        VerifiedTokens {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
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
                let verified = Verified {
                    kid,
                    roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
                    scopes: ScopeSet::parse(&claims.scope).unwrap_or_default(),
                    client_id: claims.client_id,
                    subject,
                    jti: claims.jti,
                    iat: claims.iat,
                    exp: claims.exp,
                    standing: Default::default(),
                };
                self.insert(token, verified.clone(), expect.now);
                self.keep_near(token, Arc::new(verified))
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
    fn place(&self, token: &[u8]) -> (&RwLock<HashMap<u64, Shared>>, u64) {
        let mut tail = [0u8; 8];
        let kept = token.len().min(tail.len());
        tail[..kept].copy_from_slice(&token[token.len() - kept..]);
        let shard = tail[0];
        (
            &self.shards[usize::from(shard) % SHARDS],
            u64::from_le_bytes(tail),
        )
    }

    /// The thread's copy of a verified token, or a new copy of the shared entry.
    fn get(&self, token: &[u8]) -> Option<Arc<Verified>> {
        let (shard, key) = self.place(token);
        let near = NEAR.with_borrow(|near| {
            near.get(&(self.id, key))
                .filter(|n| *n.token == *token)
                .map(|n| Arc::clone(&n.verified))
        });
        if near.is_some() {
            return near;
        }
        let shared = shard.read().unwrap_or_else(|e| e.into_inner());
        let verified = shared
            .get(&key)
            .filter(|c| *c.token == *token)
            .map(|c| c.verified.clone())?;
        drop(shared);
        Some(self.keep_near(token, Arc::new(verified)))
    }

    /// Keeps the thread's copy of a verified token, and hands it back.
    fn keep_near(&self, token: &[u8], verified: Arc<Verified>) -> Arc<Verified> {
        let (_, key) = self.place(token);
        NEAR.with_borrow_mut(|near| {
            if near.len() >= NEAR_CAPACITY {
                near.clear();
            }
            let copy = Near {
                token: token.into(),
                verified: Arc::clone(&verified),
            };
            near.insert((self.id, key), copy);
        });
        verified
    }

    /// Remembers a verified token; one with the same last bytes (rare) gives way to it.
    fn insert(&self, token: &[u8], verified: Verified, now: i64) {
        let (shard, key) = self.place(token);
        let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.retain(|_, c| c.verified.exp > now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        let token = token.into();
        shard.insert(key, Shared { token, verified });
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
        assert!(cache.shared(genuine.as_bytes()));
        let forged = format!("{}x", genuine);
        assert!(
            cache
                .verify(&keys, forged.as_bytes(), &expect(NOW))
                .is_err()
        );
        assert!(!cache.shared(forged.as_bytes()));
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
        let verified = |exp| Verified {
            kid: "k1".into(),
            client_id: "c1".into(),
            subject: Subject::Client,
            jti: "j".into(),
            iat: NOW - 10,
            exp,
            scopes: ScopeSet::default(),
            roles: RoleSet::default(),
            standing: Default::default(),
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
            live.iter().all(|t| cache.shared(t.as_bytes())),
            "live ones kept"
        );
        assert!(
            !expired.iter().any(|t| cache.shared(t.as_bytes())),
            "expired ones dropped"
        );
        assert!(cache.shared(b"h.p.Qnextxxx"));
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

    impl VerifiedTokens {
        /// Whether the shards hold the token (not a thread's copy).
        fn shared(&self, token: &[u8]) -> bool {
            let (shard, key) = self.place(token);
            let shard = shard.read().unwrap();
            shard.get(&key).is_some_and(|c| *c.token == *token)
        }
    }

    fn near_len() -> usize {
        NEAR.with_borrow(HashMap::len)
    }

    /// A thread uses its own copy once it met a token: the copy is not the shared entry (whose
    /// reference count every thread would write), another thread makes its own from the shards,
    /// and another cache (another server's, with its own keys) does not find this one's.
    #[test]
    fn each_thread_keeps_its_own_copy_of_each_cache_s_tokens() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        let token = jwt::encode(&keys, &claims("j1", "c1", &["Read"]));
        let first = cache.verify(&keys, token.as_bytes(), &expect(NOW)).unwrap();
        let again = cache.verify(&keys, token.as_bytes(), &expect(NOW)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "this thread's copy");
        let elsewhere = std::thread::scope(|threads| {
            threads
                .spawn(|| {
                    let got = cache.get(token.as_bytes()).expect("from the shards");
                    (got, cache.get(token.as_bytes()).unwrap())
                })
                .join()
                .unwrap()
        });
        assert!(
            Arc::ptr_eq(&elsewhere.0, &elsewhere.1),
            "that thread's own copy"
        );
        assert!(!Arc::ptr_eq(&first, &elsewhere.0));
        assert_eq!(elsewhere.0.jti, "j1");
        let other = VerifiedTokens::new(1000);
        assert!(other.get(token.as_bytes()).is_none());
        let foreign = other.verify(
            &crate::oauth::fixtures::keys("k2", 2),
            token.as_bytes(),
            &expect(NOW),
        );
        assert_eq!(foreign.unwrap_err(), TokenError::UnknownKey);
    }

    /// However many tokens a thread meets, it keeps copies of a bounded number.
    #[test]
    fn a_thread_keeps_a_bounded_number_of_copies() {
        let cache = VerifiedTokens::new(1000);
        let keys = keys("k1", 1);
        for n in 0..3 * NEAR_CAPACITY {
            let token = jwt::encode(&keys, &claims(&format!("j{n}"), "c1", &["Read"]));
            cache.verify(&keys, token.as_bytes(), &expect(NOW)).unwrap();
            assert!(near_len() <= NEAR_CAPACITY);
        }
    }
}
