//! The gate denies what it does not know (docs/contract.md §3): every operation the server has, for every
//! role, with GET, HEAD and every other method; path variants the router would still route;
//! paths and methods no handler serves; the holes that HEAD and empty segments once opened.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    every_operation_role_and_method,
    head_is_decided_as_get,
    path_variants_are_decided_as_the_route_they_reach,
    unknown_paths_and_methods,
    offsets_beyond_the_integer_range,
);

const FORBIDDEN_BODY: &str = "Necessary privilege not granted";
const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// Who the default policy (docs/contract.md §3) lets in, written out independently of the seed.
fn expected_roles(template: &str, method: &str) -> &'static [&'static str] {
    const ANY: &[&str] = &["Read", "Write", "Messages", "Admin"];
    match (method, template) {
        ("GET", "/v1/utils/ping" | "/v1/me") => ANY,
        ("GET", "/v1/utils/roles" | "/v1/utils/print_cgi") => &["Admin"],
        (_, t) if t.starts_with("/v1/admin/") => &["Admin"],
        (
            "GET",
            "/v1/diagrams"
            | "/v1/diagrams/:dgrm_id"
            | "/v1/diagrams/:dgrm_id/export"
            | "/v1/diagrams/:dgrm_id/processes"
            | "/v1/processes/:prcs_id"
            | "/v1/processes/:prcs_id/steps"
            | "/v1/processes/:prcs_id/activities"
            | "/v1/processes/:prcs_id/process_vars"
            | "/v1/steps/:sbfl_id",
        ) => &["Read"],
        ("POST", "/v1/diagrams/:dgrm_id/processes") => &["Write"],
        (
            "PUT",
            "/v1/processes/:prcs_id/start"
            | "/v1/processes/:prcs_id/reset"
            | "/v1/processes/:prcs_id/terminate"
            | "/v1/processes/:prcs_id/process_vars",
        ) => &["Write"],
        ("PUT", t) if t.starts_with("/v1/steps/:sbfl_id/") => &["Write"],
        ("PUT", "/v1/messages/:message_name") => &["Messages"],
        ("GET", "/v1/flow_requests" | "/v1/flow_requests/:process_id") => &["Read"],
        ("POST", "/v1/flow_requests") | ("DELETE", "/v1/flow_requests/:process_id") => &["Write"],
        ("DELETE", "/v1/processes/:prcs_id") => &["Admin"],
        ("GET", "/v1/processes/:prcs_id/message_subscriptions") => &["Admin"],
        (method, other) => panic!("{method} {other} has no expectation in the role matrix: add it"),
    }
}

fn concrete(template: &str) -> String {
    concrete_with(template, &[])
}

/// The template with these values for its parameters, 999999 for the others.
fn concrete_with(template: &str, values: &[(&str, String)]) -> String {
    template
        .split('/')
        .map(|part| match part.strip_prefix(':') {
            Some(name) => values
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| "999999".to_owned(), |(_, v)| v.clone()),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Ids of things that exist, for the GETs of the process API: as in Flows, a GET of an unknown
/// id answers an empty collection, which would look like the gate's answer. An order waits for
/// its payment, so that it has a running instance, steps, variables and a subscription.
async fn existing_ids(kit: &Kit) -> Vec<(&'static str, String)> {
    use crate::process::{complete, dgrm_id, open_steps, start};
    let admin = kit.admin_token().await;
    let dgrm = dgrm_id(kit, &admin, "order").await;
    let vars = json!([{"name": "amount", "type": "number", "value": 1},
                      {"name": "order_id", "type": "varchar", "value": "G-1"}]);
    let prcs = start(kit, &admin, dgrm, vars).await;
    for task in ["Task_Check", "Task_Pack", "Task_Invoice"] {
        complete(kit, &admin, prcs, task).await;
    }
    let sbfl = open_steps(kit, &admin, prcs).await[0]["sbfl_id"].clone();
    vec![
        ("dgrm_id", dgrm.to_string()),
        ("prcs_id", prcs.to_string()),
        ("sbfl_id", sbfl.to_string()),
    ]
}

/// A token for one client with each role. The Read client owns a flow request, so that its
/// allowed listing is not empty (an empty one would look like the gate's answer).
async fn role_tokens(kit: &Kit) -> Vec<(&'static str, String)> {
    let mut tokens = Vec::new();
    for role in ["Read", "Write", "Messages", "Admin"] {
        let client = kit.client_with(&[role]).await;
        tokens.push((role, kit.token(&client, None).await));
        if role == "Read" {
            let admin = kit.admin_token().await;
            let roles = format!("/v1/admin/clients/{}/roles", client.id);
            let write = Some(json!({"roles": ["Write"]}));
            kit.call(Method::POST, &roles, Some(&admin), write.clone())
                .await;
            let writer = kit.token(&client, Some("write")).await;
            let (status, body) = kit
                .call(
                    Method::POST,
                    "/v1/flow_requests",
                    Some(&writer),
                    Some(json!({"dgrm_id": 1})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            kit.call(Method::DELETE, &roles, Some(&admin), write).await;
        }
    }
    tokens
}

fn is_empty_collection(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::OK
        && body["items"] == json!([])
        && body["count"] == 0
        && body["hasMore"] == false
        && body["offset"] == 0
        && body["limit"] == 100
}

async fn every_operation_role_and_method(kit: &Kit) {
    let tokens = role_tokens(kit).await;
    // Every list the Admin role may read has an item, so that its answer differs from the
    // gate's empty collection (a fresh database has no developer app).
    crate::people::pending_app(kit).await;
    let existing = existing_ids(kit).await;
    let routes = kit.server.app.routes.routes().to_vec();
    assert!(routes.len() >= 30, "the route table comes from the API");
    for route in &routes {
        for method in METHODS {
            let path = if method == Method::GET || method == Method::HEAD {
                concrete_with(&route.template, &existing)
            } else {
                concrete(&route.template)
            };
            let served = route.methods.iter().any(|m| m.as_str() == method.as_str());
            let decided_as = match (&method, served) {
                (_, true) => Some(method.as_str()),
                (m, false)
                    if *m == Method::HEAD && route.methods.iter().any(|m| m.as_str() == "GET") =>
                {
                    Some("GET")
                }
                _ => None,
            };
            for (role, token) in &tokens {
                let response = kit.send(method.clone(), &path, Some(token), None).await;
                let status = response.status();
                let allow = response.headers().get("allow").cloned();
                let text = response.text().await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let what = format!("{role} {method} {path}: {status} {text}");
                let Some(decided_as) = decided_as else {
                    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                    if method != Method::HEAD {
                        assert_eq!(
                            body,
                            json!({"success": false, "message": "Method not allowed"}),
                            "{what}"
                        );
                    }
                    let allow = allow.expect("an Allow header");
                    for m in &route.methods {
                        assert!(
                            allow.to_str().unwrap().contains(m.as_str()),
                            "{what}: {allow:?}"
                        );
                    }
                    continue;
                };
                let allowed = expected_roles(&route.template, decided_as).contains(role);
                if method == Method::HEAD {
                    assert!(text.is_empty(), "HEAD answers carry no body: {what}");
                    if !allowed {
                        assert_eq!(status, StatusCode::OK, "{what}");
                    }
                } else if allowed {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{what}");
                    assert!(!is_empty_collection(status, &body), "{what}");
                } else if method == Method::GET {
                    assert!(is_empty_collection(status, &body), "{what}");
                    assert_eq!(body["links"][0]["rel"], "self", "{what}");
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(
                        body,
                        json!({"success": false, "message": FORBIDDEN_BODY}),
                        "{what}"
                    );
                }
            }
        }
    }
}

async fn head_is_decided_as_get(kit: &Kit) {
    let tokens = role_tokens(kit).await;
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let admin = kit.admin_token().await;
    let (_, listed) = kit
        .call(Method::GET, "/v1/admin/clients", Some(&admin), None)
        .await;
    let existing = listed["items"][0]["client_id"].as_str().unwrap().to_owned();
    // Without Admin, an existing client and a missing one look the same.
    for id in [existing.as_str(), "no-such-client"] {
        let response = kit
            .send(
                Method::HEAD,
                &format!("/v1/admin/clients/{id}"),
                Some(&token("Read")),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{id}");
    }
    // Without Read, the export says nothing of the file.
    let response = kit
        .send(
            Method::HEAD,
            "/v1/diagrams/1/export",
            Some(&token("Write")),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-disposition").is_none());
    // With Read it is the GET answer without its body.
    let response = kit
        .send(
            Method::HEAD,
            "/v1/diagrams/1/export",
            Some(&token("Read")),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-disposition").is_some());
}

async fn path_variants_are_decided_as_the_route_they_reach(kit: &Kit) {
    let tokens = role_tokens(kit).await;
    let read = &tokens[0].1;
    for (method, path) in [
        (Method::POST, "/v1/admin/clients//secret"),
        (Method::PUT, "/v1/admin/clients//enable"),
        (Method::DELETE, "/v1/admin/clients//roles"),
        (Method::PUT, "/v1/steps//complete"),
        (Method::DELETE, "/v1/processes//"),
    ] {
        let (status, body) = kit.call(method.clone(), path, Some(read), None).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{method} {path}: {status} {body}"
        );
        assert_ne!(
            body["message"], "client  not found",
            "{method} {path} reached a handler"
        );
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["message"], FORBIDDEN_BODY);
        }
    }
    // The same variants with the role reach the handler and are answered there.
    let admin = kit.admin_token().await;
    let (status, _) = kit
        .call(
            Method::POST,
            "/v1/admin/clients//secret",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A trailing slash is a path of its own: no handler serves it.
    for path in ["/v1/diagrams/", "/v1/utils/ping/", "/v1/admin/clients/"] {
        let (status, body) = kit.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["success"], false);
    }
}

async fn unknown_paths_and_methods(kit: &Kit) {
    let admin = kit.admin_token().await;
    for path in ["/v1/nowhere", "/v1/diagrams/1/2/3", "/v1/", "/v1//diagrams"] {
        let (status, body) = kit.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(
            (status, body.clone()),
            (
                StatusCode::NOT_FOUND,
                json!({"success": false, "message": "Resource not found"})
            ),
            "{path}"
        );
    }
    let response = kit
        .send(Method::OPTIONS, "/v1/diagrams", Some(&admin), None)
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    // Outside the gate too (RFC 9110 §15.5.6: a 405 names what the path takes).
    for (path, allowed) in [
        ("/oauth/token", "POST"),
        ("/health/live", "GET, HEAD"),
        ("/.well-known/jwks.json", "GET, HEAD"),
    ] {
        let method = Method::from_bytes(b"TRACE").unwrap();
        let response = kit.send(method, path, None, None).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], allowed, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{path}");
    }
    // The browser pages too: what a 405 names is exactly what does not get one.
    for path in [
        "/login",
        "/logout",
        "/oauth/authorize",
        "/developer",
        "/developer/apps",
        "/developer/apps/x/secret",
        "/admin/",
        "/admin/clients/x",
        "/admin/people/x/roles",
        "/v1/flow_requests/confirm/",
    ] {
        let response = kit.send(Method::DELETE, path, None, None).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allowed = response.headers()["allow"].to_str().unwrap().to_owned();
        for method in ["GET", "POST", "PUT", "PATCH"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let status = kit.send(method.clone(), path, None, None).await.status();
            assert_eq!(
                status != StatusCode::METHOD_NOT_ALLOWED,
                allowed.split(", ").any(|m| m == method.as_str()),
                "{path} {method}: {status}, Allow: {allowed}"
            );
        }
    }
}

async fn offsets_beyond_the_integer_range(kit: &Kit) {
    let admin = kit.admin_token().await;
    for path in [
        "/v1/diagrams/1/processes?offset=9223372036854775808",
        "/v1/diagrams?offset=18446744073709551615",
        "/v1/admin/clients?offset=9223372036854775808",
        "/v1/admin/audit?offset=9223372036854775808",
        // One past 2^53 - 1, the largest integer a JSON reader keeps exact.
        "/v1/diagrams/1/processes?offset=9007199254740992",
    ] {
        let (status, body) = kit.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["success"], false, "{path}");
        assert!(
            body["message"].as_str().unwrap().contains("offset"),
            "{path}: {body}"
        );
    }
    let (status, _) = kit
        .call(
            Method::GET,
            "/v1/diagrams/1/processes?offset=9007199254740991",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the largest offset is fine");
}
