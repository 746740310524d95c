//! Write transactions, and SQLite's write lane.
//!
//! SQLite has one writer. The writers of this process queue for it in one lane, in order,
//! before they ask SQLite: writers waiting in SQLite's busy handler sleep in growing steps (p99
//! latencies of 0.5–0.8 s under load), while a queue here hands the lock on the moment it is
//! free. A writer holds the lane until it commits or rolls back.
//!
//! Short writes that check everything before they write join a batch instead; call them moves:
//! engine moves (written only after the move succeeded in memory), and the groups of code
//! redemptions and refresh rotations (written only after every check of the grant, see
//! `store::spends`). A batch is one SQLite transaction that the moves queued in the lane write
//! one after another, committed when nobody is left waiting (or when it is full). Each move is
//! answered only after that commit; a move that fails before writing leaves the batch
//! untouched, and a move that fails after writing (the database failed) rolls the whole batch
//! back, so that each move of it is still all or nothing; a move that may fail after writing
//! for reasons of its own (a message call whose second message meets no subscription) writes
//! into a savepoint. BEGIN and COMMIT, a connection checkout and a log write are then paid once
//! a batch instead of once a move.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::Spends;
use crate::{Error, Result};

/// Moves in one batch at most: bounds how long the first of them waits for its answer.
const MAX_BATCH: usize = 64;
/// When a batch is left open behind a writer that gave up its place in the queue, it is
/// committed this late at the latest.
const ORPHAN_FLUSH: Duration = Duration::from_millis(5);

/// The lane: held by one writer at a time, with the batch it may leave open for the next.
#[derive(Default)]
struct Lane {
    batch: Option<Batch>,
    generation: u64,
}

struct Batch {
    txn: DatabaseTransaction,
    /// Which database it writes to (tests open several in one process).
    database: usize,
    /// The moves written into it, each waiting for the commit's outcome.
    members: Vec<oneshot::Sender<std::result::Result<(), String>>>,
    generation: u64,
    flusher_armed: bool,
    /// Dropped after the commit (or with the batch): only then does the count move on.
    _open: OpenWrite,
}

/// One lane for every SQLite database of the process (one, outside tests).
static LANE: LazyLock<Arc<Mutex<Lane>>> = LazyLock::new(Default::default);
/// Writers queued for the lane: a batch is committed when none is left.
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// The write counters of each SQLite database of the process, by [`database_key`].
static COUNTERS: LazyLock<std::sync::Mutex<HashMap<usize, Arc<WriteCounters>>>> =
    LazyLock::new(Default::default);
/// The lane is the process's: tests that write through it take turns, so that none counts as
/// queued behind another's moves.
#[cfg(test)]
pub(crate) static TEST_TURNS: Mutex<()> = Mutex::const_new(());
/// How many moves each committed batch held, by database: what the tests check batches by.
#[cfg(test)]
static COMMITTED_BATCHES: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

/// A transaction that writes: its own, or (SQLite, [`begin_batched`]) its place in a batch.
pub struct WriteTxn {
    mode: Mode,
    /// Whether it wrote (any statement but a SELECT): a batched writer that fails after
    /// writing takes the batch down with it.
    wrote: AtomicBool,
}

enum Mode {
    Own {
        txn: DatabaseTransaction,
        _lane: Option<OwnedMutexGuard<Lane>>,
        open: OpenWrite,
    },
    /// `None` once committed or rolled back.
    Batched(Option<OwnedMutexGuard<Lane>>),
    /// [`begin_single`]: no transaction. The one write, atomic by itself, joins the next group
    /// of spends through [`WriteTxn::spends`].
    Single {
        backend: DbBackend,
        spends: Spends,
        written: AtomicBool,
    },
}

/// Starts a transaction that will write. On SQLite it waits for the lane, commits a batch
/// left open there, then takes the write lock at once (`BEGIN IMMEDIATE`): a deferred
/// transaction that reads first cannot upgrade once another connection has committed
/// (SQLITE_BUSY_SNAPSHOT).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn> {
    let lane = match db.get_database_backend() {
        DbBackend::Sqlite => Some(settled(enter().await).await?),
        _ => None,
    };
    let open = OpenWrite::count(db);
    Ok(WriteTxn::new(Mode::Own {
        txn: begin_immediate(db).await?,
        _lane: lane,
        open,
    }))
}

/// Starts a write that is a single statement, sent once every check passed on what was read
/// before it (a code redemption, a refresh rotation): no transaction of its own, and its write
/// joins the next group of [`Spends`], one statement on PostgreSQL (which saves its BEGIN and
/// COMMIT, two of such a request's few round trips) and one query in the write batch on
/// SQLite (one turn in the lane for the group). Its one write is all or nothing by itself, and
/// finds out whether what was read is still so (a code still unused), and it is answered after
/// its commit. Any statement but the one run on [`WriteTxn::spends`] is refused.
pub fn begin_single(db: &DatabaseConnection, spends: &Spends) -> WriteTxn {
    WriteTxn::new(Mode::Single {
        backend: db.get_database_backend(),
        spends: spends.clone(),
        written: AtomicBool::new(false),
    })
}

/// Starts a write that may share a batch: on SQLite a place in the lane's batch (see the
/// module's note), on PostgreSQL a transaction of its own (row locks let writers of other rows
/// run side by side there). The caller checks everything it can before it writes, so that once
/// it wrote only the database can fail it: an engine move writes after it succeeded in memory
/// (a code redemption or refresh rotation, which writes one statement, takes [`begin_single`]).
pub async fn begin_batched(db: &DatabaseConnection) -> Result<WriteTxn> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return begin_write(db).await;
    }
    let database = database_key(db);
    let mut lane = enter().await;
    if lane.batch.as_ref().is_some_and(|b| b.database != database) {
        lane = settled(lane).await?;
    }
    if lane.batch.is_none() {
        lane.generation += 1;
        let open = OpenWrite::count(db);
        lane.batch = Some(Batch {
            _open: open,
            txn: begin_immediate(db).await?,
            database,
            members: Vec::new(),
            generation: lane.generation,
            flusher_armed: false,
        });
    }
    Ok(WriteTxn::new(Mode::Batched(Some(lane))))
}

pub(super) async fn begin_immediate(
    db: &DatabaseConnection,
) -> std::result::Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// What tells one database of the process from another: its pool's options, which the pool
/// (and so any batch writing to it) keeps alive.
fn database_key(db: &DatabaseConnection) -> usize {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            Arc::as_ptr(&db.get_postgres_connection_pool().connect_options()) as usize
        }
        _ => Arc::as_ptr(&db.get_sqlite_connection_pool().connect_options()) as usize,
    }
}

/// The write transactions of this process on one database: how many are open, and how often
/// one opened or ended. While this process is the database's only writer (always on SQLite,
/// while sole on PostgreSQL), a reader that finds the counts unchanged after its read, with
/// none open, read what is committed now: what it may remember.
#[derive(Default)]
pub struct WriteCounters {
    events: AtomicU64,
    open: AtomicUsize,
}

/// Where [`WriteCounters`] stood when a read began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteCount(u64);

impl WriteCounters {
    /// The counters of a database.
    pub fn of(db: &DatabaseConnection) -> Arc<WriteCounters> {
        let mut all = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(all.entry(database_key(db)).or_default())
    }

    /// Take it before reading.
    pub fn now(&self) -> WriteCount {
        WriteCount(self.events.load(Ordering::SeqCst))
    }

    /// No write transaction is open, and none opened or ended since `start`.
    pub fn unchanged_since(&self, start: WriteCount) -> bool {
        self.open.load(Ordering::SeqCst) == 0 && self.events.load(Ordering::SeqCst) == start.0
    }
}

/// A write transaction, counted open from before its BEGIN until after its COMMIT or
/// rollback.
struct OpenWrite(Arc<WriteCounters>);

impl OpenWrite {
    fn count(db: &DatabaseConnection) -> OpenWrite {
        let counters = WriteCounters::of(db);
        counters.open.fetch_add(1, Ordering::SeqCst);
        counters.events.fetch_add(1, Ordering::SeqCst);
        OpenWrite(counters)
    }
}

impl Drop for OpenWrite {
    fn drop(&mut self) {
        self.0.events.fetch_add(1, Ordering::SeqCst);
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A writer counted in [`QUEUED`] while it lives.
struct Queued;

impl Queued {
    fn count() -> Queued {
        QUEUED.fetch_add(1, Ordering::AcqRel);
        Queued
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Queues for the lane; the count of queued writers drops again if the caller gives up.
async fn enter() -> OwnedMutexGuard<Lane> {
    let _queued = Queued::count();
    Arc::clone(&LANE).lock_owned().await
}

/// Commits the open batch and tells its moves how it went.
async fn flush(lane: &mut Lane) {
    let Some(batch) = lane.batch.take() else {
        return;
    };
    #[cfg(test)]
    COMMITTED_BATCHES
        .lock()
        .expect("batch record")
        .push((batch.database, batch.members.len()));
    let Batch {
        txn,
        members,
        _open: open,
        ..
    } = batch;
    let outcome = txn.commit().await.map_err(|e| e.to_string());
    drop(open);
    for member in members {
        let _ = member.send(outcome.clone());
    }
}

/// Commits the open batch, if any, in a task of its own (a caller cancelled meanwhile cannot
/// leave it half done: its moves would be told it failed when it may have committed), and
/// gives the lane back.
async fn settled(lane: OwnedMutexGuard<Lane>) -> Result<OwnedMutexGuard<Lane>> {
    if lane.batch.is_none() {
        return Ok(lane);
    }
    tokio::spawn(async move {
        let mut lane = lane;
        flush(&mut lane).await;
        lane
    })
    .await
    .map_err(|e| Error::internal(format!("committing the write batch: {e}")))
}

/// Leaves the lane to the next writer. The open batch is committed (in a task of its own) when
/// no writer is queued or it is full; otherwise the next writer goes on with it, and should the
/// writers counted as queued all give up, a task armed here commits it shortly after.
fn pass_on(mut lane: OwnedMutexGuard<Lane>) {
    let Some(batch) = lane.batch.as_mut() else {
        return;
    };
    // Dropped outside a runtime (at its shutdown) the batch's transaction just rolls back.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if QUEUED.load(Ordering::Acquire) == 0 || batch.members.len() >= MAX_BATCH {
        runtime.spawn(async move { flush(&mut lane).await });
    } else if !batch.flusher_armed {
        batch.flusher_armed = true;
        let generation = batch.generation;
        runtime.spawn(async move {
            tokio::time::sleep(ORPHAN_FLUSH).await;
            let mut lane = Arc::clone(&LANE).lock_owned().await;
            if lane
                .batch
                .as_ref()
                .is_some_and(|b| b.generation == generation)
            {
                flush(&mut lane).await;
            }
        });
    }
}

impl WriteTxn {
    fn new(mode: Mode) -> WriteTxn {
        WriteTxn {
            mode,
            wrote: AtomicBool::new(false),
        }
    }

    /// Commits; a batched move returns once its batch is committed.
    pub async fn commit(mut self) -> std::result::Result<(), DbErr> {
        match std::mem::replace(&mut self.mode, Mode::Batched(None)) {
            Mode::Own { txn, open, .. } => {
                let committed = txn.commit().await;
                drop(open);
                committed
            }
            Mode::Batched(None) | Mode::Single { .. } => Ok(()),
            Mode::Batched(Some(mut lane)) => {
                let (sender, committed) = oneshot::channel();
                let Some(batch) = lane.batch.as_mut() else {
                    return Err(DbErr::Custom("the write batch is gone".into()));
                };
                batch.members.push(sender);
                pass_on(lane);
                match committed.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(reason)) => Err(DbErr::Custom(reason)),
                    Err(_) => Err(DbErr::Custom(
                        "another move of the same batch failed while writing; nothing of \
                         this one was saved"
                            .into(),
                    )),
                }
            }
        }
    }

    pub async fn rollback(mut self) -> std::result::Result<(), DbErr> {
        match std::mem::replace(&mut self.mode, Mode::Batched(None)) {
            Mode::Own { txn, .. } => txn.rollback().await,
            Mode::Batched(lane) => {
                self.leave(lane);
                Ok(())
            }
            Mode::Single { .. } => Ok(()),
        }
    }

    /// A batched move ends without committing: the batch goes on if it wrote nothing, and is
    /// rolled back (dropping its transaction) with every move in it otherwise.
    fn leave(&self, lane: Option<OwnedMutexGuard<Lane>>) {
        let Some(mut lane) = lane else { return };
        if self.wrote.load(Ordering::Acquire) {
            lane.batch = None;
        } else {
            pass_on(lane);
        }
    }

    /// For a batched move that may fail after writing, and writes only into this: a savepoint
    /// of the batch, which [`WriteTxn::undo`] undoes alone (commit it before the move). `None`
    /// for a transaction of its own, which the move's failure undoes anyway. Until it is undone,
    /// the move counts as having written: should it vanish (cancelled), its batch goes too.
    pub async fn savepoint(&self) -> std::result::Result<Option<DatabaseTransaction>, DbErr> {
        match &self.mode {
            Mode::Own { .. } | Mode::Single { .. } => Ok(None),
            Mode::Batched(_) => {
                self.wrote.store(true, Ordering::Release);
                Ok(Some(self.txn()?.begin().await?))
            }
        }
    }

    /// Rolls a [`WriteTxn::savepoint`] back: the move has then written nothing.
    pub async fn undo(&self, savepoint: DatabaseTransaction) -> std::result::Result<(), DbErr> {
        savepoint.rollback().await?;
        self.wrote.store(false, Ordering::Release);
        Ok(())
    }

    fn txn(&self) -> std::result::Result<&DatabaseTransaction, DbErr> {
        match &self.mode {
            Mode::Own { txn, .. } => Ok(txn),
            Mode::Batched(Some(lane)) => lane
                .batch
                .as_ref()
                .map(|batch| &batch.txn)
                .ok_or_else(|| DbErr::Custom("the write batch is gone".into())),
            Mode::Batched(None) => Err(DbErr::Custom("the transaction has ended".into())),
            Mode::Single { .. } => Err(DbErr::Custom(
                "a single write runs its one statement through WriteTxn::spends".into(),
            )),
        }
    }

    /// Where the one statement of a [`begin_single`] write goes, with others;
    /// `None` for any other transaction, which the caller then writes into as usual.
    pub(super) fn spends(&self) -> Option<&Spends> {
        match &self.mode {
            Mode::Single {
                spends, written, ..
            } if !written.swap(true, Ordering::AcqRel) => Some(spends),
            _ => None,
        }
    }

    /// What it wrote so far changed no row (an UPDATE that matched none): should the move end
    /// now, its batch goes on without it.
    pub(super) fn changed_nothing(&self) {
        self.wrote.store(false, Ordering::Release);
    }

    fn note(&self, sql: &str) {
        if !is_select(sql) {
            self.wrote.store(true, Ordering::Release);
        }
    }
}

fn is_select(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or_default();
    head.eq_ignore_ascii_case("select")
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        if let Mode::Batched(lane) = std::mem::replace(&mut self.mode, Mode::Batched(None)) {
            self.leave(lane);
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        match &self.mode {
            Mode::Own { txn, .. } => txn.get_database_backend(),
            Mode::Batched(_) => DbBackend::Sqlite,
            Mode::Single { backend, .. } => *backend,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> std::result::Result<ExecResult, DbErr> {
        self.note(&stmt.sql);
        self.txn()?.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> std::result::Result<ExecResult, DbErr> {
        self.note(sql);
        self.txn()?.execute_unprepared(sql).await
    }

    async fn query_one_raw(
        &self,
        stmt: Statement,
    ) -> std::result::Result<Option<QueryResult>, DbErr> {
        self.note(&stmt.sql);
        self.txn()?.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> std::result::Result<Vec<QueryResult>, DbErr> {
        self.note(&stmt.sql);
        self.txn()?.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        match &self.mode {
            Mode::Single { .. } => true,
            _ => self.txn().is_ok_and(|txn| txn.support_returning()),
        }
    }
}

/// Commits a batch left open (at stop, before the write-ahead log is checkpointed).
pub(super) async fn settle() -> Result<()> {
    settled(enter().await).await.map(drop)
}

#[cfg(test)]
mod tests;
