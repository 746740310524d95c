//! Input that must not get through, and answers that must not leak (docs/contract.md §10):
//! duplicate JSON keys, huge echoes, the framework's own wording, caches keeping secrets,
//! framing of the docs, and brute force at the token endpoint.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::{Creds, Kit, basic_header};
use crate::on_both_backends;

on_both_backends!(
    duplicate_json_keys_are_refused,
    answers_stay_small_and_in_our_words,
    secrets_and_docs_carry_their_headers,
    failed_client_authentication_is_slowed,
);

async fn raw(
    kit: &Kit,
    method: Method,
    path: &str,
    token: &str,
    body: &str,
) -> (StatusCode, Value, usize) {
    let response = kit
        .http
        .request(method, kit.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let size = text.len();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        size,
    )
}

async fn duplicate_json_keys_are_refused(kit: &Kit) {
    let admin = kit.admin_token().await;
    let (_, before) = kit
        .call(Method::GET, "/v1/admin/clients", Some(&admin), None)
        .await;
    let (status, body, _) = raw(
        kit,
        Method::POST,
        "/v1/admin/clients",
        &admin,
        r#"{"name": "sneaky", "roles": ["Read"], "roles": ["Admin"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("\"roles\""),
        "{body}"
    );
    let (_, after) = kit
        .call(Method::GET, "/v1/admin/clients", Some(&admin), None)
        .await;
    assert_eq!(before["count"], after["count"], "nothing was created");
    let (status, body, _) = raw(
        kit,
        Method::PUT,
        "/v1/processes/1/process_vars",
        &admin,
        r#"[{"name": "a", "type": "varchar", "value": "1", "value": "2"}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn answers_stay_small_and_in_our_words(kit: &Kit) {
    let admin = kit.admin_token().await;
    // A megabyte-sized item is not echoed back.
    let big = json!({"comment": "x".repeat(900_000)}).to_string();
    let (status, body, size) = raw(kit, Method::PUT, "/v1/steps/1/complete", &admin, &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Attribute not found");
    assert!(size < 10_000, "{size} bytes came back");
    // Parameters and bodies the framework cannot read are named in our words.
    for (method, path, body, words) in [
        (
            Method::GET,
            "/v1/diagrams/abc",
            None,
            "A path parameter is not valid",
        ),
        (
            Method::GET,
            "/v1/diagrams?limit=-1",
            None,
            "The query parameter `limit` is not valid",
        ),
        (
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "no-password"})),
            "body",
        ),
    ] {
        let (status, answer) = kit.call(method, path, Some(&admin), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(words), "{path}: {message}");
        assert!(
            !message.contains("Expected input type") && !message.contains("failed to parse"),
            "{message}"
        );
    }
}

async fn secrets_and_docs_carry_their_headers(kit: &Kit) {
    let admin = kit.admin_token().await;
    let created = kit
        .send(
            Method::POST,
            "/v1/admin/clients",
            Some(&admin),
            Some(json!({"name": "cached?"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let body: Value = created.json().await.unwrap();
    let id = body["item"]["client_id"].as_str().unwrap();
    let rotated = kit
        .send(
            Method::POST,
            &format!("/v1/admin/clients/{id}/secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_eq!(rotated.headers()["cache-control"], "no-store");
    let docs = kit.send(Method::GET, "/docs", None, None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(docs.headers()["x-content-type-options"], "nosniff");
    assert!(docs.headers().contains_key("referrer-policy"));
}

async fn failed_client_authentication_is_slowed(kit: &Kit) {
    let victim = kit.client_with(&["Read"]).await;
    let bystander = kit.client_with(&["Read"]).await;
    let wrong = Creds {
        id: victim.id.clone(),
        secret: "guess".into(),
    };
    for attempt in 0..10 {
        let (status, body) = kit
            .token_request(Some(&wrong), "grant_type=client_credentials")
            .await
            .into_status_body();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }
    let response = kit
        .http
        .post(kit.url("/oauth/token"))
        .header("authorization", basic_header(&wrong.id, &wrong.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Now even the right secret waits; another client does not.
    let (status, _, _) = kit
        .token_request(Some(&victim), "grant_type=client_credentials")
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = kit
        .token_request(Some(&bystander), "grant_type=client_credentials")
        .await;
    assert_eq!(status, StatusCode::OK);
}

trait StatusBody {
    fn into_status_body(self) -> (StatusCode, Value);
}

impl StatusBody for (StatusCode, reqwest::header::HeaderMap, Value) {
    fn into_status_body(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}
