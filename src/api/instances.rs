//! Process instances: list a diagram's, create, read, delete, start, reset, terminate, and the
//! activity record. (OpenAPI wants each path in one service, so `/v1/processes/:prcs_id`'s GET
//! and DELETE live together here.)

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::apex::{Answer, FlowsResult, RawJson, found, optional_str};
use super::dto::{ActivitiesItem, ProcessItem, process_item, process_links};
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::Error;
use crate::answers::json::{WrittenJson, serialized_bytes};
use crate::services::App;
use crate::services::processes::{self, NewInstance, ProcessAction};

/// The optional body of `POST /v1/diagrams/:dgrm_id/processes`.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewProcess {
    pub name: Option<String>,
    /// The diagram's version (text; a number is taken as its text); another is 404.
    pub version: Option<String>,
    /// Stored as the variable BUSINESS_REF.
    pub business_ref: Option<String>,
}

/// `{comment?}`
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Comment {
    pub comment: Option<String>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The new instance (status `created`).
    #[oai(status = 201)]
    Created(
        Json<Collection<ProcessItem>>,
        #[oai(header = "Location")] String,
    ),
}

pub struct InstancesApi {
    pub app: Arc<App>,
}

impl InstancesApi {
    async fn act(
        &self,
        prcs_id: i64,
        body: &RawJson<Comment>,
        action: ProcessAction,
    ) -> FlowsResult<Json<Answer>> {
        body.object(false)?;
        processes::act(&self.app, prcs_id, action).await?;
        Ok(Answer::new(
            "status updated",
            Some(process_links(&self.app.public_url, prcs_id)),
            None,
        ))
    }
}

// One handler argument per documented query parameter.
#[allow(clippy::too_many_arguments)]
#[OpenApi(tag = "Tag::Processes")]
impl InstancesApi {
    /// Instances of a diagram.
    ///
    /// Needs the Read role; without it the answer is an empty collection. `status` is one of
    /// created, running (the default), completed, terminated, error (compared case-insensitively)
    /// or all; an unknown status, like an unknown diagram, finds nothing. Each instance comes
    /// with its variables; `limit` (default 100, at most 1000) and `offset` page the list.
    #[oai(
        path = "/v1/diagrams/:dgrm_id/processes",
        method = "get",
        operation_id = "listDiagramProcesses"
    )]
    async fn processes(
        &self,
        _auth: BearerAuth,
        req: &Request,
        dgrm_id: Path<i64>,
        status: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<ProcessItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let base = &self.app.public_url;
        // As Flows: only `all` itself means all; any other value is compared ignoring case.
        let status = match status.0.filter(|s| !s.is_empty()) {
            Some(all) if all == "all" => all,
            // `ALL` is compared as a status, which no instance has.
            Some(other) if other.eq_ignore_ascii_case("all") => String::new(),
            Some(other) => other.to_lowercase(),
            None => "running".into(),
        };
        if status != "all" && !processes::STATUSES.contains(&status.as_str()) {
            return Ok(Json(Collection::page(Vec::new(), 0, paging, base, req)));
        }
        let listed = processes::list_for_diagram(&self.app, dgrm_id.0, &status, paging).await;
        let (rows, more) = found(listed)?.unwrap_or_default();
        let items = rows.iter().map(|p| process_item(base, p)).collect();
        Ok(Json(Collection::window(items, more, paging, base, req)))
    }

    /// Create an instance of a released diagram.
    ///
    /// Needs the Write role (403 without it). The instance starts in status `created`; start it
    /// with `PUT /v1/processes/:prcs_id/start`. The optional JSON body gives `name`,
    /// `business_ref` (stored as the variable `BUSINESS_REF`) and `version`, which must be the
    /// diagram's. Answers 201 with the instance and its `Location`; 404 `Item not found` for an
    /// unknown diagram or a version it does not have, 409 if the diagram is not released.
    #[oai(
        path = "/v1/diagrams/:dgrm_id/processes",
        method = "post",
        operation_id = "createProcess"
    )]
    async fn create(
        &self,
        auth: BearerAuth,
        req: &Request,
        dgrm_id: Path<i64>,
        body: RawJson<NewProcess>,
    ) -> FlowsResult<Created> {
        let item = body.object(false)?;
        let version = match item.get("version") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                return Err(
                    Error::attribute("version", "Attribute version must be a string").into(),
                );
            }
        };
        let new = NewInstance {
            name: optional_str(&item, "name")?,
            version,
            business_ref: optional_str(&item, "business_ref")?,
        };
        let created = processes::create(&self.app, dgrm_id.0, new, auth.0.sub()).await?;
        let base = &self.app.public_url;
        let location = format!("{base}/v1/processes/{}", created.prcs_id);
        let collection = Collection::one(process_item(base, &created), base, req);
        Ok(Created::Created(Json(collection), location))
    }

    /// Start an instance: the token leaves the start event and runs to its first wait.
    ///
    /// Needs the Write role (403 without it). The body is optional (`{comment}`). 404
    /// `Item not found` for an unknown instance, 409 if it has been started already.
    #[oai(
        path = "/v1/processes/:prcs_id/start",
        method = "put",
        operation_id = "startProcess"
    )]
    async fn start(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(prcs_id.0, &body, ProcessAction::Start).await
    }

    /// Reset an instance to `created` (variables are kept).
    ///
    /// Needs the Write role (403 without it). Steps, subscriptions, timers and the activity record
    /// are cleared; the body is optional (`{comment}`). 404 `Item not found` for an unknown
    /// instance.
    #[oai(
        path = "/v1/processes/:prcs_id/reset",
        method = "put",
        operation_id = "resetProcess"
    )]
    async fn reset(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(prcs_id.0, &body, ProcessAction::Reset).await
    }

    /// Terminate an instance.
    ///
    /// Needs the Write role (403 without it). Every step completes and open subscriptions and
    /// timers are closed; the body is optional (`{comment}`). 404 `Item not found` for an unknown
    /// instance, 409 if it has ended already.
    #[oai(
        path = "/v1/processes/:prcs_id/terminate",
        method = "put",
        operation_id = "terminateProcess"
    )]
    async fn terminate(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        self.act(prcs_id.0, &body, ProcessAction::Terminate).await
    }

    /// One instance with its variables.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Answers a collection of
    /// one item, with `process_vars` and links to itself, its actions and its variables, or of
    /// none for an unknown instance (as Flows does).
    #[oai(
        path = "/v1/processes/:prcs_id",
        method = "get",
        operation_id = "getProcess"
    )]
    async fn process(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
    ) -> FlowsResult<WrittenJson<Collection<ProcessItem>>> {
        let base = &self.app.public_url;
        Ok(match found(processes::show(&self.app, prcs_id.0).await)? {
            Some(p) => {
                let item = p
                    .written
                    .get_or_init(|| serialized_bytes(&process_item(base, &p)).into());
                WrittenJson::from_bytes(Collection::<ProcessItem>::one_written(item, base, req))
            }
            None => WrittenJson::of(&Collection::<ProcessItem>::maybe(None, base, req)),
        })
    }

    /// Delete an instance and everything it holds.
    ///
    /// Needs the Admin role (403 without it). The optional body's `comment` is written to the audit
    /// log. 404 `Item not found` for an unknown instance.
    #[oai(
        path = "/v1/processes/:prcs_id",
        method = "delete",
        operation_id = "deleteProcess"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<Comment>,
    ) -> FlowsResult<Json<Answer>> {
        let item = body.object(false)?;
        let comment = optional_str(&item, "comment")?;
        processes::delete(&self.app, &auth.0.actor(), prcs_id.0, comment).await?;
        Ok(Answer::new("process deleted", None, None))
    }

    /// BPMN element ids by state: one item `{current, completed, error}`.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Answers a collection of
    /// one item; for an unknown instance its three values are `null` (as Flows answers).
    #[oai(
        path = "/v1/processes/:prcs_id/activities",
        method = "get",
        operation_id = "getProcessActivities"
    )]
    async fn activities(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<ActivitiesItem>>> {
        let item = match found(processes::show(&self.app, prcs_id.0).await)? {
            Some(p) => {
                let a = p.instance.activities();
                ActivitiesItem {
                    current: Some(a.current),
                    completed: Some(a.completed),
                    error: Some(a.error),
                }
            }
            None => ActivitiesItem {
                current: None,
                completed: None,
                error: None,
            },
        };
        Ok(Json(Collection::one(item, &self.app.public_url, req)))
    }
}

impl poem_openapi::types::Example for NewProcess {
    fn example() -> Self {
        NewProcess {
            name: Some("Order A-1001".into()),
            version: None,
            business_ref: Some("A-1001".into()),
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
