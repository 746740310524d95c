//! `/v1/flow_requests`: a client asks to run a process for a person, who confirms in the
//! browser (`/v1/flow_requests/confirm/`, a page); a client sees and deletes only its own.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::apex::{FlowsResult, Problem, RawJson, link, optional_str};
use super::paging::{Collection, Link, Paging};
use super::{BearerAuth, Tag};
use crate::services::App;
use crate::services::flow_requests::{self, FlowRequestView, NewFlowRequest};

/// The body of `POST /v1/flow_requests`.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NewFlowRequestBody {
    /// The released diagram whose process the person is asked to run.
    pub dgrm_id: i64,
    /// A name for the process instance.
    pub name: Option<String>,
    /// Stored as the instance's variable BUSINESS_REF.
    pub business_ref: Option<String>,
    /// The username of the person who should confirm, if known.
    pub person: Option<String>,
}

/// A flow request and the id of its pending confirmation.
#[derive(Object)]
pub struct FlowRequestTicket {
    /// Names the flow request.
    pub process_id: String,
    /// Send the person to `/v1/flow_requests/confirm/?confirm_id=…&action=…&callback_url=…`;
    /// single use, valid 15 minutes.
    pub confirm_id: String,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct FlowRequestItem {
    pub process_id: String,
    /// pending, active or deleting
    pub status: String,
    pub client_id: String,
    /// Who confirmed it (or who should).
    pub person: Option<String>,
    pub dgrm_id: i64,
    /// The process instance, once confirmed.
    pub prcs_id: Option<i64>,
    pub name: Option<String>,
    pub business_ref: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub links: Vec<Link>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// Pending until the person confirms it.
    #[oai(status = 201)]
    Created(Json<FlowRequestTicket>, #[oai(header = "Location")] String),
}

fn item(base: &str, view: FlowRequestView) -> FlowRequestItem {
    let href = format!("{base}/v1/flow_requests/{}", view.process_id);
    let mut links = vec![
        link("self", href.clone(), "GET"),
        link("delete", href, "DELETE"),
    ];
    if let Some(prcs_id) = view.prcs_id {
        links.push(link(
            "process",
            format!("{base}/v1/processes/{prcs_id}"),
            "GET",
        ));
    }
    FlowRequestItem {
        process_id: view.process_id,
        status: view.status,
        client_id: view.client_id,
        person: view.person,
        dgrm_id: view.dgrm_id,
        prcs_id: view.prcs_id,
        name: view.name,
        business_ref: view.business_ref,
        created_at: view.created_at,
        updated_at: view.updated_at,
        links,
    }
}

pub struct FlowRequestsApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::FlowRequests")]
impl FlowRequestsApi {
    /// Ask a person to run a process.
    ///
    /// Needs the Write role (403 without it). The body names a released diagram (`dgrm_id`) and
    /// optionally `name`, `business_ref` and the `person` (username) who should confirm. Answers
    /// 201 with `process_id` and `confirm_id`; the request stays `pending` until the person
    /// confirms in the browser. 404 `Item not found` for an unknown diagram, 409 for one not
    /// released, 400 for wrong types or an array.
    #[oai(
        path = "/v1/flow_requests",
        method = "post",
        operation_id = "createFlowRequest"
    )]
    async fn create(
        &self,
        auth: BearerAuth,
        body: RawJson<NewFlowRequestBody>,
    ) -> FlowsResult<Created> {
        let item = body.object(true)?;
        let dgrm_id = match item.get("dgrm_id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| Problem::Missing(vec!["dgrm_id"]).answer(&item))?;
        let new = NewFlowRequest {
            dgrm_id,
            name: optional_str(&item, "name")?,
            business_ref: optional_str(&item, "business_ref")?,
            person: optional_str(&item, "person")?,
        };
        let (view, confirm_id) = flow_requests::create(&self.app, &auth.0, new).await?;
        let location = format!(
            "{}/v1/flow_requests/{}",
            self.app.public_url, view.process_id
        );
        Ok(Created::Created(
            Json(FlowRequestTicket {
                process_id: view.process_id,
                confirm_id,
            }),
            location,
        ))
    }

    /// The caller's flow requests.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Only the calling
    /// client's requests, oldest first; `limit` (default 100, at most 1000) and `offset` page
    /// the list.
    #[oai(
        path = "/v1/flow_requests",
        method = "get",
        operation_id = "listFlowRequests"
    )]
    async fn list(
        &self,
        auth: BearerAuth,
        req: &Request,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<FlowRequestItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (views, total) = flow_requests::list(&self.app, &auth.0, paging).await?;
        let base = &self.app.public_url;
        let items = views.into_iter().map(|v| item(base, v)).collect();
        Ok(Json(Collection::page(items, total, paging, base, req)))
    }

    /// One flow request.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Shows its status
    /// (`pending`, `active`, `deleting`), client, person, diagram and process instance; another
    /// client's request is 404 `Item not found`.
    #[oai(
        path = "/v1/flow_requests/:process_id",
        method = "get",
        operation_id = "getFlowRequest"
    )]
    async fn show(
        &self,
        auth: BearerAuth,
        req: &Request,
        process_id: Path<String>,
    ) -> FlowsResult<Json<Collection<FlowRequestItem>>> {
        let view = flow_requests::show(&self.app, &auth.0, &process_id.0).await?;
        let base = &self.app.public_url;
        Ok(Json(Collection::one(item(base, view), base, req)))
    }

    /// Ask a person to confirm deleting a flow request.
    ///
    /// Needs the Write role (403 without it). The request becomes `deleting` and the answer
    /// carries a new `confirm_id` (action `delete`): once the person confirms, the request is
    /// removed and its process terminated; if they decline it is `active` again. 404 for
    /// another client's request, 409 for one still pending.
    #[oai(
        path = "/v1/flow_requests/:process_id",
        method = "delete",
        operation_id = "deleteFlowRequest"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        process_id: Path<String>,
    ) -> FlowsResult<Json<FlowRequestTicket>> {
        let (view, confirm_id) =
            flow_requests::request_delete(&self.app, &auth.0, &process_id.0).await?;
        Ok(Json(FlowRequestTicket {
            process_id: view.process_id,
            confirm_id,
        }))
    }
}

impl poem_openapi::types::Example for NewFlowRequestBody {
    fn example() -> Self {
        NewFlowRequestBody {
            dgrm_id: 1,
            name: Some("Review for A-1001".into()),
            business_ref: Some("A-1001".into()),
            person: None,
        }
    }
}
