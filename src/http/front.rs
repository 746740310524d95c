//! Every request's way in, outermost first: its id, span and log line → the panic catcher →
//! framework errors as JSON answers → `Allow` on 405s → the body limit → the gate → the pages
//! or the API.
//!
//! One future, not a chain of layers: each layer's future held the request and the whole future
//! of the layer below, and was copied into the one above it as it started, so every request
//! copied its nested futures over and over (`memcpy` was a sixth of a GET's instructions;
//! BENCHMARKS.md). Here the steps are functions over the request, each in its own module.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;
use poem::endpoint::{BoxEndpoint, DynEndpoint};
use poem::middleware::PanicHandler;
use poem::{Endpoint, Request, Response};
use tracing::Instrument;

use super::allow::Allow;
use super::body_limit::BodyLimit;
use crate::answers::framework::{self, PanicAnswer};
use crate::authz::RouteTable;
use crate::gate::Gate;
use crate::telemetry::RequestLog;

pub struct Front {
    pub routes: PagesOrApi,
    pub gate: Gate,
    pub bodies: BodyLimit,
    pub allow: Allow,
}

impl Endpoint for Front {
    type Output = Response;

    /// Not an `async fn`: its future holds the request once, inside [`Front::answer`]'s.
    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let log = RequestLog::begin(&req);
        let answering = AssertUnwindSafe(self.answer(req)).catch_unwind();
        async move {
            let answer = answering.instrument(log.span().clone()).await;
            let answer = answer.unwrap_or_else(|panic| PanicAnswer.get_response(panic));
            Ok(log.end(answer))
        }
    }
}

impl Front {
    async fn answer(&self, mut req: Request) -> Response {
        // Kept for `Allow` (a `Uri` clone is a reference count).
        let uri = req.uri().clone();
        let admitted = match self.bodies.admit(&mut req).await {
            Ok(()) => self.gate.admit(&req),
            Err(refused) => Err(refused),
        };
        let routed = match admitted {
            // A gated path is never a page's (checked as the front is built).
            Ok(Some(caller)) => caller.scope(self.routes.api(req)).await,
            Ok(None) => self.routes.call(req).await,
            Err(refused) => Ok(refused),
        };
        self.allow
            .mend(uri.path(), routed)
            .unwrap_or_else(framework::answer)
    }
}

/// The pages, the documents and the stylesheet at their paths, and the API at every other path,
/// as a router would choose with the API nested at `/` under them. A nest cost every API
/// request a second router, two more boxed futures and a rewritten URI (BENCHMARKS.md).
pub struct PagesOrApi {
    pub pages: BoxEndpoint<'static>,
    pub api: BoxEndpoint<'static>,
    pub page_paths: RouteTable,
}

type Answering<'a> = Pin<Box<dyn Future<Output = poem::Result<Response>> + Send + 'a>>;

impl PagesOrApi {
    /// Not an `async fn`: it hands over the boxed future of the one it calls.
    fn call(&self, req: Request) -> Answering<'_> {
        let path = req.uri().path();
        // Swagger UI's own paths, all under its nest, are pages too.
        let docs = path
            .strip_prefix(super::DOCS)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        let page = docs || self.page_paths.find(path).is_some();
        let endpoint = if page { &self.pages } else { &self.api };
        DynEndpoint::call(endpoint.as_ref(), req)
    }

    /// The API, for a request the gate admitted: no page lies under the gated prefix, so the
    /// page paths need not be searched (a few hundred instructions a gated request).
    fn api(&self, req: Request) -> Answering<'_> {
        DynEndpoint::call(self.api.as_ref(), req)
    }
}
