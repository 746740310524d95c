//! Every database query and transaction. Management changes run in one transaction together with
//! their audit row and a bump of the change counter that other instances poll.

pub mod audit;
pub mod clients;
pub mod diagrams;
pub mod keys;
pub mod policy;
pub mod processes;
pub mod revocations;
mod seed;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub use seed::Bootstrap;

use crate::config::Config;
use crate::{Error, Result};

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

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Applies pending migrations and, on an empty database, seeds roles, the default policy, a
/// signing key and the bootstrap admin client (whose one-time credentials are returned).
///
/// Runs under a lock so that instances starting together cannot race: a PostgreSQL advisory lock
/// held by a transaction, or a lock file beside the SQLite database.
pub async fn migrate(db: &DatabaseConnection, config: &Config) -> Result<Option<Bootstrap>> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let lock = db.begin().await?;
            lock.execute_unprepared("SELECT pg_advisory_xact_lock(7020411101)")
                .await?;
            Migrator::up(db, None).await?;
            let bootstrap = seed::seed_if_empty(db).await?;
            lock.commit().await?;
            Ok(bootstrap)
        }
        _ => {
            let url = config.database_url.clone();
            let _lock = tokio::task::spawn_blocking(move || sqlite_lock_file(&url))
                .await
                .map_err(|e| Error::Internal(format!("migration lock: {e}")))??;
            Migrator::up(db, None).await?;
            seed::seed_if_empty(db).await
        }
    }
}

/// An exclusive lock on `<database>.lock`, released when the file is dropped. Blocks: call it
/// off the async threads.
fn sqlite_lock_file(url: &str) -> Result<Option<std::fs::File>> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Ok(None);
    }
    let file = std::fs::File::create(format!("{path}.lock"))
        .map_err(|e| Error::Internal(format!("cannot create migration lock: {e}")))?;
    file.lock()
        .map_err(|e| Error::Internal(format!("cannot take migration lock: {e}")))?;
    Ok(Some(file))
}

/// The change counter: every instance reloads its in-memory view when this moves.
pub async fn change_version(db: &impl ConnectionTrait) -> Result<i64> {
    let row = entity::change_counter::Entity::find_by_id(1)
        .one(db)
        .await?;
    Ok(row.map(|r| r.version).unwrap_or(0))
}

/// Marks a change that other instances must pick up. Call inside the change's transaction.
pub async fn bump_version(db: &impl ConnectionTrait) -> Result<()> {
    db.execute_unprepared("UPDATE change_counter SET version = version + 1 WHERE id = 1")
        .await?;
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

/// `SELECT 1`, for the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.ping().await.map_err(Error::Unavailable)
}
