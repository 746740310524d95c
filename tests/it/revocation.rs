//! Revocation (docs/contract.md §2, §6): revocations are applied incrementally, reach another
//! instance on the same database within two seconds and never reload the whole view; disabling
//! a client, or rotating its secret with `revoke_tokens`, ends every token issued to it until
//! then, for good.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{code_client, token_form};
use crate::delegated::{REDIRECT, tokens};
use crate::kit::{Creds, Kit, basic_header};
use crate::on_both_backends;

on_both_backends!(
    revocations_reach_another_instance_without_reloads,
    disabling_a_client_ends_its_tokens_for_good,
    rotating_a_secret_may_revoke_the_tokens,
    refresh_tokens_of_a_disabled_client_are_dead,
);

/// Polls `check` until it holds, for at most two seconds.
async fn within_two_seconds<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 2 s");
}

async fn ping(http: &reqwest::Client, base: &str, token: &str) -> StatusCode {
    http.get(format!("{base}/v1/utils/ping"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn revoke(kit: &Kit, creds: &Creds, token: &str) {
    let response = kit
        .http
        .post(kit.url("/oauth/revoke"))
        .header("authorization", basic_header(&creds.id, &creds.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn introspect(kit: &Kit, creds: &Creds, token: &str) -> Value {
    let (status, body) = crate::delegated::introspect(kit, creds, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn revocations_reach_another_instance_without_reloads(kit: &Kit) {
    let other = kit.another_instance().await;
    let other_url = other.base_url();
    let http = reqwest::Client::new();
    let client = kit.client_with(&["Read"]).await;
    // The new client reaches the other instance (a change: a reload there).
    let probe = kit.token(&client, None).await;
    within_two_seconds("the new client on the other instance", || async {
        ping(&http, &other_url, &probe).await == StatusCode::OK
    })
    .await;
    let here = &kit.server.app;
    let (reloads_here, reloads_there) = (here.view_reloads(), other.app.view_reloads());
    let (version_here, version_there) = (here.view().version, other.app.view().version);

    let mut revoked = Vec::new();
    for _ in 0..40 {
        let token = kit.token(&client, None).await;
        // A few times, so that the server's threads remember its standing (the gate's memo).
        for _ in 0..3 {
            assert_eq!(ping(&http, &kit.base, &token).await, StatusCode::OK);
        }
        revoke(kit, &client, &token).await;
        // Refused at once on the instance that revoked it.
        assert_eq!(
            ping(&http, &kit.base, &token).await,
            StatusCode::UNAUTHORIZED
        );
        revoked.push(token);
    }
    within_two_seconds("the revocations on the other instance", || async {
        ping(&http, &other_url, revoked.last().unwrap()).await == StatusCode::UNAUTHORIZED
    })
    .await;
    for token in &revoked {
        assert_eq!(
            ping(&http, &other_url, token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(introspect(kit, &client, token).await["active"], false);
    }
    assert_eq!(
        ping(&http, &other_url, &probe).await,
        StatusCode::OK,
        "tokens not revoked still work"
    );
    // No instance reloaded its view for them, and the change version did not move.
    assert_eq!(here.view_reloads(), reloads_here, "reloads here");
    assert_eq!(other.app.view_reloads(), reloads_there, "reloads there");
    assert_eq!(here.view().version, version_here);
    assert_eq!(other.app.view().version, version_there);
    assert!(other.app.view().revoked.len() >= revoked.len());
    // The audit log still has a row for each.
    let admin = kit.admin_token().await;
    let (_, audit) = kit
        .call(
            Method::GET,
            "/v1/admin/audit?action=token.revoke&limit=100",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["count"], 40, "{audit}");
    // A third instance starting now reads every revocation at once.
    let third = kit.another_instance().await;
    assert_eq!(
        ping(&http, &third.base_url(), &revoked[0]).await,
        StatusCode::UNAUTHORIZED
    );
    third.stop().await;
    other.stop().await;
}

async fn set_enabled(kit: &Kit, admin: &str, client: &Creds, enabled: bool) {
    let verb = if enabled { "enable" } else { "disable" };
    let (status, body) = kit
        .call(
            Method::PUT,
            &format!("/v1/admin/clients/{}/{verb}", client.id),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn disabling_a_client_ends_its_tokens_for_good(kit: &Kit) {
    let admin = kit.admin_token().await;
    let client = kit.client_with(&["Read"]).await;
    let old = kit.token(&client, None).await;
    for _ in 0..3 {
        assert_eq!(ping(&kit.http, &kit.base, &old).await, StatusCode::OK);
    }
    set_enabled(kit, &admin, &client, false).await;
    assert_eq!(
        ping(&kit.http, &kit.base, &old).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, _) = kit
        .token_request(Some(&client), "grant_type=client_credentials")
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled client gets none"
    );
    // Enabled again (within the same second, most likely): a new token works at once, the old
    // one stays refused.
    set_enabled(kit, &admin, &client, true).await;
    let new = kit.token(&client, None).await;
    assert_eq!(ping(&kit.http, &kit.base, &new).await, StatusCode::OK);
    assert_eq!(
        ping(&kit.http, &kit.base, &old).await,
        StatusCode::UNAUTHORIZED,
        "re-enabling does not revive tokens"
    );
    assert_eq!(introspect(kit, &client, &old).await["active"], false);
    assert_eq!(introspect(kit, &client, &new).await["active"], true);
    // Still so a second later, and on another instance.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let other = kit.another_instance().await;
    assert_eq!(
        ping(&kit.http, &other.base_url(), &old).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ping(&kit.http, &other.base_url(), &new).await,
        StatusCode::OK
    );
    other.stop().await;
}

async fn rotate(kit: &Kit, admin: &str, client: &Creds, query: &str) -> Creds {
    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/admin/clients/{}/secret{query}", client.id),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Creds {
        id: client.id.clone(),
        secret: body["item"]["client_secret"].as_str().unwrap().to_owned(),
    }
}

async fn rotating_a_secret_may_revoke_the_tokens(kit: &Kit) {
    let admin = kit.admin_token().await;
    let client = kit.client_with(&["Read"]).await;
    let first = kit.token(&client, None).await;
    // Without revoke_tokens the tokens live on.
    let client = rotate(kit, &admin, &client, "").await;
    assert_eq!(ping(&kit.http, &kit.base, &first).await, StatusCode::OK);
    let client = rotate(kit, &admin, &client, "?revoke_tokens=false").await;
    assert_eq!(ping(&kit.http, &kit.base, &first).await, StatusCode::OK);
    let second = kit.token(&client, None).await;
    // With it, every token issued until then is refused; new ones work at once.
    let client = rotate(kit, &admin, &client, "?revoke_tokens=true").await;
    for token in [&first, &second] {
        assert_eq!(
            ping(&kit.http, &kit.base, token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(introspect(kit, &client, token).await["active"], false);
    }
    let third = kit.token(&client, None).await;
    assert_eq!(ping(&kit.http, &kit.base, &third).await, StatusCode::OK);
    let (_, audit) = kit
        .call(
            Method::GET,
            "/v1/admin/audit?action=client.rotate_secret&limit=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["items"][0]["detail"], "tokens revoked", "{audit}");
}

async fn refresh_tokens_of_a_disabled_client_are_dead(kit: &Kit) {
    let admin = kit.admin_token().await;
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let other = kit.another_instance().await;

    // Revoking a refresh token revokes its family's access token on every instance, without
    // reloading views.
    let pair = tokens(kit, &client, "rev-family").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let (status, me) = kit.call(Method::GET, "/v1/me", Some(&access), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    revoke(kit, &client, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        ping(&kit.http, &kit.base, &access).await,
        StatusCode::UNAUTHORIZED
    );
    within_two_seconds("a family revocation on the other instance", || async {
        ping(&kit.http, &other.base_url(), &access).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // Disabling the client kills its refresh tokens; enabling it again does not revive them.
    let pair = tokens(kit, &client, "rev-disable").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    set_enabled(kit, &admin, &client, false).await;
    set_enabled(kit, &admin, &client, true).await;
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        ping(&kit.http, &kit.base, &access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        introspect(kit, &client, &refresh).await,
        json!({"active": false})
    );
    // The client itself works again: a new grant gives working tokens.
    let pair = tokens(kit, &client, "rev-after").await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(ping(&kit.http, &kit.base, access).await, StatusCode::OK);
    other.stop().await;
}
