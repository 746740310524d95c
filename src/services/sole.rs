//! Whether this server is the only writer of its PostgreSQL database's process instances, for
//! as long as that holds: then the instances it keeps need no check of their rows' versions
//! (see the cache of instances). The database keeps that true: a writer other than the sole
//! server waits in the database until the sole server has stepped down (the migration
//! `sole_server`; the statements are [`crate::store::LeaseConnection`]'s).
//!
//! A server holds the lease lock shared for its life (its presence), tries every heartbeat to
//! hold it exclusively (possible only while no other server is there and no other writer's
//! transaction is open), and while it does, renews the lease each heartbeat. It steps down
//! when the renewal finds a writer or a server waiting: first here (nothing is served
//! unchecked from then on), then in the database. Should its connection be cut, the database
//! frees the lock at once, before this server can know: so it serves unchecked only within
//! the lease from its last renewal, less a tenth for clocks that run at slightly different
//! rates, and a writer waits out the lease in the database.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::store::LeaseConnection;

/// How often the lease is renewed, and so how soon a waiting writer goes on.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long the database holds the lease from a renewal.
const LEASE: Duration = Duration::from_secs(2);
/// How long this server serves unchecked from the moment it sent a renewal: before the
/// database's lease ends, even on a clock that runs a tenth faster.
const SERVED: Duration = Duration::from_millis(1_800);
/// A pause before connecting again after the lease's connection failed.
const RECONNECT: Duration = Duration::from_secs(1);

/// When this server is sole. One task writes it (the holder); any reader reads it.
#[derive(Default)]
pub struct SoleServer {
    /// Odd while sole; each time the server becomes sole begins a new term, so that what was
    /// kept in an earlier one is checked again.
    term: AtomicU64,
    /// Nanoseconds after [`BASE`] until which this term may serve unchecked.
    until: AtomicU64,
}

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(*BASE).as_nanos()).unwrap_or(u64::MAX)
}

impl SoleServer {
    /// The term this server is sole in now, if it is.
    pub fn term(&self) -> Option<u64> {
        let term = self.term.load(Ordering::SeqCst);
        if term.is_multiple_of(2) || nanos(Instant::now()) >= self.until.load(Ordering::SeqCst) {
            return None;
        }
        // Still the same term (not one that ended, and another began, in between).
        (self.term.load(Ordering::SeqCst) == term).then_some(term)
    }

    pub(super) fn begin(&self, until: Instant) {
        self.term.fetch_add(1, Ordering::SeqCst);
        self.until.store(nanos(until), Ordering::SeqCst);
    }

    fn extend(&self, until: Instant) {
        self.until.store(nanos(until), Ordering::SeqCst);
    }

    /// Ends a term, if one runs: nothing is served unchecked once this returns.
    pub(super) fn end(&self) {
        self.until.store(0, Ordering::SeqCst);
        if !self.term.load(Ordering::SeqCst).is_multiple_of(2) {
            self.term.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Takes part in the lease until `stop` changes: connects again after a failure, and
    /// steps down before it stops.
    pub async fn hold(&self, db: DatabaseConnection, mut stop: watch::Receiver<bool>) {
        loop {
            let outcome = self.hold_once(&db, &mut stop).await;
            self.end();
            match outcome {
                Ok(()) => return,
                Err(err) => {
                    tracing::debug!(error = %err, "the sole-server lease's connection failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RECONNECT) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One connection's part: present, then sole whenever it can be. Returns `Ok` once
    /// stopped, an error when the connection failed (dropping it frees its locks).
    async fn hold_once(
        &self,
        db: &DatabaseConnection,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), DbErr> {
        let opened = tokio::select! {
            opened = LeaseConnection::open(db) => opened?,
            _ = stop.changed() => return Ok(()),
        };
        // Not a server's pool: it never becomes sole.
        let Some(mut conn) = opened else {
            return Ok(());
        };
        tokio::select! {
            present = conn.be_present() => present?,
            _ = stop.changed() => return Ok(()),
        }
        let mut ticker = tokio::time::interval(HEARTBEAT);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sole = false;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => {
                    self.end();
                    if sole {
                        bounded(conn.give_up()).await?;
                    }
                    return Ok(());
                }
            }
            let sent = Instant::now();
            if sole {
                if bounded(conn.renew(LEASE)).await? {
                    self.extend(sent + SERVED);
                } else {
                    self.end();
                    sole = false;
                    bounded(conn.give_up()).await?;
                    tracing::info!(
                        "stepped down as sole server: another writer of instances waits (or \
                         this session lost the lock)"
                    );
                }
            } else if bounded(conn.try_take(LEASE)).await? {
                self.begin(sent + SERVED);
                sole = true;
                tracing::info!("sole server on the database: kept instances are served unchecked");
            }
        }
    }
}

/// A statement of the lease, failed when it takes longer than the lease: its connection is
/// then given up.
async fn bounded<T>(statement: impl Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
    tokio::time::timeout(LEASE, statement)
        .await
        .unwrap_or_else(|_| Err(DbErr::Custom("the lease's statement timed out".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sole_only_within_its_term_and_time() {
        let sole = SoleServer::default();
        assert_eq!(sole.term(), None, "not sole before a term");
        sole.begin(Instant::now() + Duration::from_secs(60));
        let first = sole.term().expect("sole");
        sole.extend(Instant::now() + Duration::from_secs(60));
        assert_eq!(sole.term(), Some(first), "a renewal keeps the term");
        sole.extend(Instant::now());
        assert_eq!(sole.term(), None, "not past its time");
        sole.end();
        assert_eq!(sole.term(), None);
        sole.end();
        sole.begin(Instant::now() + Duration::from_secs(60));
        let second = sole.term().expect("sole again");
        assert_ne!(first, second, "a new term");
        sole.end();
        assert_eq!(sole.term(), None, "stepped down");
    }
}
