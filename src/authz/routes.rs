//! The route templates the API serves, taken from the same operation metadata the router is
//! built from, so the gate knows every route the router knows. A request path is matched to its
//! template here exactly as poem's router matches it (literal segments before parameters at each
//! position; a parameter takes one segment, which may be empty; no trailing-slash folding), and
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

impl Route {
    /// The method whose decision applies: `HEAD` is decided as `GET` (the router answers it
    /// with the GET handler); `None` when no handler serves the method.
    pub fn decided_as<'m>(&self, method: &'m Method) -> Option<&'m Method> {
        if self.methods.contains(method) {
            Some(method)
        } else if *method == Method::HEAD && self.methods.contains(&Method::GET) {
            Some(&Method::GET)
        } else {
            None
        }
    }
}

/// More segments than any template has (checked as the table is built): a longer path matches
/// no route.
const MOST_SEGMENTS: usize = 16;

/// Index of a route in the table.
pub type RouteId = usize;

#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// Templates without parameters, found by one hash lookup.
    literal: hashbrown::HashMap<String, RouteId>,
    /// The templates of each number of segments: a path is tried only against those of its
    /// own length that could match its first segment.
    by_length: Vec<SameLength>,
}

/// Templates of one length that begin with each literal segment, in the table's order, and
/// those that begin with a parameter. (The table's order puts every template of the first kind
/// before any of the second.)
#[derive(Clone, Debug, Default)]
struct SameLength {
    by_first: hashbrown::HashMap<String, Vec<RouteId>>,
    param_first: Vec<RouteId>,
}

impl RouteTable {
    /// The routes under `prefix` (`/v1/`) found in the API metadata.
    pub fn from_meta(apis: &[MetaApi], prefix: &str) -> RouteTable {
        Self::from_templates(templates(apis, prefix))
    }

    /// The routes of these templates (`/admin/clients/:client_id`) and their methods.
    pub fn from_templates(templates: impl IntoIterator<Item = (String, Vec<Method>)>) -> Self {
        let mut routes: Vec<Route> = Vec::new();
        for (template, methods) in templates {
            match routes.iter_mut().find(|r| r.template == template) {
                Some(route) => route.methods.extend(methods),
                None => {
                    let segments = split(&template);
                    assert!(
                        segments.len() <= MOST_SEGMENTS,
                        "{template}: more segments than a path is matched against"
                    );
                    routes.push(Route {
                        segments,
                        template,
                        methods,
                    });
                }
            }
        }
        // The router prefers a literal segment over a parameter at the first position where
        // two templates differ; the first template that matches in this order is its choice.
        routes.sort_by_key(|route| std::cmp::Reverse(specificity(route)));
        let literal = routes
            .iter()
            .enumerate()
            .filter(|(_, route)| !route.segments.contains(&Segment::Param))
            .map(|(id, route)| (route.template.clone(), id))
            .collect();
        let mut by_length = vec![SameLength::default(); MOST_SEGMENTS + 1];
        for (id, route) in routes.iter().enumerate() {
            let same = &mut by_length[route.segments.len()];
            match route.segments.first() {
                Some(Segment::Literal(first)) => {
                    same.by_first.entry(first.clone()).or_default().push(id)
                }
                _ => same.param_first.push(id),
            }
        }
        RouteTable {
            routes,
            literal,
            by_length,
        }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn route(&self, id: RouteId) -> &Route {
        &self.routes[id]
    }

    /// The template the router sends a concrete path to, if any.
    pub fn find(&self, path: &str) -> Option<RouteId> {
        if let Some(id) = self.literal.get(path) {
            return Some(*id);
        }
        let rest = path.strip_prefix('/')?;
        // The path is split once, not once for each template tried, by a loop over its bytes
        // (`str::split`'s searcher cost about a hundred instructions a segment).
        let mut parts = [""; MOST_SEGMENTS];
        let mut count = 0;
        let mut start = 0;
        for end in (0..rest.len())
            .filter(|&at| rest.as_bytes()[at] == b'/')
            .chain([rest.len()])
        {
            *parts.get_mut(count)? = rest.get(start..end)?;
            count += 1;
            start = end + 1;
        }
        let parts = &parts[..count];
        let last = count - 1;
        let same = self.by_length.get(count)?;
        let literal_first = same.by_first.get(parts[0]).map_or(&[][..], Vec::as_slice);
        let mut candidates = literal_first.iter().chain(&same.param_first).copied();
        candidates.find(|&id| {
            // A parameter takes any segment, even an empty one, except an empty last segment:
            // there the router has run out of path before it tries parameters.
            self.routes[id]
                .segments
                .iter()
                .zip(parts)
                .enumerate()
                .all(|(at, (segment, part))| match segment {
                    Segment::Literal(lit) => lit == part,
                    Segment::Param => at < last || !part.is_empty(),
                })
        })
    }
}

/// The templates under `prefix` in the API metadata, with their methods.
pub fn templates(apis: &[MetaApi], prefix: &str) -> Vec<(String, Vec<Method>)> {
    apis.iter()
        .flat_map(|api| &api.paths)
        .filter(|path| path.path.starts_with(prefix))
        .map(|path| {
            let methods = path.operations.iter().map(|op| op.method.clone()).collect();
            (openapi_to_keymatch(&path.path), methods)
        })
        .collect()
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
    use poem::{Endpoint, Route as Router};

    const TEMPLATES: &[&str] = &[
        "/v1/steps/{sbfl_id}",
        "/v1/steps/{sbfl_id}/complete",
        "/v1/utils/{x}",
        "/v1/utils/ping",
        "/v1/admin/clients",
        "/v1/admin/clients/{client_id}",
        "/v1/admin/clients/{client_id}/secret",
        "/v1/admin/{thing}/secret",
        "/v1/processes/{prcs_id}/steps",
        "/v1/{any}/{prcs_id}/steps",
    ];

    fn table() -> RouteTable {
        let pairs: Vec<(&str, Method)> = TEMPLATES.iter().map(|t| (*t, Method::GET)).collect();
        table_of(&pairs)
    }

    fn template(table: &RouteTable, path: &str) -> Option<String> {
        table.find(path).map(|id| table.route(id).template.clone())
    }

    #[test]
    fn literal_segments_win_where_templates_overlap() {
        let table = table();
        let t = |path| template(&table, path);
        assert_eq!(t("/v1/steps/12").as_deref(), Some("/v1/steps/:sbfl_id"));
        assert_eq!(
            t("/v1/steps/12/complete").as_deref(),
            Some("/v1/steps/:sbfl_id/complete")
        );
        assert_eq!(t("/v1/utils/ping").as_deref(), Some("/v1/utils/ping"));
        assert_eq!(t("/v1/utils/other").as_deref(), Some("/v1/utils/:x"));
        assert_eq!(
            t("/v1/admin/clients/7/secret").as_deref(),
            Some("/v1/admin/clients/:client_id/secret")
        );
        assert_eq!(
            t("/v1/admin/keys/secret").as_deref(),
            Some("/v1/admin/:thing/secret")
        );
        assert_eq!(
            t("/v1/processes/1/steps").as_deref(),
            Some("/v1/processes/:prcs_id/steps")
        );
        assert_eq!(
            t("/v1/other/1/steps").as_deref(),
            Some("/v1/:any/:prcs_id/steps")
        );
        assert_eq!(t("/v1/steps"), None);
        assert_eq!(t("/v1/steps/1/complete/x"), None);
        assert_eq!(t("/health/live"), None, "outside the prefix");
        assert_eq!(t("v1/utils/other"), None, "not absolute");
        assert_eq!(t(&format!("/v1/steps/1{}", "/x".repeat(40))), None);
    }

    #[test]
    fn empty_segments_are_parameters_as_the_router_has_them() {
        let table = table();
        assert_eq!(
            template(&table, "/v1/admin/clients//secret").as_deref(),
            Some("/v1/admin/clients/:client_id/secret")
        );
        assert_eq!(
            template(&table, "/v1/steps//complete").as_deref(),
            Some("/v1/steps/:sbfl_id/complete")
        );
    }

    /// The gate's matching agrees with poem's router for every path variant below, built the
    /// way the server nests the API.
    #[tokio::test]
    async fn agrees_with_poems_router() {
        let table = table();
        let mut inner = Router::new();
        for t in TEMPLATES {
            let template = openapi_to_keymatch(t);
            let answer = template.clone();
            let endpoint = poem::endpoint::make_sync(move |_| answer.clone());
            inner = inner.at(template, poem::get(endpoint));
        }
        let router = Router::new().nest("/", inner);
        let mut paths: Vec<String> = Vec::new();
        for t in TEMPLATES {
            let concrete = openapi_to_keymatch(t).replace(":sbfl_id", "5");
            for variant in [
                concrete.clone(),
                format!("{concrete}/"),
                concrete.replace(":client_id", ""),
                concrete.replace(":client_id", "a%2Fb"),
                concrete.replace("/:", "//:"),
                concrete.replacen("/v1/", "/v1//", 1),
                concrete.replace(":prcs_id", "").replace(":any", ""),
                concrete.replace(":x", "").replace(":thing", "x"),
                format!("{concrete}/extra"),
                concrete.to_uppercase(),
            ] {
                paths.push(variant);
            }
        }
        for path in paths {
            let response = router
                .call(poem::Request::builder().uri_str(&path).finish())
                .await;
            let routed = match response {
                Ok(response) => Some(response.into_body().into_string().await.unwrap()),
                Err(_) => None,
            };
            let gated = template(&table, &path);
            assert_eq!(gated, routed, "{path}");
        }
    }
}
