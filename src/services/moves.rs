//! How the engine's moves are made. A move reads an instance, lets the engine apply an
//! operation in memory, and writes the instance back with its step ids and subscriptions: one
//! transaction, all or nothing, and nothing written when the engine refuses.
//!
//! On SQLite every writer queues in one lane (`store::begin_batched`), and what a move does
//! while it holds the lane, each move queued behind it waits for. So a move there is made
//! ahead: the row read outside the lane (committed data, on a reader connection), the engine
//! run on it, and in the lane only its writes, one query that applies only if the row's state
//! is still the one read ([`store::processes::write_move_if_unchanged`]). A move that the
//! engine refused ahead, or whose instance changed since the read (a move of it in the open
//! batch, another server's write), is made again in the lane, from the row as it is there;
//! so a refusal is always decided on the instance as the lane sees it. PostgreSQL's row
//! locks let moves of different instances run side by side: there a move is made in its
//! transaction, as a move redone in the lane is.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend};

use super::App;
use super::calls;
use super::processes::Runtime;
use crate::engine::{Context, EngineError, Instance, Outcome, SubflowId};
use crate::store::WriteTxn;
use crate::store::processes::{
    MoveWrites, OpenSubscription, ProcessRow, SavedState, Subscriptions,
};
use crate::{Error, Result, now, store};

pub(super) fn item_not_found() -> Error {
    Error::not_found("Item not found")
}

pub(super) fn refused(err: EngineError) -> Error {
    Error::Conflict(err.to_string())
}

/// A fresh step key: random, so a stale view can never guess the next one.
fn step_key() -> String {
    crate::oauth::secret::random_token()[..16].to_owned()
}

pub(super) fn instance_of(row: &ProcessRow) -> Result<Instance> {
    serde_json::from_str(&row.state)
        .map_err(|e| Error::internal(format!("process {} state does not load: {e}", row.id)))
}

pub(super) fn state_json(instance: &Instance) -> Result<String> {
    serde_json::to_string(instance).map_err(Error::internal)
}

/// Whether moves are made ahead of the write lane (SQLite's).
pub(super) fn made_ahead(app: &App) -> bool {
    app.db.get_database_backend() == DbBackend::Sqlite
}

/// A process row read outside the lane, on SQLite, to make a move ahead; `None` elsewhere or
/// when there is no such instance (the lane says so).
async fn read_ahead(app: &App, prcs_id: i64) -> Result<Option<ProcessRow>> {
    if !made_ahead(app) {
        return Ok(None);
    }
    store::processes::row(&app.autocommit, prcs_id).await
}

/// A move made on an instance as read, to be written if the instance is still so.
pub(super) struct Planned {
    prcs_id: i64,
    read_state: String,
    outcome: Outcome,
    writes: MoveWrites,
}

/// Makes a move ahead of the lane on `row`: `None` when the engine refused it or anything
/// failed, so that the lane decides.
pub(super) async fn plan_ahead<F>(app: &App, row: ProcessRow, op: F) -> Option<Planned>
where
    F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome> + Send,
{
    let (outcome, writes) = plan(&app.db, &app.runtime, &row, op).await.ok()?;
    Some(Planned {
        prcs_id: row.id,
        read_state: row.state,
        outcome,
        writes,
    })
}

/// Writes a move made ahead, in the caller's open write transaction, if its instance is still
/// as it was read: its outcome, or `None` (nothing written) when it changed.
pub(super) async fn write_planned(
    txn: &WriteTxn,
    runtime: &Runtime,
    planned: Planned,
) -> Result<Option<Outcome>> {
    let Planned {
        prcs_id,
        read_state,
        outcome,
        writes,
    } = planned;
    runtime.instances.forget(prcs_id);
    let written =
        store::processes::write_move_if_unchanged(txn, prcs_id, &read_state, writes).await?;
    Ok(written.then_some(outcome))
}

/// Applies an engine operation to one instance, in its own transaction (a place in the lane's
/// batch on SQLite: a move writes only after it succeeded in memory).
pub(super) async fn apply<F>(app: &App, prcs_id: i64, op: F) -> Result<Outcome>
where
    F: Fn(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Send + Sync,
{
    let read = read_ahead(app, prcs_id).await?;
    apply_to(app, prcs_id, read, op).await
}

/// [`apply`] with the row already read ahead (`None`: not read).
pub(super) async fn apply_to<F>(
    app: &App,
    prcs_id: i64,
    read: Option<ProcessRow>,
    op: F,
) -> Result<Outcome>
where
    F: Fn(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Send + Sync,
{
    let op = refusing(&op);
    let planned = match read {
        Some(row) => plan_ahead(app, row, op).await,
        None => None,
    };
    let txn = store::begin_batched(&app.db).await?;
    let written = match planned {
        Some(planned) => write_planned(&txn, &app.runtime, planned).await?,
        None => None,
    };
    let outcome = match written {
        Some(outcome) => outcome,
        None => apply_in(&txn, &app.runtime, prcs_id, op).await?,
    };
    txn.commit().await?;
    Ok(outcome)
}

/// The operation, its refusal a conflict; made ahead and, should that not be written, again.
fn refusing<F>(op: &F) -> impl Fn(&mut Instance, &mut Context) -> Result<Outcome> + Copy + Send + '_
where
    F: Fn(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Sync,
{
    move |instance, ctx| op(instance, ctx).map_err(refused)
}

/// Applies an engine operation inside the caller's (open) write transaction, on the row as it
/// is there; an operation that fails has written nothing.
pub(super) async fn apply_in<F>(
    txn: &impl ConnectionTrait,
    runtime: &Runtime,
    prcs_id: i64,
    op: F,
) -> Result<Outcome>
where
    F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome> + Send,
{
    runtime.instances.forget(prcs_id);
    let row = store::processes::lock(txn, prcs_id)
        .await?
        .ok_or_else(item_not_found)?;
    let (outcome, writes) = plan(txn, runtime, &row, op).await?;
    store::processes::write_move(txn, prcs_id, &row.state, writes).await?;
    Ok(outcome)
}

/// Runs the engine on an instance as read: its outcome, and what saves it.
async fn plan<F>(
    db: &impl ConnectionTrait,
    runtime: &Runtime,
    row: &ProcessRow,
    op: F,
) -> Result<(Outcome, MoveWrites)>
where
    F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome> + Send,
{
    let cache = &runtime.diagrams;
    let diagram = cache.get(db, row.dgrm_id).await?;
    let mut instance = instance_of(row)?;
    let called = calls::called_diagrams(db, cache, instance.calls()).await?;
    // Every subflow of a saved instance has its step id already, so only new ones need rows;
    // and the subscription rows change only when the subscriptions do.
    let registered: Vec<SubflowId> = instance.subflows().iter().map(|s| s.id).collect();
    let subscriptions_before = instance.subscriptions().to_vec();
    // The context borrows a step-key closure that is not `Send`: keep it off the awaits.
    let outcome = {
        let mut keys = step_key;
        let mut ctx = Context::new(&diagram, Utc::now(), &mut keys);
        for (dgrm_id, called) in &called {
            ctx = ctx.with_called(*dgrm_id, called);
        }
        op(&mut instance, &mut ctx)?
    };
    let saved = SavedState {
        status: instance.status().as_str().to_owned(),
        state: state_json(&instance)?,
        next_timer_due: instance.next_timer_due().map(|due| due.timestamp()),
        updated_at: now(),
    };
    let new_steps = instance
        .subflows()
        .iter()
        .map(|s| s.id)
        .filter(|id| !registered.contains(id))
        .collect();
    let subscriptions =
        (instance.subscriptions() != subscriptions_before.as_slice()).then(|| Subscriptions {
            had_any: !subscriptions_before.is_empty(),
            open: instance
                .subscriptions()
                .iter()
                .map(|s| OpenSubscription {
                    message_name: s.message_name.clone(),
                    correlation_key: s.correlation_key.clone(),
                    correlation_value: s.correlation_value.clone(),
                })
                .collect(),
        });
    let writes = MoveWrites {
        saved,
        new_steps,
        subscriptions,
    };
    Ok((outcome, writes))
}
