//! A Postman v2.1 collection and environment generated from the OpenAPI document: a folder per
//! tag, an `Auth` request first, and requests ordered so that a run from top to bottom walks a
//! real process (`Document review`) from creation to completion, storing `dgrm_id`, `prcs_id`,
//! `sbfl_id` and `step_key` for the requests that follow.
//!
//! The walk below says, for every operation of the document, in which order it runs and which
//! status it must answer; the bodies are the examples of the document. Tests keep the walk
//! covering every operation and every body it sends backed by an example.

use serde_json::{Value, json};

/// How a walk step authenticates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// The collection's Bearer `{{access_token}}`.
    Bearer,
    /// HTTP Basic `{{client_id}}` / `{{client_pw}}`.
    Basic,
    None,
}

/// What a walk step sends.
#[derive(Clone, Copy)]
enum Body {
    Empty,
    /// The example of the operation's request schema in the document, with the fields the walk
    /// carries (see [`WALK_FIELDS`]) replaced by their variables.
    Example,
    Text(&'static str),
}

/// Example fields that the walk fills from its variables instead.
const WALK_FIELDS: &[(&str, &str)] = &[("step_key", "{{step_key}}"), ("token", "{{access_token}}")];

/// One request of the walk.
struct Step {
    method: &'static str,
    /// The OpenAPI path of the operation.
    path: &'static str,
    /// Added to the operation's summary when the walk uses an operation more than once.
    note: &'static str,
    /// Path variables that do not use the variable of the same name.
    vars: &'static [(&'static str, &'static str)],
    query: &'static str,
    body: Body,
    auth: Auth,
    expect: u16,
    /// Environment variables to set from the JSON answer `body`: (name, JS expression).
    store: &'static [(&'static str, &'static str)],
    /// An extra JS assertion on `body`.
    check: &'static str,
}

const fn step(method: &'static str, path: &'static str, expect: u16) -> Step {
    Step {
        method,
        path,
        note: "",
        vars: &[],
        query: "",
        body: Body::Empty,
        auth: Auth::Bearer,
        expect,
        store: &[],
        check: "",
    }
}

/// Stores the step that waits to be worked on.
const RUNNING_STEP: &[(&str, &str)] = &[
    (
        "sbfl_id",
        "(body.items.find(s => s.status === 'running') || {}).sbfl_id",
    ),
    (
        "step_key",
        "(body.items.find(s => s.status === 'running') || {}).step_key",
    ),
];
const SPARE: &[(&str, &str)] = &[("prcs_id", "spare_prcs_id")];
/// An app id nobody registered (apps are registered by people in the developer portal, which
/// the collection cannot do).
const NO_APP: &[(&str, &str)] = &[("client_id", "unknown_app_id")];

fn walk() -> Vec<Step> {
    let key = Body::Example;
    vec![
        Step {
            auth: Auth::Basic,
            body: Body::Example,
            store: &[("access_token", "body.access_token")],
            ..step("POST", "/oauth/token", 200)
        },
        step("GET", "/v1/utils/ping", 200),
        step("GET", "/v1/utils/roles", 200),
        step("GET", "/v1/utils/print_cgi", 200),
        step("GET", "/v1/me", 200),
        Step {
            query: "name=document%20review",
            store: &[("dgrm_id", "body.items[0].dgrm_id")],
            ..step("GET", "/v1/diagrams", 200)
        },
        step("GET", "/v1/diagrams/{dgrm_id}", 200),
        step("GET", "/v1/diagrams/{dgrm_id}/export", 200),
        step("GET", "/v1/diagrams/{dgrm_id}/processes", 200),
        Step {
            note: " (a spare one, for reset, terminate and delete)",
            body: Body::Example,
            store: &[("spare_prcs_id", "body.items[0].prcs_id")],
            ..step("POST", "/v1/diagrams/{dgrm_id}/processes", 201)
        },
        Step {
            note: " (spare)",
            vars: SPARE,
            ..step("PUT", "/v1/processes/{prcs_id}/start", 200)
        },
        Step {
            note: " (spare)",
            vars: SPARE,
            body: Body::Example,
            ..step("PUT", "/v1/processes/{prcs_id}/terminate", 200)
        },
        Step {
            note: " (spare)",
            vars: SPARE,
            ..step("PUT", "/v1/processes/{prcs_id}/reset", 200)
        },
        Step {
            note: " (spare)",
            vars: SPARE,
            ..step("DELETE", "/v1/processes/{prcs_id}", 200)
        },
        Step {
            body: Body::Example,
            store: &[("prcs_id", "body.items[0].prcs_id")],
            ..step("POST", "/v1/diagrams/{dgrm_id}/processes", 201)
        },
        Step {
            note: " (start the walk)",
            ..step("PUT", "/v1/processes/{prcs_id}/start", 200)
        },
        Step {
            check: "pm.expect(body.items[0].status).to.eql('running');",
            ..step("GET", "/v1/processes/{prcs_id}", 200)
        },
        step("GET", "/v1/processes/{prcs_id}/activities", 200),
        Step {
            body: Body::Example,
            ..step("PUT", "/v1/processes/{prcs_id}/process_vars", 200)
        },
        Step {
            query: "name=reviewer",
            check: "pm.expect(body.items[0].value).to.eql('alice');",
            ..step("GET", "/v1/processes/{prcs_id}/process_vars", 200)
        },
        Step {
            store: RUNNING_STEP,
            ..step("GET", "/v1/processes/{prcs_id}/steps", 200)
        },
        Step {
            store: &[("step_key", "body.items[0].step_key")],
            ..step("GET", "/v1/steps/{sbfl_id}", 200)
        },
        Step {
            body: key,
            ..step("PUT", "/v1/steps/{sbfl_id}/start", 200)
        },
        Step {
            body: Body::Example,
            ..step("PUT", "/v1/steps/{sbfl_id}/reserve", 200)
        },
        Step {
            body: key,
            ..step("PUT", "/v1/steps/{sbfl_id}/release", 200)
        },
        Step {
            note: " (refused: the step is not in error)",
            body: key,
            ..step("PUT", "/v1/steps/{sbfl_id}/restart", 409)
        },
        Step {
            note: " (refused: the step waits for no timer)",
            body: Body::Example,
            ..step("PUT", "/v1/steps/{sbfl_id}/reschedule_timer", 409)
        },
        Step {
            note: " (Review document)",
            body: key,
            ..step("PUT", "/v1/steps/{sbfl_id}/complete", 200)
        },
        Step {
            note: " (the next step)",
            store: RUNNING_STEP,
            ..step("GET", "/v1/processes/{prcs_id}/steps", 200)
        },
        Step {
            note: " (Publish document)",
            body: key,
            ..step("PUT", "/v1/steps/{sbfl_id}/complete", 200)
        },
        Step {
            note: " (none left: the instance has ended)",
            check: "pm.expect(body.items).to.be.empty;",
            ..step("GET", "/v1/processes/{prcs_id}/steps", 200)
        },
        step("GET", "/v1/processes/{prcs_id}/message_subscriptions", 200),
        Step {
            note: " (refused: nobody awaits it)",
            body: Body::Example,
            ..step("PUT", "/v1/messages/{message_name}", 409)
        },
        Step {
            body: Body::Example,
            store: &[("process_id", "body.process_id")],
            ..step("POST", "/v1/flow_requests", 201)
        },
        step("GET", "/v1/flow_requests", 200),
        step("GET", "/v1/flow_requests/{process_id}", 200),
        Step {
            note: " (refused: no person has confirmed it in a browser yet)",
            ..step("DELETE", "/v1/flow_requests/{process_id}", 409)
        },
        step("GET", "/v1/admin/clients", 200),
        Step {
            body: Body::Example,
            store: &[("new_client_id", "body.item.client_id")],
            ..step("POST", "/v1/admin/clients", 201)
        },
        step("GET", "/v1/admin/clients/{client_id}", 200),
        Step {
            body: Body::Example,
            ..step("PUT", "/v1/admin/clients/{client_id}", 200)
        },
        step("PUT", "/v1/admin/clients/{client_id}/disable", 200),
        step("PUT", "/v1/admin/clients/{client_id}/enable", 200),
        step("POST", "/v1/admin/clients/{client_id}/secret", 200),
        Step {
            body: Body::Example,
            ..step("POST", "/v1/admin/clients/{client_id}/roles", 200)
        },
        Step {
            body: Body::Example,
            ..step("DELETE", "/v1/admin/clients/{client_id}/roles", 200)
        },
        step("DELETE", "/v1/admin/clients/{client_id}", 200),
        step("GET", "/v1/admin/users", 200),
        Step {
            body: Body::Example,
            store: &[("user_id", "body.item.user_id")],
            ..step("POST", "/v1/admin/users", 201)
        },
        step("GET", "/v1/admin/users/{user}", 200),
        Step {
            body: Body::Example,
            ..step("POST", "/v1/admin/users/{user}/roles", 200)
        },
        Step {
            body: Body::Example,
            ..step("DELETE", "/v1/admin/users/{user}/roles", 200)
        },
        step("PUT", "/v1/admin/users/{user}/disable", 200),
        step("PUT", "/v1/admin/users/{user}/enable", 200),
        Step {
            body: Body::Example,
            ..step("POST", "/v1/admin/users/{user}/password", 200)
        },
        Step {
            body: Body::Example,
            check: "pm.expect(body.item.admin).to.be.true;",
            ..step("PUT", "/v1/admin/users/{user}/admin", 200)
        },
        Step {
            query: "status=pending",
            ..step("GET", "/v1/admin/apps", 200)
        },
        Step {
            note: " (refused: no such app; apps are registered in the portal)",
            vars: NO_APP,
            ..step("PUT", "/v1/admin/apps/{client_id}/approve", 404)
        },
        Step {
            note: " (refused: no such app)",
            vars: NO_APP,
            ..step("PUT", "/v1/admin/apps/{client_id}/reject", 404)
        },
        step("GET", "/v1/admin/policy", 200),
        Step {
            body: Body::Example,
            store: &[("rule_id", "body.item.id")],
            ..step("POST", "/v1/admin/policy", 201)
        },
        step("DELETE", "/v1/admin/policy/{rule_id}", 200),
        step("GET", "/v1/admin/keys", 200),
        step("POST", "/v1/admin/keys/rotate", 200),
        step("GET", "/v1/admin/audit", 200),
        Step {
            query: "status=draft",
            body: Body::Text(include_str!("../bpmn/linear-review.bpmn")),
            ..step("POST", "/v1/admin/diagrams", 201)
        },
        Step {
            body: Body::Example,
            ..step("PUT", "/v1/admin/diagrams/{dgrm_id}/status", 200)
        },
        Step {
            auth: Auth::None,
            ..step("GET", "/health/live", 200)
        },
        Step {
            auth: Auth::None,
            ..step("GET", "/health/ready", 200)
        },
        Step {
            auth: Auth::None,
            ..step("GET", "/metrics", 200)
        },
        Step {
            auth: Auth::None,
            ..step("GET", "/.well-known/oauth-authorization-server", 200)
        },
        Step {
            auth: Auth::None,
            ..step("GET", "/.well-known/jwks.json", 200)
        },
        Step {
            auth: Auth::Basic,
            body: Body::Example,
            check: "pm.expect(body.active).to.be.true;",
            ..step("POST", "/oauth/introspect", 200)
        },
        Step {
            note: " (the walk's own token, last)",
            auth: Auth::Basic,
            body: Body::Example,
            ..step("POST", "/oauth/revoke", 200)
        },
    ]
}

/// Path variables by path-parameter name (admin's `client_id` is the client the walk creates,
/// not the credential; `user` is the person it creates).
fn variable_for(param: &str) -> &str {
    match param {
        "client_id" => "new_client_id",
        "user" => "user_id",
        other => other,
    }
}

/// The `key=value` pairs of a query string.
fn pairs(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

fn url(step: &Step) -> Value {
    let mut raw = String::from("{{host}}");
    let mut path = Vec::new();
    for segment in step.path.split('/').skip(1) {
        let segment = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                let var = step
                    .vars
                    .iter()
                    .find(|(p, _)| *p == param)
                    .map(|(_, v)| *v)
                    .unwrap_or(variable_for(param));
                format!("{{{{{var}}}}}")
            }
            None => segment.to_owned(),
        };
        raw.push('/');
        raw.push_str(&segment);
        path.push(Value::String(segment));
    }
    let mut url = json!({"raw": raw, "host": ["{{host}}"], "path": path});
    if !step.query.is_empty() {
        url["raw"] = Value::String(format!("{raw}?{}", step.query));
        url["query"] = pairs(step.query)
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
    }
    url
}

fn test_script(step: &Step) -> Value {
    let mut lines = vec![format!(
        "pm.test('answers {}', function () {{ pm.response.to.have.status({}); }});",
        step.expect, step.expect
    )];
    if !step.store.is_empty() || !step.check.is_empty() {
        lines.push("let body = null; try { body = pm.response.json(); } catch (e) {}".into());
    }
    for (name, expr) in step.store {
        lines.push(format!("if (body) {{ const v = {expr}; if (v !== undefined) {{ pm.environment.set('{name}', String(v)); }} }}"));
    }
    if !step.check.is_empty() {
        lines.push(format!(
            "pm.test('content', function () {{ {} }});",
            step.check
        ));
    }
    json!([{"listen": "test", "script": {"type": "text/javascript", "exec": lines}}])
}

/// The example of an operation's request body and its media type, from the document.
fn example(doc: &Value, operation: &Value) -> Option<(String, Value)> {
    let (media_type, content) = operation["requestBody"]["content"]
        .as_object()?
        .iter()
        .next()?;
    let name = content["schema"]["$ref"].as_str()?.rsplit('/').next()?;
    let mut example = doc["components"]["schemas"][name]["example"].clone();
    let fields = example.as_object_mut()?;
    for (field, variable) in WALK_FIELDS {
        if let Some(value) = fields.get_mut(*field) {
            *value = Value::String((*variable).to_owned());
        }
    }
    Some((media_type.clone(), example))
}

fn request(step: &Step, doc: &Value, operation: &Value) -> Value {
    let mut request = json!({"method": step.method, "header": [], "url": url(step)});
    match step.body {
        Body::Empty => {}
        Body::Example => match example(doc, operation) {
            Some((media_type, example)) if media_type == "application/x-www-form-urlencoded" => {
                let fields: Vec<Value> = example
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(key, value)| {
                        let value = value
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| value.to_string());
                        json!({"key": key, "value": value, "type": "text"})
                    })
                    .collect();
                request["body"] = json!({"mode": "urlencoded", "urlencoded": fields});
            }
            Some((media_type, example)) => {
                request["header"] = json!([{"key": "Content-Type", "value": media_type}]);
                let raw = serde_json::to_string_pretty(&example).unwrap_or_default();
                request["body"] =
                    json!({"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}});
            }
            None => {}
        },
        Body::Text(raw) => {
            // The first media type the document declares for the body (XML for uploads).
            let media_type = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.keys().next())
                .map_or("text/plain", String::as_str);
            request["header"] = json!([{"key": "Content-Type", "value": media_type}]);
            request["body"] =
                json!({"mode": "raw", "raw": raw, "options": {"raw": {"language": "xml"}}});
        }
    }
    match step.auth {
        Auth::Bearer => {}
        Auth::None => request["auth"] = json!({"type": "noauth"}),
        Auth::Basic => {
            request["auth"] = json!({"type": "basic", "basic": [
                {"key": "username", "value": "{{client_id}}", "type": "string"},
                {"key": "password", "value": "{{client_pw}}", "type": "string"},
            ]})
        }
    }
    request
}

/// The operations of the document that the walk does not run (empty when it covers them all).
pub fn uncovered(doc: &Value) -> Vec<String> {
    let walk = walk();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(m, _)| m.to_uppercase())
        {
            if !walk.iter().any(|s| s.path == path && s.method == method) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    missing
}

/// The walk steps that send the document's example but find none there.
pub fn missing_examples(doc: &Value) -> Vec<String> {
    walk()
        .iter()
        .filter(|step| matches!(step.body, Body::Example))
        .filter(|step| example(doc, &doc["paths"][step.path][step.method.to_lowercase()]).is_none())
        .map(|step| format!("{} {}", step.method, step.path))
        .collect()
}

/// The collection and the environment, from the OpenAPI document.
pub fn generate(doc: &Value) -> (Value, Value) {
    let mut folders: Vec<(String, Vec<Value>)> = Vec::new();
    for step in walk() {
        let method = step.method.to_lowercase();
        let operation = &doc["paths"][step.path][&method];
        // One line: a summary wrapped in the doc comment would wrap the name in every tool.
        let summary = operation["summary"]
            .as_str()
            .unwrap_or(step.path)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let folder = if step.path == "/oauth/token" && step.expect == 200 && folders.is_empty() {
            "Auth".to_owned()
        } else {
            operation["tags"][0].as_str().unwrap_or("other").to_owned()
        };
        let item = json!({
            "name": format!("{summary}{}", step.note),
            "request": request(&step, doc, operation),
            "event": test_script(&step),
        });
        match folders.iter_mut().find(|(name, _)| *name == folder) {
            Some((_, items)) => items.push(item),
            None => folders.push((folder, vec![item])),
        }
    }
    let info = &doc["info"];
    let collection = json!({
        "info": {
            "name": info["title"],
            "description": info["description"],
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{access_token}}", "type": "string"}]},
        "item": folders.into_iter().map(|(name, items)| json!({"name": name, "item": items})).collect::<Vec<_>>(),
    });
    let default = |key: &str, value: &str| json!({"key": key, "value": value, "type": "default", "enabled": true});
    let secret = |key: &str| json!({"key": key, "value": "", "type": "secret", "enabled": true});
    let server = doc["servers"][0]["url"]
        .as_str()
        .unwrap_or(crate::api::DEFAULT_SERVER_URL);
    let mut values = vec![
        default("host", server),
        default("client_id", ""),
        secret("client_pw"),
        secret("access_token"),
    ];
    for name in [
        "dgrm_id",
        "prcs_id",
        "spare_prcs_id",
        "sbfl_id",
        "step_key",
        "new_client_id",
        "user_id",
        "rule_id",
    ] {
        values.push(default(name, ""));
    }
    values.push(default(
        "unknown_app_id",
        "00000000-0000-0000-0000-000000000000",
    ));
    values.push(default("message_name", "payment-received"));
    let environment =
        json!({"name": "flowgate", "values": values, "_postman_variable_scope": "environment"});
    (collection, environment)
}

/// Writes `flowgate.postman_collection.json` and `flowgate.postman_environment.json` into `dir`.
pub fn write(dir: &std::path::Path, doc: &Value) -> std::io::Result<()> {
    let (collection, environment) = generate(doc);
    std::fs::create_dir_all(dir)?;
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    std::fs::write(dir.join(COLLECTION_FILE), pretty(&collection))?;
    std::fs::write(dir.join(ENVIRONMENT_FILE), pretty(&environment))
}

pub const COLLECTION_FILE: &str = "flowgate.postman_collection.json";
pub const ENVIRONMENT_FILE: &str = "flowgate.postman_environment.json";
