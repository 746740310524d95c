//! The policy: the rules as a table with add and remove, and the "who may do this?" tester,
//! which asks [`policy::explain`] (the gate's own route table and decisions).

use std::sync::Arc;

use askama::Template;
use poem::http::{Method, StatusCode};
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{Frame, admin, admin_form, done, query_param};
use crate::Error;
use crate::answers::html;
use crate::authz::Rule;
use crate::pages::{field, render, render_problem};
use crate::roles::{Role, RoleSet};
use crate::services::App;
use crate::services::policy::{self, Explanation, GateAnswer};

/// Methods the tester offers (the gate decides `HEAD` as `GET`).
const TEST_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
/// What a rule may name.
const RULE_ROLES: &[&str] = &["Read", "Write", "Messages", "Admin", "*"];
const RULE_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "*"];

/// The tester's question and, once asked, its answer in words.
struct Tester {
    role: String,
    method: String,
    path: String,
    verdict: Option<Verdict>,
}

struct Verdict {
    /// `allowed`, `empty`, `forbidden`, `no-route`, `method`, `not-gated`.
    kind: &'static str,
    headline: String,
    detail: String,
}

/// A new rule as typed (again, after a problem).
struct Draft {
    role: String,
    method: String,
    path: String,
}

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    frame: Frame,
    rules: Vec<Rule>,
    tester: Tester,
    draft: Draft,
    test_methods: &'static [&'static str],
    rule_roles: &'static [&'static str],
    rule_methods: &'static [&'static str],
}

fn granted_to(explanation: &Explanation) -> String {
    let Some(grant) = explanation.grant else {
        return "nobody".into();
    };
    let mut who = grant.roles.names();
    if grant.any_role {
        who.push("any role (*)".into());
    }
    if who.is_empty() {
        "nobody (no rule names this route and method)".into()
    } else {
        who.join(", ")
    }
}

fn verdict(role: &str, method: &str, explanation: &Explanation) -> Verdict {
    let template = explanation.template.clone().unwrap_or_default();
    let decided = explanation.decided_as.clone().unwrap_or_default();
    let rule = format!(
        "{decided} {template} is granted to {}.",
        granted_to(explanation)
    );
    match &explanation.answer {
        GateAnswer::NotGated => Verdict {
            kind: "not-gated",
            headline: "Not behind the gate".into(),
            detail: "The gate checks paths under /v1/ only (the flow-request confirmation page \
                     aside); this request reaches its page or endpoint unchecked."
                .into(),
        },
        GateAnswer::NoRoute => Verdict {
            kind: "no-route",
            headline: "404 Resource not found".into(),
            detail: "No route has this path (a trailing slash is a different path).".into(),
        },
        GateAnswer::MethodNotAllowed { allow } => Verdict {
            kind: "method",
            headline: "405 Method not allowed".into(),
            detail: format!("{template} serves {}.", allow.join(", ")),
        },
        GateAnswer::Allowed => Verdict {
            kind: "allowed",
            headline: format!("Allowed: {role} may {method} this"),
            detail: format!("The request reaches its handler. {rule}"),
        },
        GateAnswer::EmptyCollection => Verdict {
            kind: "empty",
            headline: "200 with an empty collection".into(),
            detail: format!(
                "{role} lacks the privilege, and a {method} without it answers no rows. {rule}"
            ),
        },
        GateAnswer::Forbidden => Verdict {
            kind: "forbidden",
            headline: "403 Necessary privilege not granted".into(),
            detail: format!("{role} lacks the privilege. {rule}"),
        },
    }
}

/// The tester's question from the query, answered when it is complete.
fn tester(app: &App, req: &Request) -> Tester {
    let role = query_param(req, "role").unwrap_or_else(|| "Read".into());
    let method = query_param(req, "method")
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    let path = query_param(req, "path").unwrap_or_default();
    let asked = Role::parse(&role).zip(Method::from_bytes(method.as_bytes()).ok());
    let verdict = match asked {
        Some((parsed, parsed_method)) if !path.is_empty() => {
            let roles: RoleSet = [parsed].into_iter().collect();
            let explanation = policy::explain(app, roles, &parsed_method, &path);
            Some(verdict(parsed.name(), parsed_method.as_str(), &explanation))
        }
        _ => None,
    };
    Tester {
        role,
        method,
        path: if path.is_empty() {
            "/v1/diagrams".into()
        } else {
            path
        },
        verdict,
    }
}

async fn policy_page(
    app: &App,
    req: &Request,
    frame: Frame,
    draft: Draft,
) -> Result<PolicyPage, Error> {
    Ok(PolicyPage {
        frame,
        rules: policy::list(app).await?,
        tester: tester(app, req),
        draft,
        test_methods: TEST_METHODS,
        rule_roles: RULE_ROLES,
        rule_methods: RULE_METHODS,
    })
}

fn empty_draft() -> Draft {
    Draft {
        role: "Read".into(),
        method: "GET".into(),
        path: String::new(),
    }
}

#[handler]
pub async fn show(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match policy_page(&app, req, Frame::new(&admin, "policy", req), empty_draft()).await {
        Ok(found) => render(StatusCode::OK, &found),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn add(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let draft = Draft {
        role: field(&fields, "role").unwrap_or_default().to_owned(),
        method: field(&fields, "method").unwrap_or_default().to_owned(),
        path: field(&fields, "path").unwrap_or_default().trim().to_owned(),
    };
    match policy::add(
        &app,
        &admin.actor(),
        &draft.role,
        &draft.path,
        &draft.method,
    )
    .await
    {
        Ok(_) => done("/admin/policy", "rule-added"),
        Err(err @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let frame = Frame::new(&admin, "policy", req).with_problem(err.to_string());
            match policy_page(&app, req, frame, draft).await {
                Ok(found) => render_problem(&err, &found),
                Err(other) => html::error_page(&other),
            }
        }
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn remove(
    req: &Request,
    app: Data<&Arc<App>>,
    rule_id: Path<String>,
    body: Body,
) -> Response {
    let (admin, _) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Ok(id) = rule_id.parse::<i64>() else {
        return html::error_page(&Error::not_found(format!(
            "policy rule {} not found",
            *rule_id
        )));
    };
    match policy::remove(&app, &admin.actor(), id).await {
        Ok(_) => done("/admin/policy", "rule-removed"),
        Err(err) => html::error_page(&err),
    }
}
