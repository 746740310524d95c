//! Process instances: create, read, delete, and every move the engine makes (start, reset,
//! terminate, step actions, messages, timers, and variables, which [`super::variables`] checks
//! first). How a move is made and written, all or nothing, is [`super::moves`]'s: two
//! concurrent moves of one step are serialised by the row lock (PostgreSQL) or the write lane
//! (SQLite): one wins, the other meets the new step key.

use chrono::{DateTime, Utc};
use std::sync::{Arc, OnceLock};

use sea_orm::ConnectionTrait;

use super::App;
use super::audit;
use super::calls;
use super::diagrams::DiagramCache;
use super::instance_cache::{InstanceCache, Kept};
use super::moves::{
    Planned, apply, apply_in, apply_to, instance_of, item_not_found, made_ahead, plan_ahead,
    refused, state_json, write_planned,
};
use super::paging::Paging;
use crate::caller::Actor;
use crate::engine::{self, Context, Instance, Outcome, SubflowId, VariableValue};
use crate::store::processes::{NewProcess, StoredProcess};
use crate::{Error, Result, now, store};

pub const STATUSES: &[&str] = &["created", "running", "completed", "terminated", "error"];

/// A process instance as the API shows it.
#[derive(Clone, Debug)]
pub struct ProcessView {
    pub prcs_id: i64,
    pub dgrm_id: i64,
    pub name: String,
    pub status: String,
    pub business_ref: Option<String>,
    pub init_ts: i64,
    pub init_by: String,
    pub instance: Instance,
    /// Global step id of each engine subflow id.
    pub step_ids: Vec<(SubflowId, i64)>,
    /// The API's JSON of this view, written at its first answer and kept with it: a view is
    /// never changed once read (a move reads a new one), so a kept instance is rendered once.
    pub written: OnceLock<Box<[u8]>>,
    /// The version of the row it was read from, on PostgreSQL (see the cache of instances).
    pub version: Option<i64>,
}

impl ProcessView {
    pub fn step_id(&self, local: SubflowId) -> Option<i64> {
        self.step_ids
            .iter()
            .find(|(l, _)| *l == local)
            .map(|(_, global)| *global)
    }
}

/// What running instances needs besides the database: parsed diagrams, and the instances as
/// last read.
#[derive(Default)]
pub struct Runtime {
    pub diagrams: DiagramCache,
    pub instances: InstanceCache,
}

/// A call that takes several elements failed, because of the element at `index` or (`None`)
/// as a whole; nothing was applied.
#[derive(Debug)]
pub struct ElementFailed {
    pub index: Option<usize>,
    pub error: Error,
}

impl ElementFailed {
    pub(super) fn at(index: usize) -> impl Fn(Error) -> ElementFailed {
        move |error| ElementFailed {
            index: Some(index),
            error,
        }
    }

    pub(super) fn whole(error: Error) -> ElementFailed {
        ElementFailed { index: None, error }
    }
}

fn view(stored: StoredProcess) -> Result<ProcessView> {
    let StoredProcess {
        row,
        step_ids,
        version,
    } = stored;
    let instance = instance_of(&row)?;
    Ok(ProcessView {
        step_ids,
        prcs_id: row.id,
        dgrm_id: row.dgrm_id,
        name: row.name,
        status: row.status,
        business_ref: row.business_ref,
        init_ts: row.init_ts,
        init_by: row.init_by,
        instance,
        written: OnceLock::new(),
        version,
    })
}

/// What a new instance is given.
#[derive(Clone, Debug, Default)]
pub struct NewInstance {
    pub name: Option<String>,
    /// The version the caller expects the diagram to have (text, as in Flows).
    pub version: Option<String>,
    /// Stored as the variable `BUSINESS_REF`.
    pub business_ref: Option<String>,
}

/// Creates an instance (status `created`) of a released diagram, initiated by `init_by`.
pub async fn create(
    app: &App,
    dgrm_id: i64,
    new: NewInstance,
    init_by: &str,
) -> Result<ProcessView> {
    let txn = store::begin_write(&app.db).await?;
    let diagram = store::diagrams::find(&txn, dgrm_id)
        .await?
        .ok_or_else(item_not_found)?;
    // As Flows: a version the diagram does not have is an item that is not there.
    if new.version.is_some_and(|v| v != diagram.version) {
        return Err(item_not_found());
    }
    if diagram.status != "released" {
        return Err(Error::conflict(format!(
            "Diagram {dgrm_id} is not released"
        )));
    }
    let parsed = app.runtime.diagrams.get(&txn, dgrm_id).await?;
    let mut instance = Instance::new();
    instance.bind_calls(calls::bind(&txn, &app.runtime.diagrams, dgrm_id, parsed).await?);
    if let Some(reference) = &new.business_ref {
        instance
            .set_variables(vec![(
                engine::BUSINESS_REF.into(),
                VariableValue::Varchar(reference.clone()),
            )])
            .map_err(refused)?;
    }
    let name = new.name.unwrap_or_else(|| {
        format!(
            "{} - {}",
            diagram.name,
            Utc::now().format("%Y-%m-%d %H:%M:%S")
        )
    });
    let row = store::processes::insert(
        &txn,
        NewProcess {
            dgrm_id,
            name,
            status: instance.status().as_str().to_owned(),
            business_ref: new.business_ref,
            init_ts: now(),
            init_by: init_by.to_owned(),
            state: state_json(&instance)?,
        },
    )
    .await?;
    let step_ids = store::processes::step_ids(&txn, row.id).await?;
    // Not kept (only reads are), so its version is not needed.
    let created = view(StoredProcess {
        row,
        step_ids,
        version: None,
    })?;
    txn.commit().await?;
    Ok(created)
}

/// An instance, from the cache of instances when it holds it: as kept on SQLite, on PostgreSQL
/// once its row's version is found unchanged (a lookup of one column, shared with the reads
/// that arrive with it, instead of the row, its state's JSON and its step ids).
pub async fn show(app: &App, prcs_id: i64) -> Result<Arc<ProcessView>> {
    let cache = &app.runtime.instances;
    match cache.get(prcs_id) {
        Some(Kept::Current(kept)) => return Ok(kept),
        Some(Kept::IfUnchanged(kept)) => {
            let start = cache.read_start();
            match app.versions.of(prcs_id).await? {
                None => {
                    cache.forget(prcs_id);
                    return Err(item_not_found());
                }
                Some(version) if kept.version == Some(version) => {
                    cache.count_hit();
                    cache.confirm(start, &kept);
                    return Ok(kept);
                }
                // Changed since: read anew.
                Some(_) => {}
            }
        }
        None => {}
    }
    let start = cache.read_start();
    let stored = store::processes::find(&app.autocommit, prcs_id)
        .await?
        .ok_or_else(item_not_found)?;
    let shown = Arc::new(view(stored)?);
    cache.keep(start, &shown);
    Ok(shown)
}

/// The instance a global step id belongs to, and the step's engine id.
pub async fn step(app: &App, sbfl_id: i64) -> Result<(Arc<ProcessView>, SubflowId)> {
    let (prcs_id, local) = store::processes::resolve_step(&app.autocommit, sbfl_id)
        .await?
        .ok_or_else(item_not_found)?;
    Ok((show(app, prcs_id).await?, local))
}

/// Instances of a diagram with `status` (one of [`STATUSES`] or `all`): a page, and whether
/// more follow it.
pub async fn list_for_diagram(
    app: &App,
    dgrm_id: i64,
    status: &str,
    paging: Paging,
) -> Result<(Vec<ProcessView>, bool)> {
    store::diagrams::find(&app.db, dgrm_id)
        .await?
        .ok_or_else(item_not_found)?;
    let status = if status == "all" {
        None
    } else if STATUSES.contains(&status) {
        Some(status)
    } else {
        return Err(Error::attribute(
            "status",
            format!("unknown status {status:?} (all, {})", STATUSES.join(", ")),
        ));
    };
    let (rows, more) =
        store::processes::page_for_diagram(&app.db, dgrm_id, status, paging.limit, paging.offset)
            .await?;
    let views = rows.into_iter().map(view).collect::<Result<_>>()?;
    Ok((views, more))
}

/// Deletes an instance and everything it holds.
pub async fn delete(app: &App, actor: &Actor, prcs_id: i64, comment: Option<String>) -> Result<()> {
    let txn = store::begin_write(&app.db).await?;
    app.runtime.instances.forget(prcs_id);
    store::processes::lock(&txn, prcs_id)
        .await?
        .ok_or_else(item_not_found)?;
    store::processes::delete(&txn, prcs_id).await?;
    let target = prcs_id.to_string();
    audit::record(&txn, actor, "process.delete", Some(&target), comment, true).await?;
    txn.commit().await?;
    Ok(())
}

/// What can be done to a whole instance.
#[derive(Clone, Copy, Debug)]
pub enum ProcessAction {
    Start,
    Reset,
    Terminate,
}

pub async fn act(app: &App, prcs_id: i64, action: ProcessAction) -> Result<Outcome> {
    apply(app, prcs_id, |instance, ctx| match action {
        ProcessAction::Start => instance.start(ctx),
        ProcessAction::Reset => Ok(instance.reset()),
        ProcessAction::Terminate => instance.terminate(ctx),
    })
    .await
}

/// What can be done to one step (subflow).
#[derive(Clone, Debug)]
pub enum StepAction {
    Start,
    Reserve {
        reservation: String,
    },
    Release,
    Complete,
    Restart,
    /// Fire now, or move the timer to `new_timestamp` (RFC 3339).
    RescheduleTimer {
        is_immediate: bool,
        new_timestamp: Option<String>,
    },
}

/// Applies a step action, refused when `step_key` is not the step's current key.
pub async fn act_on_step(
    app: &App,
    sbfl_id: i64,
    step_key: &str,
    action: StepAction,
) -> Result<Outcome> {
    let at = match &action {
        StepAction::RescheduleTimer {
            new_timestamp: Some(text),
            ..
        } => Some(
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Error::attribute(
                        "new_timestamp",
                        "new_timestamp is not an RFC 3339 timestamp",
                    )
                })?,
        ),
        _ => None,
    };
    // On SQLite the step's instance is read with it, to make the move ahead of the lane.
    let (prcs_id, id, read) = if made_ahead(app) {
        let (id, row) = store::processes::step_with_row(&app.autocommit, sbfl_id)
            .await?
            .ok_or_else(item_not_found)?;
        (row.id, id, Some(row))
    } else {
        let (prcs_id, id) = store::processes::resolve_step(&app.autocommit, sbfl_id)
            .await?
            .ok_or_else(item_not_found)?;
        (prcs_id, id, None)
    };
    apply_to(app, prcs_id, read, |i, ctx| match &action {
        StepAction::Start => i.start_step(ctx, id, step_key),
        StepAction::Reserve { reservation } => i.reserve(ctx, id, step_key, reservation),
        StepAction::Release => i.release(ctx, id, step_key),
        StepAction::Complete => i.complete_step(ctx, id, step_key),
        StepAction::Restart => i.restart_step(ctx, id, step_key),
        StepAction::RescheduleTimer { is_immediate, .. } => {
            i.reschedule_timer(ctx, id, step_key, *is_immediate, at)
        }
    })
    .await
}

/// One message of `PUT /v1/messages/:name`.
#[derive(Clone, Debug)]
pub struct Message {
    pub key: Option<String>,
    pub value: Option<String>,
    pub payload: Option<serde_json::Value>,
}

/// Delivers messages, all or none: one transaction; the first message that no open
/// subscription awaits fails the whole call. Returns how many subscriptions were met.
pub async fn correlate(
    app: &App,
    name: &str,
    messages: &[Message],
) -> Result<usize, ElementFailed> {
    let whole = |e: sea_orm::DbErr| ElementFailed::whole(e.into());
    let ahead = match messages {
        [message] => lone_ahead(app, name, message).await,
        _ => None,
    };
    let txn = store::begin_batched(&app.db)
        .await
        .map_err(ElementFailed::whole)?;
    if let Some(planned) = ahead {
        let written = write_planned(&txn, &app.runtime, planned).await;
        if let Some(outcome) = written.map_err(ElementFailed::at(0))? {
            txn.commit().await.map_err(whole)?;
            return Ok(outcome.correlated.len());
        }
    }
    let first = match messages.first() {
        Some(message) => awaiting(&txn, name, message)
            .await
            .map_err(ElementFailed::at(0))?,
        None => Vec::new(),
    };
    // One message that at most one instance awaits fails, if at all, before it writes (its
    // move is refused before writing, also when it would meet no subscription): no savepoint
    // is needed, two trips to the database fewer for a move that holds the write lane.
    let delivered = if let ([message], [_] | []) = (messages, first.as_slice()) {
        deliver_one(&txn, app, name, message, first, true)
            .await
            .map_err(ElementFailed::at(0))
    } else {
        // Otherwise a call may fail after it wrote (its second message meets no subscription):
        // in a batch of moves its writes go into a savepoint, undone alone, so the batch does
        // not fail with it. Should closing the savepoint fail, dropping `txn` takes the batch
        // down.
        match txn.savepoint().await.map_err(whole)? {
            Some(part) => match deliver(&part, app, name, messages, first).await {
                Ok(moved) => part.commit().await.map(|()| moved).map_err(whole),
                Err(failed) => {
                    txn.undo(part).await.map_err(whole)?;
                    Err(failed)
                }
            },
            None => deliver(&txn, app, name, messages, first).await,
        }
    };
    let moved = delivered?;
    txn.commit().await.map_err(whole)?;
    Ok(moved)
}

/// A lone message's move made ahead of the write lane (see `moves`), when one instance may await
/// it as committed (its row read with the candidates, in one statement); `None` leaves the
/// message to the lane, which reads its candidates again.
async fn lone_ahead(app: &App, name: &str, message: &Message) -> Option<Planned> {
    if !made_ahead(app) {
        return None;
    }
    let (key, value) = (message.key.as_deref(), message.value.as_deref());
    let sole = store::processes::sole_awaiting(&app.autocommit, name, key, value);
    let row = sole.await.ok()??;
    plan_ahead(app, row, delivery(name, message, true)).await
}

/// The engine operation that delivers `message` to an instance. `sole` (it is the only one
/// that may await it): refused, before anything is written, when it meets no subscription.
fn delivery<'a>(
    name: &'a str,
    message: &'a Message,
    sole: bool,
) -> impl FnOnce(&mut Instance, &mut Context) -> Result<Outcome> + Send + 'a {
    move |instance, ctx| {
        let outcome = instance
            .correlate_message(
                ctx,
                name,
                message.key.as_deref(),
                message.value.as_deref(),
                message.payload.as_ref(),
            )
            .map_err(refused)?;
        if sole && outcome.correlated.is_empty() {
            return Err(not_correlated());
        }
        Ok(outcome)
    }
}

fn not_correlated() -> Error {
    Error::conflict("Message could not be correlated")
}

/// The instances that may await a message (the engine decides which do).
async fn awaiting(txn: &impl ConnectionTrait, name: &str, message: &Message) -> Result<Vec<i64>> {
    let (key, value) = (message.key.as_deref(), message.value.as_deref());
    store::processes::awaiting(txn, name, key, value).await
}

/// Delivers every message; `first` are the candidates of the first, already read.
async fn deliver(
    txn: &impl ConnectionTrait,
    app: &App,
    name: &str,
    messages: &[Message],
    first: Vec<i64>,
) -> Result<usize, ElementFailed> {
    let mut moved = 0;
    let mut candidates = Some(first);
    for (index, message) in messages.iter().enumerate() {
        let fail = ElementFailed::at(index);
        let candidates = match candidates.take() {
            Some(first) => first,
            None => awaiting(txn, name, message).await.map_err(&fail)?,
        };
        moved += deliver_one(txn, app, name, message, candidates, false)
            .await
            .map_err(&fail)?;
    }
    Ok(moved)
}

/// Delivers one message to the instances that may await it: how many subscriptions it met,
/// none being a conflict. `sole` (one candidate): a move that would meet none is refused
/// before it writes, rather than written and then failed.
async fn deliver_one(
    txn: &impl ConnectionTrait,
    app: &App,
    name: &str,
    message: &Message,
    candidates: Vec<i64>,
    sole: bool,
) -> Result<usize> {
    let mut matched = 0;
    for prcs_id in candidates {
        let delivered = delivery(name, message, sole);
        let outcome = apply_in(txn, &app.runtime, prcs_id, delivered).await?;
        matched += outcome.correlated.len();
    }
    if matched == 0 {
        return Err(not_correlated());
    }
    Ok(matched)
}

/// Fires every timer due now. Several instances may race for one process: the row lock
/// serialises them and the loser finds nothing due.
pub async fn fire_due_timers(app: &App) -> Result<()> {
    for prcs_id in store::processes::with_due_timers(&app.db, now()).await? {
        if let Err(err) = apply(app, prcs_id, |instance, ctx| instance.fire_due_timers(ctx)).await {
            tracing::warn!(prcs_id, error = %err, "timer could not fire");
        }
    }
    Ok(())
}
