//! The database: connecting, migrating under a lock, transactions, and one module of row reads
//! and writes per table family. No rules live here; the services decide what to write.

pub mod audit;
mod autocommit;
mod claim;
pub mod clients;
pub mod diagnose;
pub mod diagrams;
pub mod flow_requests;
pub mod grants;
mod group;
pub mod keys;
mod lane;
pub mod policy;
pub mod processes;
pub mod revocations;
pub mod sessions;
mod sole;
mod spends;
mod sql_once;
pub mod users;
mod versions;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, Set, TransactionTrait,
};

pub use autocommit::Autocommit;
pub use claim::ServerClaim;
#[cfg(test)]
pub(crate) use lane::TEST_TURNS;
use lane::begin_immediate;
pub use lane::{WriteCount, WriteCounters, WriteTxn, begin_batched, begin_single, begin_write};
pub use sole::LeaseConnection;
pub use spends::Spends;
pub use versions::Versions;

use crate::config::Config;
use crate::{Error, Result};

/// The channel on which PostgreSQL instances announce changes to each other.
pub const CHANGES_CHANNEL: &str = "flowgate_changes";

/// Opens the pool. SQLite runs in WAL mode with a busy timeout so readers never block writers.
/// A failure says what was tried, why it failed and what to do.
pub async fn connect(config: &Config) -> Result<DatabaseConnection> {
    let url = config.database_url.as_str();
    diagnose::check_url(url)?;
    if let Some(path) = sqlite_path(url) {
        diagnose::check_sqlite_folder(url, path)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    let server = sole::server_setting();
    options
        .max_connections(pooled_connections(config))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // 1 MiB of page cache per connection (SQLite's default is 2 MiB): 8 MiB for
                // the pool at most; the operating system caches the file as well.
                .pragma("cache_size", "-1024")
        })
        // Names the server on each connection, so that the database tells its writes from
        // other servers' (the sole-server fence, `store::sole`).
        .map_sqlx_postgres_opts(move |opts| opts.options([server.clone()]));
    if is_sqlite(url) {
        // A pooled SQLite connection is a file handle and cannot be lost the way a network
        // connection can: pinging it on every checkout would cost one more round trip to its
        // worker thread per query, about a quarter of a read's time.
        options.test_before_acquire(false);
    } else {
        // A PostgreSQL connection can be lost (a restart, a proxy's idle timeout), so one left
        // idle is pinged before use; one in steady use is not. sqlx pings each connection as it
        // goes back to the pool already: a ping at every checkout as well made each checkout
        // three round trips to the server instead of two.
        options.test_before_acquire_if_idle_for(Duration::from_secs(1));
    }
    match Database::connect(options).await {
        Ok(db) => Ok(db),
        Err(err) => Err(diagnose::open_failure(url, err).await),
    }
}

/// The pool's connections. On PostgreSQL, `max_connections` (a budget of the server's) less
/// those held for statements that run alone; on SQLite two a core, with the held ones (threads
/// of ours) on top, so that the write lane's batch and the other reads keep the pool they had.
fn pooled_connections(config: &Config) -> u32 {
    if is_sqlite(&config.database_url) {
        sqlite_pool_size()
    } else {
        config.max_connections - held_connections(config)
    }
}

/// The connections held for statements that run alone, see [`Autocommit`]: a quarter of
/// `max_connections` or of the SQLite pool, at least two, of four or more. None for a database
/// in memory, which each connection sees as its own.
fn held_connections(config: &Config) -> u32 {
    let url = &config.database_url;
    let connections = if !is_sqlite(url) {
        config.max_connections
    } else if sqlite_path(url).is_some() {
        sqlite_pool_size()
    } else {
        0
    };
    if connections < 4 {
        0
    } else {
        (connections / 4).max(2)
    }
}

/// Where statements that run alone go: connections held out of the pool.
pub fn autocommit(db: &DatabaseConnection, config: &Config) -> Autocommit {
    Autocommit::new(db, held_connections(config))
}

/// SQLite connections: two a core. Each has a worker thread of its own, and a query is a round
/// trip to it: more threads than that only switch among themselves (on two cores, 8
/// connections read 9,600 instances/s at 64 clients, 4 read 13,100/s; see BENCHMARKS.md).
fn sqlite_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    (2 * cores).clamp(4, 16)
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The path of a SQLite database URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

/// Held while migrating and seeding, so that instances starting together cannot race: a lock
/// file beside a SQLite database (taken before the first connection, which may switch the file
/// to WAL mode), or a PostgreSQL advisory lock held by a transaction.
pub enum SetupLock {
    None,
    File(std::fs::File),
    Postgres(DatabaseTransaction),
}

impl SetupLock {
    /// The file lock for a SQLite database; call before connecting.
    pub async fn before_connect(url: &str) -> Result<SetupLock> {
        let Some(path) = sqlite_path(url).map(str::to_owned) else {
            return Ok(SetupLock::None);
        };
        diagnose::check_url(url)?;
        diagnose::check_sqlite_folder(url, &path)?;
        // Blocks until the other instance is done: keep it off the async threads.
        tokio::task::spawn_blocking(move || -> Result<SetupLock> {
            let file = private_file(&format!("{path}.lock")).map_err(|e| {
                Error::Unavailable(format!(
                    "cannot create the lock file {path}.lock beside the database: {e}. The \
                     database's folder must be writable."
                ))
            })?;
            file.lock()
                .map_err(|e| Error::internal(format!("cannot lock {path}.lock: {e}")))?;
            // A new database file is created readable by its owner only; SQLite gives its
            // write-ahead log and shared-memory files the same permissions.
            if !std::path::Path::new(&path).exists() {
                private_file(&path).map_err(|e| {
                    Error::Unavailable(format!("cannot create the database file {path}: {e}"))
                })?;
            }
            Ok(SetupLock::File(file))
        })
        .await
        .map_err(|e| Error::internal(format!("setup lock: {e}")))?
    }

    /// The advisory lock on PostgreSQL (a no-op elsewhere, where the file lock is held).
    pub async fn after_connect(self, db: &DatabaseConnection) -> Result<SetupLock> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(self);
        }
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7020411101)")
            .await?;
        Ok(SetupLock::Postgres(txn))
    }

    pub async fn release(self) -> Result<()> {
        if let SetupLock::Postgres(txn) = self {
            txn.commit().await?;
        }
        Ok(())
    }
}

/// Opens (creating if needed) a file only its owner may read and write (0600).
fn private_file(path: &str) -> std::io::Result<std::fs::File> {
    private_options().write(true).truncate(false).open(path)
}

/// Options that open for reading and create a file only its owner may read and write (0600);
/// the caller adds how it writes.
fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection, url: &str) -> Result<()> {
    Migrator::up(db, None)
        .await
        .map_err(|err| diagnose::failure(url, "migrate", err))
}

/// A migrated SQLite database in memory, for unit tests below the HTTP layer.
#[cfg(test)]
pub(crate) async fn in_memory() -> DatabaseConnection {
    let mut options = ConnectOptions::new("sqlite::memory:");
    // One connection: each of `sqlite::memory:`'s connections has its own database.
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.expect("connects");
    migrate(&db, "sqlite::memory:").await.expect("migrates");
    db
}

/// Fails, saying why, when the database cannot be written (a read-only file or mode).
pub async fn check_writable(db: &DatabaseConnection, url: &str) -> Result<()> {
    let probe = async {
        let txn = begin_immediate(db).await?;
        txn.execute_unprepared("UPDATE change_counter SET version = version WHERE id = 1")
            .await?;
        txn.rollback().await
    };
    probe
        .await
        .map_err(|err| diagnose::failure(url, "write to", err))
}

/// Whether the database was seeded (the change counter exists from the first start on).
pub async fn is_seeded(db: &impl ConnectionTrait) -> Result<bool> {
    Ok(entity::change_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .is_some())
}

/// The change counter's row, written last by the seeding transaction.
pub async fn insert_change_counter(db: &impl ConnectionTrait) -> Result<()> {
    entity::change_counter::ActiveModel {
        id: Set(1),
        version: Set(1),
        revocations: Set(0),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn insert_role(db: &impl ConnectionTrait, name: &str, description: &str) -> Result<()> {
    entity::role::ActiveModel {
        name: Set(name.to_owned()),
        description: Set(description.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The change counter: every instance reloads its in-memory view when this moves.
pub async fn change_version(db: &impl ConnectionTrait) -> Result<i64> {
    Ok(counters(db).await?.version)
}

/// Both counters, as one query reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Moves with every change that makes instances reload their view.
    pub version: i64,
    /// Moves with every revocation, which instances apply without reloading.
    pub revocations: i64,
}

/// The change version and the revocation counter, in one query.
pub async fn counters(db: &impl ConnectionTrait) -> Result<Counters> {
    let row = entity::change_counter::Entity::find_by_id(1)
        .one(db)
        .await?;
    Ok(row
        .map(|r| Counters {
            version: r.version,
            revocations: r.revocations,
        })
        .unwrap_or_default())
}

/// Counts one more revocation and returns the new value (the `seq` of the rows written with
/// it). Call inside the revocation's transaction: the counter's row stays locked until it
/// commits, so revocations become visible in the order of their numbers. On PostgreSQL the
/// other instances are notified at the commit.
pub async fn bump_revocations(db: &impl ConnectionTrait) -> Result<i64> {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Bumped {
        revocations: i64,
    }
    let sql = "UPDATE change_counter SET revocations = revocations + 1 WHERE id = 1 \
               RETURNING revocations";
    let bumped = Bumped::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("the change counter is missing"))?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("NOTIFY {CHANGES_CHANNEL}"))
            .await?;
    }
    Ok(bumped.revocations)
}

/// Marks a change that other instances must pick up. Call inside the change's transaction; on
/// PostgreSQL the notification is delivered when it commits.
pub async fn bump_version(db: &impl ConnectionTrait) -> Result<()> {
    db.execute_unprepared("UPDATE change_counter SET version = version + 1 WHERE id = 1")
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("NOTIFY {CHANGES_CHANNEL}"))
            .await?;
    }
    Ok(())
}

/// Commits a batch of moves left open, then writes SQLite's write-ahead log into the database
/// file and empties it (no-op elsewhere).
/// A reader still inside a transaction (a background task finishing its poll) keeps the
/// checkpoint from completing: it is retried for up to a second.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    lane::settle().await?;
    for _ in 0..50 {
        let statement =
            sea_orm::Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)");
        let busy = db
            .query_one_raw(statement)
            .await?
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0);
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(Error::Unavailable(
        "the write-ahead log stayed busy; it is written back at the next start".into(),
    ))
}

/// `SELECT 1`, for the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.ping()
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

    use super::{held_connections, pooled_connections, sqlite_pool_size};
    use crate::config::Config;

    fn config(database_url: &str, max_connections: u32) -> Config {
        Config {
            database_url: database_url.into(),
            max_connections,
            ..Config::default()
        }
    }

    #[test]
    fn postgres_holds_a_quarter_of_its_connections_and_sqlite_a_quarter_more() {
        let pg = |max| config("postgres://db.example/flowgate", max);
        assert_eq!(
            (held_connections(&pg(16)), pooled_connections(&pg(16))),
            (4, 12)
        );
        assert_eq!(
            (held_connections(&pg(4)), pooled_connections(&pg(4))),
            (2, 2)
        );
        assert_eq!(
            (held_connections(&pg(3)), pooled_connections(&pg(3))),
            (0, 3)
        );
        let file = config("sqlite://flowgate.db?mode=rwc", 16);
        assert_eq!(pooled_connections(&file), sqlite_pool_size());
        assert_eq!(held_connections(&file), (sqlite_pool_size() / 4).max(2));
        let memory = config("sqlite::memory:", 16);
        assert_eq!(
            held_connections(&memory),
            0,
            "each connection would see its own database"
        );
    }

    /// `.cargo/config.toml` compiles the bundled SQLite with the query planner stability
    /// guarantee; without it every statement with a bound LIMIT is re-prepared at each use.
    #[tokio::test]
    async fn sqlite_plans_do_not_depend_on_bound_values() {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("connects");
        let options = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .expect("compile options");
        let options: Vec<String> = options
            .iter()
            .map(|row| row.try_get_by_index(0).expect("text"))
            .collect();
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "SQLite built without ENABLE_QPSG: {options:?}"
        );
    }
}
