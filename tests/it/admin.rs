//! The admin API for clients, the audit log, bad input, and the ungated operational routes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    client_lifecycle_is_audited,
    bad_input_changes_nothing,
    operational_routes
);

async fn client_lifecycle_is_audited(kit: &Kit) {
    let admin = kit.admin_token().await;
    let new = json!({
        "name": "ERP connector",
        "description": "Posts payments",
        "redirect_uris": ["https://erp.example/callback"],
        "support_email": "ops@erp.example",
        "roles": ["Messages", "read"],
    });
    let (status, created) = kit
        .call(Method::POST, "/v1/admin/clients", Some(&admin), Some(new))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let item = &created["item"];
    let id = item["client_id"].as_str().unwrap().to_owned();
    let secret = item["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256-bit secret");
    assert_eq!(item["roles"], json!(["Read", "Messages"]));
    assert_eq!(item["confidential"], true);

    let path = format!("/v1/admin/clients/{id}");
    let (status, shown) = kit.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["count"], 1);
    assert_eq!(shown["items"][0]["name"], "ERP connector");
    assert!(
        shown["items"][0].get("client_secret").is_none(),
        "the secret is never shown again"
    );
    assert!(!shown.to_string().contains(&secret));

    let (status, updated) = kit
        .call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({"name": "ERP"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["item"]["name"], "ERP");
    assert_eq!(updated["item"]["description"], "Posts payments");

    let (status, rotated) = kit
        .call(Method::POST, &format!("{path}/secret"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["item"]["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let old = crate::kit::Creds {
        id: id.clone(),
        secret: secret.clone(),
    };
    assert_eq!(
        kit.token_request(Some(&old), "grant_type=client_credentials")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = crate::kit::Creds {
        id: id.clone(),
        secret: new_secret.to_owned(),
    };
    kit.token(&fresh, None).await;

    let (_, list) = kit
        .call(Method::GET, "/v1/admin/clients?limit=1", Some(&admin), None)
        .await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["hasMore"], true);
    let (_, rest) = kit
        .call(
            Method::GET,
            "/v1/admin/clients?limit=10&offset=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rest["offset"], 1);
    assert_eq!(rest["hasMore"], false);
    assert!(
        rest["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );

    let (status, _) = kit.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, gone) = kit.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["success"], false);

    let (_, audit) = kit
        .call(Method::GET, "/v1/admin/audit?limit=50", Some(&admin), None)
        .await;
    let actions: Vec<(String, String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["target"] == id.as_str())
        .map(|row| {
            (
                row["action"].as_str().unwrap().to_owned(),
                row["actor"].as_str().unwrap().to_owned(),
                row["at"].to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = actions.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "client.delete",
            "client.rotate_secret",
            "client.update",
            "client.create"
        ],
        "newest first"
    );
    assert!(
        actions
            .iter()
            .all(|(_, actor, _)| actor == &format!("client:{}", kit.admin.id))
    );
    assert!(
        !audit.to_string().contains(&secret),
        "no secret in the audit log"
    );
}

async fn client_count(kit: &Kit, token: &str) -> usize {
    let (_, list) = kit
        .call(
            Method::GET,
            "/v1/admin/clients?limit=1000",
            Some(token),
            None,
        )
        .await;
    list["items"].as_array().unwrap().len()
}

async fn raw(
    kit: &Kit,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = kit
        .http
        .request(method, kit.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn bad_input_changes_nothing(kit: &Kit) {
    let admin = kit.admin_token().await;
    let before = client_count(kit, &admin).await;
    let json_type = "application/json";
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        (
            "malformed JSON",
            b"{\"name\": ".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong type",
            br#"{"name": {"first": "x"}}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong type in a list",
            br#"{"name": "x", "roles": [{"r": 1}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown field",
            br#"{"name": "x", "secret": "mine"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown role",
            br#"{"name": "x", "roles": ["Root"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty name",
            br#"{"name": "  "}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "relative redirect",
            br#"{"name": "x", "redirect_uris": ["/cb"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad e-mail",
            br#"{"name": "x", "support_email": "nope"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not UTF-8",
            vec![b'{', b'"', b'n', 0xff, b'"', b'}'],
            StatusCode::BAD_REQUEST,
        ),
        ("an array", b"[]".to_vec(), StatusCode::BAD_REQUEST),
    ];
    for (what, body, status) in cases {
        let (got, answer) = raw(
            kit,
            Method::POST,
            "/v1/admin/clients",
            &admin,
            json_type,
            body,
        )
        .await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["success"], false, "{what}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    let (got, _) = raw(
        kit,
        Method::POST,
        "/v1/admin/clients",
        &admin,
        "text/plain",
        b"name=x".to_vec(),
    )
    .await;
    assert!(got.is_client_error(), "wrong media type: {got}");
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024)).into_bytes();
    let (got, answer) = raw(
        kit,
        Method::POST,
        "/v1/admin/clients",
        &admin,
        json_type,
        huge,
    )
    .await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["message"], "Payload too large");

    let (got, answer) = kit
        .call(Method::DELETE, "/v1/admin/policy/abc", Some(&admin), None)
        .await;
    assert_eq!(
        got,
        StatusCode::BAD_REQUEST,
        "path parameter not a number: {answer}"
    );
    let bad_rule = json!({"role": "Read", "path": "no-slash", "method": "GET"});
    let (got, _) = kit
        .call(
            Method::POST,
            "/v1/admin/policy",
            Some(&admin),
            Some(bad_rule),
        )
        .await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
    let bad_rule = json!({"role": "Owner", "path": "/v1/x", "method": "GET"});
    let (got, _) = kit
        .call(
            Method::POST,
            "/v1/admin/policy",
            Some(&admin),
            Some(bad_rule),
        )
        .await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
    let (got, _) = kit
        .call(
            Method::PUT,
            "/v1/admin/clients/unknown/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got, StatusCode::NOT_FOUND);

    assert_eq!(
        client_count(kit, &admin).await,
        before,
        "nothing was created"
    );
    let (_, policy) = kit
        .call(Method::GET, "/v1/admin/policy", Some(&admin), None)
        .await;
    assert_eq!(
        policy["count"],
        flowgate::services::setup::DEFAULT_POLICY.len(),
        "the default policy is intact"
    );
}

async fn operational_routes(kit: &Kit) {
    let (status, body) = kit.call(Method::GET, "/health/live", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, _) = kit.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
    kit.admin_token().await;
    let metrics = kit.http.get(kit.url("/metrics")).send().await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    let issued: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("flowgate_tokens_issued_total "))
        .and_then(|v| v.parse().ok())
        .expect("tokens counter");
    assert!(issued >= 1);

    let response = kit.send(Method::GET, "/nowhere", None, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.json::<Value>().await.unwrap()["success"], false);
    let (status, body) = kit.call(Method::DELETE, "/health/live", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["success"], false);
    let admin = kit.admin_token().await;
    let (status, body) = kit
        .call(Method::PATCH, "/v1/utils/ping", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");

    let (status, cgi) = kit
        .call(Method::GET, "/v1/utils/print_cgi?x=1", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cgi["path"], "/v1/utils/print_cgi");
    assert_eq!(cgi["query"], "x=1");
    assert!(
        !cgi.to_string().contains(&admin),
        "the token is never echoed"
    );
    let auth = cgi["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "authorization")
        .unwrap();
    assert_eq!(auth["value"], "[redacted]");
}
