//! The audit log: who did what, when. Management changes write their row in the transaction of
//! the change itself ([`commit_change`]); failed authentications go through a bounded
//! background writer so that a flood of bad requests cannot stall the server or the log.
//!
//! Every stored field is bounded ([`bound`]). Failures are aggregated per (actor, action,
//! detail) and minute: the first is written at once, repeats only add to its `count` (written
//! about every second); at most [`MAX_KEYS_PER_MINUTE`] rows a minute, and what is dropped
//! beyond that (or when the writer lags) is itself a row, `audit.dropped`, with the count.
//! Rows older than `audit_retention_days` are deleted every hour.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hashbrown::HashMap;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::mpsc;

pub use crate::store::audit::{AuditEntry, AuditFilter};

use super::App;
use super::paging::Paging;
use crate::caller::Actor;
use crate::telemetry::METRICS;
use crate::{Result, now, store};

/// Longest stored fields, in characters.
pub const MAX_ACTOR: usize = 128;
pub const MAX_ACTION: usize = 64;
pub const MAX_TARGET: usize = 256;
pub const MAX_DETAIL: usize = 1024;

/// Distinct failure rows written per minute at most.
pub const MAX_KEYS_PER_MINUTE: usize = 10_000;
/// How often repeated failures are added to their rows.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Failures waiting for the writer at most.
const QUEUE: usize = 4096;

/// `text` if it has at most `max` characters; otherwise its first `max - 1` and `…`.
pub fn bound(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text
                .char_indices()
                .nth(keep)
                .map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..end])
        }
    }
}

/// An entry with every field bounded.
fn bounded(entry: AuditEntry) -> AuditEntry {
    AuditEntry {
        actor: bound(&entry.actor, MAX_ACTOR),
        action: bound(&entry.action, MAX_ACTION),
        target: entry.target.map(|t| bound(&t, MAX_TARGET)),
        detail: entry.detail.map(|d| bound(&d, MAX_DETAIL)),
        ..entry
    }
}

/// One audit row of now, its fields bounded, for a store function that writes it with others.
pub fn entry(
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<String>,
    success: bool,
) -> AuditEntry {
    bounded(AuditEntry {
        id: 0,
        at: now(),
        actor: actor.0.clone(),
        action: action.to_owned(),
        target: target.map(str::to_owned),
        detail,
        success,
        count: 1,
    })
}

/// One audit row, written now.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<String>,
    success: bool,
) -> Result<()> {
    store::audit::insert(db, entry(actor, action, target, detail, success)).await?;
    Ok(())
}

/// Ends a management transaction that other instances must see: the audit row, the change
/// counter, the commit. The caller then makes the change visible here ([`App::changed`]).
pub async fn commit_change(
    txn: store::WriteTxn,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Option<String>,
) -> Result<()> {
    record(&txn, actor, action, Some(target), detail, true).await?;
    store::bump_version(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// A page of the log, newest first, and the total.
pub async fn list(app: &App, paging: Paging) -> Result<(Vec<AuditEntry>, u64)> {
    store::audit::page(&app.db, paging.limit, paging.offset).await
}

/// A page of the rows the filter lets through (actor by substring, action exactly, success),
/// newest first, and their total.
pub async fn search(
    app: &App,
    filter: &AuditFilter,
    paging: Paging,
) -> Result<(Vec<AuditEntry>, u64)> {
    store::audit::search(&app.db, filter, paging.limit, paging.offset).await
}

/// The distinct actions in the log, for choosing one.
pub async fn actions(app: &App) -> Result<Vec<String>> {
    store::audit::actions(&app.db).await
}

/// Deletes the rows older than `audit_retention_days` (none when it is 0); returns how many.
pub async fn apply_retention(app: &App) -> Result<u64> {
    let days = i64::from(app.config.audit_retention_days);
    if days == 0 {
        return Ok(0);
    }
    store::audit::delete_before(&app.db, now() - days * 86_400).await
}

/// A failed authentication to be logged in the background.
#[derive(Debug)]
struct Failure {
    at: i64,
    key: Key,
}

/// What makes failures the same row within a minute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    actor: String,
    action: &'static str,
    detail: String,
}

impl Key {
    fn new(actor: &str, action: &'static str, detail: &str) -> Key {
        Key {
            actor: bound(actor, MAX_ACTOR),
            action,
            detail: bound(detail, MAX_DETAIL),
        }
    }

    fn dropped() -> Key {
        Key::new(
            "system",
            "audit.dropped",
            "failed authentications not recorded: too many at once",
        )
    }
}

/// A write the aggregation asks for.
#[derive(Debug, PartialEq, Eq)]
enum Write {
    /// A new row with this count.
    Insert { at: i64, key: Key, count: i64 },
    /// More occurrences of the row `id`.
    Add { id: i64, count: i64 },
}

/// A key's row in the current minute: its id once written, and the repeats not written yet.
#[derive(Debug)]
struct Slot {
    id: Option<i64>,
    pending: i64,
}

/// Failure rows of the current minute, in memory: decides what to write.
#[derive(Debug, Default)]
struct Aggregator {
    minute: i64,
    slots: HashMap<Key, Slot>,
    /// Additions of a minute gone by, not written yet.
    carried: Vec<Write>,
    /// Failures not recorded since the last flush.
    dropped: u64,
}

impl Aggregator {
    /// Notes one failure; the row to write at once when it is the first of its key.
    fn note(&mut self, key: Key, at: i64) -> Option<Write> {
        self.roll(at);
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.pending += 1;
            return None;
        }
        if self.slots.len() >= MAX_KEYS_PER_MINUTE {
            self.drop_some(1);
            return None;
        }
        self.slots.insert(
            key.clone(),
            Slot {
                id: None,
                pending: 0,
            },
        );
        Some(Write::Insert { at, key, count: 1 })
    }

    /// Counts failures that were not recorded.
    fn drop_some(&mut self, n: u64) {
        METRICS.audit_dropped.add(n);
        self.dropped += n;
    }

    /// The row of `key` was written as `id` (or could not be: the next one tries again).
    fn written(&mut self, key: &Key, id: Option<i64>) {
        match id {
            Some(id) => {
                if let Some(slot) = self.slots.get_mut(key) {
                    slot.id = Some(id);
                }
            }
            None => {
                self.slots.remove(key);
            }
        }
    }

    /// A new minute starts afresh; what the old one still owes is carried to the next flush.
    fn roll(&mut self, at: i64) {
        let minute = at.div_euclid(60);
        if minute == self.minute {
            return;
        }
        self.minute = minute;
        for (_, slot) in self.slots.drain() {
            if let (Some(id), true) = (slot.id, slot.pending > 0) {
                self.carried.push(Write::Add {
                    id,
                    count: slot.pending,
                });
            }
        }
    }

    /// What brings the log up to date: the repeats counted since the last flush, and a row
    /// (or more to its count) for the failures dropped.
    fn flush(&mut self, at: i64) -> Vec<Write> {
        self.roll(at);
        let mut writes = std::mem::take(&mut self.carried);
        for slot in self.slots.values_mut() {
            if let (Some(id), true) = (slot.id, slot.pending > 0) {
                writes.push(Write::Add {
                    id,
                    count: slot.pending,
                });
                slot.pending = 0;
            }
        }
        if self.dropped > 0 {
            let count = i64::try_from(std::mem::take(&mut self.dropped)).unwrap_or(i64::MAX);
            let key = Key::dropped();
            match self.slots.get(&key).and_then(|slot| slot.id) {
                Some(id) => writes.push(Write::Add { id, count }),
                None => {
                    self.slots.insert(
                        key.clone(),
                        Slot {
                            id: None,
                            pending: 0,
                        },
                    );
                    writes.push(Write::Insert { at, key, count });
                }
            }
        }
        writes
    }
}

/// Sends failures to the background writer; counts them as dropped when it lags.
#[derive(Clone, Debug)]
pub struct FailureLog {
    tx: mpsc::Sender<Failure>,
    /// Failures the queue had no room for, not yet recorded as such.
    lagged: Arc<AtomicU64>,
}

impl FailureLog {
    /// Starts the writer task. It ends when every sender is gone.
    pub fn start(db: DatabaseConnection) -> FailureLog {
        let (tx, rx) = mpsc::channel::<Failure>(QUEUE);
        let lagged = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_failures(db, rx, Arc::clone(&lagged)));
        FailureLog { tx, lagged }
    }

    /// A log whose reports go nowhere (for an application without a database).
    pub fn detached() -> FailureLog {
        let (tx, _) = mpsc::channel::<Failure>(1);
        FailureLog {
            tx,
            lagged: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Logs a failure (bounded at once, so that a huge value is not even queued).
    pub fn report(&self, actor: impl AsRef<str>, action: &'static str, detail: impl AsRef<str>) {
        let failure = Failure {
            at: now(),
            key: Key::new(actor.as_ref(), action, detail.as_ref()),
        };
        if self.tx.try_send(failure).is_err() {
            METRICS.audit_dropped.inc();
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn write_failures(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<Failure>,
    lagged: Arc<AtomicU64>,
) {
    let mut aggregator = Aggregator::default();
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let writes = tokio::select! {
            received = rx.recv() => match received {
                Some(failure) => aggregator.note(failure.key, failure.at).into_iter().collect(),
                None => {
                    let writes = aggregator.flush(now());
                    apply(&db, &mut aggregator, writes).await;
                    return;
                }
            },
            _ = ticker.tick() => {
                // Counted apart (the queue was full): recorded by the writer, as the rest.
                let lost = lagged.swap(0, Ordering::Relaxed);
                aggregator.dropped += lost;
                aggregator.flush(now())
            }
        };
        apply(&db, &mut aggregator, writes).await;
    }
}

async fn apply(db: &DatabaseConnection, aggregator: &mut Aggregator, writes: Vec<Write>) {
    for write in writes {
        let done = match write {
            Write::Insert { at, key, count } => {
                let entry = AuditEntry {
                    id: 0,
                    at,
                    actor: key.actor.clone(),
                    action: key.action.to_owned(),
                    target: None,
                    detail: Some(key.detail.clone()),
                    success: false,
                    count,
                };
                let id = store::audit::insert(db, bounded(entry)).await;
                aggregator.written(&key, id.as_ref().ok().copied());
                id.map(|_| ())
            }
            Write::Add { id, count } => store::audit::add_count(db, id, count).await,
        };
        if let Err(err) = done {
            tracing::warn!(error = %err, "could not write an audit row");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_cut_at_a_character_and_marked() {
        assert_eq!(bound("short", 10), "short");
        assert_eq!(bound("exactly10!", 10), "exactly10!");
        assert_eq!(bound("0123456789x", 10), "012345678…");
        // Multi-byte characters are never split.
        let cut = bound(&"é".repeat(200), MAX_ACTOR);
        assert_eq!(cut.chars().count(), MAX_ACTOR);
        assert!(cut.ends_with('…'));
        let huge = "a".repeat(1 << 20);
        let entry = bounded(AuditEntry {
            id: 0,
            at: 0,
            actor: format!("client:{huge}"),
            action: huge.clone(),
            target: Some(huge.clone()),
            detail: Some(huge),
            success: false,
            count: 1,
        });
        assert_eq!(entry.actor.chars().count(), MAX_ACTOR);
        assert_eq!(entry.action.chars().count(), MAX_ACTION);
        assert_eq!(entry.target.unwrap().chars().count(), MAX_TARGET);
        assert_eq!(entry.detail.unwrap().chars().count(), MAX_DETAIL);
    }

    fn key(actor: &str) -> Key {
        Key::new(actor, "auth.client", "client authentication failed")
    }

    #[test]
    fn repeats_become_counts_written_at_the_flush() {
        let mut agg = Aggregator::default();
        let at = 6_000;
        assert!(matches!(
            agg.note(key("remote:10.0.0.1"), at),
            Some(Write::Insert { count: 1, .. })
        ));
        agg.written(&key("remote:10.0.0.1"), Some(7));
        for _ in 0..999 {
            assert_eq!(agg.note(key("remote:10.0.0.1"), at + 1), None);
        }
        assert_eq!(agg.flush(at + 2), vec![Write::Add { id: 7, count: 999 }]);
        assert_eq!(agg.flush(at + 3), vec![], "nothing new, nothing written");
        // Another key is a row of its own.
        assert!(agg.note(key("remote:10.0.0.2"), at + 3).is_some());
        // A new minute starts a new row; what the old one owed is still written.
        agg.note(key("remote:10.0.0.1"), at + 59);
        assert!(matches!(
            agg.note(key("remote:10.0.0.1"), at + 60),
            Some(Write::Insert { .. })
        ));
        assert_eq!(agg.flush(at + 61), vec![Write::Add { id: 7, count: 1 }]);
    }

    #[test]
    fn keys_past_the_limit_are_dropped_and_counted_in_a_row() {
        let mut agg = Aggregator::default();
        let at = 6_000;
        for n in 0..MAX_KEYS_PER_MINUTE + 25 {
            let actor = format!("remote:{n}");
            if let Some(Write::Insert { key, .. }) = agg.note(key(&actor), at) {
                agg.written(&key, Some(n as i64));
            }
        }
        assert_eq!(agg.slots.len(), MAX_KEYS_PER_MINUTE);
        let writes = agg.flush(at);
        assert_eq!(
            writes,
            vec![Write::Insert {
                at,
                key: Key::dropped(),
                count: 25
            }]
        );
        agg.written(&Key::dropped(), Some(99_999));
        agg.note(key("remote:new"), at);
        assert_eq!(
            agg.flush(at + 1),
            vec![Write::Add {
                id: 99_999,
                count: 1
            }]
        );
    }
}
