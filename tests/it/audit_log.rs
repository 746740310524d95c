//! The audit log cannot be flooded (docs/contract.md §6, §10): every field is bounded, repeated
//! failures are one row with a count, the admin API filters rows, and old rows go after
//! `audit_retention_days`.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::{Creds, Kit, basic_header};
use crate::on_both_backends;

on_both_backends!(
    a_huge_client_id_stays_small,
    a_burst_of_failures_is_counted_not_flooded,
    refused_bearer_tokens_and_deleted_processes_are_audited,
    the_audit_api_filters,
    old_rows_go_after_the_retention,
);

/// GET the audit log with this query; the rows.
async fn rows(kit: &Kit, admin: &str, query: &str) -> Vec<Value> {
    let (status, body) = kit
        .call(
            Method::GET,
            &format!("/v1/admin/audit?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn total(rows: &[Value]) -> i64 {
    rows.iter().map(|r| r["count"].as_i64().unwrap()).sum()
}

/// Polls the rows of `query` until their counts add up to `expected` (within five seconds).
pub(crate) async fn counted(kit: &Kit, admin: &str, query: &str, expected: i64) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let found = rows(kit, admin, query).await;
        if total(&found) >= expected || started.elapsed() > Duration::from_secs(5) {
            assert_eq!(total(&found), expected, "{query}: {found:?}");
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_huge_client_id_stays_small(kit: &Kit) {
    let admin = kit.admin_token().await;
    let huge = "a".repeat(1_000_000);
    let form = format!("grant_type=client_credentials&client_id={huge}&client_secret=x");
    let (status, _, body) = kit.token_request(None, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // With Basic, too (form-encoded id, still huge).
    let (status, _, _) = kit
        .token_request(
            Some(&Creds {
                id: "b".repeat(20_000),
                secret: "x".into(),
            }),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let found = counted(kit, &admin, "action=auth.client&limit=20", 2).await;
    for row in &found {
        assert_eq!(row["actor"], "remote:127.0.0.1", "{row}");
        assert!(row["detail"].as_str().unwrap().chars().count() <= 1024);
    }
    let response = kit
        .send(Method::GET, "/v1/admin/audit?limit=20", Some(&admin), None)
        .await;
    let text = response.text().await.unwrap();
    assert!(text.len() < 16 * 1024, "{} bytes", text.len());
    let (_, body) = kit
        .call(
            Method::GET,
            "/v1/admin/audit?limit=1000",
            Some(&admin),
            None,
        )
        .await;
    for row in body["items"].as_array().unwrap() {
        assert!(
            row["actor"].as_str().unwrap().chars().count() <= 128,
            "{row}"
        );
        assert!(
            row["action"].as_str().unwrap().chars().count() <= 64,
            "{row}"
        );
    }
}

async fn a_burst_of_failures_is_counted_not_flooded(kit: &Kit) {
    // The admin's token first: the address is slowed down after a few failures.
    let admin = kit.admin_token().await;
    let client = kit.client_with(&["Read"]).await;
    let wrong = Creds {
        id: client.id.clone(),
        secret: "not-the-secret".into(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, auth) = (
            kit.http.clone(),
            kit.url("/oauth/token"),
            basic_header(&wrong.id, &wrong.secret),
        );
        tasks.spawn(async move {
            let mut refused = 0;
            for _ in 0..250 {
                let status = http
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(
                    status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                    "{status}"
                );
                refused += 1;
            }
            refused
        });
    }
    let mut sent = 0;
    while let Some(done) = tasks.join_next().await {
        sent += done.unwrap();
    }
    assert_eq!(sent, 2_000);
    let found = counted(kit, &admin, "action=auth.client&limit=1000", 2_000).await;
    // One row per detail (failed, then slowed down) and minute.
    assert!(found.len() <= 4, "{} rows: {found:?}", found.len());
    for row in &found {
        assert_eq!(row["actor"], "remote:127.0.0.1");
        assert_eq!(row["success"], false);
    }
    assert!(
        found.iter().any(
            |r| r["detail"] == format!("client authentication failed for client:{}", client.id)
        ),
        "{found:?}"
    );
}

async fn refused_bearer_tokens_and_deleted_processes_are_audited(kit: &Kit) {
    let admin = kit.admin_token().await;
    for _ in 0..50 {
        let (status, _) = kit
            .call(Method::GET, "/v1/utils/ping", Some("abc.def.ghi"), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let found = counted(kit, &admin, "action=auth.bearer&limit=100", 50).await;
    assert!(found.len() <= 2, "{found:?}");
    assert_eq!(found[0]["actor"], "remote:127.0.0.1");
    // A request without credentials is no refused token; an Authorization header that is no
    // Bearer token is one (malformed).
    for authorization in [None, None, Some("Basic Zm9vOmJhcg=="), Some("Bearer")] {
        let mut request = kit.http.get(kit.url("/v1/utils/ping"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let status = request.send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
    }
    let found = counted(kit, &admin, "action=auth.bearer&limit=100", 52).await;
    assert!(
        found
            .iter()
            .any(|row| row.to_string().contains("malformed Authorization header")),
        "{found:?}"
    );

    let dgrm = crate::process::dgrm_id(kit, &admin, "Document").await;
    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let prcs_id = body["items"][0]["prcs_id"].as_i64().unwrap();
    let (status, _) = kit
        .call(
            Method::DELETE,
            &format!("/v1/processes/{prcs_id}"),
            Some(&admin),
            Some(serde_json::json!({"comment": "no longer needed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = rows(kit, &admin, "action=process.delete").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["target"], prcs_id.to_string());
    assert_eq!(found[0]["detail"], "no longer needed");
    assert_eq!(found[0]["actor"], format!("client:{}", kit.admin.id));
}

async fn the_audit_api_filters(kit: &Kit) {
    let admin = kit.admin_token().await;
    kit.client_with(&["Read"]).await;
    let (status, _, _) = kit
        .token_request(
            Some(&Creds {
                id: kit.admin.id.clone(),
                secret: "wrong".into(),
            }),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    counted(kit, &admin, "action=auth.client", 1).await;

    let created = rows(kit, &admin, "action=client.create").await;
    assert!(!created.is_empty());
    assert!(created.iter().all(|r| r["action"] == "client.create"));
    assert!(created.iter().all(|r| r["count"] == 1));
    let failures = rows(kit, &admin, "success=false").await;
    assert!(!failures.is_empty());
    assert!(failures.iter().all(|r| r["success"] == false));
    let changes = rows(kit, &admin, "success=true").await;
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|r| r["success"] == true));
    // Part of the actor, any case.
    let remote = rows(kit, &admin, "actor=REMOTE%3A127").await;
    assert!(!remote.is_empty());
    assert!(remote.iter().all(|r| r["actor"] == "remote:127.0.0.1"));
    let mine = rows(
        kit,
        &admin,
        &format!(
            "actor={}&action=client.create&success=true",
            &kit.admin.id[..8]
        ),
    )
    .await;
    assert!(!mine.is_empty());
    assert!(
        mine.iter()
            .all(|r| r["actor"] == format!("client:{}", kit.admin.id))
    );
    assert!(rows(kit, &admin, "action=no.such.action").await.is_empty());
    let (status, _) = kit
        .call(
            Method::GET,
            "/v1/admin/audit?success=maybe",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn old_rows_go_after_the_retention(kit: &Kit) {
    use flowgate::services::audit::{self, AuditEntry};
    let now = flowgate::now();
    let old = |actor: &str, days: i64| AuditEntry {
        id: 0,
        at: now - days * 86_400,
        actor: actor.into(),
        action: "test.old".into(),
        target: None,
        detail: None,
        success: true,
        count: 1,
    };
    let db = &kit.server.app.db;
    flowgate::store::audit::insert(db, old("system:ancient", 91))
        .await
        .unwrap();
    flowgate::store::audit::insert(db, old("system:recent", 89))
        .await
        .unwrap();
    let admin = kit.admin_token().await;
    // The kit's servers keep the log forever (a pass at their start would race these rows):
    // a pass deletes nothing.
    assert_eq!(kit.server.app.config.audit_retention_days, 0);
    assert_eq!(audit::apply_retention(&kit.server.app).await.unwrap(), 0);
    assert_eq!(rows(kit, &admin, "action=test.old").await.len(), 2);
    // The default, 90 days: the older row goes, at the start of a server (and every hour).
    let ninety = flowgate::config::Config {
        audit_retention_days: flowgate::config::Config::default().audit_retention_days,
        public_url: Some(kit.base.clone()),
        ..crate::kit::config(&kit.db.url)
    };
    assert_eq!(ninety.audit_retention_days, 90);
    let default = flowgate::http::start(ninety, "127.0.0.1:0").await.unwrap();
    let left = gone_at_start(kit, &admin, 1).await;
    assert_eq!(left[0]["actor"], "system:recent");
    assert_eq!(audit::apply_retention(&default.app).await.unwrap(), 0);
    default.stop().await;
    // A server starting with a shorter retention applies it at once.
    let short = flowgate::config::Config {
        audit_retention_days: 30,
        public_url: Some(kit.base.clone()),
        ..crate::kit::config(&kit.db.url)
    };
    let strict = flowgate::http::start(short, "127.0.0.1:0").await.unwrap();
    gone_at_start(kit, &admin, 0).await;
    strict.stop().await;
}

/// Waits (5 s at most) until a server just started has deleted the old rows past its
/// retention, so that `left` rows are left; returns them.
async fn gone_at_start(kit: &Kit, admin: &str, left: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let rows = rows(kit, admin, "action=test.old").await;
        if rows.len() == left {
            return rows;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not deleted at start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
