//! The casbin policy: list, add and remove rules. A change is decided anew on this instance at
//! once and on every other within two seconds.

use poem::http::Method;

use super::App;
use super::audit::commit_change;
use crate::authz::{self, Grant, Rule};
use crate::caller::Actor;
use crate::roles::RoleSet;
use crate::{Error, Result, store};

pub async fn list(app: &App) -> Result<Vec<Rule>> {
    store::policy::list(&app.db).await
}

pub async fn add(app: &App, actor: &Actor, role: &str, path: &str, method: &str) -> Result<Rule> {
    let (role, path, method) = authz::normalise(role, path, method)?;
    let txn = store::begin_write(&app.db).await?;
    if store::policy::find_matching(&txn, &role, &path, &method)
        .await?
        .is_some()
    {
        return Err(Error::conflict("this rule exists already"));
    }
    let rule = store::policy::insert(&txn, &role, &path, &method).await?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    commit_change(txn, actor, "policy.add", &rule.id.to_string(), Some(detail)).await?;
    app.changed().await?;
    Ok(rule)
}

/// Removes the rule with this id.
pub async fn remove(app: &App, actor: &Actor, id: i64) -> Result<Rule> {
    let txn = store::begin_write(&app.db).await?;
    let rule = store::policy::find(&txn, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("policy rule {id} not found")))?;
    store::policy::delete(&txn, id).await?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    commit_change(txn, actor, "policy.remove", &id.to_string(), Some(detail)).await?;
    app.changed().await?;
    Ok(rule)
}

/// Removes the rule with these fields (the CLI names rules rather than ids).
pub async fn remove_matching(
    app: &App,
    actor: &Actor,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let (role, path, method) = authz::normalise(role, path, method)?;
    let found = store::policy::find_matching(&app.db, &role, &path, &method)
        .await?
        .ok_or_else(|| Error::not_found(format!("no rule {role} {method} {path}")))?;
    remove(app, actor, found.id).await
}

/// What the gate answers a request whose token is valid and carries some roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateAnswer {
    /// The path is not under `/v1/` (or is the flow-request confirmation page): the gate does
    /// not check it.
    NotGated,
    /// 404: no route has this path.
    NoRoute,
    /// 405: the route does not serve this method; `allow` is the `Allow` header's list.
    MethodNotAllowed { allow: Vec<String> },
    /// The policy lets the request through to its handler.
    Allowed,
    /// The role is missing on a GET or HEAD: 200 with an empty collection.
    EmptyCollection,
    /// The role is missing on another method: 403.
    Forbidden,
}

/// The gate's answer and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub answer: GateAnswer,
    /// The route template the path is decided as.
    pub template: Option<String>,
    /// The method whose decision applies (`HEAD` is decided as `GET`).
    pub decided_as: Option<String>,
    /// Who the policy lets call this route with this method.
    pub grant: Option<Grant>,
}

/// "Who may do this?": what the gate would answer `method path` for a token with `roles`,
/// decided from the same route table and policy decisions the gate reads, so the two cannot
/// disagree. A query string is ignored, as the gate ignores it.
pub fn explain(app: &App, roles: RoleSet, method: &Method, path: &str) -> Explanation {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut explanation = Explanation {
        answer: GateAnswer::NotGated,
        template: None,
        decided_as: None,
        grant: None,
    };
    if !crate::authz::is_gated(path) {
        return explanation;
    }
    let routes = &app.routes;
    let Some(id) = routes.find(path) else {
        explanation.answer = GateAnswer::NoRoute;
        return explanation;
    };
    let route = routes.route(id);
    explanation.template = Some(route.template.clone());
    let view = app.view();
    let Some(grant) = view.decisions.grant(routes, id, method) else {
        let mut allow: Vec<String> = route.methods.iter().map(|m| m.to_string()).collect();
        if route.methods.contains(&Method::GET) {
            allow.push("HEAD".into());
        }
        explanation.answer = GateAnswer::MethodNotAllowed { allow };
        return explanation;
    };
    explanation.decided_as = route.decided_as(method).map(Method::to_string);
    explanation.grant = Some(grant);
    explanation.answer = if grant.allows(roles) {
        GateAnswer::Allowed
    } else if matches!(*method, Method::GET | Method::HEAD) {
        GateAnswer::EmptyCollection
    } else {
        GateAnswer::Forbidden
    };
    explanation
}
