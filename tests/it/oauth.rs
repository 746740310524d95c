//! The token endpoint (RFC 6749 §4.4, §5), JWTs against the JWKS (RFC 9068), key rotation,
//! revocation (RFC 7009) and metadata (RFC 8414).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::{Creds, Kit, basic_header};
use crate::on_both_backends;

on_both_backends!(
    issues_tokens_with_basic_and_post,
    basic_credentials_are_percent_decoded,
    every_error_of_section_5_2,
    scope_narrows_roles,
    jwt_verifies_against_jwks,
    key_rotation_keeps_old_tokens_valid,
    revocation,
    metadata_describes_the_server,
);

fn assert_no_store(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
}

async fn issues_tokens_with_basic_and_post(kit: &Kit) {
    let (status, headers, body) = kit
        .token_request(Some(&kit.admin), "grant_type=client_credentials")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_store(&headers);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write messages admin");
    assert!(
        body.get("refresh_token").is_none(),
        "client_credentials gives no refresh token"
    );

    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        kit.admin.id, kit.admin.secret
    );
    let (status, headers, body) = kit.token_request(None, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_store(&headers);

    // Basic plus an agreeing client_id in the body is what many clients send.
    let form = format!("grant_type=client_credentials&client_id={}", kit.admin.id);
    let (status, _, body) = kit.token_request(Some(&kit.admin), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Every byte percent-encoded: only a server that decodes per RFC 6749 §2.3.1 accepts it.
async fn basic_credentials_are_percent_decoded(kit: &Kit) {
    let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let creds = Creds {
        id: encode(&kit.admin.id),
        secret: encode(&kit.admin.secret),
    };
    let (status, _, body) = kit
        .token_request(Some(&creds), "grant_type=client_credentials")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn expect_error(
    kit: &Kit,
    basic: Option<&Creds>,
    form: &str,
    status: StatusCode,
    code: &str,
) -> reqwest::header::HeaderMap {
    let (got, headers, body) = kit.token_request(basic, form).await;
    assert_eq!(got, status, "{form}: {body}");
    assert_eq!(body["error"], code, "{form}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_no_store(&headers);
    headers
}

async fn every_error_of_section_5_2(kit: &Kit) {
    let admin = kit.admin.clone();
    let cc = "grant_type=client_credentials";
    let bad = StatusCode::BAD_REQUEST;

    // invalid_request
    expect_error(kit, Some(&admin), "", bad, "invalid_request").await;
    expect_error(
        kit,
        Some(&admin),
        "grant_type=client_credentials&grant_type=client_credentials",
        bad,
        "invalid_request",
    )
    .await;
    expect_error(
        kit,
        Some(&admin),
        &format!("{cc}&client_secret={}", admin.secret),
        bad,
        "invalid_request",
    )
    .await;
    expect_error(
        kit,
        Some(&admin),
        &format!("{cc}&client_id=someone-else"),
        bad,
        "invalid_request",
    )
    .await;
    expect_error(
        kit,
        Some(&admin),
        "grant_type=client_credentials&scope=%FF",
        bad,
        "invalid_request",
    )
    .await;
    let response = kit
        .http
        .post(kit.url("/oauth/token"))
        .header("authorization", basic_header(&admin.id, &admin.secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), bad, "JSON bodies are refused");
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let response = kit
        .http
        .post(kit.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic_header(&admin.id, &admin.secret))
        .body(vec![b'g', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), bad, "non-UTF-8 bodies are refused");

    // invalid_client: 401, with a Basic challenge when Basic was used (or nothing was sent).
    let unauthorized = StatusCode::UNAUTHORIZED;
    let wrong = Creds {
        id: admin.id.clone(),
        secret: "wrong".into(),
    };
    let h = expect_error(kit, Some(&wrong), cc, unauthorized, "invalid_client").await;
    assert_eq!(h["www-authenticate"], r#"Basic realm="flowgate""#);
    let unknown = Creds {
        id: "nobody".into(),
        secret: admin.secret.clone(),
    };
    let (_, _, unknown_body) = kit.token_request(Some(&unknown), cc).await;
    let (_, _, wrong_body) = kit.token_request(Some(&wrong), cc).await;
    assert_eq!(
        unknown_body, wrong_body,
        "unknown client and wrong secret look the same"
    );
    let h = expect_error(kit, None, cc, unauthorized, "invalid_client").await;
    assert_eq!(h["www-authenticate"], r#"Basic realm="flowgate""#);
    let h = expect_error(
        kit,
        None,
        &format!("{cc}&client_id={}&client_secret=wrong", admin.id),
        unauthorized,
        "invalid_client",
    )
    .await;
    assert!(
        h.get("www-authenticate").is_none(),
        "no Basic challenge for client_secret_post"
    );
    for header in ["Basic !!!", "Basic", "Bearer abc", "Basic Zm9vYmFy"] {
        let response = kit
            .http
            .post(kit.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", header)
            .body(cc)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), unauthorized, "{header}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Basic realm="flowgate""#
        );
    }

    // A disabled client looks like an unknown one.
    let client = kit.client_with(&["Read"]).await;
    let admin_token = kit.admin_token().await;
    let (status, _) = kit
        .call(
            Method::PUT,
            &format!("/v1/admin/clients/{}/disable", client.id),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, disabled_body) = kit.token_request(Some(&client), cc).await;
    assert_eq!(disabled_body, wrong_body);

    // unauthorized_client: a public client may not use client_credentials.
    let (status, body) = kit
        .call(
            Method::POST,
            "/v1/admin/clients",
            Some(&admin_token),
            Some(serde_json::json!({"name": "spa", "public": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["item"]["client_secret"].is_null());
    let public_id = body["item"]["client_id"].as_str().unwrap();
    expect_error(
        kit,
        None,
        &format!("{cc}&client_id={public_id}"),
        bad,
        "unauthorized_client",
    )
    .await;

    // unsupported_grant_type and invalid_scope.
    expect_error(
        kit,
        Some(&admin),
        "grant_type=password&username=a&password=b",
        bad,
        "unsupported_grant_type",
    )
    .await;
    expect_error(
        kit,
        Some(&admin),
        &format!("{cc}&scope=read+superuser"),
        bad,
        "invalid_scope",
    )
    .await;
    let reader = kit.client_with(&["Read"]).await;
    expect_error(
        kit,
        Some(&reader),
        &format!("{cc}&scope=read+write"),
        bad,
        "invalid_scope",
    )
    .await;

    // Failed authentications are audited (repeats as counts, written about every second).
    let started = std::time::Instant::now();
    loop {
        let (_, audit) = kit
            .call(
                Method::GET,
                "/v1/admin/audit?action=auth.client&limit=1000",
                Some(&admin_token),
                None,
            )
            .await;
        let failures = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["count"].as_i64().unwrap())
            .sum::<i64>();
        if failures >= 4 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 5,
            "failed authentications in the audit log: {failures}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn scope_narrows_roles(kit: &Kit) {
    let token = kit.token(&kit.admin.clone(), Some("READ messages")).await;
    let (status, me) = kit.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], serde_json::json!(["Read", "Messages"]));
    assert_eq!(me["scope"], "read messages");
    let (status, body) = kit
        .call(Method::POST, "/v1/admin/keys/rotate", Some(&token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Admin was narrowed away: {body}"
    );
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies a JWT with the key of the JWKS that its `kid` names.
fn verify_with_jwks(token: &str, jwks: &Value) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is in the JWKS");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&x)
        .unwrap()
        .verify_strict(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .expect("signature verifies with the published key");
    decode_part(parts[1])
}

async fn jwks(kit: &Kit) -> Value {
    kit.http
        .get(kit.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn jwt_verifies_against_jwks(kit: &Kit) {
    let token = kit.token(&kit.admin.clone(), Some("read write")).await;
    let claims = verify_with_jwks(&token, &jwks(kit).await);
    assert_eq!(claims["iss"], kit.base);
    assert_eq!(claims["sub"], kit.admin.id);
    assert_eq!(claims["client_id"], kit.admin.id);
    assert_eq!(claims["aud"], kit.base);
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["roles"], serde_json::json!(["Read", "Write"]));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
}

async fn key_rotation_keeps_old_tokens_valid(kit: &Kit) {
    let old = kit.admin_token().await;
    let (status, body) = kit
        .call(Method::POST, "/v1/admin/keys/rotate", Some(&old), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = kit.admin_token().await;
    let jwks = jwks(kit).await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "the retired key stays published"
    );
    verify_with_jwks(&old, &jwks);
    verify_with_jwks(&new, &jwks);
    assert_ne!(
        decode_part(old.split('.').next().unwrap())["kid"],
        decode_part(new.split('.').next().unwrap())["kid"]
    );
    assert_eq!(
        decode_part(new.split('.').next().unwrap())["kid"],
        body["kid"]
    );
    for token in [&old, &new] {
        let (status, _) = kit
            .call(Method::GET, "/v1/utils/ping", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, keys) = kit
        .call(Method::GET, "/v1/admin/keys", Some(&new), None)
        .await;
    let active: Vec<bool> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["active"].as_bool().unwrap())
        .collect();
    assert_eq!(active, [true, false]);
}

async fn revoke(kit: &Kit, creds: &Creds, token: &str) -> (StatusCode, Value) {
    let response = kit
        .http
        .post(kit.url("/oauth/revoke"))
        .header("authorization", basic_header(&creds.id, &creds.secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn revocation(kit: &Kit) {
    let client = kit.client_with(&["Read"]).await;
    let token = kit.token(&client, None).await;
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Another client may not revoke it.
    let (status, body) = revoke(kit, &kit.admin.clone(), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = revoke(kit, &client, &token).await;
    assert_eq!(status, StatusCode::OK);
    let response = kit
        .send(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // Revoking again, or revoking garbage, is fine (RFC 7009 §2.2).
    assert_eq!(revoke(kit, &client, &token).await.0, StatusCode::OK);
    assert_eq!(revoke(kit, &client, "not-a-token").await.0, StatusCode::OK);
    // But the client must authenticate.
    let wrong = Creds {
        id: client.id.clone(),
        secret: "wrong".into(),
    };
    assert_eq!(
        revoke(kit, &wrong, &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn metadata_describes_the_server(kit: &Kit) {
    let meta: Value = kit
        .http
        .get(kit.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], kit.base);
    assert_eq!(meta["token_endpoint"], kit.url("/oauth/token"));
    assert_eq!(meta["jwks_uri"], kit.url("/.well-known/jwks.json"));
    assert_eq!(meta["revocation_endpoint"], kit.url("/oauth/revoke"));
    assert!(
        meta["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("client_credentials"))
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
        "none: public clients, with PKCE"
    );
}
