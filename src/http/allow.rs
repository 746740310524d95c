//! `Allow` on every 405 (RFC 9110 §15.5.6). The gate answers the gated routes itself; this
//! covers the other documented ones (token endpoint, metadata, health, metrics) and the
//! browser pages, whose 405 comes from the router, which does not say what the path takes.

use poem::Response;

use crate::answers::gate::{method_not_allowed, refuses_the_method, says_not_what_is_allowed};
use crate::authz::RouteTable;

pub struct Allow {
    routes: RouteTable,
}

impl Allow {
    pub fn new(routes: RouteTable) -> Self {
        Allow { routes }
    }

    /// `routed` as it is, unless it refuses the method of a known route without saying what
    /// the route takes: then a 405 that does.
    pub fn mend(&self, path: &str, routed: poem::Result<Response>) -> poem::Result<Response> {
        // The route is looked up only for a 405.
        let route = || self.routes.find(path);
        let allowed = |id| Ok(method_not_allowed(&self.routes.route(id).methods));
        match routed {
            Ok(answer) => match says_not_what_is_allowed(&answer).then(route).flatten() {
                Some(id) => allowed(id),
                None => Ok(answer),
            },
            Err(err) if refuses_the_method(&err) => match route() {
                Some(id) => allowed(id),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }
}
