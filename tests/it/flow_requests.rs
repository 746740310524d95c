//! Flow requests (docs/contract.md §8): a client asks, a person confirms in the browser (the
//! real forms, a cookie jar), the client is called back; deleting goes the same way.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::browser::{Browser, code_client, param, person};
use crate::kit::{Creds, Kit};
use crate::on_both_backends;

on_both_backends!(
    add_and_delete_cycle,
    declining_and_broken_links,
    clients_see_only_their_own,
    bad_input_changes_nothing,
);

const CALLBACK: &str = "https://health.example/callback";

fn confirm_link(confirm_id: &str, action: &str, callback: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("confirm_id", confirm_id)
        .append_pair("action", action)
        .append_pair("callback_url", callback)
        .finish();
    format!("/v1/flow_requests/confirm/?{query}")
}

/// A client with Read and Write and the callback registered, and its token.
async fn requester(kit: &Kit) -> (Creds, String) {
    let client = code_client(kit, &["Read", "Write"], &[CALLBACK], false).await;
    let token = kit.token(&client, None).await;
    (client, token)
}

async fn ask(kit: &Kit, token: &str, body: Value) -> (StatusCode, Value) {
    kit.call(Method::POST, "/v1/flow_requests", Some(token), Some(body))
        .await
}

/// Confirms (or declines) a link as a signed-in browser; returns the redirect.
async fn answer(browser: &Browser, link: &str, decision: &str) -> String {
    let page = browser.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.input("csrf").unwrap();
    let fields = [
        ("csrf", csrf),
        ("confirm_id", page.input("confirm_id").unwrap()),
        ("action", page.input("action").unwrap()),
        ("callback_url", page.input("callback_url").unwrap()),
        ("decision", decision.to_owned()),
    ];
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post("/v1/flow_requests/confirm/", &borrowed).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    done.location.unwrap()
}

async fn add_and_delete_cycle(kit: &Kit) {
    let (_client, token) = requester(kit).await;
    person(kit, "pat", "pat-password-1", &["Read"]).await;
    let (status, ticket) = ask(
        kit,
        &token,
        json!({"dgrm_id": 1, "name": "Review A-7", "business_ref": "A-7", "person": "pat"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let process_id = ticket["process_id"].as_str().unwrap().to_owned();
    let confirm_id = ticket["confirm_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/flow_requests/{process_id}");
    let (_, shown) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(shown["items"][0]["status"], "pending", "{shown}");
    assert_eq!(shown["items"][0]["person"], "pat");

    // Not signed in: the sign-in page first, then the confirmation page.
    let browser = Browser::new(&kit.base);
    let link = confirm_link(&confirm_id, "add", CALLBACK);
    let first = browser.get(&link).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let page = browser
        .login_then_follow(first.location.as_deref().unwrap(), "pat", "pat-password-1")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Third-party app"), "names the client");
    assert!(
        page.body.contains("Document review (version 1)"),
        "names the process"
    );
    assert!(page.body.contains("start"), "names the action");
    let back = answer(&browser, &link, "confirm").await;
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(
        param(&back, "process_id").as_deref(),
        Some(process_id.as_str())
    );
    assert_eq!(param(&back, "status").as_deref(), Some("active"));

    let (_, shown) = kit.call(Method::GET, &path, Some(&token), None).await;
    let item = &shown["items"][0];
    assert_eq!(item["status"], "active");
    let prcs_id = item["prcs_id"].as_i64().expect("a process instance");
    let (_, process) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(process["items"][0]["status"], "running", "{process}");
    assert_eq!(
        process["items"][0]["init_by"], "pat",
        "started on the person's behalf"
    );
    // The link worked once.
    let again = browser.get(&link).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("used already"));
    assert!(again.location.is_none());

    // Deleting: confirmed by the person, the request goes and its process is terminated.
    let (status, ticket) = kit.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert_eq!(ticket["process_id"], process_id.as_str());
    let (_, shown) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(shown["items"][0]["status"], "deleting");
    let delete_link = confirm_link(ticket["confirm_id"].as_str().unwrap(), "delete", CALLBACK);
    let back = answer(&browser, &delete_link, "confirm").await;
    assert_eq!(param(&back, "status").as_deref(), Some("deleted"));
    let (status, _) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, process) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(process["items"][0]["status"], "terminated");
}

async fn declining_and_broken_links(kit: &Kit) {
    let (_client, token) = requester(kit).await;
    person(kit, "quinn", "quinn-password", &["Read"]).await;
    let browser = Browser::new(&kit.base);
    browser.login("quinn", "quinn-password").await;

    // Declining an add: denied, and the request is gone.
    let (_, ticket) = ask(kit, &token, json!({"dgrm_id": 1})).await;
    let process_id = ticket["process_id"].as_str().unwrap().to_owned();
    let back = answer(
        &browser,
        &confirm_link(ticket["confirm_id"].as_str().unwrap(), "add", CALLBACK),
        "decline",
    )
    .await;
    assert_eq!(param(&back, "status").as_deref(), Some("denied"));
    assert_eq!(
        param(&back, "process_id").as_deref(),
        Some(process_id.as_str())
    );
    let (status, _) = kit
        .call(
            Method::GET,
            &format!("/v1/flow_requests/{process_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Declining a delete: active again.
    let (_, ticket) = ask(kit, &token, json!({"dgrm_id": 1})).await;
    let path = format!(
        "/v1/flow_requests/{}",
        ticket["process_id"].as_str().unwrap()
    );
    answer(
        &browser,
        &confirm_link(ticket["confirm_id"].as_str().unwrap(), "add", CALLBACK),
        "confirm",
    )
    .await;
    let (_, deleting) = kit.call(Method::DELETE, &path, Some(&token), None).await;
    let back = answer(
        &browser,
        &confirm_link(deleting["confirm_id"].as_str().unwrap(), "delete", CALLBACK),
        "decline",
    )
    .await;
    assert_eq!(param(&back, "status").as_deref(), Some("active"));
    assert_eq!(
        kit.call(Method::GET, &path, Some(&token), None).await.1["items"][0]["status"],
        "active"
    );

    // Broken links are pages, never redirects.
    let (_, ticket) = ask(kit, &token, json!({"dgrm_id": 1})).await;
    let confirm_id = ticket["confirm_id"].as_str().unwrap().to_owned();
    for (link, status, words) in [
        (
            confirm_link(&confirm_id, "add", "https://evil.example/cb"),
            StatusCode::BAD_REQUEST,
            "not registered",
        ),
        (
            confirm_link(&confirm_id, "delete", CALLBACK),
            StatusCode::BAD_REQUEST,
            "another action",
        ),
        (
            confirm_link("unknown-confirm-id", "add", CALLBACK),
            StatusCode::NOT_FOUND,
            "unknown",
        ),
        (
            confirm_link(&confirm_id, "dance", CALLBACK),
            StatusCode::BAD_REQUEST,
            "add or delete",
        ),
    ] {
        let page = browser.get(&link).await;
        assert_eq!(page.status, status, "{link}: {}", page.body);
        assert!(page.location.is_none());
        assert!(page.body.contains(words), "{link}: {}", page.body);
    }
    // A link lives 15 minutes.
    let db = Database::connect(&kit.db.url).await.unwrap();
    db.execute_unprepared("UPDATE flow_requests SET confirm_expires_at = 0")
        .await
        .unwrap();
    let page = browser
        .get(&confirm_link(&confirm_id, "add", CALLBACK))
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("expired"));
    // A request meant for someone else cannot be confirmed by this person.
    person(kit, "pat2", "pat2-password", &["Read"]).await;
    let (_, ticket) = ask(kit, &token, json!({"dgrm_id": 1, "person": "pat2"})).await;
    let link = confirm_link(ticket["confirm_id"].as_str().unwrap(), "add", CALLBACK);
    let page = browser.get(&link).await;
    let fields = [
        ("csrf", page.input("csrf").unwrap()),
        ("confirm_id", page.input("confirm_id").unwrap()),
        ("action", "add".to_owned()),
        ("callback_url", CALLBACK.to_owned()),
        ("decision", "confirm".to_owned()),
    ];
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post("/v1/flow_requests/confirm/", &borrowed).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("pat2"));
    // A forged answer (no CSRF token) is refused.
    let forged = browser
        .post(
            "/v1/flow_requests/confirm/",
            &[
                ("confirm_id", "x"),
                ("action", "add"),
                ("callback_url", CALLBACK),
                ("decision", "confirm"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn clients_see_only_their_own(kit: &Kit) {
    let (_mine, token) = requester(kit).await;
    let (_theirs, other) = requester(kit).await;
    let (_, ticket) = ask(kit, &token, json!({"dgrm_id": 1})).await;
    let path = format!(
        "/v1/flow_requests/{}",
        ticket["process_id"].as_str().unwrap()
    );
    let (status, body) = kit.call(Method::GET, &path, Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], "Item not found");
    let (status, _) = kit.call(Method::DELETE, &path, Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = kit
        .call(Method::GET, "/v1/flow_requests", Some(&other), None)
        .await;
    assert_eq!(listed["count"], 0, "{listed}");
    let (_, listed) = kit
        .call(Method::GET, "/v1/flow_requests?limit=1", Some(&token), None)
        .await;
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["limit"], 1);
    // A pending request has nothing to delete yet.
    let (status, _) = kit.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn bad_input_changes_nothing(kit: &Kit) {
    let (_client, token) = requester(kit).await;
    let admin = kit.admin_token().await;
    kit.call(
        Method::PUT,
        "/v1/admin/diagrams/2/status",
        Some(&admin),
        Some(json!({"status": "draft"})),
    )
    .await;
    for (body, status, message) in [
        (
            json!({"dgrm_id": 999_999}),
            StatusCode::NOT_FOUND,
            "Item not found",
        ),
        (
            json!({"dgrm_id": 2}),
            StatusCode::CONFLICT,
            "Diagram 2 is not released",
        ),
        (
            json!([{"dgrm_id": 1}]),
            StatusCode::BAD_REQUEST,
            "Multiple objects found",
        ),
        (
            json!({"dgrm_id": "one"}),
            StatusCode::BAD_REQUEST,
            "Attribute not found",
        ),
        (
            json!({"dgrm_id": 1, "name": {"x": 1}}),
            StatusCode::BAD_REQUEST,
            "Attribute name must be a string",
        ),
        (
            json!({"dgrm_id": 1, "person": "nobody-here"}),
            StatusCode::BAD_REQUEST,
            "no person named nobody-here",
        ),
        (
            json!("text"),
            StatusCode::BAD_REQUEST,
            "Payload not accepted",
        ),
    ] {
        let (got, answer) = ask(kit, &token, body.clone()).await;
        assert_eq!(
            (got, answer["message"].as_str()),
            (status, Some(message)),
            "{body}: {answer}"
        );
    }
    let (_, listed) = kit
        .call(Method::GET, "/v1/flow_requests", Some(&token), None)
        .await;
    assert_eq!(listed["count"], 0, "nothing was created: {listed}");
}
