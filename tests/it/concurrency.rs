//! Two instances on one PostgreSQL database under concurrent load (docs/contract.md §1, §2, §5):
//! no lost update of a process, one winner for a step completed twice at once and for a
//! refresh token presented twice at once, and changes of policy and revocations reaching the
//! other instance within two seconds while both are busy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::binary::Api;
use crate::browser::{Browser, authorize_url, code_client, param, person, pkce};
use crate::kit::{Backend, Kit};
use crate::process::{dgrm_id, open_steps, start};

const REDIRECT: &str = "https://app.example/callback";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres() {
    let Some(kit) = Kit::start(Backend::Postgres).await else {
        eprintln!("skipping: no PostgreSQL, and two instances need a shared database");
        return;
    };
    let other = kit.another_instance().await;
    let apis = [Api::new(&kit.base), Api::new(&other.base_url())];
    let started = Instant::now();
    no_lost_variable_writes(&kit, &apis).await;
    one_winner_per_step(&kit, &apis).await;
    one_winner_per_refresh_token(&kit, &apis).await;
    changes_propagate_under_load(&kit, &apis).await;
    eprintln!("two instances on one PostgreSQL: {:?}", started.elapsed());
    other.stop().await;
    kit.finish().await;
}

/// 20 variables written at once to one instance, half through each server: all kept.
async fn no_lost_variable_writes(kit: &Kit, apis: &[Api; 2]) {
    let token = kit.admin_token().await;
    let dgrm = dgrm_id(kit, &token, "Document").await;
    let prcs_id = start(kit, &token, dgrm, Value::Null).await;
    let path = format!("/v1/processes/{prcs_id}/process_vars");
    let writes = (0..20).map(|i| {
        let (api, token, path) = (apis[i % 2].clone(), token.clone(), path.clone());
        async move {
            let body =
                json!({"name": format!("v{i}"), "type": "varchar", "value": format!("x{i}")});
            api.call(Method::PUT, &path, Some(&token), Some(body)).await
        }
    });
    for (status, body) in futures_all(writes).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, vars) = kit.call(Method::GET, &path, Some(&token), None).await;
    let names: Vec<&str> = vars["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for i in 0..20 {
        assert!(
            names.contains(&format!("v{i}").as_str()),
            "v{i} lost: {vars}"
        );
    }
    // And the instance is whole: its step is still there to be worked on.
    assert_eq!(open_steps(kit, &token, prcs_id).await.len(), 1);
}

/// The same step completed through both servers at once: one 200, one 409, five times over.
async fn one_winner_per_step(kit: &Kit, apis: &[Api; 2]) {
    let token = kit.admin_token().await;
    let dgrm = dgrm_id(kit, &token, "Document").await;
    for _ in 0..5 {
        let prcs_id = start(kit, &token, dgrm, Value::Null).await;
        let step = open_steps(kit, &token, prcs_id).await.remove(0);
        let path = format!("/v1/steps/{}/complete", step["sbfl_id"]);
        let body = json!({"step_key": step["step_key"]});
        let (a, b) = tokio::join!(
            apis[0].call(Method::PUT, &path, Some(&token), Some(body.clone())),
            apis[1].call(Method::PUT, &path, Some(&token), Some(body.clone())),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} / {}",
            a.1,
            b.1
        );
        let loser = if a.0 == StatusCode::CONFLICT {
            a.1
        } else {
            b.1
        };
        assert_eq!(
            loser["message"], "Step key does not match current step",
            "{loser}"
        );
        // Moved exactly once: the next task waits, not two of them.
        let steps = open_steps(kit, &token, prcs_id).await;
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_ne!(steps[0]["current"], step["current"]);
    }
}

/// A refresh token presented to both servers at once: exactly one new token pair.
async fn one_winner_per_refresh_token(kit: &Kit, apis: &[Api; 2]) {
    let client = code_client(kit, &["Read"], &[REDIRECT], false).await;
    person(kit, "racer", "racer-password-1", &["Read"]).await;
    let browser = Browser::new(&kit.base);
    browser.login("racer", "racer-password-1").await;
    for round in 0..5 {
        let (verifier, challenge) = pkce();
        let page = browser
            .get(&authorize_url(
                &client.id,
                Some(REDIRECT),
                "read",
                "s",
                Some(&challenge),
            ))
            .await;
        let back = if page.status == StatusCode::OK {
            browser.decide(&page, "approve").await.location.unwrap()
        } else {
            page.location.unwrap()
        };
        let code = param(&back, "code").expect("a code");
        let (status, tokens) = apis[round % 2]
            .token_form(
                Some(&client),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (a, b) = tokio::join!(
            apis[0].token_form(Some(&client), &form),
            apis[1].token_form(Some(&client), &form),
        );
        let winners: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(s, _)| *s == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {a:?} / {b:?}");
        let loser = if a.0 == StatusCode::OK { &b } else { &a };
        assert_eq!(
            (loser.0, loser.1["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{loser:?}"
        );
    }
}

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
    panic!("{what} did not reach the other instance within 2 s");
}

/// While both servers are busy creating instances: a new policy rule made on one applies on
/// the other within 2 s, and so does a revocation.
async fn changes_propagate_under_load(kit: &Kit, apis: &[Api; 2]) {
    let admin = kit.admin_token().await;
    let dgrm = dgrm_id(kit, &admin, "Document").await;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (api, admin, stop, done) = (
            apis[worker % 2].clone(),
            admin.clone(),
            Arc::clone(&stop),
            Arc::clone(&done),
        );
        load.push(tokio::spawn(async move {
            let path = format!("/v1/diagrams/{dgrm}/processes");
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = api.call(Method::POST, &path, Some(&admin), None).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // A Read client may not create instances until a rule says so.
    let reader = kit.client_with(&["Read"]).await;
    let reader_token = kit.token(&reader, None).await;
    let path = format!("/v1/diagrams/{dgrm}/processes");
    // The new client reaches the other server first (until then its tokens are unknown there).
    within_two_seconds("a new client", || {
        let (api, token) = (apis[1].clone(), reader_token.clone());
        async move {
            let (status, _) = api
                .call(Method::GET, "/v1/utils/ping", Some(&token), None)
                .await;
            status == StatusCode::OK
        }
    })
    .await;
    let (status, _) = apis[1]
        .call(Method::POST, &path, Some(&reader_token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let rule = json!({"role": "Read", "path": "/v1/diagrams/:dgrm_id/processes", "method": "POST"});
    let (status, body) = apis[0]
        .call(Method::POST, "/v1/admin/policy", Some(&admin), Some(rule))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    within_two_seconds("a policy rule", || {
        let (api, token, path) = (apis[1].clone(), reader_token.clone(), path.clone());
        async move {
            let (status, _) = api.call(Method::POST, &path, Some(&token), None).await;
            status == StatusCode::CREATED
        }
    })
    .await;

    // A token revoked through one server is refused by the other.
    let (status, _) = apis[1]
        .call(Method::GET, "/v1/utils/ping", Some(&reader_token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let revoked = apis[0]
        .http
        .post(apis[0].url("/oauth/revoke"))
        .basic_auth(&reader.id, Some(&reader.secret))
        .form(&[("token", reader_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    within_two_seconds("a revocation", || {
        let (api, token) = (apis[1].clone(), reader_token.clone());
        async move {
            let (status, _) = api
                .call(Method::GET, "/v1/utils/ping", Some(&token), None)
                .await;
            status == StatusCode::UNAUTHORIZED
        }
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    for worker in load {
        worker.await.unwrap();
    }
    assert!(done.load(Ordering::Relaxed) > 0, "the load ran");
}

/// Runs the futures at once; their outputs in order.
pub(crate) async fn futures_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}
