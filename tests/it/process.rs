//! The process API (docs/contract.md §4, §5) over HTTP: full runs of the sample diagrams, Flows' error
//! answers, all-or-nothing arrays, timers and admin uploads.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    order_fulfilment_both_branches,
    linear_review_and_stale_step_keys,
    instance_lifecycle,
);

/// A token with every role.
pub(crate) async fn token(kit: &Kit) -> String {
    kit.admin_token().await
}

pub(crate) async fn dgrm_id(kit: &Kit, token: &str, name: &str) -> i64 {
    let (status, body) = kit
        .call(
            Method::GET,
            &format!("/v1/diagrams?name={name}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"][0]["dgrm_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no diagram named like {name}: {body}"))
}

/// Creates and starts an instance; returns its id.
pub(crate) async fn start(kit: &Kit, token: &str, dgrm_id: i64, vars: Value) -> i64 {
    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm_id}/processes"),
            Some(token),
            Some(json!({"name": "test run"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let prcs_id = body["items"][0]["prcs_id"].as_i64().unwrap();
    assert_eq!(body["items"][0]["status"], "created");
    if vars != Value::Null {
        let path = format!("/v1/processes/{prcs_id}/process_vars");
        let (status, body) = kit.call(Method::PUT, &path, Some(token), Some(vars)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = kit
        .call(
            Method::PUT,
            &format!("/v1/processes/{prcs_id}/start"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "status updated");
    prcs_id
}

/// The steps of an instance that are not completed.
pub(crate) async fn open_steps(kit: &Kit, token: &str, prcs_id: i64) -> Vec<Value> {
    let (_, body) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs_id}/steps"),
            Some(token),
            None,
        )
        .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != "completed")
        .cloned()
        .collect()
}

/// Completes the waiting task on `element` (the first, when it repeats).
pub(crate) async fn complete(kit: &Kit, token: &str, prcs_id: i64, element: &str) {
    let steps = open_steps(kit, token, prcs_id).await;
    let step = steps
        .iter()
        .find(|s| s["current"] == element && s["status"] == "running")
        .unwrap_or_else(|| panic!("no open step on {element}: {steps:?}"));
    let path = format!("/v1/steps/{}/complete", step["sbfl_id"]);
    let (status, body) = kit
        .call(
            Method::PUT,
            &path,
            Some(token),
            Some(json!({"step_key": step["step_key"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "complete {element}: {body}");
    assert_eq!(body["message"], "step updated");
}

pub(crate) async fn process(kit: &Kit, token: &str, prcs_id: i64) -> Value {
    let (status, body) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs_id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"][0].clone()
}

/// The elements of the steps in a given status, sorted.
pub(crate) async fn steps_in(kit: &Kit, token: &str, prcs_id: i64, status: &str) -> Vec<String> {
    let mut elements: Vec<String> = open_steps(kit, token, prcs_id)
        .await
        .iter()
        .filter(|s| s["status"] == status)
        .map(|s| s["current"].as_str().unwrap().to_owned())
        .collect();
    elements.sort();
    elements
}

/// The tasks waiting to be completed.
pub(crate) async fn current(kit: &Kit, token: &str, prcs_id: i64) -> Vec<String> {
    steps_in(kit, token, prcs_id, "running").await
}

/// The one item of `GET /v1/processes/:prcs_id/activities`.
pub(crate) async fn activities(kit: &Kit, token: &str, prcs_id: i64) -> Value {
    let path = format!("/v1/processes/{prcs_id}/activities");
    let (status, body) = kit.call(Method::GET, &path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"][0].clone()
}

pub(crate) async fn send_message(
    kit: &Kit,
    token: &str,
    name: &str,
    body: Value,
) -> (StatusCode, Value) {
    kit.call(
        Method::PUT,
        &format!("/v1/messages/{name}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn order_fulfilment_both_branches(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "order").await;
    for (amount, order_id, approval) in [(5000, "A-1", Some("Task_Approve")), (10, "A-2", None)] {
        let vars = json!([
            {"name": "amount", "type": "number", "value": amount},
            {"name": "order_id", "type": "varchar", "value": order_id},
        ]);
        let prcs = start(kit, &token, dgrm, vars).await;
        assert_eq!(process(kit, &token, prcs).await["status"], "running");
        assert_eq!(current(kit, &token, prcs).await, ["Task_Check"]);
        complete(kit, &token, prcs, "Task_Check").await;
        if let Some(approval) = approval {
            assert_eq!(
                current(kit, &token, prcs).await,
                [approval],
                "a large order needs approval"
            );
            complete(kit, &token, prcs, approval).await;
        }
        // Parallel split: both branches wait; the join waits for both.
        assert_eq!(
            current(kit, &token, prcs).await,
            ["Task_Invoice", "Task_Pack"]
        );
        complete(kit, &token, prcs, "Task_Pack").await;
        assert_eq!(
            current(kit, &token, prcs).await,
            ["Task_Invoice"],
            "the join waits for the other branch"
        );
        // Flows' step statuses: the forked step waits as `split`, the branch that arrived
        // `waiting at gateway`; both branches name the forked step as `sbfl_sbfl_id`.
        let steps = open_steps(kit, &token, prcs).await;
        let mut seen: Vec<(String, String)> = steps
            .iter()
            .map(|s| {
                (
                    s["current"].as_str().unwrap().into(),
                    s["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        seen.sort();
        let seen: Vec<(&str, &str)> = seen.iter().map(|(c, s)| (c.as_str(), s.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("Gw_Join", "waiting at gateway"),
                ("Gw_Split", "split"),
                ("Task_Invoice", "running")
            ]
        );
        let parent = steps.iter().find(|s| s["status"] == "split").unwrap();
        assert!(parent["sbfl_sbfl_id"].is_null());
        assert!(
            steps
                .iter()
                .filter(|s| s["status"] != "split")
                .all(|s| s["sbfl_sbfl_id"] == parent["sbfl_id"]),
            "{steps:?}"
        );
        assert!(
            steps_in(kit, &token, prcs, "waiting for message")
                .await
                .is_empty()
        );
        complete(kit, &token, prcs, "Task_Invoice").await;
        assert_eq!(
            steps_in(kit, &token, prcs, "waiting for message").await,
            ["Catch_Payment"]
        );

        let (_, subs) = kit
            .call(
                Method::GET,
                &format!("/v1/processes/{prcs}/message_subscriptions"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            subs["items"],
            json!([{"name": "payment-received", "key": "order_id", "value": order_id}])
        );
        let activity = activities(kit, &token, prcs).await;
        assert_eq!(activity["current"], json!(["Catch_Payment"]));
        assert!(
            activity["completed"]
                .as_array()
                .unwrap()
                .contains(&json!("Task_Pack"))
        );
        if approval.is_none() {
            assert!(
                !activity["completed"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("Task_Approve")),
                "small orders skip approval"
            );
        }

        // A message for another order does not correlate: 409 and nothing changes.
        let (status, body) = send_message(
            kit,
            &token,
            "payment-received",
            json!({"key": "order_id", "value": "nope"}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let payment = json!({"key": "order_id", "value": order_id, "payload": {"paid": amount}});
        let (status, body) = send_message(kit, &token, "payment-received", payment.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"success": true, "message": "message processed", "items": [payment]})
        );

        let done = process(kit, &token, prcs).await;
        assert_eq!(done["status"], "completed");
        let vars = done["process_vars"].as_array().unwrap();
        let paid = vars
            .iter()
            .find(|v| v["name"] == "payment")
            .expect("payload variable");
        assert_eq!(paid["type"], "JSON");
        let value: Value = serde_json::from_str(paid["value"].as_str().unwrap()).unwrap();
        assert_eq!(
            value,
            json!({"paid": amount}),
            "JSON as its text, as Flows renders it"
        );
        let (_, subs) = kit
            .call(
                Method::GET,
                &format!("/v1/processes/{prcs}/message_subscriptions"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(subs["count"], 0, "the subscription closed");
    }
    let (_, completed) = kit
        .call(
            Method::GET,
            &format!("/v1/diagrams/{dgrm}/processes?status=completed"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(completed["count"], 2);
    let (_, running) = kit
        .call(
            Method::GET,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(running["count"], 0, "running is the default filter");
}

async fn linear_review_and_stale_step_keys(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let prcs = start(kit, &token, dgrm, Value::Null).await;
    let step = open_steps(kit, &token, prcs).await.remove(0);
    let sbfl = step["sbfl_id"].as_i64().unwrap();
    let key = step["step_key"].as_str().unwrap().to_owned();
    let (status, one) = kit
        .call(
            Method::GET,
            &format!("/v1/steps/{sbfl}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["items"][0]["current"], "Task_Review");
    assert!(
        one["items"][0]["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "step"
                && l["action"] == "PUT"
                && l["href"].as_str().unwrap().ends_with("/complete"))
    );

    let path = |action: &str| format!("/v1/steps/{sbfl}/{action}");
    let (status, body) = kit
        .call(
            Method::PUT,
            &path("reserve"),
            Some(&token),
            Some(json!({"step_key": key, "reservation": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reserved = open_steps(kit, &token, prcs).await.remove(0);
    assert_eq!(reserved["reservation"], "alice");
    assert_eq!(
        reserved["step_key"],
        key.as_str(),
        "a reservation is not a move"
    );
    let (status, _) = kit
        .call(
            Method::PUT,
            &path("release"),
            Some(&token),
            Some(json!({"step_key": key})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(open_steps(kit, &token, prcs).await[0]["reservation"].is_null());

    let (status, _) = kit
        .call(
            Method::PUT,
            &path("complete"),
            Some(&token),
            Some(json!({"step_key": key})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let moved = open_steps(kit, &token, prcs).await.remove(0);
    assert_eq!(
        (moved["sbfl_id"].as_i64(), moved["current"].clone()),
        (Some(sbfl), json!("Task_Publish"))
    );
    assert_ne!(
        moved["step_key"],
        key.as_str(),
        "the key changes at every move"
    );

    // The old key is stale now: refused, nothing changes.
    let (status, body) = kit
        .call(
            Method::PUT,
            &path("complete"),
            Some(&token),
            Some(json!({"step_key": key})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(current(kit, &token, prcs).await, ["Task_Publish"]);

    complete(kit, &token, prcs, "Task_Publish").await;
    assert_eq!(process(kit, &token, prcs).await["status"], "completed");
}

async fn instance_lifecycle(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let response = kit
        .send(
            Method::POST,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&token),
            Some(json!({"business_ref": "INV-7"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let prcs = body["items"][0]["prcs_id"].as_i64().unwrap();
    assert_eq!(location, kit.url(&format!("/v1/processes/{prcs}")));
    assert_eq!(body["items"][0]["business_ref"], "INV-7");
    let vars = &body["items"][0]["process_vars"];
    assert_eq!(
        vars,
        &json!([{"scope": 0, "name": "BUSINESS_REF", "type": "VARCHAR2", "value": "INV-7"}])
    );

    // Pages of the diagram's instances: a second instance, then one per page.
    let second = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(second.0, StatusCode::CREATED);
    let page = |offset: u32| {
        let token = token.clone();
        async move {
            let path = format!("/v1/diagrams/{dgrm}/processes?status=all&limit=1&offset={offset}");
            kit.call(Method::GET, &path, Some(&token), None).await.1
        }
    };
    let (first, last, past) = (page(0).await, page(1).await, page(2).await);
    assert_eq!(
        (first["count"].clone(), first["hasMore"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(first["items"][0]["prcs_id"], prcs, "in id order");
    assert_eq!(
        (last["count"].clone(), last["hasMore"].clone()),
        (json!(1), json!(false))
    );
    assert_eq!(
        (past["count"].clone(), past["hasMore"].clone()),
        (json!(0), json!(false))
    );

    let action = |name: &str| format!("/v1/processes/{prcs}/{name}");
    assert_eq!(
        kit.call(
            Method::PUT,
            &action("start"),
            Some(&token),
            Some(json!({"comment": "go"}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        kit.call(Method::PUT, &action("terminate"), Some(&token), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(process(kit, &token, prcs).await["status"], "terminated");
    assert_eq!(
        kit.call(Method::PUT, &action("reset"), Some(&token), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(process(kit, &token, prcs).await["status"], "created");
    let (status, body) = kit
        .call(
            Method::DELETE,
            &format!("/v1/processes/{prcs}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"success": true, "message": "process deleted"})
        )
    );
    let (status, body) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["items"].clone(), body["count"].clone()),
        (StatusCode::OK, json!([]), json!(0)),
        "a deleted instance is no item, as in Flows"
    );
}
