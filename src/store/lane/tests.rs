//! The write lane: what is committed together, and when each move is answered.

use super::*;
use sea_orm::{ConnectOptions, Database};

use super::TEST_TURNS as TURNS;

async fn database(folder: &tempfile::TempDir) -> DatabaseConnection {
    let url = format!("sqlite://{}/lane.db?mode=rwc", folder.path().display());
    let mut options = ConnectOptions::new(url);
    options.max_connections(4).sqlx_logging(false);
    let db = Database::connect(options).await.expect("connects");
    db.execute_unprepared(
        "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)",
    )
    .await
    .expect("table");
    db
}

async fn insert(txn: &WriteTxn, n: i64) {
    txn.execute_unprepared(&format!("INSERT INTO t (n) VALUES ({n})"))
        .await
        .expect("insert");
}

/// What another connection sees committed.
async fn committed(db: &DatabaseConnection) -> Vec<i64> {
    db.query_all_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT n FROM t ORDER BY n",
    ))
    .await
    .expect("select")
    .iter()
    .map(|row| row.try_get_by_index(0).expect("n"))
    .collect()
}

/// The lane to this test, a new database, and a first move that wrote 1 and is not
/// committed yet (the folder holds the database: keep it until the end).
async fn first_move() -> (
    tokio::sync::MutexGuard<'static, ()>,
    tempfile::TempDir,
    DatabaseConnection,
    WriteTxn,
) {
    let turn = TURNS.lock().await;
    let folder = tempfile::tempdir().expect("folder");
    let db = database(&folder).await;
    let first = begin_batched(&db).await.expect("begins");
    insert(&first, 1).await;
    (turn, folder, db, first)
}

/// A batched move, in a task of its own, that writes `n` and commits.
fn spawn_move(
    db: &DatabaseConnection,
    n: i64,
) -> tokio::task::JoinHandle<std::result::Result<(), DbErr>> {
    let db = db.clone();
    tokio::spawn(async move {
        let txn = begin_batched(&db).await.expect("begins");
        insert(&txn, n).await;
        txn.commit().await
    })
}

/// Waits until `n` writers are queued for the lane.
async fn queued(n: usize) {
    while QUEUED.load(Ordering::Acquire) < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_move_is_answered_only_once_its_batch_is_committed() {
    let _turn = TURNS.lock().await;
    let folder = tempfile::tempdir().expect("folder");
    let db = database(&folder).await;
    let movers = (1..=40).map(|n| {
        let db = db.clone();
        tokio::spawn(async move {
            let txn = begin_batched(&db).await.expect("begins");
            insert(&txn, n).await;
            txn.commit().await.expect("commits");
            // Answered: another connection must see it now.
            assert!(committed(&db).await.contains(&n), "move {n} not committed");
        })
    });
    for mover in movers.collect::<Vec<_>>() {
        mover.await.expect("mover");
    }
    assert_eq!(committed(&db).await, (1..=40).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_holds_at_most_its_bound_and_is_committed_when_nobody_waits() {
    let (_turn, _folder, db, first) = first_move().await;
    // Only batches recorded from here on: a database of an earlier test, dropped since, may
    // have had this one's key (an address).
    let earlier = COMMITTED_BATCHES.lock().expect("batch record").len();
    let movers = 2 * MAX_BATCH + 1;
    // All queued behind the first move before it lets go of the lane, so that nothing but
    // the bound ends a batch until the last of them.
    let handles: Vec<_> = (2..=movers as i64 + 1)
        .map(|n| spawn_move(&db, n))
        .collect();
    queued(movers).await;
    first.commit().await.expect("commits");
    for handle in handles {
        handle.await.expect("mover").expect("commits");
    }
    assert_eq!(committed(&db).await.len(), movers + 1);
    let database = database_key(&db);
    let sizes: Vec<usize> = COMMITTED_BATCHES
        .lock()
        .expect("batch record")
        .iter()
        .skip(earlier)
        .filter(|(of, _)| *of == database)
        .map(|(_, moves)| *moves)
        .collect();
    assert_eq!(sizes, vec![MAX_BATCH, MAX_BATCH, 2]);
    assert_eq!(
        QUEUED.load(Ordering::Acquire),
        0,
        "nobody left counted as queued"
    );
}

/// At stop, a batch left open is committed at once, not when the flusher comes round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_commits_the_open_batch() {
    let (_turn, _folder, db, first) = first_move().await;
    let phantom = Queued::count(); // so that passing on leaves the batch open
    let answered = tokio::spawn(first.commit());
    settle().await.expect("settles");
    let seen = committed(&db).await;
    drop(phantom);
    assert_eq!(seen, vec![1]);
    answered.await.expect("first").expect("commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_another_database_does_not_join_the_open_batch() {
    let (_turn, _folder, db, first) = first_move().await;
    let elsewhere_folder = tempfile::tempdir().expect("folder");
    let elsewhere = database(&elsewhere_folder).await;
    let second = spawn_move(&elsewhere, 2);
    queued(1).await;
    first.commit().await.expect("commits");
    second.await.expect("second").expect("commits");
    assert_eq!(committed(&db).await, vec![1]);
    assert_eq!(committed(&elsewhere).await, vec![2]);
}

/// Another process writing to the same file (it does not queue in this one's lane) waits for
/// a write transaction that has begun: a transaction that began deferred and read first could
/// not write once the other committed (SQLITE_BUSY_SNAPSHOT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_holds_the_write_lock_from_its_start() {
    let _turn = TURNS.lock().await;
    let folder = tempfile::tempdir().expect("folder");
    let db = database(&folder).await;
    let other_process = database(&folder).await;
    for (round, batched) in [false, true].into_iter().enumerate() {
        let round = round as i64;
        let txn = if batched {
            begin_batched(&db).await
        } else {
            begin_write(&db).await
        }
        .expect("begins");
        // It reads first, and sees what was committed before it began.
        let rows = txn
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT n FROM t"))
            .await
            .expect("reads")
            .len() as i64;
        let count: i64 = txn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) FROM t",
            ))
            .await
            .expect("reads")
            .expect("a row")
            .try_get_by_index(0)
            .expect("count");
        assert_eq!((rows, count), (2 * round, 2 * round));
        let outside = tokio::spawn({
            let other_process = other_process.clone();
            async move {
                other_process
                    .execute_unprepared(&format!("INSERT INTO t (n) VALUES ({})", 100 + round))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !outside.is_finished(),
            "the other writer waits (batched: {batched})"
        );
        insert(&txn, round + 1).await;
        txn.commit().await.expect("commits");
        outside
            .await
            .expect("outside")
            .expect("writes once the lock is free");
    }
    assert_eq!(committed(&db).await, vec![1, 2, 100, 101]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_left_behind_by_a_writer_that_gave_up_is_committed_shortly() {
    let (_turn, _folder, db, first) = first_move().await;
    // A writer counted as queued that never takes its turn (cancelled while it waited):
    // passing on, the first move leaves the batch open for it.
    let phantom = Queued::count();
    let outcome = tokio::time::timeout(Duration::from_secs(10), first.commit()).await;
    drop(phantom);
    outcome
        .expect("committed by the orphan flusher, not left open")
        .expect("commits");
    assert_eq!(committed(&db).await, vec![1]);
    // The flusher armed for that batch leaves the next one to its own writers.
    spawn_move(&db, 2).await.expect("move").expect("commits");
    assert_eq!(committed(&db).await, vec![1, 2]);
}

/// Queued behind a first move that wrote 1, in order: `leaving`, a move that ends without
/// committing, and then a move that writes 2. Both writing moves must commit; returns what was
/// committed.
async fn behind_a_move_that_leaves<F>(leaving: impl FnOnce(DatabaseConnection) -> F) -> Vec<i64>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (_turn, _folder, db, first) = first_move().await;
    let leaving = tokio::spawn(leaving(db.clone()));
    queued(1).await;
    let second = spawn_move(&db, 2);
    queued(2).await;
    first.commit().await.expect("the first move commits");
    leaving.await.expect("leaving");
    second
        .await
        .expect("second")
        .expect("the second move commits");
    committed(&db).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_refused_before_writing_leaves_its_batch_alone() {
    // One that reads and gives up.
    let committed = behind_a_move_that_leaves(|db| async move {
        let txn = begin_batched(&db).await.expect("begins");
        self::committed(&db).await;
        txn.rollback().await.expect("leaves");
    });
    assert_eq!(committed.await, vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_whose_write_changed_nothing_leaves_its_batch_alone() {
    // An UPDATE that matches no row (a code spent meanwhile).
    let committed = behind_a_move_that_leaves(|db| async move {
        let txn = begin_batched(&db).await.expect("begins");
        let done = txn
            .execute_unprepared("UPDATE t SET n = 9 WHERE n = 5")
            .await
            .expect("update");
        assert_eq!(done.rows_affected(), 0);
        txn.changed_nothing();
        txn.rollback().await.expect("leaves");
    });
    assert_eq!(committed.await, vec![1, 2]);
}

/// A first move writes 1; a second, queued behind it in the same batch, writes 2 into a
/// savepoint and then undoes it, or vanishes without. What the first move's commit said,
/// and what was committed.
async fn behind_a_savepoint(undo: bool) -> (std::result::Result<(), DbErr>, Vec<i64>) {
    let (_turn, _folder, db, first) = first_move().await;
    let second = tokio::spawn({
        let db = db.clone();
        async move {
            let txn = begin_batched(&db).await.expect("begins");
            let part = txn.savepoint().await.expect("savepoint").expect("batched");
            part.execute_unprepared("INSERT INTO t (n) VALUES (2)")
                .await
                .expect("insert");
            if undo {
                txn.undo(part).await.expect("undone");
                txn.rollback().await.expect("leaves");
            } // else: cancelled before it could undo its savepoint
        }
    });
    queued(1).await;
    let outcome = first.commit().await;
    second.await.expect("second");
    (outcome, committed(&db).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_undone_in_its_savepoint_leaves_its_batch_alone() {
    let (outcome, committed) = behind_a_savepoint(true).await;
    outcome.expect("the first move commits");
    assert_eq!(committed, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_vanishing_inside_its_savepoint_takes_its_batch_back() {
    let (outcome, committed) = behind_a_savepoint(false).await;
    assert!(outcome.is_err(), "the first move must not report a commit");
    assert_eq!(committed, Vec::<i64>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_failing_after_writing_takes_its_whole_batch_back() {
    let (_turn, _folder, db, first) = first_move().await;
    let failing = tokio::spawn({
        let db = db.clone();
        async move {
            let txn = begin_batched(&db).await.expect("begins");
            insert(&txn, 2).await;
            drop(txn); // fails (or is cancelled) after writing
        }
    });
    queued(1).await;
    let outcome = first.commit().await;
    failing.await.expect("failing");
    assert!(outcome.is_err(), "the first move must not report a commit");
    assert_eq!(committed(&db).await, Vec::<i64>::new());
    // The lane goes on: a new batch commits.
    spawn_move(&db, 3).await.expect("move").expect("commits");
    assert_eq!(committed(&db).await, vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_of_its_own_commits_the_open_batch_first() {
    let (_turn, _folder, db, first) = first_move().await;
    let own = tokio::spawn({
        let db = db.clone();
        async move {
            let txn = begin_write(&db).await.expect("begins");
            let seen = committed(&db).await;
            insert(&txn, 2).await;
            txn.commit().await.expect("commits");
            seen
        }
    });
    queued(1).await;
    first.commit().await.expect("commits");
    assert_eq!(
        own.await.expect("own"),
        vec![1],
        "the batch was committed before it"
    );
    assert_eq!(committed(&db).await, vec![1, 2]);
}
