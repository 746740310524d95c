//! The role gate in front of `/v1/` (docs/contract.md §3). It checks the Bearer token, finds the route
//! template the router would send the path to, and looks up the casbin decision for (template,
//! method, roles). It denies what it does not know: a path no template matches is 404, a
//! method no handler serves is 405, `HEAD` is decided as `GET`, and a (template, method) with
//! no rule grants no role. A GET without the role answers an empty collection; any other
//! method answers 403. Only a request the policy allows reaches a handler, with its caller.

pub mod tokens;

use std::sync::Arc;

use poem::http::{Method, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::answers::gate::{self as answer, Refusal};
use crate::services::App;
use crate::telemetry::METRICS;

pub struct Gate<E> {
    inner: E,
    app: Arc<App>,
}

impl<E> Gate<E> {
    pub fn new(inner: E, app: Arc<App>) -> Self {
        Gate { inner, app }
    }
}

impl<E: Endpoint> Endpoint for Gate<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req.uri().path();
        if !crate::authz::is_gated(path) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let view = self.app.view();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let expect = self.app.expectations(crate::now());
        let caller = match tokens::check(&self.app.verified_tokens, &view, &expect, authorization) {
            Ok(caller) => caller,
            Err(refusal) => {
                METRICS.gate_unauthenticated.inc();
                // Refused Bearer tokens (not requests without credentials), one row per address
                // and reason a minute with a count.
                let reason = match &refusal {
                    Refusal::Invalid(reason) => Some(*reason),
                    Refusal::Missing if authorization.is_some() => {
                        Some("malformed Authorization header")
                    }
                    Refusal::Missing => None,
                };
                if let Some(reason) = reason {
                    let actor = crate::caller::remote_actor(req.remote_addr());
                    self.app.failures.report(actor.0, "auth.bearer", reason);
                }
                return Ok(answer::unauthorized(refusal));
            }
        };
        let routes = &self.app.routes;
        let Some(route) = routes.find(path) else {
            return Ok(answer::no_route());
        };
        let Some(grant) = view.decisions.grant(routes, route, req.method()) else {
            return Ok(answer::method_not_allowed(&routes.route(route).methods));
        };
        if !grant.allows(caller.roles) {
            METRICS.gate_denied.inc();
            return Ok(match *req.method() {
                Method::GET | Method::HEAD => answer::empty_collection(&self.app.public_url, &req),
                _ => answer::forbidden(),
            });
        }
        drop(view);
        req.extensions_mut().insert(caller);
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
