//! Steps (subflows): an instance's steps, one step, and the step actions. Every action names
//! the step's current `step_key`; a stale key is refused.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::apex::{
    Answer, FlowsResult, Needed, Problem, RawJson, found, require, required_text, text,
};
use super::dto::{StepItem, step_item, step_links};
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::services::App;
use crate::services::processes::{self, StepAction};

/// The body of a step action.
#[derive(Object)]
#[oai(rename = "StepAction", skip_serializing_if_is_none, example)]
pub struct StepActionBody {
    /// The step's current key (from `GET /v1/steps/:sbfl_id`).
    #[oai(validator(min_length = 1))]
    pub step_key: String,
    /// `reserve`: who reserves the step.
    pub reservation: Option<String>,
    /// `reschedule_timer`: fire now.
    pub is_immediate: Option<bool>,
    /// `reschedule_timer`: RFC 3339.
    pub new_timestamp: Option<String>,
    pub comment: Option<String>,
}

pub struct StepsApi {
    pub app: Arc<App>,
}

impl StepsApi {
    /// Reads the body once, checks that it has `step_key` and the action's own required
    /// attributes (`extra`; Flows names each one missing in the echoed body's `errors`), takes
    /// the action's fields from it, then applies the action.
    async fn act(
        &self,
        sbfl_id: i64,
        body: &RawJson<StepActionBody>,
        extra: &[Needed],
        action: impl FnOnce(&Map<String, Value>) -> Result<StepAction, Problem>,
    ) -> FlowsResult<Json<Answer>> {
        let item = body.object(true)?;
        let judged = (|| {
            let needed: Vec<Needed> = [Needed::Text("step_key")]
                .into_iter()
                .chain(extra.iter().copied())
                .collect();
            require(&item, &needed)?;
            Ok((required_text(&item, "step_key")?, action(&item)?))
        })();
        let (step_key, action) = judged.map_err(|problem: Problem| problem.answer(&item))?;
        processes::act_on_step(&self.app, sbfl_id, &step_key, action).await?;
        Ok(Answer::new(
            "step updated",
            Some(step_links(&self.app.public_url, sbfl_id)),
            None,
        ))
    }
}

#[OpenApi(tag = "Tag::Steps")]
impl StepsApi {
    /// The steps (subflows) of an instance.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Lists the steps Flows
    /// lists: those not completed (an ended instance has none). Each step carries its current
    /// `step_key`, which every step action must send back; `limit` (default 100, at most 1000)
    /// and `offset` page the list. An unknown instance has no steps.
    #[oai(
        path = "/v1/processes/:prcs_id/steps",
        method = "get",
        operation_id = "listProcessSteps"
    )]
    async fn steps(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<StepItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let base = &self.app.public_url;
        // Flows deletes a subflow once it completes: only live ones are listed.
        let all = match found(processes::show(&self.app, prcs_id.0).await)? {
            Some(p) => p
                .instance
                .subflows()
                .iter()
                .filter(|s| s.is_live())
                .map(|s| step_item(base, &p, s))
                .collect(),
            None => Vec::new(),
        };
        Ok(Json(Collection::from_all(all, paging, base, req)))
    }

    /// One step.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Answers a collection of
    /// one item with the current `step_key` and links to the step actions, or of none for an
    /// unknown or completed step (as Flows does).
    #[oai(path = "/v1/steps/:sbfl_id", method = "get", operation_id = "getStep")]
    async fn step(
        &self,
        _auth: BearerAuth,
        req: &Request,
        sbfl_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<StepItem>>> {
        let base = &self.app.public_url;
        let item = found(processes::step(&self.app, sbfl_id.0).await)?.and_then(|(p, local)| {
            p.instance
                .subflow(local)
                .filter(|s| s.is_live())
                .map(|s| step_item(base, &p, s))
        });
        Ok(Json(Collection::maybe(item, base, req)))
    }

    /// Mark a waiting task as started.
    ///
    /// Needs the Write role (403 without it). The body is `{step_key}`; the time of the first start
    /// is kept. 404 `Item not found` for an unknown step; 409 if the `step_key` is stale or the
    /// step is not a task waiting in a running instance.
    #[oai(
        path = "/v1/steps/:sbfl_id/start",
        method = "put",
        operation_id = "startStep"
    )]
    async fn start_step(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[], |_| Ok(StepAction::Start))
            .await
    }

    /// Reserve a step for someone (`reservation`).
    ///
    /// Needs the Write role (403 without it). The body is `{step_key, reservation}` (400
    /// `Attribute not found` without `reservation`). 404 `Item not found` for an unknown step; 409
    /// if the `step_key` is stale, the step is reserved already or is not a task waiting in a
    /// running instance.
    #[oai(
        path = "/v1/steps/:sbfl_id/reserve",
        method = "put",
        operation_id = "reserveStep"
    )]
    async fn reserve(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[Needed::Text("reservation")], |item| {
            Ok(StepAction::Reserve {
                reservation: required_text(item, "reservation")?,
            })
        })
        .await
    }

    /// Release a reservation.
    ///
    /// Needs the Write role (403 without it). The body is `{step_key}`; releasing an unreserved
    /// step changes nothing. 404 `Item not found` for an unknown step; 409 if the `step_key` is
    /// stale or the step is not a task waiting in a running instance.
    #[oai(
        path = "/v1/steps/:sbfl_id/release",
        method = "put",
        operation_id = "releaseStep"
    )]
    async fn release(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[], |_| Ok(StepAction::Release))
            .await
    }

    /// Complete a step; the token moves on to its next wait.
    ///
    /// Needs the Write role (403 without it). The body is `{step_key}`; read the instance's steps
    /// again afterwards for the new keys. 404 `Item not found` for an unknown step; 409 if the
    /// `step_key` is stale or the step is not a task waiting in a running instance.
    #[oai(
        path = "/v1/steps/:sbfl_id/complete",
        method = "put",
        operation_id = "completeStep"
    )]
    async fn complete(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[], |_| Ok(StepAction::Complete))
            .await
    }

    /// Retry a step in error (e.g. after setting the variable a gateway needed).
    ///
    /// Needs the Write role (403 without it). The body is `{step_key}`. 404 `Item not found` for an
    /// unknown step; 409 if the `step_key` is stale, the step is not in error, or it fails again
    /// (nothing is then changed).
    #[oai(
        path = "/v1/steps/:sbfl_id/restart",
        method = "put",
        operation_id = "restartStep"
    )]
    async fn restart(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[], |_| Ok(StepAction::Restart))
            .await
    }

    /// Fire a waiting timer now (`is_immediate`) or move it (`new_timestamp`).
    ///
    /// Needs the Write role (403 without it). The body is `{step_key}` with `is_immediate: true` or
    /// a `new_timestamp` (RFC 3339; 400 if it does not parse). 404 `Item not found` for an unknown
    /// step; 409 if the `step_key` is stale, the instance is not running, the step does not wait
    /// for a timer, or neither `is_immediate` nor `new_timestamp` is given.
    #[oai(
        path = "/v1/steps/:sbfl_id/reschedule_timer",
        method = "put",
        operation_id = "rescheduleStepTimer"
    )]
    async fn reschedule_timer(
        &self,
        _auth: BearerAuth,
        sbfl_id: Path<i64>,
        body: RawJson<StepActionBody>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(sbfl_id.0, &body, &[], |item| {
            Ok(StepAction::RescheduleTimer {
                is_immediate: item
                    .get("is_immediate")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                new_timestamp: text(item, "new_timestamp")?,
            })
        })
        .await
    }
}

impl poem_openapi::types::Example for StepActionBody {
    /// One example for every step action: each reads the fields it needs.
    fn example() -> Self {
        StepActionBody {
            step_key: "Zm9vYmFyYmF6cXV4".into(),
            reservation: Some("alice".into()),
            is_immediate: Some(true),
            new_timestamp: None,
            comment: None,
        }
    }
}
