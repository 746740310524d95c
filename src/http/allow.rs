//! `Allow` on every 405 (RFC 9110 §15.5.6). The gate answers the gated routes itself; this
//! covers the other documented ones (token endpoint, metadata, health, metrics) and the
//! browser pages, whose 405 comes from the router, which does not say what the path takes.

use poem::{Endpoint, IntoResponse, Request, Response};

use crate::answers::gate::{method_not_allowed, refuses_the_method, says_not_what_is_allowed};
use crate::authz::RouteTable;

pub struct Allow<E> {
    inner: E,
    routes: RouteTable,
}

impl<E> Allow<E> {
    pub fn new(inner: E, routes: RouteTable) -> Self {
        Allow { inner, routes }
    }
}

impl<E: Endpoint> Endpoint for Allow<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        // The route is looked up only for a 405 (a `Uri` clone is a reference count).
        let uri = req.uri().clone();
        let route = || self.routes.find(uri.path());
        let allowed = |id| Ok(method_not_allowed(&self.routes.route(id).methods));
        match self.inner.call(req).await {
            Ok(output) => {
                let answer = output.into_response();
                match says_not_what_is_allowed(&answer).then(route).flatten() {
                    Some(id) => allowed(id),
                    None => Ok(answer),
                }
            }
            Err(err) if refuses_the_method(&err) => match route() {
                Some(id) => allowed(id),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }
}
