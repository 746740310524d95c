//! Process instances as last read. A read of one is then a hash lookup on SQLite, instead of a
//! statement handed to a SQLite worker thread and back (about 120 µs of CPU, most of it
//! switching threads), and on PostgreSQL a lookup of one column of its row, instead of the row
//! with its state's JSON (parsed and rendered again) and its step ids (see BENCHMARKS.md).
//!
//! It never answers what is no longer committed.
//! - **SQLite** ([`Trust::Alone`]): on only in a server that is the only one on its database
//!   ([`ServerClaim`]), so every write to the instances is this process's, and every write
//!   transaction opens in the store's lane, which counts them ([`WriteCounters`]). A writer of
//!   an instance forgets it here once its transaction is open; a reader keeps what it read
//!   only if no write transaction was open or began or ended while it read. So nothing read
//!   before a commit is kept after it, and nothing kept is served once a writer of it started.
//! - **PostgreSQL** ([`Trust::Checked`]), which other servers write too: an instance is kept
//!   with the version of the row it was read from (`xmin`, read in the same statement), and
//!   served only when a statement at the time of the request finds the row at that version.
//!   So what it serves is what a read would have found then. Except while this server is sole
//!   ([`SoleServer`]): then no other writer can change a row, this server's own writers forget
//!   what they change and are counted as on SQLite, and what was read (or found unchanged)
//!   within the term is served as kept until the term ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use hashbrown::HashMap;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;

use super::processes::ProcessView;
use super::sole::SoleServer;
use crate::Result;
use crate::config::Config;
use crate::store::{ServerClaim, WriteCount, WriteCounters};

/// Off until a server turns it on.
#[derive(Default)]
pub struct InstanceCache {
    on: OnceLock<Cached>,
    hits: AtomicU64,
    /// The task that takes part in the sole-server lease (PostgreSQL).
    holder: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Cached {
    entries: Mutex<HashMap<i64, Entry>>,
    capacity: usize,
    trust: Trust,
}

#[derive(Clone)]
struct Entry {
    view: Arc<ProcessView>,
    /// The sole-server term it is current in, if any (PostgreSQL).
    term: Option<u64>,
}

/// When a kept instance may be served.
enum Trust {
    /// As kept, while this server is alone on its SQLite database and no writer forgot it.
    Alone {
        writes: Arc<WriteCounters>,
        claim: ServerClaim,
    },
    /// Once its row's version is found unchanged, or as kept within the term it was kept in
    /// while this server is sole (PostgreSQL).
    Checked {
        sole: Arc<SoleServer>,
        writes: Arc<WriteCounters>,
    },
}

/// A kept instance, and what serving it needs.
pub enum Kept {
    /// Current as it is.
    Current(Arc<ProcessView>),
    /// Current if its row is still at its version ([`ProcessView::version`]); count the hit
    /// when it is ([`InstanceCache::count_hit`]).
    IfUnchanged(Arc<ProcessView>),
}

/// Where a read began; see [`InstanceCache::keep`].
#[derive(Clone, Copy)]
pub struct ReadStart {
    writes: Option<WriteCount>,
    /// The sole-server term it began in (PostgreSQL).
    term: Option<u64>,
}

impl InstanceCache {
    /// Called by a server (a CLI command keeps nothing): keeps instances as last read when the
    /// database is a SQLite file and this server the only one on it, or PostgreSQL, where it
    /// takes part in the sole-server lease until `stop` changes.
    pub fn serve(
        &self,
        db: &DatabaseConnection,
        config: &Config,
        stop: watch::Receiver<bool>,
    ) -> Result<()> {
        let capacity = usize::try_from(config.instance_cache_capacity).unwrap_or(usize::MAX);
        if capacity == 0 {
            return Ok(());
        }
        let writes = WriteCounters::of(db);
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                if let Some(claim) = ServerClaim::take(&config.database_url)? {
                    self.turn_on(capacity, Trust::Alone { writes, claim });
                }
            }
            DbBackend::Postgres => {
                let sole = Arc::new(SoleServer::default());
                let holder = Arc::clone(&sole);
                let db = db.clone();
                let task = tokio::spawn(async move { holder.hold(db, stop).await });
                *self.holder.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
                self.turn_on(capacity, Trust::Checked { sole, writes });
            }
            _ => {}
        }
        Ok(())
    }

    /// Once the server's stop was signalled: waits until it stepped down (if it was sole), so
    /// that the next writer need not wait out its lease.
    pub async fn stopped(&self) {
        let task = self.holder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Whether kept instances are served as kept now, without a check (on PostgreSQL while
    /// this server is sole; on SQLite while it is alone on its file).
    pub fn unchecked(&self) -> bool {
        match &self.on.get().map(|on| &on.trust) {
            Some(Trust::Checked { sole, .. }) => sole.term().is_some(),
            Some(Trust::Alone { claim, .. }) => claim.alone(),
            None => false,
        }
    }

    /// Keeps up to `capacity` instances, served as `trust` says. Once only; later calls change
    /// nothing.
    fn turn_on(&self, capacity: usize, trust: Trust) {
        if capacity > 0 {
            let _ = self.on.set(Cached {
                entries: Mutex::new(HashMap::new()),
                capacity,
                trust,
            });
        }
    }

    pub fn get(&self, prcs_id: i64) -> Option<Kept> {
        let found = self.lock()?.get(&prcs_id).cloned()?;
        let current = match &self.on.get()?.trust {
            Trust::Alone { .. } => true,
            Trust::Checked { sole, .. } => found.term.is_some() && found.term == sole.term(),
        };
        if current {
            self.count_hit();
            Some(Kept::Current(found.view))
        } else {
            Some(Kept::IfUnchanged(found.view))
        }
    }

    /// Counts a read answered from here.
    pub fn count_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads answered from here so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Call before reading an instance from the database.
    pub fn read_start(&self) -> ReadStart {
        let Some(on) = self.on.get() else {
            return ReadStart {
                writes: None,
                term: None,
            };
        };
        match &on.trust {
            Trust::Alone { writes, .. } => ReadStart {
                writes: Some(writes.now()),
                term: None,
            },
            Trust::Checked { sole, writes } => {
                // The term first: writes counted from within it.
                let term = sole.term();
                ReadStart {
                    writes: term.map(|_| writes.now()),
                    term,
                }
            }
        }
    }

    /// Keeps a kept instance whose row was just found unchanged, by a check that began at
    /// `start`, as current for the rest of the term that check began in (if one did).
    pub fn confirm(&self, start: ReadStart, view: &Arc<ProcessView>) {
        if start.term.is_some() {
            self.keep(start, view);
        }
    }

    /// Keeps what a read that began at `start` found, unless a write may have changed it
    /// meanwhile. A full cache drops one entry for it (whichever comes first: no bookkeeping
    /// on the read path).
    pub fn keep(&self, start: ReadStart, view: &Arc<ProcessView>) {
        let Some(on) = self.on.get() else {
            return;
        };
        let Some(mut entries) = self.lock() else {
            return;
        };
        // Checked under the lock that `forget` takes too: a writer that began after this check
        // forgets the entry once its transaction is open, after this insert.
        let unwritten =
            |writes: &WriteCounters| start.writes.is_some_and(|w| writes.unchanged_since(w));
        let term = match &on.trust {
            Trust::Alone { writes, .. } => {
                if !unwritten(writes) {
                    return;
                }
                None
            }
            // Whatever it is, it is checked before it is served, unless it was read within
            // the term still running, with none of this server's writes open or made meanwhile.
            Trust::Checked { sole, writes } => {
                if view.version.is_none() {
                    return;
                }
                start
                    .term
                    .filter(|&term| sole.term() == Some(term) && unwritten(writes))
            }
        };
        if entries.len() >= on.capacity && !entries.contains_key(&view.prcs_id) {
            let first = entries.keys().next().copied();
            if let Some(first) = first {
                entries.remove(&first);
            }
        }
        let view = Arc::clone(view);
        entries.insert(view.prcs_id, Entry { view, term });
    }

    /// Call inside a write transaction that may change or delete the instance, before
    /// committing it.
    pub fn forget(&self, prcs_id: i64) {
        if let Some(mut entries) = self.lock() {
            entries.remove(&prcs_id);
        }
    }

    /// The entries, while the cache is on (and, on SQLite, this server still alone on its
    /// database; once it is not, they are dropped, and the cache stays empty).
    fn lock(&self) -> Option<std::sync::MutexGuard<'_, HashMap<i64, Entry>>> {
        let on = self.on.get()?;
        let mut entries = on.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Trust::Alone { claim, .. } = &on.trust
            && !claim.alone()
        {
            *entries = HashMap::new();
            return None;
        }
        Some(entries)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};

    use super::*;
    use crate::engine::Instance;
    use crate::store;

    fn url(folder: &tempfile::TempDir) -> String {
        format!("sqlite://{}/cache.db?mode=rwc", folder.path().display())
    }

    async fn database(folder: &tempfile::TempDir) -> DatabaseConnection {
        let mut options = ConnectOptions::new(url(folder));
        options.max_connections(2).sqlx_logging(false);
        let db = Database::connect(options).await.expect("connects");
        db.execute_unprepared("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .await
            .expect("table");
        db
    }

    /// A cache as a server turns it on, over a new database; the lane's tests and these take
    /// turns.
    struct Fixture {
        cache: InstanceCache,
        db: DatabaseConnection,
        folder: tempfile::TempDir,
        _turn: tokio::sync::MutexGuard<'static, ()>,
    }

    async fn fixture(capacity: usize) -> Fixture {
        let turn = store::TEST_TURNS.lock().await;
        let folder = tempfile::tempdir().expect("folder");
        let db = database(&folder).await;
        let cache = InstanceCache::default();
        let claim = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        let writes = WriteCounters::of(&db);
        cache.turn_on(capacity, Trust::Alone { writes, claim });
        Fixture {
            cache,
            db,
            folder,
            _turn: turn,
        }
    }

    fn view(prcs_id: i64, name: &str) -> Arc<ProcessView> {
        Arc::new(ProcessView {
            prcs_id,
            dgrm_id: 1,
            name: name.to_owned(),
            status: "running".to_owned(),
            business_ref: None,
            init_ts: 0,
            init_by: "test".to_owned(),
            instance: Instance::new(),
            step_ids: Vec::new(),
            written: Default::default(),
            version: None,
        })
    }

    /// The name of the kept instance, if it is current as kept.
    fn cached_name(cache: &InstanceCache, prcs_id: i64) -> Option<String> {
        match cache.get(prcs_id)? {
            Kept::Current(view) => Some(view.name.clone()),
            Kept::IfUnchanged(_) => panic!("kept to be checked, on SQLite"),
        }
    }

    #[tokio::test]
    async fn keeps_what_was_read_until_a_writer_forgets_it() {
        let fixture = fixture(10).await;
        let (cache, db) = (&fixture.cache, &fixture.db);
        let start = cache.read_start();
        cache.keep(start, &view(1, "first"));
        assert_eq!(cached_name(cache, 1).as_deref(), Some("first"));
        let txn = store::begin_write(db).await.expect("begins");
        cache.forget(1);
        assert_eq!(cached_name(cache, 1), None);
        txn.commit().await.expect("commits");
        assert_eq!(cached_name(cache, 1), None);
    }

    #[tokio::test]
    async fn keeps_nothing_read_while_a_write_was_open_or_across_its_commit() {
        let fixture = fixture(10).await;
        let (cache, db) = (&fixture.cache, &fixture.db);

        let txn = store::begin_write(db).await.expect("begins");
        let during = cache.read_start();
        txn.commit().await.expect("commits");
        cache.keep(during, &view(1, "read while a write was open"));
        assert_eq!(cached_name(cache, 1), None);

        let before = cache.read_start();
        let txn = store::begin_write(db).await.expect("begins");
        cache.keep(before, &view(2, "a write opened since"));
        assert_eq!(cached_name(cache, 2), None);
        txn.commit().await.expect("commits");
        cache.keep(before, &view(2, "a write committed since"));
        assert_eq!(cached_name(cache, 2), None);

        // A batched move counts as open until its batch is committed.
        let before = cache.read_start();
        let txn = store::begin_batched(db).await.expect("joins a batch");
        txn.execute_unprepared("INSERT INTO t (n) VALUES (1)")
            .await
            .expect("writes");
        txn.commit().await.expect("committed with its batch");
        cache.keep(before, &view(3, "a batch committed since"));
        assert_eq!(cached_name(cache, 3), None);

        let after = cache.read_start();
        cache.keep(after, &view(3, "read after the commit"));
        assert_eq!(
            cached_name(cache, 3).as_deref(),
            Some("read after the commit")
        );
    }

    #[tokio::test]
    async fn another_database_s_writes_do_not_count() {
        let fixture = fixture(10).await;
        let cache = &fixture.cache;
        let second = tempfile::tempdir().expect("folder");
        let other = database(&second).await;
        let start = cache.read_start();
        let txn = store::begin_write(&other).await.expect("begins");
        cache.keep(start, &view(1, "kept"));
        txn.commit().await.expect("commits");
        assert_eq!(cached_name(cache, 1).as_deref(), Some("kept"));
    }

    #[tokio::test]
    async fn stays_within_its_capacity_and_can_be_off() {
        let fixture = fixture(3).await;
        let cache = &fixture.cache;
        for prcs_id in 1..=5 {
            cache.keep(cache.read_start(), &view(prcs_id, "kept"));
        }
        let kept = (1..=5).filter(|&id| cache.get(id).is_some()).count();
        assert_eq!(kept, 3);
        assert!(cache.get(5).is_some(), "the newest entry is kept");

        let never_on = InstanceCache::default();
        never_on.keep(never_on.read_start(), &view(1, "not kept"));
        assert_eq!(cached_name(&never_on, 1), None);
        let empty = tempfile::tempdir().expect("folder");
        let zero = InstanceCache::default();
        let claim = ServerClaim::take(&url(&empty)).unwrap().expect("a claim");
        let writes = WriteCounters::of(&database(&empty).await);
        zero.turn_on(0, Trust::Alone { writes, claim });
        zero.keep(zero.read_start(), &view(1, "not kept"));
        assert_eq!(cached_name(&zero, 1), None);
    }

    #[tokio::test]
    async fn another_server_on_the_database_empties_it_for_good() {
        let fixture = fixture(10).await;
        let cache = &fixture.cache;
        cache.keep(cache.read_start(), &view(1, "kept"));
        assert!(cache.get(1).is_some());
        let start = cache.read_start();
        let other = ServerClaim::take(&url(&fixture.folder))
            .unwrap()
            .expect("a claim");
        cache.keep(start, &view(2, "read as another server started"));
        assert_eq!(cached_name(cache, 1), None, "another server may write it");
        assert_eq!(cached_name(cache, 2), None);
        drop(other);
        cache.keep(cache.read_start(), &view(3, "read after it stopped"));
        assert_eq!(
            cached_name(cache, 3),
            None,
            "what it wrote may be cached here"
        );
    }

    fn versioned(prcs_id: i64, version: Option<i64>) -> Arc<ProcessView> {
        Arc::new(ProcessView {
            version,
            ..(*view(prcs_id, "kept")).clone()
        })
    }

    /// A cache as a PostgreSQL server turns it on, with its sole-server state.
    fn on_postgres() -> (InstanceCache, Arc<SoleServer>) {
        let cache = InstanceCache::default();
        let sole = Arc::new(SoleServer::default());
        let writes = Arc::new(WriteCounters::default());
        let trust = Trust::Checked {
            sole: Arc::clone(&sole),
            writes,
        };
        cache.turn_on(10, trust);
        (cache, sole)
    }

    fn is_current(cache: &InstanceCache, prcs_id: i64) -> bool {
        matches!(cache.get(prcs_id), Some(Kept::Current(_)))
    }

    #[test]
    fn on_postgres_keeps_what_has_a_version_to_be_checked() {
        let (cache, _) = on_postgres();
        cache.keep(cache.read_start(), &versioned(1, Some(7)));
        cache.keep(cache.read_start(), &versioned(2, None));
        let Some(Kept::IfUnchanged(kept)) = cache.get(1) else {
            panic!("kept, to be checked");
        };
        assert_eq!(kept.version, Some(7));
        assert!(cache.get(2).is_none(), "no version, nothing to check it by");
        // A hit is counted once checked, by the reader.
        assert_eq!(cache.hits(), 0);
        cache.forget(1);
        assert!(cache.get(1).is_none());
    }

    #[test]
    fn a_sole_server_serves_what_it_read_within_the_term() {
        let (cache, sole) = on_postgres();
        let long = || std::time::Instant::now() + std::time::Duration::from_secs(60);
        cache.keep(cache.read_start(), &versioned(1, Some(7)));
        sole.begin(long());
        assert!(cache.unchecked());
        assert!(!is_current(&cache, 1), "read before the term: checked");
        // Found unchanged by a check that began within the term: current from then on.
        let check = cache.read_start();
        cache.confirm(check, &versioned(1, Some(7)));
        assert!(is_current(&cache, 1));
        assert_eq!(cache.hits(), 1);
        cache.keep(cache.read_start(), &versioned(2, Some(8)));
        assert!(is_current(&cache, 2), "read within the term");

        let read = cache.read_start();
        sole.end();
        assert!(!cache.unchecked());
        assert!(!is_current(&cache, 1), "the term ended");
        sole.begin(long());
        cache.keep(read, &versioned(3, Some(9)));
        assert!(
            !is_current(&cache, 3),
            "begun in a term that ended: another server may have written it"
        );
        assert!(!is_current(&cache, 2), "kept in the earlier term");
        sole.end();
        let outside = cache.read_start();
        cache.confirm(outside, &versioned(2, Some(8)));
        sole.begin(long());
        assert!(!is_current(&cache, 2), "confirmed outside any term");
    }
}
