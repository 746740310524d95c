//! The database: connecting, migrating under a lock, transactions, and one module of row reads
//! and writes per table family. No rules live here; the services decide what to write.

pub mod audit;
pub mod clients;
pub mod diagrams;
pub mod keys;
pub mod policy;
pub mod processes;
pub mod revocations;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, Set, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::config::Config;
use crate::{Error, Result};

/// The channel on which PostgreSQL instances announce changes to each other.
pub const CHANGES_CHANNEL: &str = "flowgate_changes";

/// Opens the pool. SQLite runs in WAL mode with a busy timeout so readers never block writers.
pub async fn connect(config: &Config) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(if is_sqlite(&config.database_url) {
            8
        } else {
            config.max_connections
        })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Ok(Database::connect(options).await?)
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
        // Blocks until the other instance is done: keep it off the async threads.
        tokio::task::spawn_blocking(move || -> Result<SetupLock> {
            let file = std::fs::File::create(format!("{path}.lock"))
                .map_err(|e| Error::internal(format!("cannot create {path}.lock: {e}")))?;
            file.lock()
                .map_err(|e| Error::internal(format!("cannot lock {path}.lock: {e}")))?;
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

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Ok(Migrator::up(db, None).await?)
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
    let row = entity::change_counter::Entity::find_by_id(1)
        .one(db)
        .await?;
    Ok(row.map(|r| r.version).unwrap_or(0))
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

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads first cannot upgrade once another
/// connection has committed (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// Writes SQLite's write-ahead log into the database file and empties it (no-op elsewhere).
pub async fn checkpoint(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(())
}

/// `SELECT 1`, for the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.ping()
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))
}
