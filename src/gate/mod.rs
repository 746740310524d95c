//! The role gate in front of `/v1/` (docs/contract.md §3). It checks the Bearer token, finds the route
//! template the router would send the path to, and looks up the casbin decision for (template,
//! method, roles). It denies what it does not know: a path no template matches is 404, a
//! method no handler serves is 405, `HEAD` is decided as `GET`, and a (template, method) with
//! no rule grants no role. A GET without the role answers an empty collection; any other
//! method answers 403. Only a request the policy allows reaches a handler, with its caller.

pub mod tokens;

use std::sync::Arc;

use poem::http::{HeaderMap, Method, header};
use poem::{Request, Response};

use crate::answers::gate::{self as answer, Refusal};
use crate::caller::Caller;
use crate::services::App;
use crate::telemetry::METRICS;

pub struct Gate {
    app: Arc<App>,
}

impl Gate {
    pub fn new(app: Arc<App>) -> Self {
        Gate { app }
    }

    /// The caller if the request may reach its handler, `None` for paths outside `/v1/`
    /// (which pass as they are); otherwise the answer.
    // The answer goes straight out to the client, not up through callers that would carry it.
    #[allow(clippy::result_large_err)]
    pub fn admit(&self, req: &Request) -> Result<Option<Caller>, Response> {
        let path = req.uri().path();
        if !crate::authz::is_gated(path) {
            return Ok(None);
        }
        // Before the view: a change is in place before the epoch moves on.
        let epoch = self.app.standing_epoch();
        let view = self.app.view();
        let authorization = authorization(req.headers());
        let expect = self.app.expectations(crate::now());
        let tokens = &self.app.verified_tokens;
        let caller = match tokens::check(tokens, &view, epoch, &expect, authorization) {
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
                return Err(answer::unauthorized(refusal));
            }
        };
        let routes = &self.app.routes;
        let Some(route) = routes.find(path) else {
            return Err(answer::no_route());
        };
        let Some(grant) = view.decisions.grant(routes, route, req.method()) else {
            return Err(answer::method_not_allowed(&routes.route(route).methods));
        };
        if !grant.allows(caller.roles) {
            METRICS.gate_denied.inc();
            return Err(match *req.method() {
                Method::GET | Method::HEAD => answer::empty_collection(&self.app.public_url, req),
                _ => answer::forbidden(),
            });
        }
        Ok(Some(caller))
    }
}

/// The first `Authorization` header's value. A request carries a handful of headers, and going
/// through them costs less than the map's lookup, which hashes the name (165 instructions a
/// gated request, BENCHMARKS.md).
fn authorization(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .iter()
        .find(|(name, _)| *name == header::AUTHORIZATION)
        .map(|(_, value)| value.as_bytes())
}
