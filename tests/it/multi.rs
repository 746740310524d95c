//! Several instances on one database: a change made through one takes effect on the others
//! within two seconds.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::kit::{Kit, basic_header};
use crate::on_both_backends;

on_both_backends!(changes_reach_every_instance);

/// Polls `check` against the second instance until it holds, for at most two seconds.
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
    panic!("{what} did not reach the other instance within 2 s");
}

async fn changes_reach_every_instance(kit: &Kit) {
    let other = kit.another_instance().await;
    assert!(
        other.bootstrap.is_none(),
        "the second instance does not seed again"
    );
    let other_url = other.base_url();
    let http = reqwest::Client::new();
    let admin = kit.admin_token().await;
    let ping_status = |token: String, path: &'static str| {
        let http = http.clone();
        let url = format!("{other_url}{path}");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let roles_count = |token: String| {
        let http = http.clone();
        let url = format!("{other_url}/v1/utils/roles");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["count"]
                .clone()
        }
    };

    let client = kit.client_with(&["Read", "Admin"]).await;
    // A client created on instance A can get tokens from B, and B honours tokens of A.
    within_two_seconds("a new client", || {
        let http = http.clone();
        let url = format!("{other_url}/oauth/token");
        let auth = basic_header(&client.id, &client.secret);
        async move {
            http.post(url)
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        }
    })
    .await;
    let token = kit.token(&client, None).await;
    assert_eq!(
        ping_status(token.clone(), "/v1/utils/ping").await,
        StatusCode::OK
    );
    assert_eq!(roles_count(token.clone()).await, 2);

    // Role change.
    let roles_path = format!("/v1/admin/clients/{}/roles", client.id);
    kit.call(
        Method::DELETE,
        &roles_path,
        Some(&admin),
        Some(json!({"roles": ["Admin"]})),
    )
    .await;
    within_two_seconds("a role change", || async {
        roles_count(token.clone()).await == 0
    })
    .await;

    // Policy change.
    let rule = json!({"role": "Read", "path": "/v1/utils/roles", "method": "GET"});
    let (status, _) = kit
        .call(Method::POST, "/v1/admin/policy", Some(&admin), Some(rule))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    within_two_seconds("a policy change", || async {
        roles_count(token.clone()).await == 1
    })
    .await;

    // Revocation.
    let second = kit.token(&client, None).await;
    let response = kit
        .http
        .post(kit.url("/oauth/revoke"))
        .header("authorization", basic_header(&client.id, &client.secret))
        .form(&[("token", second.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    within_two_seconds("a revocation", || async {
        ping_status(second.clone(), "/v1/utils/ping").await == StatusCode::UNAUTHORIZED
    })
    .await;

    // Disabling and deleting the client.
    let client_path = format!("/v1/admin/clients/{}", client.id);
    kit.call(
        Method::PUT,
        &format!("{client_path}/disable"),
        Some(&admin),
        None,
    )
    .await;
    within_two_seconds("disabling a client", || async {
        ping_status(token.clone(), "/v1/utils/ping").await == StatusCode::UNAUTHORIZED
    })
    .await;
    // Enabling it again does not bring back the tokens the disable ended; new ones work.
    kit.call(
        Method::PUT,
        &format!("{client_path}/enable"),
        Some(&admin),
        None,
    )
    .await;
    let after = kit.token(&client, None).await;
    within_two_seconds("enabling a client", || async {
        ping_status(after.clone(), "/v1/utils/ping").await == StatusCode::OK
    })
    .await;
    assert_eq!(
        ping_status(token.clone(), "/v1/utils/ping").await,
        StatusCode::UNAUTHORIZED,
        "a token ended by the disable stays ended"
    );
    kit.call(Method::DELETE, &client_path, Some(&admin), None)
        .await;
    within_two_seconds("deleting a client", || async {
        ping_status(after.clone(), "/v1/utils/ping").await == StatusCode::UNAUTHORIZED
    })
    .await;

    // Key rotation: tokens signed on A with the new key verify on B.
    kit.call(Method::POST, "/v1/admin/keys/rotate", Some(&admin), None)
        .await;
    let fresh = kit.admin_token().await;
    within_two_seconds("a new signing key", || async {
        ping_status(fresh.clone(), "/v1/utils/ping").await == StatusCode::OK
    })
    .await;
    other.stop().await;
}

/// Two instances starting together on an empty database: migrations and seeding happen once.
async fn concurrent_first_start(backend: crate::kit::Backend) {
    let Some(db) = crate::kit::TestDb::new(backend).await else {
        return;
    };
    let (a, b) = tokio::join!(
        flowgate::http::start(crate::kit::config(&db.url), "127.0.0.1:0"),
        flowgate::http::start(crate::kit::config(&db.url), "127.0.0.1:0"),
    );
    let (a, b) = (a.expect("first instance"), b.expect("second instance"));
    let seeded = [a.bootstrap.is_some(), b.bootstrap.is_some()];
    assert_eq!(
        seeded.iter().filter(|s| **s).count(),
        1,
        "exactly one instance seeds: {seeded:?}"
    );
    let view = a.app.view();
    assert_eq!(view.clients.len(), 1, "one bootstrap client");
    assert_eq!(
        view.rules.len(),
        flowgate::services::setup::DEFAULT_POLICY.len(),
        "the default policy once"
    );
    drop(view);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_start_sqlite() {
    concurrent_first_start(crate::kit::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_start_postgres() {
    concurrent_first_start(crate::kit::Backend::Postgres).await;
}

/// On PostgreSQL, instances tell each other about changes (LISTEN/NOTIFY): with polling slowed
/// to a minute, a change still reaches the other instance within two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_notify_each_other() {
    let Some(db) = crate::kit::TestDb::new(crate::kit::Backend::Postgres).await else {
        return;
    };
    let slow = |public_url: Option<String>| flowgate::config::Config {
        sync_interval_ms: 60_000,
        public_url,
        ..crate::kit::config(&db.url)
    };
    let a = flowgate::http::start(slow(None), "127.0.0.1:0")
        .await
        .unwrap();
    let bootstrap = a.bootstrap.clone().unwrap();
    let b = flowgate::http::start(slow(Some(a.base_url())), "127.0.0.1:0")
        .await
        .unwrap();
    // Let B's listener connect before the change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/oauth/token", a.base_url()))
        .basic_auth(&bootstrap.client_id, Some(&bootstrap.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let roles_on_b = || {
        let http = http.clone();
        let url = format!("{}/v1/utils/roles", b.base_url());
        let token = token.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["count"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(roles_on_b().await, 4);
    let revoke = http
        .delete(format!(
            "{}/v1/admin/clients/{}/roles",
            a.base_url(),
            bootstrap.client_id
        ))
        .bearer_auth(&token)
        .json(&json!({"roles": ["Read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    within_two_seconds("a notified role change", || async {
        roles_on_b().await == 3
    })
    .await;
    a.stop().await;
    b.stop().await;
}
