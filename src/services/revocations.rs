//! Revoked access tokens in memory, applied incrementally: every revocation is a row numbered
//! by the revocation counter (`revoked_tokens.seq`), and an instance reads only the rows past the
//! last number it saw. Revoking a token therefore costs every instance one small read, not a
//! reload of its whole view. Expired revocations are dropped once a minute.
//!
//! The set also keeps the standing epoch ([`Revocations::standing_epoch`]): being carried from
//! view to view, it is the one place both kinds of change reach.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard};

use hashbrown::HashMap;
use sea_orm::ConnectionTrait;
use tokio::sync::Mutex;

use crate::{Result, store};

/// How often expired revocations are dropped, in seconds.
const PRUNE_EVERY: i64 = 60;

/// The revoked tokens still alive (`jti` → expiry) and how far this instance has read.
pub struct Revocations {
    /// Read by every gated request, written rarely: a reader locks its thread's shard only, so
    /// readers on different cores write no common cache line (one `RwLock`'s line went from core
    /// to core on each request; BENCHMARKS.md).
    revoked: ShardedLock<HashMap<String, i64>>,
    /// The last revocation number read; -1 before the first read, which reads them all.
    seen: AtomicI64,
    /// When expired entries were last dropped (Unix seconds).
    pruned_at: AtomicI64,
    catching_up: Mutex<()>,
    standing_epoch: AtomicU64,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations {
            revoked: ShardedLock::new(HashMap::new()),
            seen: AtomicI64::new(-1),
            pruned_at: AtomicI64::new(0),
            catching_up: Mutex::new(()),
            standing_epoch: AtomicU64::new(1),
        }
    }
}

impl Revocations {
    /// Whether the token with this id was revoked.
    pub fn contains(&self, jti: &str) -> bool {
        self.read().contains_key(jti)
    }

    /// How many revoked tokens are held.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last revocation number read (-1 before the first read).
    pub fn seen(&self) -> i64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Counts the changes to what a token's standing depends on (`View::standing`): it moves on
    /// once revocations were added here, and once a new view is in place ([`App::reload`]),
    /// never before. So a standing worked out from a view loaded after the epoch was read
    /// holds while the epoch reads the same, and the gate remembers it for that long
    /// (`caller::StandingMemo`). Starts at 1.
    ///
    /// [`App::reload`]: super::App
    pub fn standing_epoch(&self) -> u64 {
        self.standing_epoch.load(Ordering::Acquire)
    }

    /// Moves the standing epoch on; called once a change is in place.
    pub fn standing_changed(&self) {
        self.standing_epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn read(&self) -> ShardedLockReadGuard<'_, HashMap<String, i64>> {
        self.revoked.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds revocations (also for a view built without a database).
    pub fn insert(&self, jti: String, expires_at: i64) {
        self.revoked
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(jti, expires_at);
        self.standing_changed();
    }

    /// Reads the revocations numbered past the last one read, if `counter` (the revocation
    /// counter as just read) says there are any. Returns how many were added.
    pub async fn catch_up(
        &self,
        db: &impl ConnectionTrait,
        counter: i64,
        now: i64,
    ) -> Result<usize> {
        if counter == self.seen() {
            return Ok(0);
        }
        let _one_at_a_time = self.catching_up.lock().await;
        let seen = self.seen();
        if counter == seen {
            return Ok(0);
        }
        let rows = store::revocations::since(db, seen, now).await?;
        // Every row numbered up to `counter` was committed when `counter` could be read.
        let newest = rows.iter().map(|r| r.seq).fold(counter.max(seen), i64::max);
        let added = rows.len();
        if added > 0 {
            let mut revoked = self.revoked.write().unwrap_or_else(|e| e.into_inner());
            for row in rows {
                revoked.insert(row.jti, row.expires_at);
            }
            drop(revoked);
            // Before `seen` moves: whoever then finds nothing left to read (a revocation made
            // here, waiting to answer) must find the epoch moved too.
            self.standing_changed();
        }
        self.seen.store(newest, Ordering::Release);
        Ok(added)
    }

    /// Drops the revocations of tokens expired by `now`, at most once a minute; returns whether
    /// it was time to (the caller then drops the expired rows too).
    pub fn prune(&self, now: i64) -> bool {
        let last = self.pruned_at.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY
            || self
                .pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        self.revoked
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, expires_at| *expires_at >= now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every revocation added moves the standing epoch on, and so does a catch-up that read
    /// some, by the time it returns; one with nothing new leaves it.
    #[tokio::test]
    async fn every_revocation_added_moves_the_standing_epoch() {
        let db = store::in_memory().await;
        let revocations = Revocations::default();
        let first = revocations.standing_epoch();
        revocations.insert("here".into(), 1_000);
        let inserted = revocations.standing_epoch();
        assert!(inserted > first);

        revocations.catch_up(&db, 0, 100).await.unwrap();
        let caught_up = revocations.standing_epoch();
        assert_eq!(revocations.catch_up(&db, 0, 100).await.unwrap(), 0);
        assert_eq!(
            revocations.standing_epoch(),
            caught_up,
            "nothing new, same epoch"
        );

        store::revocations::insert(&db, "there", "c1", 1_000, 100, 1)
            .await
            .unwrap();
        assert_eq!(revocations.catch_up(&db, 1, 100).await.unwrap(), 1);
        assert!(revocations.contains("there"));
        assert!(revocations.standing_epoch() > caught_up);
    }

    #[test]
    fn pruning_drops_the_expired_once_a_minute() {
        let revocations = Revocations::default();
        revocations.insert("old".into(), 100);
        revocations.insert("new".into(), 1_000);
        assert!(revocations.prune(200));
        assert!(!revocations.contains("old"));
        assert!(revocations.contains("new"));
        revocations.insert("old".into(), 100);
        assert!(!revocations.prune(230), "not again within the minute");
        assert!(revocations.contains("old"));
        assert!(revocations.prune(261));
        assert_eq!(revocations.len(), 1);
    }
}
