//! PostgreSQL's sole-server lease (the migration `sole_server` says what it is and how the
//! database fences writers with it): the statements of the connection that holds it, and the
//! name that tells this server's pooled connections from other writers'. When to take it, keep
//! it and give it up is [`crate::services::sole`]'s.

use std::sync::LazyLock;
use std::time::Duration;

use migration::{SERVER_SETTING, SOLE_SERVER_LOCK};
use sea_orm::sqlx::{self, ConnectOptions, PgConnection};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};

/// A fresh name for a server's pooled connections, as the `options` of their start-up.
pub(super) fn server_setting() -> (&'static str, String) {
    (SERVER_SETTING, uuid::Uuid::new_v4().simple().to_string())
}

/// The name the pool's connections carry (set by [`super::connect`] on PostgreSQL).
fn server_name(db: &DatabaseConnection) -> Option<String> {
    let options = db.get_postgres_connection_pool().connect_options();
    let prefix = format!("{SERVER_SETTING}=");
    options
        .get_options()?
        .split_whitespace()
        .find_map(|option| option.strip_prefix(&prefix))
        .map(str::to_owned)
}

/// The lock's rows in `pg_locks` on this database, with `and` added to the condition.
fn lock_rows(and: &str) -> String {
    let (class, object) = SOLE_SERVER_LOCK;
    format!(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = \
         (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid = {class} AND objid = {object} AND objsubid = 2 AND {and}"
    )
}

/// This session holds the lock exclusively (so a statement run through a proxy on another
/// session never counts as the holder's).
fn held_here() -> String {
    lock_rows("pid = pg_backend_pid() AND mode = 'ExclusiveLock' AND granted")
}

/// The connection that holds this server's part of the lock: shared while others may write,
/// exclusive while it is sole.
pub struct LeaseConnection {
    conn: PgConnection,
    server: String,
}

impl LeaseConnection {
    /// Opens a connection as the pool's are opened (address, credentials, TLS). `None` where
    /// the pool's connections carry no server name (not PostgreSQL, or not opened by
    /// [`super::connect`]).
    pub async fn open(db: &DatabaseConnection) -> Result<Option<LeaseConnection>, DbErr> {
        let Some(server) = server_name(db) else {
            return Ok(None);
        };
        let options = db.get_postgres_connection_pool().connect_options();
        let conn = options.connect().await.map_err(sqlx_error)?;
        Ok(Some(LeaseConnection { conn, server }))
    }

    /// Holds the lock shared for the session's life: other servers know this one may write.
    /// Waits while another server is sole, which steps down when it sees the wait.
    pub async fn be_present(&mut self) -> Result<(), DbErr> {
        self.on_lock("SELECT true FROM (SELECT pg_advisory_lock_shared($1, $2)) AS held")
            .await?;
        Ok(())
    }

    /// Takes the lock exclusively and the lease with it, for `lease` from the database's clock
    /// now, if no other session holds the lock (no other server, no write of another's open).
    /// Two statements: a lock taken in an `UPDATE`'s condition could be taken twice, should
    /// the row be re-read.
    pub async fn try_take(&mut self, lease: Duration) -> Result<bool, DbErr> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sole_server SET holder = $1, \
                 until = clock_timestamp() + $2 * interval '1 millisecond' \
                 WHERE id = 1 AND EXISTS ({held}) RETURNING 1",
                held = held_here(),
            )
        });
        let taken = self.on_lock("SELECT pg_try_advisory_lock($1, $2)").await?;
        Ok(taken && self.lease_statement(&SQL, lease).await?)
    }

    /// Extends the lease by `lease` from now, unless a writer or another server waits for the
    /// lock (then it is time to step down), or this session no longer holds it.
    pub async fn renew(&mut self, lease: Duration) -> Result<bool, DbErr> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sole_server SET until = clock_timestamp() + $2 * interval '1 millisecond' \
                 WHERE id = 1 AND holder = $1 AND NOT EXISTS ({waiting}) AND EXISTS ({held}) \
                 RETURNING 1",
                waiting = lock_rows("NOT granted"),
                held = held_here(),
            )
        });
        self.lease_statement(&SQL, lease).await
    }

    /// Ends the lease and lets the exclusive lock go, keeping the shared one: a writer waiting
    /// for it then goes on at once. Call once this server serves nothing unchecked.
    pub async fn give_up(&mut self) -> Result<(), DbErr> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sole_server SET holder = NULL, until = '-infinity' \
                 WHERE id = 1 AND holder = $1 AND EXISTS ({held})",
                held = held_here(),
            )
        });
        sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(&self.server)
            .execute(&mut self.conn)
            .await
            .map_err(sqlx_error)?;
        self.on_lock("SELECT pg_advisory_unlock($1, $2)").await?;
        Ok(())
    }

    /// Runs a statement of the advisory lock's functions, given its keys; its one `bool`.
    async fn on_lock(&mut self, sql: &'static str) -> Result<bool, DbErr> {
        let (class, object) = SOLE_SERVER_LOCK;
        sqlx::query_scalar(sql)
            .bind(class)
            .bind(object)
            .fetch_one(&mut self.conn)
            .await
            .map_err(sqlx_error)
    }

    /// Runs an `UPDATE … RETURNING 1` of the lease with the server's name and the lease's
    /// length; whether it updated the row.
    async fn lease_statement(&mut self, sql: &str, lease: Duration) -> Result<bool, DbErr> {
        let millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.server)
            .bind(millis)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sqlx_error)?;
        Ok(row.is_some())
    }
}

fn sqlx_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(err)))
}
