//! Statements that run alone, each its own transaction, on connections held out of sqlx's
//! pool: the read of a process instance, the lookup of a step's instance, the read of a code
//! or refresh token with its person before a redemption or rotation, and on PostgreSQL the one
//! write of a group of those (`store::spends`) and the check of a group of kept instances'
//! versions (`store::versions`).
//!
//! sqlx pings a pooled connection each time it goes back to the pool: a Sync and its
//! ReadyForQuery on PostgreSQL, a trip to the worker thread on SQLite. The ping flushes what a
//! cancelled statement left on the connection, and for a statement run alone it doubles the
//! round trips. A held connection needs no ping: sqlx drains what a cancelled statement left at
//! the start of the next one on that connection. A held connection found broken (the server
//! restarted, a proxy dropped it) is closed, and a query is tried once more on a new one. That
//! is safe for the queries that run alone: reads, and the one write of a group of redemptions
//! and rotations (a query: `WITH … UPDATE … RETURNING`), which is all or nothing and spends its
//! codes or tokens, so that a second run after a break that came after the commit finds them
//! spent and changes nothing. Other statements are not tried again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgArguments, PgConnectOptions};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{
    self, AssertSqlSafe, ConnectOptions, Executor, PgConnection, SqliteConnection,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a statement waits for a turn, and a new connection to open: as long as for a
/// pooled connection (`store::connect`), after which the database counts as unavailable.
const WAIT: Duration = Duration::from_secs(5);

/// Runs single statements on held connections, or on the pool where none are held.
#[derive(Clone)]
pub struct Autocommit(Arc<Inner>);

enum Inner {
    Pool(DatabaseConnection),
    Held(Held),
}

struct Held {
    options: Options,
    /// A turn for each connection: statements wait here for any connection, in their order.
    turns: Semaphore,
    /// The connections not in use. Fewer than the turns until each was first needed, or after
    /// one broke: a turn then opens one.
    idle: Mutex<Vec<Conn>>,
}

/// A turn and its connection, which goes back among the idle ones when the lease ends, also
/// when the statement on it was cancelled (the next statement drains what that one left).
struct Lease<'a> {
    held: &'a Held,
    conn: Option<Conn>,
    _turn: SemaphorePermit<'a>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self
                .held
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            idle.push(conn);
        }
    }
}

enum Options {
    Postgres(Arc<PgConnectOptions>),
    Sqlite(Arc<SqliteConnectOptions>),
}

enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// A statement run alone, and what it answers.
trait Alone: Sync {
    type Answer: Send;
    /// A query, which is tried again on a new connection when its held one broke (see the
    /// module), rather than an execution, which is not.
    const QUERY: bool;
    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error>;
    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr>;

    /// As sea-orm reports the error of such a statement.
    fn error(err: sqlx::Error) -> DbErr {
        let err = RuntimeErr::SqlxError(Arc::new(err));
        if Self::QUERY {
            DbErr::Query(err)
        } else {
            DbErr::Exec(err)
        }
    }
}

struct One<'a>(&'a Statement);
struct All<'a>(&'a Statement);
struct Execute<'a>(&'a Statement);
struct Unprepared<'a>(&'a str);

/// A PostgreSQL query of one `int8[]` parameter whose rows are pairs of `int8`s, bound and
/// read by sqlx itself: a group of checks asks about many ids at once, and sea-query's values
/// (one per id) and sea-orm's rows (columns found by name) cost more than the statement's own
/// work.
struct Pairs<'a> {
    sql: &'a str,
    ids: &'a [i64],
}

impl Autocommit {
    /// `held` connections to the database of `db`, each opened when first needed; with none,
    /// statements go to `db`'s pool.
    pub fn new(db: &DatabaseConnection, held: u32) -> Autocommit {
        // `held` first: the detached application (no database) has no backend to ask.
        let options = if held == 0 {
            None
        } else {
            match db.get_database_backend() {
                DbBackend::Postgres => Some(Options::Postgres(
                    db.get_postgres_connection_pool().connect_options(),
                )),
                DbBackend::Sqlite => Some(Options::Sqlite(
                    db.get_sqlite_connection_pool().connect_options(),
                )),
                _ => None,
            }
        };
        Autocommit(Arc::new(match options {
            Some(options) => Inner::Held(Held {
                options,
                turns: Semaphore::new(held as usize),
                idle: Mutex::new(Vec::with_capacity(held as usize)),
            }),
            None => Inner::Pool(db.clone()),
        }))
    }

    /// Runs `sql`, a PostgreSQL query of one `int8[]` parameter (`ids`) whose rows are pairs
    /// of `int8`s.
    pub async fn int8_pairs(&self, sql: &str, ids: &[i64]) -> Result<Vec<(i64, i64)>, DbErr> {
        self.run(Pairs { sql, ids }).await
    }

    async fn run<A: Alone>(&self, op: A) -> Result<A::Answer, DbErr> {
        let held = match &*self.0 {
            Inner::Pool(db) => return op.on_pool(db).await,
            Inner::Held(held) => held,
        };
        let mut lease = held.lease().await?;
        let reused = lease.conn.is_some();
        let outcome = match lease.conn.as_mut() {
            Some(conn) => op.on(conn).await,
            None => held.open(&mut lease.conn, &op).await,
        };
        match outcome {
            Err(err) if broken(&err) => {
                lease.conn = None;
                if !reused || !A::QUERY {
                    return Err(A::error(err));
                }
                tracing::info!(error = %err, "a held database connection broke; opening another");
                held.open(&mut lease.conn, &op).await.map_err(A::error)
            }
            other => other.map_err(A::error),
        }
    }
}

impl Held {
    /// The next turn, with an idle connection if there is one.
    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        use sea_orm::error::ConnAcquireErr;
        let turn = match tokio::time::timeout(WAIT, self.turns.acquire()).await {
            Ok(Ok(turn)) => turn,
            Err(_) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            // Only a closed semaphore refuses, and nothing closes this one.
            Ok(Err(_)) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
        };
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Ok(Lease {
            held: self,
            conn,
            _turn: turn,
        })
    }

    /// Opens a connection into `slot` and runs `op` on it.
    async fn open<A: Alone>(
        &self,
        slot: &mut Option<Conn>,
        op: &A,
    ) -> Result<A::Answer, sqlx::Error> {
        let connect = async {
            Ok(match &self.options {
                Options::Postgres(options) => Conn::Postgres(options.connect().await?),
                Options::Sqlite(options) => Conn::Sqlite(options.connect().await?),
            })
        };
        // A connection that does not open in time counts as the pool's timeout would.
        let conn = slot.insert(
            tokio::time::timeout(WAIT, connect)
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut))?,
        );
        let outcome = op.on(conn).await;
        if outcome.as_ref().is_err_and(broken) {
            *slot = None;
        }
        outcome
    }
}

/// An error that leaves the connection unusable, rather than one the statement caused: the
/// connection was lost, or the conversation on it went astray.
fn broken(err: &sqlx::Error) -> bool {
    crate::error::sqlx_connection_lost(err) || matches!(err, sqlx::Error::Protocol(_))
}

/// The same call on either backend's connection.
macro_rules! on_either {
    ($conn:expr, $c:ident => $call:expr) => {
        match $conn {
            Conn::Postgres($c) => $call,
            Conn::Sqlite($c) => $call,
        }
    };
}

impl Alone for One<'_> {
    const QUERY: bool = true;
    type Answer = Option<QueryResult>;

    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error> {
        Ok(on_either!(conn, c => query(self.0).fetch_optional(c).await?.map(Into::into)))
    }

    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr> {
        db.query_one_raw(self.0.clone()).await
    }
}

impl Alone for All<'_> {
    const QUERY: bool = true;
    type Answer = Vec<QueryResult>;

    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error> {
        Ok(on_either!(conn, c => query(self.0)
            .fetch_all(c)
            .await?
            .into_iter()
            .map(Into::into)
            .collect()))
    }

    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr> {
        db.query_all_raw(self.0.clone()).await
    }
}

impl Pairs<'_> {
    fn query(&self) -> sqlx::query::QueryAs<'_, sqlx::Postgres, (i64, i64), PgArguments> {
        sqlx::query_as(AssertSqlSafe(self.sql)).bind(self.ids)
    }

    fn not_postgres() -> sqlx::Error {
        sqlx::Error::Configuration("an int8[] query needs PostgreSQL".into())
    }
}

impl Alone for Pairs<'_> {
    const QUERY: bool = true;
    type Answer = Vec<(i64, i64)>;

    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error> {
        match conn {
            Conn::Postgres(c) => self.query().fetch_all(c).await,
            Conn::Sqlite(_) => Err(Self::not_postgres()),
        }
    }

    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr> {
        let outcome = match db.get_database_backend() {
            DbBackend::Postgres => {
                self.query()
                    .fetch_all(db.get_postgres_connection_pool())
                    .await
            }
            _ => Err(Self::not_postgres()),
        };
        outcome.map_err(Self::error)
    }
}

impl Alone for Execute<'_> {
    const QUERY: bool = false;
    type Answer = ExecResult;

    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error> {
        Ok(on_either!(conn, c => query(self.0).execute(c).await?.into()))
    }

    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr> {
        db.execute_raw(self.0.clone()).await
    }
}

impl Alone for Unprepared<'_> {
    const QUERY: bool = false;
    type Answer = ExecResult;

    async fn on(&self, conn: &mut Conn) -> Result<Self::Answer, sqlx::Error> {
        Ok(on_either!(conn, c => c.execute(AssertSqlSafe(self.0.to_owned())).await?.into()))
    }

    async fn on_pool(&self, db: &DatabaseConnection) -> Result<Self::Answer, DbErr> {
        db.execute_unprepared(self.0).await
    }
}

/// sea-orm's statement as sqlx's query, as sea-orm's own drivers build it.
fn query<DB: sqlx::Database>(stmt: &Statement) -> sqlx::query::Query<'_, DB, SqlxValues>
where
    SqlxValues: for<'q> sqlx::IntoArguments<DB>,
{
    let values = stmt
        .values
        .clone()
        .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for Autocommit {
    fn get_database_backend(&self) -> DbBackend {
        match &*self.0 {
            Inner::Pool(db) => db.get_database_backend(),
            Inner::Held(held) => match held.options {
                Options::Postgres(_) => DbBackend::Postgres,
                Options::Sqlite(_) => DbBackend::Sqlite,
            },
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.run(Execute(&stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.run(Unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.run(One(&stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.run(All(&stmt)).await
    }
}
