//! The process API (SPEC §4, §5) over HTTP: full runs of the sample diagrams, Flows' error
//! answers, all-or-nothing arrays, timers, admin uploads and one step completed twice at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    order_fulfilment_both_branches,
    linear_review_and_stale_step_keys,
    flows_error_answers,
    arrays_are_all_or_nothing,
    diagram_upload_listing_and_export,
    timers_fire_and_reschedule,
    one_of_two_concurrent_completes_wins,
    instance_lifecycle,
    gateway_error_and_restart,
);

/// A token with every role.
async fn token(kit: &Kit) -> String {
    kit.admin_token().await
}

async fn dgrm_id(kit: &Kit, token: &str, name: &str) -> i64 {
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
async fn start(kit: &Kit, token: &str, dgrm_id: i64, vars: Value) -> i64 {
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
async fn open_steps(kit: &Kit, token: &str, prcs_id: i64) -> Vec<Value> {
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

/// Completes the open step that sits on `element`.
async fn complete(kit: &Kit, token: &str, prcs_id: i64, element: &str) {
    let steps = open_steps(kit, token, prcs_id).await;
    let step = steps
        .iter()
        .find(|s| s["current"] == element)
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

async fn process(kit: &Kit, token: &str, prcs_id: i64) -> Value {
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
async fn steps_in(kit: &Kit, token: &str, prcs_id: i64, status: &str) -> Vec<String> {
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
async fn current(kit: &Kit, token: &str, prcs_id: i64) -> Vec<String> {
    steps_in(kit, token, prcs_id, "running").await
}

async fn send_message(kit: &Kit, token: &str, name: &str, body: Value) -> (StatusCode, Value) {
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
        assert!(
            steps_in(kit, &token, prcs, "waiting-message")
                .await
                .is_empty()
        );
        complete(kit, &token, prcs, "Task_Invoice").await;
        assert_eq!(
            steps_in(kit, &token, prcs, "waiting-message").await,
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
        let (_, activities) = kit
            .call(
                Method::GET,
                &format!("/v1/processes/{prcs}/activities"),
                Some(&token),
                None,
            )
            .await;
        let activity = &activities["items"][0];
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
        assert_eq!(paid["value"], json!({"paid": amount}));
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
            .any(|l| l["rel"] == "complete" && l["action"] == "PUT")
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

async fn flows_error_answers(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let prcs = start(kit, &token, dgrm, Value::Null).await;
    let step = open_steps(kit, &token, prcs).await.remove(0);
    let complete = format!("/v1/steps/{}/complete", step["sbfl_id"]);
    let raw = |path: String, content_type: &'static str, body: Vec<u8>| {
        let request = kit
            .http
            .put(kit.url(&path))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    let (status, body) = raw(
        complete.clone(),
        "application/json",
        b"{\"step_key\": ".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("JSON Payload can not be processed")
        )
    );
    assert_eq!(body["payload"]["content"], "{\"step_key\": ");
    let (status, body) = raw(complete.clone(), "application/json", b"42".to_vec()).await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Payload not accepted"))
    );
    let (status, body) = raw(
        complete.clone(),
        "application/json",
        b"[{\"step_key\": \"x\"}]".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Multiple objects found"))
    );
    let (status, body) = raw(
        complete.clone(),
        "application/json",
        b"{\"comment\": \"no key\"}".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Attribute not found"))
    );
    assert_eq!(body["item"], json!({"comment": "no key"}));
    let (status, body) = raw(complete.clone(), "text/plain", b"step_key=x".to_vec()).await;
    assert_eq!(
        (status, body["message"].clone()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!("Unsupported Media Type")
        )
    );
    let huge = format!("{{\"step_key\": \"{}\"}}", "k".repeat(1024 * 1024 + 10)).into_bytes();
    let (status, body) = raw(complete.clone(), "application/json", huge).await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("Payload too large"))
    );
    let (status, body) = kit
        .call(
            Method::PUT,
            "/v1/steps/999999/complete",
            Some(&token),
            Some(json!({"step_key": "x"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"success": false, "message": "Item not found"})
        )
    );
    let (status, _) = kit
        .call(Method::GET, "/v1/processes/abc", Some(&token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "path parameters are numbers"
    );
    let (status, body) = kit
        .call(
            Method::PUT,
            &format!("/v1/processes/{prcs}/start"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already started: {body}");

    // None of it moved the step.
    assert_eq!(current(kit, &token, prcs).await, ["Task_Review"]);
}

async fn arrays_are_all_or_nothing(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let prcs = start(kit, &token, dgrm, Value::Null).await;
    let path = format!("/v1/processes/{prcs}/process_vars");
    let vars = json!([
        {"name": "a", "type": "varchar", "value": "x"},
        {"name": "b", "type": "number", "value": "not a number"},
    ]);
    let (status, body) = kit.call(Method::PUT, &path, Some(&token), Some(vars)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["message"], "Processing Error");
    assert!(body["items"][0].get("errors").is_none());
    assert_eq!(body["items"][1]["errors"][0]["type"], "missing attribute");
    let (_, listed) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed["count"], 0, "nothing was applied");

    let vars = json!([
        {"name": "a", "type": "varchar", "value": "x"},
        {"name": "d", "type": "date", "value": "2026-11-24T10:00:00Z"},
        {"name": "j", "type": "json", "value": {"k": [1, 2]}},
    ]);
    let (status, body) = kit
        .call(Method::PUT, &path, Some(&token), Some(vars.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "process variables updated");
    assert_eq!(body["items"], vars);
    let (_, one) = kit
        .call(Method::GET, &format!("{path}?name=j"), Some(&token), None)
        .await;
    assert_eq!(
        one["items"],
        json!([{"scope": 0, "name": "j", "type": "JSON", "value": {"k": [1, 2]}}])
    );

    // Messages: two orders waiting, the second message of the array awaited by nobody.
    let order = dgrm_id(kit, &token, "order").await;
    let mut waiting = Vec::new();
    for id in ["M-1", "M-2"] {
        let vars = json!([{"name": "amount", "type": "number", "value": 1}, {"name": "order_id", "type": "varchar", "value": id}]);
        let prcs = start(kit, &token, order, vars).await;
        for task in ["Task_Check", "Task_Pack", "Task_Invoice"] {
            complete(kit, &token, prcs, task).await;
        }
        waiting.push(prcs);
    }
    let messages =
        json!([{"key": "order_id", "value": "M-1"}, {"key": "order_id", "value": "M-9"}]);
    let (status, body) = send_message(kit, &token, "payment-received", messages).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["items"][1]["errors"][0]["type"], "processing error");
    assert_eq!(
        process(kit, &token, waiting[0]).await["status"],
        "running",
        "M-1 was not applied either"
    );
    let messages =
        json!([{"key": "order_id", "value": "M-1"}, {"key": "order_id", "value": "M-2"}]);
    let (status, _) = send_message(kit, &token, "payment-received", messages).await;
    assert_eq!(status, StatusCode::OK);
    for prcs in waiting {
        assert_eq!(process(kit, &token, prcs).await["status"], "completed");
    }
}

const TIMER_DIAGRAM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="Process_wait" name="Wait an hour" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="After"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Wait" />
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="After" />
    <bpmn:sequenceFlow id="F3" sourceRef="After" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>"#;

async fn upload(kit: &Kit, token: &str, xml: &str, query: &str) -> (StatusCode, Value) {
    let response = kit
        .http
        .post(kit.url(&format!("/v1/admin/diagrams{query}")))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(xml.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn timers_fire_and_reschedule(kit: &Kit) {
    let token = token(kit).await;
    let (status, body) = upload(kit, &token, TIMER_DIAGRAM, "?status=released").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dgrm = body["item"]["dgrm_id"].as_i64().unwrap();
    for immediate in [true, false] {
        let prcs = start(kit, &token, dgrm, Value::Null).await;
        let step = open_steps(kit, &token, prcs).await.remove(0);
        assert_eq!(
            (step["current"].clone(), step["status"].clone()),
            (json!("Wait"), json!("waiting-timer"))
        );
        let body = if immediate {
            json!({"step_key": step["step_key"], "is_immediate": true})
        } else {
            json!({"step_key": step["step_key"], "new_timestamp": "2020-01-01T00:00:00Z"})
        };
        let path = format!("/v1/steps/{}/reschedule_timer", step["sbfl_id"]);
        let (status, answer) = kit.call(Method::PUT, &path, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        // Immediately, or by the scheduler within a couple of seconds.
        let started = std::time::Instant::now();
        while current(kit, &token, prcs).await != ["After"] {
            assert!(
                started.elapsed().as_secs() < 4,
                "timer did not fire (immediate: {immediate})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn diagram_upload_listing_and_export(kit: &Kit) {
    let token = token(kit).await;
    let broken = TIMER_DIAGRAM.replace(r#"targetRef="End""#, r#"targetRef="Nowhere""#);
    let (status, body) = upload(kit, &token, &broken, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("F3"),
        "names the element: {body}"
    );
    let unsupported = TIMER_DIAGRAM.replace("bpmn:userTask", "bpmn:businessRuleTask");
    let (status, body) = upload(kit, &token, &unsupported, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("After"),
        "{body}"
    );

    let (status, body) = upload(kit, &token, TIMER_DIAGRAM, "").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (
            body["item"]["status"].clone(),
            body["item"]["version"].clone()
        ),
        (json!("draft"), json!(1))
    );
    let dgrm = body["item"]["dgrm_id"].as_i64().unwrap();
    let (_, again) = upload(kit, &token, TIMER_DIAGRAM, "").await;
    assert_eq!(again["item"]["version"], 2, "same name: next version");

    let (_, released) = kit
        .call(Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert!(
        released["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "released")
    );
    let (_, by_name) = kit
        .call(
            Method::GET,
            "/v1/diagrams?status=all&name=WAIT%20AN",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(by_name["count"], 2);
    let (status, _) = kit
        .call(Method::GET, "/v1/diagrams?status=bogus", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a draft cannot run: {body}");
    let status_path = format!("/v1/admin/diagrams/{dgrm}/status");
    let (status, body) = kit
        .call(
            Method::PUT,
            &status_path,
            Some(&token),
            Some(json!({"status": "released"})),
        )
        .await;
    assert_eq!(
        (status, body["item"]["status"].clone()),
        (StatusCode::OK, json!("released"))
    );
    let (status, _) = kit
        .call(
            Method::PUT,
            &status_path,
            Some(&token),
            Some(json!({"status": "gone"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let response = kit
        .send(
            Method::GET,
            &format!("/v1/diagrams/{dgrm}/export"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".bpmn")
    );
    assert_eq!(response.text().await.unwrap(), TIMER_DIAGRAM);
}

async fn one_of_two_concurrent_completes_wins(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    for _ in 0..3 {
        let prcs = start(kit, &token, dgrm, Value::Null).await;
        let step = open_steps(kit, &token, prcs).await.remove(0);
        let path = format!("/v1/steps/{}/complete", step["sbfl_id"]);
        let body = json!({"step_key": step["step_key"]});
        let (a, b) = tokio::join!(
            kit.call(Method::PUT, &path, Some(&token), Some(body.clone())),
            kit.call(Method::PUT, &path, Some(&token), Some(body.clone())),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{a:?} {b:?}"
        );
        assert_eq!(
            current(kit, &token, prcs).await,
            ["Task_Publish"],
            "moved exactly once"
        );
    }
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
    let (status, _) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const GATEWAY_DIAGRAM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="Process_route" name="Route by region" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="Prepare"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:task>
    <bpmn:exclusiveGateway id="Gw"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F_eu</bpmn:outgoing><bpmn:outgoing>F_us</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Eu"><bpmn:incoming>F_eu</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Us"><bpmn:incoming>F_us</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F3</bpmn:incoming><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Prepare" />
    <bpmn:sequenceFlow id="F2" sourceRef="Prepare" targetRef="Gw" />
    <bpmn:sequenceFlow id="F_eu" sourceRef="Gw" targetRef="Eu">
      <bpmn:conditionExpression>region = 'EU' and amount &lt;= 100</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_us" sourceRef="Gw" targetRef="Us">
      <bpmn:conditionExpression>region = 'US'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F3" sourceRef="Eu" targetRef="End" />
    <bpmn:sequenceFlow id="F4" sourceRef="Us" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>"#;

/// No condition holds: the step goes to error; after setting the variable, restart moves on.
async fn gateway_error_and_restart(kit: &Kit) {
    let token = token(kit).await;
    let (status, body) = upload(kit, &token, GATEWAY_DIAGRAM, "?status=released").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dgrm = body["item"]["dgrm_id"].as_i64().unwrap();
    let vars = json!([{"name": "region", "type": "varchar", "value": "EU"}, {"name": "amount", "type": "number", "value": 500}]);
    let prcs = start(kit, &token, dgrm, vars).await;

    let step = open_steps(kit, &token, prcs).await.remove(0);
    let path = |action: &str| format!("/v1/steps/{}/{action}", step["sbfl_id"]);
    let (status, body) = kit
        .call(
            Method::PUT,
            &path("start"),
            Some(&token),
            Some(json!({"step_key": step["step_key"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "start a step: {body}");
    complete(kit, &token, prcs, "Prepare").await;

    assert_eq!(
        steps_in(kit, &token, prcs, "error").await,
        ["Gw"],
        "EU but over 100: no flow"
    );
    assert_eq!(process(kit, &token, prcs).await["status"], "error");
    let (_, activities) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs}/activities"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(activities["items"][0]["error"], json!(["Gw"]));
    let failed = open_steps(kit, &token, prcs).await.remove(0);
    let restart = format!("/v1/steps/{}/restart", failed["sbfl_id"]);
    let key = json!({"step_key": failed["step_key"]});
    let (status, body) = kit
        .call(Method::PUT, &restart, Some(&token), Some(key.clone()))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "still no flow: {body}");

    let fix = json!({"name": "amount", "type": "number", "value": 50});
    let (status, _) = kit
        .call(
            Method::PUT,
            &format!("/v1/processes/{prcs}/process_vars"),
            Some(&token),
            Some(fix),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = kit
        .call(Method::PUT, &restart, Some(&token), Some(key))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(current(kit, &token, prcs).await, ["Eu"]);
    assert_eq!(process(kit, &token, prcs).await["status"], "running");
    complete(kit, &token, prcs, "Eu").await;
    assert_eq!(process(kit, &token, prcs).await["status"], "completed");
}
