//! The route templates the API serves, taken from the OpenAPI metadata of the services, so the
//! gate knows every route the router knows. A request path is matched to its template here once;
//! the casbin decision is then looked up by (template, method).

use poem::http::Method;
use poem_openapi::registry::MetaApi;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// One route: its template in casbin's keyMatch2 form (`/v1/processes/:prcs_id`) and methods.
#[derive(Clone, Debug)]
pub struct Route {
    pub template: String,
    segments: Vec<Segment>,
    pub methods: Vec<Method>,
}

/// Index of a route in the table.
pub type RouteId = usize;

#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// Templates without parameters, found by one hash lookup.
    literal: hashbrown::HashMap<String, RouteId>,
}

impl RouteTable {
    /// The routes under `prefix` (`/v1/`) found in the API metadata.
    pub fn from_meta(apis: &[MetaApi], prefix: &str) -> RouteTable {
        let mut routes: Vec<Route> = Vec::new();
        for path in apis.iter().flat_map(|api| &api.paths) {
            if !path.path.starts_with(prefix) {
                continue;
            }
            let template = openapi_to_keymatch(&path.path);
            let methods = path.operations.iter().map(|op| op.method.clone());
            match routes.iter_mut().find(|r| r.template == template) {
                Some(route) => route.methods.extend(methods),
                None => routes.push(Route {
                    segments: split(&template),
                    template,
                    methods: methods.collect(),
                }),
            }
        }
        // Literal segments win over parameters (`/v1/utils/ping` before `/v1/utils/:x`).
        routes.sort_by_key(|route| std::cmp::Reverse(specificity(route)));
        let literal = routes
            .iter()
            .enumerate()
            .filter(|(_, route)| !route.segments.contains(&Segment::Param))
            .map(|(id, route)| (route.template.clone(), id))
            .collect();
        RouteTable { routes, literal }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The template a concrete path belongs to.
    pub fn find(&self, path: &str) -> Option<RouteId> {
        let path = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        if let Some(id) = self.literal.get(path) {
            return Some(*id);
        }
        self.routes.iter().position(|route| {
            let mut parts = path.split('/').skip(1);
            route
                .segments
                .iter()
                .all(|segment| match (segment, parts.next()) {
                    (Segment::Literal(lit), Some(part)) => lit == part,
                    (Segment::Param, Some(part)) => !part.is_empty(),
                    (_, None) => false,
                })
                && parts.next().is_none()
        })
    }
}

fn specificity(route: &Route) -> Vec<bool> {
    route
        .segments
        .iter()
        .map(|s| matches!(s, Segment::Literal(_)))
        .collect()
}

fn split(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .skip(1)
        .map(|part| match part.strip_prefix(':') {
            Some(_) => Segment::Param,
            None => Segment::Literal(part.to_owned()),
        })
        .collect()
}

/// `/v1/processes/{prcs_id}` → `/v1/processes/:prcs_id`.
fn openapi_to_keymatch(path: &str) -> String {
    path.split('/')
        .map(
            |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => part.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// A route table from (OpenAPI path, method) pairs, for tests.
#[cfg(test)]
pub(crate) fn table_of(paths: &[(&str, Method)]) -> RouteTable {
    use poem_openapi::registry::{MetaOperation, MetaPath, MetaResponses};
    let paths = paths
        .iter()
        .map(|(path, method)| MetaPath {
            path: (*path).to_owned(),
            operations: vec![MetaOperation {
                method: method.clone(),
                tags: vec![],
                summary: None,
                description: None,
                external_docs: None,
                params: vec![],
                request: None,
                responses: MetaResponses { responses: vec![] },
                deprecated: false,
                security: vec![],
                operation_id: None,
                code_samples: vec![],
            }],
        })
        .collect();
    RouteTable::from_meta(&[MetaApi { paths }], "/v1/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_literal_first() {
        let table = table_of(&[
            ("/v1/steps/{sbfl_id}", Method::GET),
            ("/v1/steps/{sbfl_id}/complete", Method::PUT),
            ("/v1/utils/{x}", Method::GET),
            ("/v1/utils/ping", Method::GET),
            ("/health/live", Method::GET),
        ]);
        let template = |path: &str| {
            table
                .find(path)
                .map(|id| table.routes()[id].template.as_str())
        };
        assert_eq!(template("/v1/steps/12"), Some("/v1/steps/:sbfl_id"));
        assert_eq!(template("/v1/steps/12/"), Some("/v1/steps/:sbfl_id"));
        assert_eq!(
            template("/v1/steps/12/complete"),
            Some("/v1/steps/:sbfl_id/complete")
        );
        assert_eq!(template("/v1/utils/ping"), Some("/v1/utils/ping"));
        assert_eq!(template("/v1/utils/other"), Some("/v1/utils/:x"));
        assert_eq!(template("/v1/steps"), None);
        assert_eq!(template("/v1/steps//complete"), None);
        assert_eq!(template("/v1/steps/1/complete/x"), None);
        assert_eq!(template("/health/live"), None, "outside the prefix");
    }
}
