//! Process rows: the instance as the engine's JSON, with query-side copies (status, next timer
//! due), the global step ids of its subflows and its open message subscriptions.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, Statement, Value,
};

use entity::{process, subflow_ref, subscription};

pub use entity::process::Model as ProcessRow;

use super::WriteTxn;
use super::sql_once::SqlOnce;
use crate::Result;

/// A new process row; the database assigns its id.
pub struct NewProcess {
    pub dgrm_id: i64,
    pub name: String,
    pub status: String,
    pub business_ref: Option<String>,
    pub init_ts: i64,
    pub init_by: String,
    pub state: String,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewProcess) -> Result<ProcessRow> {
    Ok(process::ActiveModel {
        dgrm_id: Set(new.dgrm_id),
        name: Set(new.name),
        status: Set(new.status),
        business_ref: Set(new.business_ref),
        init_ts: Set(new.init_ts),
        init_by: Set(new.init_by),
        state: Set(new.state),
        next_timer_due: Set(None),
        updated_at: Set(new.init_ts),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// A process row with the global step ids of its subflows, read in one statement.
pub struct StoredProcess {
    pub row: ProcessRow,
    /// (engine subflow id, global step id), in the order of the step ids.
    pub step_ids: Vec<(u64, i64)>,
    /// The row's version as read, on PostgreSQL ([`VERSION_COLUMN`]).
    pub version: Option<i64>,
}

#[derive(FromQueryResult)]
struct RowWithStepIds {
    #[sea_orm(nested)]
    row: ProcessRow,
    /// `local:sbfl,local:sbfl,…`, or NULL when the instance has no subflow yet.
    step_ids: Option<String>,
    version: Option<i64>,
}

/// PostgreSQL's version of a process row: `xmin`, the transaction that wrote it. Every change
/// of an instance writes its row (a move saves it in the transaction that adds its step ids),
/// whoever makes it, so an unchanged `xmin` means an unchanged instance. It is 32 bits: a value
/// comes back only after four billion transactions, and then only at that exact one.
pub(super) const VERSION_COLUMN: &str = "CAST(CAST(processes.xmin AS TEXT) AS BIGINT)";

/// The version column for `backend`: none on SQLite.
fn version_column(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => VERSION_COLUMN,
        _ => "CAST(NULL AS BIGINT)",
    }
}

/// The step ids as one text column beside the row: one statement instead of a second query
/// per instance. `string_agg` is PostgreSQL's and, since 3.44, SQLite's.
const STEP_IDS_COLUMN: &str = "(SELECT string_agg(CAST(subflows.local_id AS TEXT) || ':' || \
                               CAST(subflows.sbfl_id AS TEXT), ',') FROM subflows \
                               WHERE subflows.prcs_id = processes.id)";

fn with_step_ids(
    select: Select<process::Entity>,
    backend: DbBackend,
) -> sea_orm::Selector<sea_orm::SelectModel<RowWithStepIds>> {
    step_ids_beside(select, backend).into_model::<RowWithStepIds>()
}

/// The row with its step ids and its version.
fn step_ids_beside(select: Select<process::Entity>, backend: DbBackend) -> Select<process::Entity> {
    select
        .expr_as(Expr::cust(STEP_IDS_COLUMN), "step_ids")
        .expr_as(Expr::cust(version_column(backend)), "version")
}

impl TryFrom<RowWithStepIds> for StoredProcess {
    type Error = crate::Error;

    fn try_from(read: RowWithStepIds) -> Result<StoredProcess> {
        let mut step_ids = Vec::new();
        for pair in read
            .step_ids
            .as_deref()
            .unwrap_or_default()
            .split_terminator(',')
        {
            let parsed = pair
                .split_once(':')
                .and_then(|(local, sbfl)| Some((local.parse().ok()?, sbfl.parse().ok()?)));
            step_ids.push(parsed.ok_or_else(|| {
                crate::Error::internal(format!("process {}: step id {pair:?}", read.row.id))
            })?);
        }
        step_ids.sort_unstable_by_key(|&(_, sbfl_id)| sbfl_id);
        Ok(StoredProcess {
            row: read.row,
            step_ids,
            version: read.version,
        })
    }
}

pub async fn find(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Option<StoredProcess>> {
    static SQL: SqlOnce = SqlOnce::new();
    let backend = db.get_database_backend();
    let statement = SQL.statement(backend, vec![prcs_id.into()], || {
        step_ids_beside(process::Entity::find_by_id(prcs_id), backend).build(backend)
    });
    RowWithStepIds::find_by_statement(statement)
        .one(db)
        .await?
        .map(StoredProcess::try_from)
        .transpose()
}

/// The row as committed, read alone (no lock).
pub async fn row(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Option<ProcessRow>> {
    static SQL: SqlOnce = SqlOnce::new();
    let backend = db.get_database_backend();
    let statement = SQL.statement(backend, vec![prcs_id.into()], || {
        process::Entity::find_by_id(prcs_id).build(backend)
    });
    Ok(ProcessRow::find_by_statement(statement).one(db).await?)
}

#[derive(FromQueryResult)]
struct StepWithRow {
    local_id: i64,
    #[sea_orm(nested)]
    row: ProcessRow,
}

/// The engine subflow id of a global step id, with its instance's row, in one statement.
pub async fn step_with_row(
    db: &impl ConnectionTrait,
    sbfl_id: i64,
) -> Result<Option<(u64, ProcessRow)>> {
    let statement = Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT subflows.local_id AS local_id, processes.* FROM subflows \
         JOIN processes ON processes.id = subflows.prcs_id WHERE subflows.sbfl_id = $1",
        [sbfl_id.into()],
    );
    Ok(StepWithRow::find_by_statement(statement)
        .one(db)
        .await?
        .map(|read| (read.local_id as u64, read.row)))
}

/// The row, locked for update on PostgreSQL; elsewhere [`row`] (SQLite's write transaction
/// already holds the database's write lock).
pub async fn lock(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Option<ProcessRow>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return row(db, prcs_id).await;
    }
    let query = process::Entity::find_by_id(prcs_id).lock_exclusive();
    Ok(query.one(db).await?)
}

/// The state and its query-side copies after a move.
pub struct SavedState {
    pub status: String,
    pub state: String,
    pub next_timer_due: Option<i64>,
    pub updated_at: i64,
}

/// What a move writes to the rows of an instance whose process row the caller holds locked.
pub struct MoveWrites {
    pub saved: SavedState,
    /// Subflows new in this move: they get their global step ids.
    pub new_steps: Vec<u64>,
    /// The open subscriptions, when the move changed them.
    pub subscriptions: Option<Subscriptions>,
}

/// An instance's open subscriptions after a move, and whether it had rows of them before (a
/// new instance, or one that awaited nothing, has none to delete).
pub struct Subscriptions {
    pub had_any: bool,
    pub open: Vec<OpenSubscription>,
}

/// Writes a move made on the row as read under its lock (`read_state`): the state in one UPDATE
/// (nothing read back: the caller has the state it wrote), new step ids, and the subscriptions
/// rewritten.
///
/// On SQLite (a move made again in the write lane, which it holds from its read to its last
/// write) this is the guarded query of [`write_move_if_unchanged`], whose guard then always
/// holds: one trip to the connection's thread, which every move queued behind it pays for
/// (BENCHMARKS.md). PostgreSQL takes one statement at a time.
pub async fn write_move(
    db: &impl ConnectionTrait,
    prcs_id: i64,
    read_state: &str,
    writes: MoveWrites,
) -> Result<()> {
    let updated = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let query = guarded_move(prcs_id, read_state, writes);
            db.execute_raw(query).await?.rows_affected() > 0
        }
        backend => write_each(db, backend, prcs_id, writes).await?,
    };
    if !updated {
        return Err(crate::Error::internal(format!(
            "process {prcs_id} vanished while it was locked"
        )));
    }
    Ok(())
}

/// A move's statements one by one, the UPDATE first: whether it found the row.
async fn write_each(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    prcs_id: i64,
    writes: MoveWrites,
) -> Result<bool> {
    let MoveWrites {
        saved,
        new_steps,
        subscriptions,
    } = writes;
    let update = process::Entity::update_many()
        .col_expr(process::Column::Status, Expr::value(saved.status))
        .col_expr(process::Column::State, Expr::value(saved.state))
        .col_expr(
            process::Column::NextTimerDue,
            Expr::value(saved.next_timer_due),
        )
        .col_expr(process::Column::UpdatedAt, Expr::value(saved.updated_at))
        .filter(process::Column::Id.eq(prcs_id))
        .build(backend);
    if db.execute_raw(update).await?.rows_affected() != 1 {
        return Ok(false);
    }
    if !new_steps.is_empty() {
        let rows = new_steps.iter().map(|local| subflow_ref::ActiveModel {
            prcs_id: Set(prcs_id),
            local_id: Set(*local as i64),
            ..Default::default()
        });
        db.execute_raw(subflow_ref::Entity::insert_many(rows).build(backend))
            .await?;
    }
    if let Some(Subscriptions { had_any, open }) = subscriptions {
        if had_any {
            let delete = subscription::Entity::delete_many()
                .filter(subscription::Column::PrcsId.eq(prcs_id));
            db.execute_raw(delete.build(backend)).await?;
        }
        if !open.is_empty() {
            let rows = open.into_iter().map(|s| subscription::ActiveModel {
                prcs_id: Set(prcs_id),
                message_name: Set(s.message_name),
                correlation_key: Set(s.correlation_key),
                correlation_value: Set(s.correlation_value),
                ..Default::default()
            });
            db.execute_raw(subscription::Entity::insert_many(rows).build(backend))
                .await?;
        }
    }
    Ok(true)
}

/// [`write_move`] for a move made on the row as read before its writer entered SQLite's write
/// lane (`services::moves`): the row's state may have changed since. False, with nothing
/// written, when it has (or the row is gone); a batch this joined then goes on should the
/// caller leave it.
pub async fn write_move_if_unchanged(
    txn: &WriteTxn,
    prcs_id: i64,
    read_state: &str,
    writes: MoveWrites,
) -> Result<bool> {
    let query = guarded_move(prcs_id, read_state, writes);
    let written = txn.execute_raw(query).await?.rows_affected() > 0;
    if !written {
        txn.changed_nothing();
    }
    Ok(written)
}

/// A move's writes as one SQLite query (one trip to the connection's thread) whose every
/// statement applies only if the row's state is still `read_state`: the query changes rows
/// when they all apply, and none otherwise.
fn guarded_move(prcs_id: i64, read_state: &str, writes: MoveWrites) -> Statement {
    const UNCHANGED: &str = "EXISTS (SELECT 1 FROM processes WHERE id = $1 AND state = $2)";
    let MoveWrites {
        saved,
        new_steps,
        subscriptions,
    } = writes;
    let mut values: Vec<Value> = vec![prcs_id.into(), read_state.into()];
    // Numbered parameters: sqlx binds `$n` to the query's n-th argument in every statement.
    let mut bind = |value: Value| {
        values.push(value);
        format!("${}", values.len())
    };
    let mut sql = String::new();
    if !new_steps.is_empty() {
        let rows: Vec<String> = new_steps
            .iter()
            .map(|local| format!("({})", bind((*local as i64).into())))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO subflows (prcs_id, local_id) SELECT $1, column1 FROM (VALUES {}) \
             WHERE {UNCHANGED};\n",
            rows.join(", ")
        ));
    }
    if let Some(Subscriptions { had_any, open }) = subscriptions {
        if had_any {
            sql.push_str(&format!(
                "DELETE FROM subscriptions WHERE prcs_id = $1 AND {UNCHANGED};\n"
            ));
        }
        if !open.is_empty() {
            let rows: Vec<String> = open
                .into_iter()
                .map(|s| {
                    let name = bind(s.message_name.into());
                    let key = bind(s.correlation_key.into());
                    let value = bind(s.correlation_value.into());
                    format!("({name}, {key}, {value})")
                })
                .collect();
            sql.push_str(&format!(
                "INSERT INTO subscriptions (prcs_id, message_name, correlation_key, \
                 correlation_value) SELECT $1, column1, column2, column3 FROM (VALUES {}) \
                 WHERE {UNCHANGED};\n",
                rows.join(", ")
            ));
        }
    }
    // Last, so that the statements before it find the state it replaces.
    let (status, state) = (bind(saved.status.into()), bind(saved.state.into()));
    let next_timer_due = bind(saved.next_timer_due.into());
    let updated_at = bind(saved.updated_at.into());
    sql.push_str(&format!(
        "UPDATE processes SET status = {status}, state = {state}, \
         next_timer_due = {next_timer_due}, updated_at = {updated_at} \
         WHERE id = $1 AND state = $2"
    ));
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

/// One page of a diagram's instances, with this status (any when `None`), and the total.
pub async fn page_for_diagram(
    db: &impl ConnectionTrait,
    dgrm_id: i64,
    status: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<StoredProcess>, bool)> {
    let mut query = process::Entity::find().filter(process::Column::DgrmId.eq(dgrm_id));
    if let Some(status) = status {
        query = query.filter(process::Column::Status.eq(status));
    }
    // One row past the page says whether more follow, without counting every instance.
    let mut rows = with_step_ids(
        query
            .order_by_asc(process::Column::Id)
            .limit(limit.saturating_add(1))
            .offset(offset),
        db.get_database_backend(),
    )
    .all(db)
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let rows = rows
        .into_iter()
        .map(StoredProcess::try_from)
        .collect::<Result<_>>()?;
    Ok((rows, more))
}

/// Removes the row with its step ids and subscriptions.
pub async fn delete(db: &impl ConnectionTrait, prcs_id: i64) -> Result<()> {
    subscription::Entity::delete_many()
        .filter(subscription::Column::PrcsId.eq(prcs_id))
        .exec(db)
        .await?;
    subflow_ref::Entity::delete_many()
        .filter(subflow_ref::Column::PrcsId.eq(prcs_id))
        .exec(db)
        .await?;
    process::Entity::delete_by_id(prcs_id).exec(db).await?;
    Ok(())
}

/// (engine subflow id, global step id) of every subflow of an instance, in order.
pub async fn step_ids(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Vec<(u64, i64)>> {
    let rows = subflow_ref::Entity::find()
        .filter(subflow_ref::Column::PrcsId.eq(prcs_id))
        .order_by_asc(subflow_ref::Column::SbflId)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.local_id as u64, r.sbfl_id))
        .collect())
}

/// The instance and engine subflow id of a global step id.
pub async fn resolve_step(db: &impl ConnectionTrait, sbfl_id: i64) -> Result<Option<(i64, u64)>> {
    static SQL: SqlOnce = SqlOnce::new();
    let backend = db.get_database_backend();
    let statement = SQL.statement(backend, vec![sbfl_id.into()], || {
        subflow_ref::Entity::find_by_id(sbfl_id).build(backend)
    });
    Ok(subflow_ref::Model::find_by_statement(statement)
        .one(db)
        .await?
        .map(|row| (row.prcs_id, row.local_id as u64)))
}

/// An open subscription: message name, correlation key and value.
pub struct OpenSubscription {
    pub message_name: String,
    pub correlation_key: Option<String>,
    pub correlation_value: Option<String>,
}

/// Instances with an open subscription a message of this name, key and value may match: those
/// awaiting exactly this key and value, and those awaiting any message of the name.
pub async fn awaiting(
    db: &impl ConnectionTrait,
    name: &str,
    key: Option<&str>,
    value: Option<&str>,
) -> Result<Vec<i64>> {
    let (ids, values) = awaiting_ids(name, key, value);
    let statement = Statement::from_sql_and_values(db.get_database_backend(), ids, values);
    let rows = db.query_all_raw(statement).await?;
    let mut ids = rows
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The row of the one instance that may await a message (as [`awaiting`]), in one statement;
/// `None` when none or several may.
pub async fn sole_awaiting(
    db: &impl ConnectionTrait,
    name: &str,
    key: Option<&str>,
    value: Option<&str>,
) -> Result<Option<ProcessRow>> {
    let (ids, values) = awaiting_ids(name, key, value);
    // Two rows say that it is not one.
    let sql = format!("SELECT processes.* FROM processes WHERE processes.id IN ({ids}) LIMIT 2");
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let mut rows = ProcessRow::find_by_statement(statement).all(db).await?;
    Ok(match rows.len() {
        1 => rows.pop(),
        _ => None,
    })
}

/// The SELECT of the ids of [`awaiting`] and its arguments. A UNION of one SELECT a kind of
/// subscription, so that each uses the (name, key, value) index (an OR across them would scan).
fn awaiting_ids(name: &str, key: Option<&str>, value: Option<&str>) -> (&'static str, Vec<Value>) {
    macro_rules! any_of_the_name {
        ($($keyed:literal)?) => {
            concat!(
                "SELECT prcs_id FROM subscriptions \
                 WHERE message_name = $1 AND correlation_key IS NULL",
                $(" UNION ALL SELECT prcs_id FROM subscriptions \
                   WHERE message_name = $1 AND correlation_key = $2 AND ", $keyed)?
            )
        };
    }
    let name = Value::from(name);
    match (key, value) {
        (None, _) => (any_of_the_name!(), vec![name]),
        (Some(key), None) => (
            any_of_the_name!("correlation_value IS NULL"),
            vec![name, key.into()],
        ),
        (Some(key), Some(value)) => (
            any_of_the_name!("correlation_value = $3"),
            vec![name, key.into(), value.into()],
        ),
    }
}

/// Instances with a timer due by `at` (Unix seconds).
pub async fn with_due_timers(db: &impl ConnectionTrait, at: i64) -> Result<Vec<i64>> {
    Ok(process::Entity::find()
        .select_only()
        .column(process::Column::Id)
        .filter(process::Column::NextTimerDue.lte(at))
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests;
