//! The read side of the process API (Flows for APEX v1): diagrams, instances, steps,
//! activities, subscriptions and variables, plus creating an instance.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::flows::{FlowsResult, RawJson, link, optional_str};
use super::paging::{Collection, Link, Paging};
use super::{BearerAuth, Tag};
use crate::engine::{Instance, Subflow, VariableValue};
use crate::state::AppState;
use crate::store::diagrams::{self, DiagramInfo};
use crate::store::processes::{self, ProcessView};

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct DiagramItem {
    pub dgrm_id: i64,
    pub name: String,
    pub version: i32,
    /// draft, released, deprecated, archived
    pub status: String,
    pub category: Option<String>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
pub struct VariableItem {
    /// 0: process level.
    pub scope: i64,
    pub name: String,
    /// VARCHAR2, NUMBER, DATE, CLOB or JSON
    #[oai(rename = "type")]
    pub ty: String,
    pub value: Value,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct ProcessItem {
    pub dgrm_id: i64,
    pub prcs_id: i64,
    pub name: String,
    /// created, running, completed, terminated, error
    pub status: String,
    pub business_ref: Option<String>,
    /// RFC 3339
    pub init_ts: String,
    pub init_by: String,
    pub process_vars: Vec<VariableItem>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct StepItem {
    pub prcs_id: i64,
    pub sbfl_id: i64,
    /// The step that forked this one at a parallel gateway.
    pub sbfl_sbfl_id: Option<i64>,
    pub process_level: i64,
    pub diagram_level: i64,
    pub calling_sbfl: Option<i64>,
    pub scope: i64,
    /// The BPMN element the step is on.
    pub current: String,
    /// Send it back with every action on this step; it changes at every move.
    pub step_key: String,
    pub status: String,
    /// RFC 3339
    pub became_current: String,
    pub reservation: Option<String>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
pub struct ActivitiesItem {
    pub current: Vec<String>,
    pub completed: Vec<String>,
    pub error: Vec<String>,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct SubscriptionItem {
    /// Message name.
    pub name: String,
    /// Correlation key.
    pub key: Option<String>,
    /// Expected correlation value.
    pub value: Option<String>,
}

/// The optional body of `POST /v1/diagrams/:dgrm_id/processes`.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewProcess {
    pub name: Option<String>,
    pub version: Option<i64>,
    /// Stored as the variable BUSINESS_REF.
    pub business_ref: Option<String>,
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

#[derive(ApiResponse)]
pub enum Export {
    /// The BPMN XML.
    #[oai(status = 200, content_type = "application/xml")]
    Xml(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

pub fn diagram_item(base: &str, d: DiagramInfo) -> DiagramItem {
    let href = format!("{base}/v1/diagrams/{}", d.dgrm_id);
    DiagramItem {
        links: vec![
            link("self", href.clone(), "GET"),
            link("export", format!("{href}/export"), "GET"),
            link("processes", format!("{href}/processes"), "GET"),
            link("create-process", format!("{href}/processes"), "POST"),
        ],
        dgrm_id: d.dgrm_id,
        name: d.name,
        version: d.version,
        status: d.status,
        category: d.category,
    }
}

pub fn variables(instance: &Instance) -> Vec<VariableItem> {
    instance
        .variables()
        .iter()
        .map(|(name, value): (&String, &VariableValue)| VariableItem {
            scope: 0,
            name: name.clone(),
            ty: value.type_name().into(),
            value: value.to_json(),
        })
        .collect()
}

/// The links of an instance: itself and its actions.
pub fn process_links(base: &str, prcs_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/processes/{prcs_id}");
    let mut links = vec![
        link("self", href.clone(), "GET"),
        link("steps", format!("{href}/steps"), "GET"),
    ];
    for action in ["start", "reset", "terminate"] {
        links.push(link(action, format!("{href}/{action}"), "PUT"));
    }
    links.push(link("delete", href, "DELETE"));
    links
}

pub fn process_item(base: &str, p: &ProcessView) -> ProcessItem {
    ProcessItem {
        dgrm_id: p.dgrm_id,
        prcs_id: p.prcs_id,
        name: p.name.clone(),
        status: p.status.clone(),
        business_ref: p.business_ref.clone(),
        init_ts: chrono::DateTime::from_timestamp(p.init_ts, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        init_by: p.init_by.clone(),
        process_vars: variables(&p.instance),
        links: process_links(base, p.prcs_id),
    }
}

/// The links of a step: itself and its actions.
pub fn step_links(base: &str, sbfl_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/steps/{sbfl_id}");
    let mut links = vec![link("self", href.clone(), "GET")];
    for action in [
        "start",
        "reserve",
        "release",
        "complete",
        "restart",
        "reschedule_timer",
    ] {
        links.push(link(action, format!("{href}/{action}"), "PUT"));
    }
    links
}

pub fn step_item(base: &str, p: &ProcessView, s: &Subflow) -> StepItem {
    let sbfl_id = p.step_id(s.id).unwrap_or_default();
    StepItem {
        prcs_id: p.prcs_id,
        sbfl_id,
        sbfl_sbfl_id: s.parent_id.and_then(|parent| p.step_id(parent)),
        process_level: 0,
        diagram_level: 0,
        calling_sbfl: None,
        scope: 0,
        current: s.current_element.clone(),
        step_key: s.step_key.clone(),
        status: s.status.as_str().into(),
        became_current: s.became_current.to_rfc3339(),
        reservation: s.reservation.clone(),
        links: step_links(base, sbfl_id),
    }
}

pub struct ProcessApi {
    pub state: Arc<AppState>,
}

// One handler argument per documented query parameter.
#[allow(clippy::too_many_arguments)]
#[OpenApi]
impl ProcessApi {
    /// List diagrams (`status` defaults to `released`; `all` for any; `name` is a
    /// case-insensitive substring).
    #[oai(path = "/v1/diagrams", method = "get", tag = "Tag::Diagrams")]
    async fn diagrams(
        &self,
        _auth: BearerAuth,
        req: &Request,
        status: Query<Option<String>>,
        name: Query<Option<String>>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<DiagramItem>>> {
        let paging = Paging::new(limit.0, offset.0);
        let status = status.0.unwrap_or_else(|| "released".into());
        let (rows, total) = diagrams::list(
            &self.state.db,
            &status,
            name.0.as_deref(),
            paging.limit,
            paging.offset,
        )
        .await?;
        let base = &self.state.public_url;
        let items = rows.into_iter().map(|d| diagram_item(base, d)).collect();
        Ok(Json(Collection::page(items, total, paging, base, req)))
    }

    /// One diagram.
    #[oai(path = "/v1/diagrams/:dgrm_id", method = "get", tag = "Tag::Diagrams")]
    async fn diagram(
        &self,
        _auth: BearerAuth,
        req: &Request,
        dgrm_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<DiagramItem>>> {
        let d = diagrams::show(&self.state.db, dgrm_id.0).await?;
        let base = &self.state.public_url;
        Ok(Json(Collection::one(diagram_item(base, d), base, req)))
    }

    /// The diagram's BPMN XML.
    #[oai(
        path = "/v1/diagrams/:dgrm_id/export",
        method = "get",
        tag = "Tag::Diagrams"
    )]
    async fn export(&self, _auth: BearerAuth, dgrm_id: Path<i64>) -> FlowsResult<Export> {
        let (d, xml) = diagrams::export(&self.state.db, dgrm_id.0).await?;
        let file: String = d
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Ok(Export::Xml(
            PlainText(xml),
            format!("attachment; filename=\"{file}_v{}.bpmn\"", d.version),
        ))
    }

    /// Instances of a diagram (`status`: created, running (default), completed, terminated,
    /// error, all).
    #[oai(
        path = "/v1/diagrams/:dgrm_id/processes",
        method = "get",
        tag = "Tag::Processes"
    )]
    async fn processes(
        &self,
        _auth: BearerAuth,
        req: &Request,
        dgrm_id: Path<i64>,
        status: Query<Option<String>>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<ProcessItem>>> {
        let paging = Paging::new(limit.0, offset.0);
        let status = status.0.unwrap_or_else(|| "running".into());
        let (rows, total) = processes::list_for_diagram(
            &self.state.db,
            dgrm_id.0,
            &status,
            paging.limit,
            paging.offset,
        )
        .await?;
        let base = &self.state.public_url;
        let items = rows.iter().map(|p| process_item(base, p)).collect();
        Ok(Json(Collection::page(items, total, paging, base, req)))
    }

    /// Create an instance of a released diagram (status `created`; start it with
    /// `PUT /v1/processes/:prcs_id/start`).
    #[oai(
        path = "/v1/diagrams/:dgrm_id/processes",
        method = "post",
        tag = "Tag::Processes"
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
            Some(v) => Some(
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| {
                        super::flows::Failure::bad("Attribute version must be a number")
                    })?,
            ),
        };
        let created = processes::create(
            &self.state.db,
            dgrm_id.0,
            optional_str(&item, "name")?,
            version,
            optional_str(&item, "business_ref")?,
            &auth.0.token.subject,
        )
        .await?;
        let base = &self.state.public_url;
        let location = format!("{base}/v1/processes/{}", created.prcs_id);
        let collection = Collection::one(process_item(base, &created), base, req);
        Ok(Created::Created(Json(collection), location))
    }

    /// The steps (subflows) of an instance.
    #[oai(
        path = "/v1/processes/:prcs_id/steps",
        method = "get",
        tag = "Tag::Steps"
    )]
    async fn steps(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<StepItem>>> {
        let p = processes::show(&self.state.db, prcs_id.0).await?;
        let base = &self.state.public_url;
        let all = p
            .instance
            .subflows()
            .iter()
            .map(|s| step_item(base, &p, s))
            .collect();
        Ok(Json(Collection::from_all(
            all,
            Paging::new(limit.0, offset.0),
            base,
            req,
        )))
    }

    /// BPMN element ids by state: one item `{current, completed, error}`.
    #[oai(
        path = "/v1/processes/:prcs_id/activities",
        method = "get",
        tag = "Tag::Processes"
    )]
    async fn activities(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<ActivitiesItem>>> {
        let p = processes::show(&self.state.db, prcs_id.0).await?;
        let a = p.instance.activities();
        let item = ActivitiesItem {
            current: a.current,
            completed: a.completed,
            error: a.error,
        };
        Ok(Json(Collection::one(item, &self.state.public_url, req)))
    }

    /// Open message subscriptions of an instance.
    #[oai(
        path = "/v1/processes/:prcs_id/message_subscriptions",
        method = "get",
        tag = "Tag::Messages"
    )]
    async fn subscriptions(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<SubscriptionItem>>> {
        let p = processes::show(&self.state.db, prcs_id.0).await?;
        let all = p
            .instance
            .subscriptions()
            .iter()
            .map(|s| SubscriptionItem {
                name: s.message_name.clone(),
                key: s.correlation_key.clone(),
                value: s.correlation_value.clone(),
            })
            .collect();
        Ok(Json(Collection::from_all(
            all,
            Paging::new(limit.0, offset.0),
            &self.state.public_url,
            req,
        )))
    }

    /// One step.
    #[oai(path = "/v1/steps/:sbfl_id", method = "get", tag = "Tag::Steps")]
    async fn step(
        &self,
        _auth: BearerAuth,
        req: &Request,
        sbfl_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<StepItem>>> {
        let (prcs_id, local) = processes::resolve_step(&self.state.db, sbfl_id.0).await?;
        let p = processes::show(&self.state.db, prcs_id).await?;
        let subflow = p
            .instance
            .subflow(local)
            .ok_or_else(|| crate::Error::not_found("Item not found"))?;
        let base = &self.state.public_url;
        Ok(Json(Collection::one(
            step_item(base, &p, subflow),
            base,
            req,
        )))
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
