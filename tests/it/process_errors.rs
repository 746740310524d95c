//! Flows' error answers over HTTP, and array calls that apply all or nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;
use crate::process::{complete, current, dgrm_id, open_steps, process, send_message, start, token};

on_both_backends!(flows_error_answers, arrays_are_all_or_nothing);

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
    assert_eq!(
        body["item"],
        json!({"comment": "no key", "errors": [{"type": "missing attribute", "value": "step_key"}]}),
        "the object sent, with Flows' errors"
    );
    // Every missing attribute is named, in order.
    let reserve = format!("/v1/steps/{}/reserve", step["sbfl_id"]);
    let (status, body) = raw(reserve, "application/json", b"{}".to_vec()).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "message": "Attribute not found", "item": {"errors": [
                {"type": "missing attribute", "value": "step_key"},
                {"type": "missing attribute", "value": "reservation"},
            ]}})
        )
    );
    // A value that fails is a processing error.
    let (status, body) = raw(
        complete.clone(),
        "application/json",
        b"{\"step_key\": true}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["item"]["errors"],
        json!([{"type": "processing error", "value": "Attribute step_key must be a string"}])
    );
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
    // Every bad element carries its own errors; the good ones none.
    let vars = json!([
        {"name": "a", "type": "varchar", "value": "x"},
        {"name": "b", "type": "number", "value": "not a number"},
        {"value": 1},
        {"name": "c", "type": "date", "value": "someday"},
    ]);
    let (status, body) = kit.call(Method::PUT, &path, Some(&token), Some(vars)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body,
        json!({"success": false, "message": "Processing Error", "items": [
            {"name": "a", "type": "varchar", "value": "x"},
            {"name": "b", "type": "number", "value": "not a number", "errors": [
                {"type": "processing error", "value": "'not a number' is not a number"}]},
            {"value": 1, "errors": [
                {"type": "missing attribute", "value": "name"},
                {"type": "missing attribute", "value": "type"}]},
            {"name": "c", "type": "date", "value": "someday", "errors": [
                {"type": "processing error", "value": body["items"][3]["errors"][0]["value"]}]},
        ]})
    );
    let (_, listed) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed["count"], 0, "nothing was applied");
    // One object: its own answer, echoed with its errors.
    let (status, body) = kit
        .call(Method::PUT, &path, Some(&token), Some(json!({"name": "x"})))
        .await;
    assert_eq!(
        (status, body["message"].clone(), body["item"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Attribute not found"),
            json!({"name": "x", "errors": [
                {"type": "missing attribute", "value": "type"},
                {"type": "missing attribute", "value": "value"}]})
        )
    );
    // A scope that does not exist is found when applying: that element is named.
    let vars = json!([
        {"name": "a", "type": "varchar", "value": "x"},
        {"name": "s", "type": "varchar", "value": "y", "scope": 7},
    ]);
    let (status, body) = kit.call(Method::PUT, &path, Some(&token), Some(vars)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["items"][0].get("errors").is_none(), "{body}");
    assert_eq!(body["items"][1]["errors"][0]["type"], "processing error");

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
        json!([{"scope": 0, "name": "j", "type": "JSON", "value": r#"{"k":[1,2]}"#}]),
        "values are rendered as text, as Flows renders them"
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
