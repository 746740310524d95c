//! Process instances. Every state change is one transaction: lock the row, load the engine's
//! instance, apply the operation, write the instance back with its query-side copies (status,
//! next timer, global step ids, open subscriptions). Two concurrent moves of one step are
//! serialised by the row lock (PostgreSQL) or the write lock (SQLite): one wins, the other
//! meets the new step key.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use entity::{process, subflow_ref, subscription};

use super::diagrams::{self, DiagramCache};
use crate::engine::{Context, EngineError, Instance, Outcome, SubflowId, VariableValue};
use crate::{Error, Result, now};
use tokio::sync::Mutex;

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
}

impl ProcessView {
    pub fn step_id(&self, local: SubflowId) -> Option<i64> {
        self.step_ids
            .iter()
            .find(|(l, _)| *l == local)
            .map(|(_, global)| *global)
    }
}

pub const STATUSES: &[&str] = &["created", "running", "completed", "terminated", "error"];

/// What running instances needs besides the database: parsed diagrams, and one lane for
/// engine writes. SQLite has a single writer; when several connections queue for it, its
/// busy handler sleeps in growing steps and throughput collapses, so writers queue here.
#[derive(Default)]
pub struct Runtime {
    pub diagrams: DiagramCache,
    writes: Mutex<()>,
}

impl Runtime {
    async fn write_lane(&self, db: &DatabaseConnection) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match db.get_database_backend() {
            DbBackend::Sqlite => Some(self.writes.lock().await),
            _ => None,
        }
    }
}

fn item_not_found() -> Error {
    Error::not_found("Item not found")
}

fn refused(err: EngineError) -> Error {
    Error::Conflict(err.to_string())
}

/// A fresh step key: random, so a stale view can never guess the next one.
fn step_key() -> String {
    crate::oauth::secret::random_token()[..16].to_owned()
}

fn instance_of(model: &process::Model) -> Result<Instance> {
    serde_json::from_str(&model.state)
        .map_err(|e| Error::Internal(format!("process {} state does not load: {e}", model.id)))
}

async fn step_ids(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Vec<(SubflowId, i64)>> {
    let rows = subflow_ref::Entity::find()
        .filter(subflow_ref::Column::PrcsId.eq(prcs_id))
        .order_by_asc(subflow_ref::Column::SbflId)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.local_id as SubflowId, r.sbfl_id))
        .collect())
}

async fn view(db: &impl ConnectionTrait, model: process::Model) -> Result<ProcessView> {
    let instance = instance_of(&model)?;
    Ok(ProcessView {
        step_ids: step_ids(db, model.id).await?,
        prcs_id: model.id,
        dgrm_id: model.dgrm_id,
        name: model.name,
        status: model.status,
        business_ref: model.business_ref,
        init_ts: model.init_ts,
        init_by: model.init_by,
        instance,
    })
}

/// Creates an instance (status `created`) of a released diagram.
pub async fn create(
    db: &DatabaseConnection,
    dgrm_id: i64,
    name: Option<String>,
    version: Option<i64>,
    business_ref: Option<String>,
    init_by: &str,
) -> Result<ProcessView> {
    let txn = super::begin_write(db).await?;
    let diagram = diagrams::show(&txn, dgrm_id).await?;
    if version.is_some_and(|v| v != i64::from(diagram.version)) {
        return Err(Error::invalid(format!(
            "diagram {dgrm_id} is version {}",
            diagram.version
        )));
    }
    if diagram.status != "released" {
        return Err(Error::Conflict(format!(
            "Diagram {dgrm_id} is not released"
        )));
    }
    let mut instance = Instance::new();
    if let Some(reference) = &business_ref {
        instance
            .set_variables(vec![(
                "BUSINESS_REF".into(),
                VariableValue::Varchar(reference.clone()),
            )])
            .map_err(refused)?;
    }
    let at = now();
    let model = process::ActiveModel {
        dgrm_id: Set(dgrm_id),
        name: Set(name.unwrap_or_else(|| {
            format!(
                "{} - {}",
                diagram.name,
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
            )
        })),
        status: Set(instance.status().as_str().to_owned()),
        business_ref: Set(business_ref),
        init_ts: Set(at),
        init_by: Set(init_by.to_owned()),
        state: Set(serde_json::to_string(&instance).map_err(|e| Error::Internal(e.to_string()))?),
        next_timer_due: Set(None),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let created = view(&txn, model).await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn show(db: &impl ConnectionTrait, prcs_id: i64) -> Result<ProcessView> {
    let model = process::Entity::find_by_id(prcs_id)
        .one(db)
        .await?
        .ok_or_else(item_not_found)?;
    view(db, model).await
}

/// Instances of a diagram; `status` one of [`STATUSES`] or `all`.
pub async fn list_for_diagram(
    db: &DatabaseConnection,
    dgrm_id: i64,
    status: &str,
    limit: u64,
    offset: u64,
) -> Result<(Vec<ProcessView>, u64)> {
    diagrams::show(db, dgrm_id).await?;
    let mut query = process::Entity::find().filter(process::Column::DgrmId.eq(dgrm_id));
    if status != "all" {
        if !STATUSES.contains(&status) {
            return Err(Error::invalid(format!(
                "unknown status {status:?} (all, {})",
                STATUSES.join(", ")
            )));
        }
        query = query.filter(process::Column::Status.eq(status));
    }
    let total = query.clone().count(db).await?;
    let models = query
        .order_by_asc(process::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(models.len());
    for model in models {
        views.push(view(db, model).await?);
    }
    Ok((views, total))
}

pub async fn delete(db: &DatabaseConnection, prcs_id: i64) -> Result<()> {
    let txn = super::begin_write(db).await?;
    let model = lock(&txn, prcs_id).await?;
    subscription::Entity::delete_many()
        .filter(subscription::Column::PrcsId.eq(prcs_id))
        .exec(&txn)
        .await?;
    subflow_ref::Entity::delete_many()
        .filter(subflow_ref::Column::PrcsId.eq(prcs_id))
        .exec(&txn)
        .await?;
    process::Entity::delete_by_id(model.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The process row, locked for update on PostgreSQL (SQLite's write transaction already is).
async fn lock(db: &impl ConnectionTrait, prcs_id: i64) -> Result<process::Model> {
    let mut query = process::Entity::find_by_id(prcs_id);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or_else(item_not_found)
}

/// Applies an engine operation to one instance, in its own transaction.
pub async fn apply<F>(
    db: &DatabaseConnection,
    runtime: &Runtime,
    prcs_id: i64,
    op: F,
) -> Result<Outcome>
where
    F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Send,
{
    let _lane = runtime.write_lane(db).await;
    let txn = super::begin_write(db).await?;
    let outcome = apply_in(&txn, &runtime.diagrams, prcs_id, op).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Applies an engine operation inside the caller's transaction.
pub async fn apply_in<F>(
    txn: &impl ConnectionTrait,
    cache: &DiagramCache,
    prcs_id: i64,
    op: F,
) -> Result<Outcome>
where
    F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Send,
{
    let model = lock(txn, prcs_id).await?;
    let diagram = cache.get(txn, model.dgrm_id).await?;
    let mut instance = instance_of(&model)?;
    // Every subflow of a saved instance has its step id already, so only new ones need rows;
    // and the subscription rows change only when the subscriptions do.
    let registered: Vec<SubflowId> = instance.subflows().iter().map(|s| s.id).collect();
    let subscriptions_before = instance.subscriptions().to_vec();
    // The context borrows a step-key closure that is not `Send`: keep it off the awaits.
    let outcome = {
        let mut keys = step_key;
        let mut ctx = Context::new(&diagram, Utc::now(), &mut keys);
        op(&mut instance, &mut ctx).map_err(refused)?
    };
    save(txn, model, &instance).await?;
    let new_steps: Vec<subflow_ref::ActiveModel> = instance
        .subflows()
        .iter()
        .filter(|s| !registered.contains(&s.id))
        .map(|s| subflow_ref::ActiveModel {
            prcs_id: Set(prcs_id),
            local_id: Set(s.id as i64),
            ..Default::default()
        })
        .collect();
    if !new_steps.is_empty() {
        subflow_ref::Entity::insert_many(new_steps)
            .exec(txn)
            .await?;
    }
    if instance.subscriptions() != subscriptions_before.as_slice() {
        replace_subscriptions(txn, prcs_id, &instance).await?;
    }
    Ok(outcome)
}

/// Writes the instance with its status and next timer.
async fn save(
    txn: &impl ConnectionTrait,
    model: process::Model,
    instance: &Instance,
) -> Result<()> {
    let mut active: process::ActiveModel = model.into();
    active.status = Set(instance.status().as_str().to_owned());
    active.state =
        Set(serde_json::to_string(instance).map_err(|e| Error::Internal(e.to_string()))?);
    active.next_timer_due = Set(instance
        .next_timer_due()
        .map(|due: DateTime<Utc>| due.timestamp()));
    active.updated_at = Set(now());
    active.update(txn).await?;
    Ok(())
}

/// The subscription rows of an instance, rewritten from its state.
async fn replace_subscriptions(
    txn: &impl ConnectionTrait,
    prcs_id: i64,
    instance: &Instance,
) -> Result<()> {
    subscription::Entity::delete_many()
        .filter(subscription::Column::PrcsId.eq(prcs_id))
        .exec(txn)
        .await?;
    let open: Vec<subscription::ActiveModel> = instance
        .subscriptions()
        .iter()
        .map(|s| subscription::ActiveModel {
            prcs_id: Set(prcs_id),
            message_name: Set(s.message_name.clone()),
            correlation_key: Set(s.correlation_key.clone()),
            correlation_value: Set(s.correlation_value.clone()),
            ..Default::default()
        })
        .collect();
    if !open.is_empty() {
        subscription::Entity::insert_many(open).exec(txn).await?;
    }
    Ok(())
}

/// The global step ids of an instance.
pub async fn step_ids_of(db: &impl ConnectionTrait, prcs_id: i64) -> Result<Vec<i64>> {
    Ok(step_ids(db, prcs_id)
        .await?
        .into_iter()
        .map(|(_, global)| global)
        .collect())
}

/// The instance and engine id of a global step id.
pub async fn resolve_step(db: &impl ConnectionTrait, sbfl_id: i64) -> Result<(i64, SubflowId)> {
    let row = subflow_ref::Entity::find_by_id(sbfl_id)
        .one(db)
        .await?
        .ok_or_else(item_not_found)?;
    Ok((row.prcs_id, row.local_id as SubflowId))
}

/// One message of `PUT /v1/messages/:name`.
#[derive(Clone, Debug)]
pub struct Message {
    pub key: Option<String>,
    pub value: Option<String>,
    pub payload: Option<serde_json::Value>,
}

/// Delivers messages, all or none: one transaction; the first message that no open
/// subscription awaits fails the whole call (its index is in the error).
pub async fn correlate(
    db: &DatabaseConnection,
    runtime: &Runtime,
    name: &str,
    messages: &[Message],
) -> Result<usize, (usize, Error)> {
    let _lane = runtime.write_lane(db).await;
    let txn = super::begin_write(db).await.map_err(|e| (0, e))?;
    let mut moved = 0;
    for (index, message) in messages.iter().enumerate() {
        let fail = |e: Error| (index, e);
        let candidates = awaiting(&txn, name, message).await.map_err(fail)?;
        let mut matched = 0;
        for prcs_id in candidates {
            let outcome = apply_in(&txn, &runtime.diagrams, prcs_id, |instance, ctx| {
                instance.correlate_message(
                    ctx,
                    name,
                    message.key.as_deref(),
                    message.value.as_deref(),
                    message.payload.as_ref(),
                )
            })
            .await
            .map_err(fail)?;
            matched += outcome.correlated.len();
        }
        if matched == 0 {
            return Err((
                index,
                Error::Conflict("Message could not be correlated".into()),
            ));
        }
        moved += matched;
    }
    txn.commit().await.map_err(|e| (0, e.into()))?;
    Ok(moved)
}

/// Instances with an open subscription this message may match: those awaiting exactly this
/// key and value, and those awaiting any message of the name. Two queries, so that each uses
/// the (name, key, value) index (an OR across them would scan).
async fn awaiting(db: &impl ConnectionTrait, name: &str, message: &Message) -> Result<Vec<i64>> {
    let by_name = || {
        subscription::Entity::find()
            .select_only()
            .column(subscription::Column::PrcsId)
            .filter(subscription::Column::MessageName.eq(name))
    };
    let mut ids: Vec<i64> = by_name()
        .filter(subscription::Column::CorrelationKey.is_null())
        .into_tuple::<i64>()
        .all(db)
        .await?;
    if let Some(key) = &message.key {
        let value = match &message.value {
            Some(value) => subscription::Column::CorrelationValue.eq(value.as_str()),
            None => subscription::Column::CorrelationValue.is_null(),
        };
        let keyed = by_name()
            .filter(subscription::Column::CorrelationKey.eq(key.as_str()))
            .filter(value)
            .into_tuple::<i64>()
            .all(db)
            .await?;
        ids.extend(keyed);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Instances with a timer due by `at` (Unix seconds).
pub async fn with_due_timers(db: &DatabaseConnection, at: i64) -> Result<Vec<i64>> {
    Ok(process::Entity::find()
        .select_only()
        .column(process::Column::Id)
        .filter(process::Column::NextTimerDue.lte(at))
        .into_tuple::<i64>()
        .all(db)
        .await?)
}
