//! One process instance (`/v1/processes/:prcs_id`, read and write: OpenAPI wants each path in
//! one service), variables, step actions and messages. Each action is one transaction; arrays
//! are all-or-nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::flows::{
    Answer, Failure, FlowsResult, RawJson, elements, optional_str, processing_error, required_str,
};
use super::paging::{Collection, Paging};
use super::processes::{
    ProcessItem, VariableItem, process_item, process_links, step_links, variables,
};
use super::{BearerAuth, Tag};
use crate::engine::{Context, EngineError, Instance, Outcome, SubflowId, VariableValue};
use crate::state::AppState;
use crate::store::processes::{self, Message};

/// `{comment?}`
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Comment {
    pub comment: Option<String>,
}

/// One variable of `PUT process_vars` (or an array of them).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct VariableIn {
    pub name: String,
    /// varchar, number, date, clob, json
    #[oai(rename = "type")]
    pub ty: String,
    pub value: Value,
    pub scope: Option<i64>,
    pub sbfl_id: Option<i64>,
}

/// The body of a step action.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct StepAction {
    /// The step's current key (from `GET /v1/steps/:sbfl_id`).
    pub step_key: String,
    /// `reserve`: who reserves the step.
    pub reservation: Option<String>,
    /// `reschedule_timer`: fire now.
    pub is_immediate: Option<bool>,
    /// `reschedule_timer`: RFC 3339.
    pub new_timestamp: Option<String>,
    pub comment: Option<String>,
}

/// One message of `PUT /v1/messages/:message_name` (or an array of them).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct MessageIn {
    /// Correlation key name.
    pub key: Option<String>,
    /// Correlation value.
    pub value: Option<String>,
    /// Stored in the catch event's payload variable.
    pub payload: Option<Value>,
}

/// A variable of `PUT process_vars`. Its scope may be named by `scope` or by a step
/// (`sbfl_id`); without call activities every step of an instance runs in scope 0, so both
/// name the process level, and anything else does not exist.
fn variable(
    item: &Map<String, Value>,
    own_steps: &[i64],
) -> Result<(String, VariableValue), Failure> {
    let name = required_str(item, "name")?.to_owned();
    let ty = required_str(item, "type")?;
    let value = item.get("value").ok_or_else(|| {
        Failure::bad("Attribute not found").with("item", Value::Object(item.clone()))
    })?;
    let echo = || Value::Object(item.clone());
    match item.get("scope") {
        None | Some(Value::Null) => {}
        Some(scope) if scope.as_i64() == Some(0) => {}
        Some(scope) => {
            return Err(
                Failure::bad(format!("scope {scope} does not exist in this process"))
                    .with("item", echo()),
            );
        }
    }
    match item.get("sbfl_id") {
        None | Some(Value::Null) => {}
        Some(step) if step.as_i64().is_some_and(|id| own_steps.contains(&id)) => {}
        Some(step) => {
            return Err(
                Failure::bad(format!("step {step} is not a step of this process"))
                    .with("item", echo()),
            );
        }
    }
    let value = VariableValue::from_api(ty, value)
        .map_err(|e| Failure::bad(e.0).with("item", Value::Object(item.clone())))?;
    Ok((name, value))
}

fn message(item: &Map<String, Value>) -> Result<Message, Failure> {
    Ok(Message {
        key: optional_str(item, "key")?,
        value: optional_str(item, "value")?,
        payload: item.get("payload").filter(|p| !p.is_null()).cloned(),
    })
}

/// Reads every element; the first that fails fails the call (as `Processing Error` naming it
/// when an array was sent).
fn each<T>(
    items: &[Map<String, Value>],
    is_array: bool,
    read: impl Fn(&Map<String, Value>) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            read(item).map_err(|failure| {
                if is_array {
                    processing_error(items, index, failure)
                } else {
                    failure
                }
            })
        })
        .collect()
}

/// Echo of the elements an array call applied.
fn echo(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items.into_iter().map(Value::Object).collect()
}

pub struct ActionsApi {
    pub state: Arc<AppState>,
}

impl ActionsApi {
    async fn process_action<F>(
        &self,
        prcs_id: i64,
        body: &RawJson<Comment>,
        op: F,
    ) -> FlowsResult<Json<Answer>>
    where
        F: FnOnce(&mut Instance, &mut Context) -> Result<Outcome, EngineError> + Send,
    {
        body.object(false)?;
        processes::apply(&self.state.db, &self.state.runtime, prcs_id, op).await?;
        Ok(Answer::new(
            "status updated",
            Some(process_links(&self.state.public_url, prcs_id)),
            None,
        ))
    }

    async fn step_action<F>(
        &self,
        sbfl_id: i64,
        item: Map<String, Value>,
        op: F,
    ) -> FlowsResult<Json<Answer>>
    where
        F: FnOnce(&mut Instance, &mut Context, SubflowId, &str) -> Result<Outcome, EngineError>
            + Send,
    {
        let step_key = required_str(&item, "step_key")?.to_owned();
        let (prcs_id, local) = processes::resolve_step(&self.state.db, sbfl_id).await?;
        processes::apply(
            &self.state.db,
            &self.state.runtime,
            prcs_id,
            |instance, ctx| op(instance, ctx, local, &step_key),
        )
        .await?;
        Ok(Answer::new(
            "step updated",
            Some(step_links(&self.state.public_url, sbfl_id)),
            None,
        ))
    }
}

// One handler argument per documented query parameter.
#[allow(clippy::too_many_arguments)]
#[OpenApi]
impl ActionsApi {
    /// Start an instance: the token leaves the start event and runs to its first wait.
    #[oai(
        path = "/v1/processes/:prcs_id/start",
        method = "put",
        tag = "Tag::Processes"
    )]
    async fn start(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.process_action(prcs_id.0, &body, |i, ctx| i.start(ctx))
            .await
    }

    /// Reset an instance to `created` (variables are kept).
    #[oai(
        path = "/v1/processes/:prcs_id/reset",
        method = "put",
        tag = "Tag::Processes"
    )]
    async fn reset(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.process_action(prcs_id.0, &body, |i, _| Ok(i.reset()))
            .await
    }

    /// Terminate an instance.
    #[oai(
        path = "/v1/processes/:prcs_id/terminate",
        method = "put",
        tag = "Tag::Processes"
    )]
    async fn terminate(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.process_action(prcs_id.0, &body, |i, ctx| i.terminate(ctx))
            .await
    }

    /// One instance with its variables.
    #[oai(
        path = "/v1/processes/:prcs_id",
        method = "get",
        tag = "Tag::Processes"
    )]
    async fn process(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<ProcessItem>>> {
        let p = processes::show(&self.state.db, prcs_id.0).await?;
        let base = &self.state.public_url;
        Ok(Json(Collection::one(process_item(base, &p), base, req)))
    }

    /// Process variables, filtered by `scope` and `name`.
    #[oai(
        path = "/v1/processes/:prcs_id/process_vars",
        method = "get",
        tag = "Tag::ProcessVariables"
    )]
    async fn process_vars(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        scope: Query<Option<i64>>,
        name: Query<Option<String>>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<VariableItem>>> {
        let p = processes::show(&self.state.db, prcs_id.0).await?;
        let all = variables(&p.instance)
            .into_iter()
            .filter(|v| scope.0.is_none_or(|s| s == v.scope))
            .filter(|v| {
                name.0
                    .as_deref()
                    .is_none_or(|n| n.eq_ignore_ascii_case(&v.name))
            })
            .collect();
        Ok(Json(Collection::from_all(
            all,
            Paging::new(limit.0, offset.0),
            &self.state.public_url,
            req,
        )))
    }

    /// Delete an instance and everything it holds.
    #[oai(
        path = "/v1/processes/:prcs_id",
        method = "delete",
        tag = "Tag::Processes"
    )]
    async fn delete(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        body.object(false)?;
        processes::delete(&self.state.db, prcs_id.0).await?;
        Ok(Answer::new("process deleted", None, None))
    }

    /// Set process variables: one object or an array, all or nothing.
    #[oai(
        path = "/v1/processes/:prcs_id/process_vars",
        method = "put",
        tag = "Tag::ProcessVariables"
    )]
    async fn set_vars(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<VariableIn>,
    ) -> FlowsResult<Json<Answer>> {
        let (items, is_array) = elements(body.parse(true)?)?;
        let own_steps = if items.iter().any(|item| item.contains_key("sbfl_id")) {
            processes::step_ids_of(&self.state.db, prcs_id.0).await?
        } else {
            Vec::new()
        };
        let values = each(&items, is_array, |item| variable(item, &own_steps))?;
        processes::apply(&self.state.db, &self.state.runtime, prcs_id.0, |i, _| {
            i.set_variables(values)
        })
        .await?;
        Ok(Answer::new(
            "process variables updated",
            None,
            Some(echo(items)),
        ))
    }

    /// Mark a waiting task as started.
    #[oai(path = "/v1/steps/:sbfl_id/start", method = "put", tag = "Tag::Steps")]
    async fn start_step(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        self.step_action(sbfl_id.0, body.object(true)?, |i, ctx, id, key| {
            i.start_step(ctx, id, key)
        })
        .await
    }

    /// Reserve a step for someone (`reservation`).
    #[oai(
        path = "/v1/steps/:sbfl_id/reserve",
        method = "put",
        tag = "Tag::Steps"
    )]
    async fn reserve(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        let item = body.object(true)?;
        let who = required_str(&item, "reservation")?.to_owned();
        self.step_action(sbfl_id.0, item, |i, ctx, id, key| {
            i.reserve(ctx, id, key, &who)
        })
        .await
    }

    /// Release a reservation.
    #[oai(
        path = "/v1/steps/:sbfl_id/release",
        method = "put",
        tag = "Tag::Steps"
    )]
    async fn release(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        self.step_action(sbfl_id.0, body.object(true)?, |i, ctx, id, key| {
            i.release(ctx, id, key)
        })
        .await
    }

    /// Complete a step; the token moves on to its next wait.
    #[oai(
        path = "/v1/steps/:sbfl_id/complete",
        method = "put",
        tag = "Tag::Steps"
    )]
    async fn complete(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        self.step_action(sbfl_id.0, body.object(true)?, |i, ctx, id, key| {
            i.complete_step(ctx, id, key)
        })
        .await
    }

    /// Retry a step in error (e.g. after setting the variable a gateway needed).
    #[oai(
        path = "/v1/steps/:sbfl_id/restart",
        method = "put",
        tag = "Tag::Steps"
    )]
    async fn restart(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        self.step_action(sbfl_id.0, body.object(true)?, |i, ctx, id, key| {
            i.restart_step(ctx, id, key)
        })
        .await
    }

    /// Fire a waiting timer now (`is_immediate`) or move it (`new_timestamp`).
    #[oai(
        path = "/v1/steps/:sbfl_id/reschedule_timer",
        method = "put",
        tag = "Tag::Steps"
    )]
    async fn reschedule_timer(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepAction>,
    ) -> FlowsResult<Json<Answer>> {
        let item = body.object(true)?;
        let immediate = item
            .get("is_immediate")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let at = match optional_str(&item, "new_timestamp")? {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| Failure::bad("new_timestamp is not an RFC 3339 timestamp"))?,
            ),
            None => None,
        };
        self.step_action(sbfl_id.0, item, move |i, ctx, id, key| {
            i.reschedule_timer(ctx, id, key, immediate, at)
        })
        .await
    }

    /// Send a message: one object or an array of `{key, value, payload}`, all or nothing. Each
    /// must be awaited by an open subscription.
    #[oai(
        path = "/v1/messages/:message_name",
        method = "put",
        tag = "Tag::Messages"
    )]
    async fn message(
        &self,
        _auth: BearerAuth,
        message_name: Path<String>,
        body: RawJson<MessageIn>,
    ) -> FlowsResult<Json<Answer>> {
        let (items, is_array) = elements(body.parse(true)?)?;
        let messages = each(&items, is_array, message)?;
        match processes::correlate(
            &self.state.db,
            &self.state.runtime,
            &message_name.0,
            &messages,
        )
        .await
        {
            Ok(_) => Ok(Answer::new("message processed", None, Some(echo(items)))),
            Err((index, err)) => {
                let failure = Failure::from(err);
                if is_array && failure.status < 500 {
                    Err(processing_error(&items, index, failure).into())
                } else {
                    Err(failure.into())
                }
            }
        }
    }
}

impl poem_openapi::types::Example for Comment {
    fn example() -> Self {
        Comment {
            comment: Some("requested by the order desk".into()),
        }
    }
}

impl poem_openapi::types::Example for VariableIn {
    fn example() -> Self {
        VariableIn {
            name: "reviewer".into(),
            ty: "varchar".into(),
            value: Value::from("alice"),
            scope: None,
            sbfl_id: None,
        }
    }
}

impl poem_openapi::types::Example for StepAction {
    /// One example for every step action: each reads the fields it needs.
    fn example() -> Self {
        StepAction {
            step_key: "Zm9vYmFyYmF6cXV4".into(),
            reservation: Some("alice".into()),
            is_immediate: Some(true),
            new_timestamp: None,
            comment: None,
        }
    }
}

impl poem_openapi::types::Example for MessageIn {
    fn example() -> Self {
        MessageIn {
            key: Some("order_id".into()),
            value: Some("A-1001".into()),
            payload: Some(serde_json::json!({"paid": 1200})),
        }
    }
}
