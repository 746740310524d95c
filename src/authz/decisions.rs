//! The casbin decision. casbin is the source of truth, but keyMatch2 compiles a regex per call
//! (~90 µs an enforce), so it never runs per request: whenever the policy changes, every
//! (route template, method, role) the API serves is decided once, and the gate looks the answer
//! up in this table.

use casbin::prelude::*;
use poem::http::Method;

use super::Rule;
use super::routes::{RouteId, RouteTable};
use crate::roles::{Role, RoleSet};
use crate::{Error, Result};

/// `*` as subject means any authenticated caller with at least one role; `*` as action, any
/// method. Paths are keyMatch2 patterns (`:param`, `*`).
const MODEL: &str = r#"
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (p.sub == "*" || r.sub == p.sub) && keyMatch2(r.obj, p.obj) && (p.act == "*" || r.act == p.act)
"#;

/// The subject used to ask "is this allowed for any role?": it equals no role name.
const ANY_ROLE_PROBE: &str = "";

/// Who may call one (route, method).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub roles: RoleSet,
    pub any_role: bool,
}

impl Grant {
    pub fn allows(self, held: RoleSet) -> bool {
        held.intersects(self.roles) || (self.any_role && !held.is_empty())
    }
}

/// Every decision for the routes of a [`RouteTable`].
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    by_route: Vec<Vec<(Method, Grant)>>,
}

impl Decisions {
    /// Runs casbin over the rules for every route template, method and role.
    pub async fn decide(routes: &RouteTable, rules: &[Rule]) -> Result<Decisions> {
        let enforcer = enforcer(rules).await?;
        let mut by_route = Vec::with_capacity(routes.routes().len());
        for route in routes.routes() {
            let mut grants = Vec::with_capacity(route.methods.len());
            for method in &route.methods {
                let ask = |subject: &str| {
                    enforcer
                        .enforce((subject, route.template.as_str(), method.as_str()))
                        .map_err(|e| Error::Internal(format!("casbin: {e}")))
                };
                let mut grant = Grant {
                    any_role: ask(ANY_ROLE_PROBE)?,
                    ..Grant::default()
                };
                for role in Role::ALL {
                    if ask(role.name())? {
                        grant.roles.insert(role);
                    }
                }
                grants.push((method.clone(), grant));
            }
            by_route.push(grants);
        }
        Ok(Decisions { by_route })
    }

    /// Who may call the route with this method (`HEAD` as `GET`); `None` when no handler
    /// serves the method.
    pub fn grant(&self, routes: &RouteTable, route: RouteId, method: &Method) -> Option<Grant> {
        let method = routes.route(route).decided_as(method)?;
        self.grant_exact(route, method)
    }

    fn grant_exact(&self, route: RouteId, method: &Method) -> Option<Grant> {
        self.by_route
            .get(route)
            .and_then(|grants| grants.iter().find(|(m, _)| m == method))
            .map(|(_, grant)| *grant)
    }
}

async fn enforcer(rules: &[Rule]) -> Result<Enforcer> {
    let model = DefaultModel::from_str(MODEL)
        .await
        .map_err(|e| Error::Internal(format!("casbin model: {e}")))?;
    let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
        .await
        .map_err(|e| Error::Internal(format!("casbin: {e}")))?;
    let policies = rules
        .iter()
        .map(|rule| vec![rule.role.clone(), rule.path.clone(), rule.method.clone()])
        .collect::<Vec<_>>();
    if !policies.is_empty() {
        enforcer
            .add_policies(policies)
            .await
            .map_err(|e| Error::Internal(format!("casbin: {e}")))?;
    }
    Ok(enforcer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::routes::table_of as table;

    fn rule(role: &str, path: &str, method: &str) -> Rule {
        Rule {
            id: 0,
            role: role.into(),
            path: path.into(),
            method: method.into(),
        }
    }

    #[tokio::test]
    async fn decides_per_template_with_wildcards_and_any_role() {
        let routes = table(&[
            ("/v1/processes/{prcs_id}", Method::GET),
            ("/v1/admin/clients/{client_id}", Method::DELETE),
            ("/v1/utils/ping", Method::GET),
        ]);
        let rules = [
            rule("Read", "/v1/processes/:prcs_id", "GET"),
            rule("Admin", "/v1/admin/*", "*"),
            rule("*", "/v1/utils/ping", "GET"),
        ];
        let decisions = Decisions::decide(&routes, &rules).await.unwrap();
        let grant = |path: &str, method: Method| {
            decisions
                .grant(&routes, routes.find(path).unwrap(), &method)
                .unwrap_or_default()
        };
        let read = RoleSet::parse_list("Read").unwrap();
        let admin = RoleSet::parse_list("Admin").unwrap();
        assert!(grant("/v1/processes/7", Method::GET).allows(read));
        assert!(
            !grant("/v1/processes/7", Method::GET).allows(admin),
            "Admin does not imply Read"
        );
        assert!(grant("/v1/admin/clients/x", Method::DELETE).allows(admin));
        assert!(!grant("/v1/admin/clients/x", Method::DELETE).allows(read));
        assert!(grant("/v1/utils/ping", Method::GET).allows(read));
        assert!(!grant("/v1/utils/ping", Method::GET).allows(RoleSet::EMPTY));
        let process = routes.find("/v1/processes/7").unwrap();
        assert_eq!(decisions.grant(&routes, process, &Method::PUT), None);
        assert_eq!(
            decisions.grant(&routes, process, &Method::HEAD),
            decisions.grant(&routes, process, &Method::GET),
            "HEAD is decided as GET"
        );
    }
}
