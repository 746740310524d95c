//! The role gate (docs/contract.md §3): every row of its table, the role matrix over the default policy for
//! every route the server has, and changes to roles, clients and policy taking effect at once.

use flowgate::oauth::jwt::{self, AccessClaims};
use flowgate::oauth::keys::KeyRing;
use flowgate::oauth::keys::StoredKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    missing_or_malformed_header_is_401,
    bad_tokens_are_401_invalid_token,
    empty_collection_keeps_paging,
    role_and_client_changes_apply_at_once,
    policy_changes_apply_at_once,
);

async fn missing_or_malformed_header_is_401(kit: &Kit) {
    for header in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic abc"),
        Some("Bearer a b"),
        Some("token"),
    ] {
        let mut request = kit.http.get(kit.url("/v1/utils/ping"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="flowgate""#,
            "{header:?}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Non-GET methods and unknown routes under /v1/ need a token too.
    for (method, path) in [
        (Method::POST, "/v1/admin/clients"),
        (Method::GET, "/v1/nowhere"),
    ] {
        let (status, _) = kit.call(method, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

fn claims(kit: &Kit, exp_offset: i64) -> AccessClaims {
    let now = flowgate::now();
    AccessClaims {
        iss: kit.base.clone(),
        sub: kit.admin.id.clone(),
        aud: kit.base.clone(),
        client_id: kit.admin.id.clone(),
        exp: now + exp_offset,
        iat: now - 10,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: "admin".into(),
        roles: vec!["Admin".into()],
    }
}

async fn expect_invalid_token(kit: &Kit, token: &str, why: &str) {
    let response = kit
        .send(Method::GET, "/v1/utils/ping", Some(token), None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{why}: {challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false, "{why}");
}

async fn bad_tokens_are_401_invalid_token(kit: &Kit) {
    let good = kit.admin_token().await;
    let keys = kit.server.app.view();

    // The server's own key, but expired.
    let expired = jwt::encode(&keys.keys, &claims(kit, -5));
    expect_invalid_token(kit, &expired, "expired").await;
    // A valid shape signed by a key the server never published.
    let stranger = KeyRing::new(&[StoredKey {
        kid: "stranger".into(),
        seed: [7; 32].into(),
        created_at: 0,
        retired_at: None,
        publish_until: None,
    }])
    .unwrap();
    expect_invalid_token(
        kit,
        &jwt::encode(&stranger, &claims(kit, 600)),
        "unknown key",
    )
    .await;
    // Claims changed after signing.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&claims(kit, 99_999)).unwrap(),
    );
    expect_invalid_token(kit, &parts.join("."), "tampered").await;
    // Garbage that looks like a token.
    expect_invalid_token(kit, "abc.def.ghi", "garbage").await;
    // Someone else's issuer.
    let foreign = AccessClaims {
        iss: "https://elsewhere.example".into(),
        ..claims(kit, 600)
    };
    expect_invalid_token(kit, &jwt::encode(&keys.keys, &foreign), "issuer").await;
    // Someone else's audience, and a life longer than this server gives (a leaked key cannot
    // mint a token that lives for ever).
    let other_audience = AccessClaims {
        aud: "https://api.elsewhere.example".into(),
        ..claims(kit, 600)
    };
    expect_invalid_token(kit, &jwt::encode(&keys.keys, &other_audience), "audience").await;
    let endless = AccessClaims {
        exp: i64::MAX,
        ..claims(kit, 600)
    };
    expect_invalid_token(kit, &jwt::encode(&keys.keys, &endless), "exp - iat").await;
    drop(keys);
    // And the good one still works.
    let (status, body) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&good), None)
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    // Refused tokens are audited with the caller's address (without the port).
    let admin = kit.admin_token().await;
    let started = std::time::Instant::now();
    loop {
        let (_, audit) = kit
            .call(Method::GET, "/v1/admin/audit?limit=100", Some(&admin), None)
            .await;
        let refused = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["action"] == "auth.bearer")
            .cloned();
        if let Some(row) = refused {
            assert_eq!(row["actor"], "remote:127.0.0.1", "{row}");
            assert_eq!(row["success"], false);
            break;
        }
        assert!(
            started.elapsed().as_secs() < 5,
            "no audit row for a refused token"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn empty_collection_keeps_paging(kit: &Kit) {
    let reader = kit.client_with(&["Read"]).await;
    let token = kit.token(&reader, None).await;
    let (status, body) = kit
        .call(Method::GET, "/v1/admin/clients?limit=5", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["limit"], 5);
    assert_eq!(body["count"], 0);
    assert_eq!(
        body["links"][0]["href"],
        kit.url("/v1/admin/clients?limit=5")
    );
}

async fn role_and_client_changes_apply_at_once(kit: &Kit) {
    let admin = kit.admin_token().await;
    let client = kit.client_with(&["Read", "Admin"]).await;
    let token = kit.token(&client, None).await;
    let (_, roles) = kit
        .call(Method::GET, "/v1/utils/roles", Some(&token), None)
        .await;
    assert_eq!(
        roles["items"],
        json!([{"role_name": "Read"}, {"role_name": "Admin"}])
    );

    // Revoking Admin takes it away from the token already issued.
    let path = format!("/v1/admin/clients/{}/roles", client.id);
    let (status, body) = kit
        .call(
            Method::DELETE,
            &path,
            Some(&admin),
            Some(json!({"roles": ["Admin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["item"]["roles"], json!(["Read"]));
    let (status, body) = kit
        .call(Method::GET, "/v1/utils/roles", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["count"].clone()),
        (StatusCode::OK, json!(0)),
        "Admin-only route is now empty"
    );
    let (_, me) = kit.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(me["roles"], json!(["Read"]));
    // Granting it back restores it; a token can never gain roles it was not issued with.
    kit.call(
        Method::POST,
        &path,
        Some(&admin),
        Some(json!({"roles": ["Admin", "Write"]})),
    )
    .await;
    let (_, me) = kit.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(me["roles"], json!(["Read", "Admin"]));

    // Disabling the client kills its tokens for good: enabling it again does not revive them,
    // but new ones work.
    let client_path = format!("/v1/admin/clients/{}", client.id);
    kit.call(
        Method::PUT,
        &format!("{client_path}/disable"),
        Some(&admin),
        None,
    )
    .await;
    expect_invalid_token(kit, &token, "disabled client").await;
    kit.call(
        Method::PUT,
        &format!("{client_path}/enable"),
        Some(&admin),
        None,
    )
    .await;
    expect_invalid_token(kit, &token, "token of a client disabled and enabled again").await;
    let token = kit.token(&client, Some("read")).await;
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Deleting it too.
    let (status, body) = kit
        .call(Method::DELETE, &client_path, Some(&admin), None)
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"success": true, "message": "client deleted"})
        )
    );
    expect_invalid_token(kit, &token, "deleted client").await;
}

async fn policy_changes_apply_at_once(kit: &Kit) {
    let admin = kit.admin_token().await;
    let reader = kit.client_with(&["Read"]).await;
    let token = kit.token(&reader, None).await;
    let (_, before) = kit
        .call(Method::GET, "/v1/utils/roles", Some(&token), None)
        .await;
    assert_eq!(before["count"], 0);

    let rule = json!({"role": "read", "path": "/v1/utils/roles", "method": "get"});
    let (status, added) = kit
        .call(
            Method::POST,
            "/v1/admin/policy",
            Some(&admin),
            Some(rule.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["item"]["role"], "Read");
    assert_eq!(added["item"]["method"], "GET");
    let (_, after) = kit
        .call(Method::GET, "/v1/utils/roles", Some(&token), None)
        .await;
    assert_eq!(after["items"], json!([{"role_name": "Read"}]));

    let (status, _) = kit
        .call(Method::POST, "/v1/admin/policy", Some(&admin), Some(rule))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a rule exists once");

    let id = added["item"]["id"].as_i64().unwrap();
    let (status, removed) = kit
        .call(
            Method::DELETE,
            &format!("/v1/admin/policy/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let (_, again) = kit
        .call(Method::GET, "/v1/utils/roles", Some(&token), None)
        .await;
    assert_eq!(again["count"], 0);
}
