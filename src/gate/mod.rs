//! The role gate in front of `/v1/` (SPEC §3): Bearer token check, then the casbin decision for
//! (route template, method, roles). A GET without the role answers an empty collection; any
//! other method answers 403.

pub mod policy;
pub mod routes;
pub mod tokens;

use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use serde_json::json;

pub use tokens::{Caller, Refusal};

use crate::state::AppState;

/// Paths under the gate.
const GATED_PREFIX: &str = "/v1/";
/// The browser page a person opens to confirm a flow request: no Bearer token there.
const UNGATED_PREFIX: &str = "/v1/flow_requests/confirm/";

pub struct Gate<E> {
    inner: E,
    state: Arc<AppState>,
}

impl<E> Gate<E> {
    pub fn new(inner: E, state: Arc<AppState>) -> Self {
        Gate { inner, state }
    }
}

impl<E: Endpoint> Endpoint for Gate<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req.uri().path();
        if !path.starts_with(GATED_PREFIX) || path.starts_with(UNGATED_PREFIX) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let view = self.state.view();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let caller =
            match self
                .state
                .tokens
                .check(&view, &self.state.issuer, authorization, crate::now())
            {
                Ok(caller) => caller,
                Err(refusal) => {
                    crate::telemetry::METRICS.gate_unauthenticated.inc();
                    if let Refusal::Invalid(reason) = refusal {
                        self.state
                            .failures
                            .report(remote(&req), "auth.bearer", reason);
                    }
                    return Ok(unauthorized(refusal));
                }
            };
        if let Some(route) = self.state.routes.find(path)
            && let Some(grant) = view.decisions.grant(route, req.method())
            && !grant.allows(caller.roles)
        {
            crate::telemetry::METRICS.gate_denied.inc();
            return Ok(if req.method() == Method::GET {
                empty_collection(&self.state.public_url, &req)
            } else {
                forbidden()
            });
        }
        drop(view);
        req.extensions_mut().insert(Arc::new(caller));
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

fn remote(req: &Request) -> String {
    format!("remote:{}", req.remote_addr())
}

/// `{"success": false, "message": …}` with a status.
pub fn failure(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({"success": false, "message": message}).to_string())
}

fn unauthorized(refusal: Refusal) -> Response {
    let (challenge, message) = match refusal {
        Refusal::Missing => (
            r#"Bearer realm="flowgate""#.to_owned(),
            "Authentication required",
        ),
        Refusal::Invalid(reason) => (
            format!(
                r#"Bearer realm="flowgate", error="invalid_token", error_description="{reason}""#
            ),
            reason,
        ),
    };
    let mut response = failure(StatusCode::UNAUTHORIZED, message);
    if let Ok(value) = challenge.parse() {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub fn forbidden() -> Response {
    failure(StatusCode::FORBIDDEN, "Necessary privilege not granted")
}

/// The collection envelope with no rows, paged as asked.
fn empty_collection(public_url: &str, req: &Request) -> Response {
    let limit = crate::api::paging::limit_from_query(req.uri().query());
    let href = format!(
        "{public_url}{}",
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    );
    let body = json!({
        "items": [],
        "hasMore": false,
        "limit": limit,
        "offset": 0,
        "count": 0,
        "links": [{"rel": "self", "href": href}],
    });
    Response::builder()
        .content_type("application/json")
        .body(body.to_string())
}
