//! Flows for APEX's REST contract to the letter (docs/contract.md §4): every field of an item,
//! `null` when empty; links as Flows builds them; a GET of an unknown id answers no item;
//! status filters that ignore case; the steps Flows lists.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;
use crate::process::{complete, dgrm_id, open_steps, send_message, start, token};

on_both_backends!(
    items_carry_every_field_and_flows_links,
    unknown_ids_answer_no_item,
    status_filters_ignore_case,
    steps_lists_what_flows_lists,
    variables_as_flows,
);

async fn get(kit: &Kit, token: &str, path: &str) -> Value {
    let (status, body) = kit.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// `(rel, action, href)` of each link.
fn links(value: &Value) -> Vec<(String, String, String)> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("no links: {value}"))
        .iter()
        .map(|l| {
            assert_eq!(l["types"], json!(["application/json"]), "{l}");
            (
                l["rel"].as_str().unwrap().to_owned(),
                l["action"].as_str().unwrap().to_owned(),
                l["href"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected(kit: &Kit, rows: &[(&str, &str, String)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(rel, action, path)| ((*rel).into(), (*action).into(), kit.url(path)))
        .collect()
}

/// The keys of an item, sorted.
fn keys(item: &Value) -> Vec<String> {
    let mut keys: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn items_carry_every_field_and_flows_links(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "order").await;

    // A diagram: `category` is there even when empty.
    let xml = include_str!("../../bpmn/linear-review.bpmn");
    let uploaded = kit
        .http
        .post(kit.url("/v1/admin/diagrams?name=No%20category"))
        .bearer_auth(&token)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let uploaded: Value = uploaded.json().await.unwrap();
    let bare = uploaded["item"]["dgrm_id"].as_i64().unwrap();
    let item = &get(kit, &token, &format!("/v1/diagrams/{bare}")).await["items"][0];
    assert_eq!(item["category"], Value::Null);
    assert_eq!(
        keys(item),
        ["category", "dgrm_id", "links", "name", "status", "version"]
    );
    let item = &get(kit, &token, &format!("/v1/diagrams/{dgrm}")).await["items"][0];
    assert_eq!(item["category"], "samples");
    let d = format!("/v1/diagrams/{dgrm}");
    assert_eq!(
        links(&item["links"]),
        expected(
            kit,
            &[
                ("diagram", "GET", d.clone()),
                ("process", "GET", format!("{d}/processes")),
                ("process", "POST", format!("{d}/processes")),
            ]
        )
    );

    // A process: `business_ref` is null without one; its links, also in action answers.
    let vars = json!([{"name": "amount", "type": "number", "value": 1},
                      {"name": "order_id", "type": "varchar", "value": "L-1"}]);
    let prcs = start(kit, &token, dgrm, vars).await;
    let item = &get(kit, &token, &format!("/v1/processes/{prcs}")).await["items"][0];
    assert!(item["business_ref"].is_null() && item.get("business_ref").is_some());
    let p = format!("/v1/processes/{prcs}");
    let process_links = expected(
        kit,
        &[
            ("process", "GET", p.clone()),
            ("process", "DELETE", p.clone()),
            ("process", "PUT", format!("{p}/start")),
            ("process", "PUT", format!("{p}/reset")),
            ("process", "PUT", format!("{p}/terminate")),
            ("process_vars", "GET", format!("{p}/process_vars")),
            ("process_vars", "PUT", format!("{p}/process_vars")),
        ],
    );
    assert_eq!(links(&item["links"]), process_links);
    // The process_vars links lead where they say.
    let put = &item["links"][6];
    let response = kit
        .http
        .put(put["href"].as_str().unwrap())
        .bearer_auth(&token)
        .json(&json!({"name": "via_link", "type": "varchar", "value": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let read = kit
        .http
        .get(format!(
            "{}?name=via_link",
            item["links"][5]["href"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(read["items"][0]["value"], "yes");

    // A step: every field, the empty ones null; `step` links, in items and in action answers.
    let step = open_steps(kit, &token, prcs).await.remove(0);
    assert_eq!(
        keys(&step),
        [
            "became_current",
            "calling_sbfl",
            "current",
            "diagram_level",
            "links",
            "prcs_id",
            "process_level",
            "reservation",
            "sbfl_id",
            "sbfl_sbfl_id",
            "scope",
            "status",
            "step_key"
        ]
    );
    for empty in ["sbfl_sbfl_id", "calling_sbfl", "reservation"] {
        assert!(step[empty].is_null(), "{empty}: {step}");
    }
    let sbfl = step["sbfl_id"].as_i64().unwrap();
    let s = format!("/v1/steps/{sbfl}");
    let step_links = expected(
        kit,
        &[
            ("step", "PUT", format!("{s}/start")),
            ("step", "PUT", format!("{s}/reserve")),
            ("step", "PUT", format!("{s}/release")),
            ("step", "PUT", format!("{s}/complete")),
            ("step", "PUT", format!("{s}/restart")),
            ("step", "PUT", format!("{s}/reschedule_timer")),
        ],
    );
    assert_eq!(links(&step["links"]), step_links);
    let (status, answer) = kit
        .call(
            Method::PUT,
            &format!("{s}/start"),
            Some(&token),
            Some(json!({"step_key": step["step_key"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(links(&answer["links"]), step_links);
    let (status, answer) = kit
        .call(Method::PUT, &format!("{p}/terminate"), Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(links(&answer["links"]), process_links);

    // A subscription: `key` and `value` are there.
    let prcs = start(
        kit,
        &token,
        dgrm,
        json!([{"name": "amount", "type": "number", "value": 1},
               {"name": "order_id", "type": "varchar", "value": "L-2"}]),
    )
    .await;
    for task in ["Task_Check", "Task_Pack", "Task_Invoice"] {
        complete(kit, &token, prcs, task).await;
    }
    let subs = get(
        kit,
        &token,
        &format!("/v1/processes/{prcs}/message_subscriptions"),
    )
    .await;
    assert_eq!(keys(&subs["items"][0]), ["key", "name", "value"]);
}

async fn unknown_ids_answer_no_item(kit: &Kit) {
    let token = token(kit).await;
    for path in [
        "/v1/diagrams/999999",
        "/v1/diagrams/999999/processes",
        "/v1/processes/999999",
        "/v1/processes/999999/steps",
        "/v1/processes/999999/process_vars",
        "/v1/processes/999999/message_subscriptions",
        "/v1/steps/999999",
    ] {
        let body = get(kit, &token, path).await;
        assert_eq!(
            (body["items"].clone(), body["count"].clone()),
            (json!([]), json!(0)),
            "{path}"
        );
    }
    // As Flows: the activities of an unknown instance are one item of nulls.
    let body = get(kit, &token, "/v1/processes/999999/activities").await;
    assert_eq!(
        body["items"],
        json!([{"current": null, "completed": null, "error": null}])
    );
    // The XML of an unknown diagram, and actions on unknown objects, are still not found.
    let (status, _) = kit
        .call(
            Method::GET,
            "/v1/diagrams/999999/export",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = kit
        .call(
            Method::PUT,
            "/v1/processes/999999/start",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::NOT_FOUND, json!("Item not found"))
    );
}

async fn status_filters_ignore_case(kit: &Kit) {
    let token = token(kit).await;
    let count = |body: Value| body["count"].as_u64().unwrap();
    let released = count(get(kit, &token, "/v1/diagrams").await);
    assert!(released >= 2);
    for query in ["status=RELEASED", "status=Released", "status="] {
        let path = format!("/v1/diagrams?{query}");
        assert_eq!(count(get(kit, &token, &path).await), released, "{path}");
    }
    assert_eq!(
        count(get(kit, &token, "/v1/diagrams?status=ALL").await),
        released
    );
    assert_eq!(
        count(get(kit, &token, "/v1/diagrams?status=bogus").await),
        0
    );

    let dgrm = dgrm_id(kit, &token, "review").await;
    let prcs = start(kit, &token, dgrm, Value::Null).await;
    let processes = |query: &str| format!("/v1/diagrams/{dgrm}/processes?{query}");
    for query in [
        "status=running",
        "status=RUNNING",
        "status=Running",
        "",
        "status=all",
    ] {
        let body = get(kit, &token, &processes(query)).await;
        assert_eq!(body["items"][0]["prcs_id"], prcs, "{query}");
    }
    // Only `all` itself means all (Flows compares any other value, ignoring case).
    for query in ["status=ALL", "status=bogus", "status=suspended"] {
        assert_eq!(
            count(get(kit, &token, &processes(query)).await),
            0,
            "{query}"
        );
    }
}

async fn steps_lists_what_flows_lists(kit: &Kit) {
    let token = token(kit).await;
    let order = dgrm_id(kit, &token, "order").await;
    let vars = json!([{"name": "amount", "type": "number", "value": 1},
                      {"name": "order_id", "type": "varchar", "value": "S-1"}]);
    let prcs = start(kit, &token, order, vars).await;
    for task in ["Task_Check", "Task_Pack", "Task_Invoice"] {
        complete(kit, &token, prcs, task).await;
    }
    // The branches joined: Flows deleted them; the one step left waits for the message.
    let steps = get(kit, &token, &format!("/v1/processes/{prcs}/steps")).await;
    let items = steps["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{steps}");
    assert_eq!(
        (items[0]["current"].clone(), items[0]["status"].clone()),
        (json!("Catch_Payment"), json!("waiting for message"))
    );
    let (status, _) = send_message(
        kit,
        &token,
        "payment-received",
        json!({"key": "order_id", "value": "S-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sbfl = items[0]["sbfl_id"].as_i64().unwrap();
    // An ended instance has no steps, and a completed step is no item.
    let steps = get(kit, &token, &format!("/v1/processes/{prcs}/steps")).await;
    assert_eq!(steps["items"], json!([]));
    let step = get(kit, &token, &format!("/v1/steps/{sbfl}")).await;
    assert_eq!(step["items"], json!([]));
}

/// Variables: names match in any case, values render as Flows renders them, dates come in
/// Flows' formats or RFC 3339, and a reset deletes all but `BUSINESS_REF`.
async fn variables_as_flows(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm}/processes"),
            Some(&token),
            Some(json!({"name": "vars", "business_ref": "PO-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let prcs = body["items"][0]["prcs_id"].as_i64().unwrap();
    let vars = format!("/v1/processes/{prcs}/process_vars");
    let put = |body: Value| {
        let vars = vars.clone();
        let token = token.clone();
        async move {
            let (status, answer) = kit.call(Method::PUT, &vars, Some(&token), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    put(json!([
        {"name": "Dept", "type": "varchar", "value": "SALES"},
        {"name": "amount", "type": "NUMBER", "value": 120},
        {"name": "ratio", "type": "number", "value": 0.5},
        {"name": "due", "type": "date", "value": "2026-12-24 10:30:00"},
        {"name": "due_iso", "type": "date", "value": "2026-12-24T10:30:00Z"},
    ]))
    .await;
    let one = |name: &str| {
        let path = format!("{vars}?name={name}");
        let token = token.clone();
        async move {
            let body = get(kit, &token, &path).await;
            assert_eq!(body["count"], 1, "{path}: {body}");
            let item = &body["items"][0];
            (
                item["name"].as_str().unwrap().to_owned(),
                item["type"].as_str().unwrap().to_owned(),
                item["value"].as_str().unwrap().to_owned(),
            )
        }
    };
    assert_eq!(
        one("DEPT").await,
        ("Dept".into(), "VARCHAR2".into(), "SALES".into())
    );
    assert_eq!(
        one("amount").await,
        ("amount".into(), "NUMBER".into(), "120".into())
    );
    assert_eq!(one("RATIO").await.2, ".5", "as Oracle's to_char writes it");
    let due = (
        "due".to_owned(),
        "DATE".to_owned(),
        "2026-12-24 10:30:00".to_owned(),
    );
    assert_eq!(one("due").await, due);
    assert_eq!(one("due_iso").await.2, due.2);

    // Setting a name in another case replaces the variable, which keeps its first spelling.
    put(json!({"name": "DEPT", "type": "varchar", "value": "HR"})).await;
    assert_eq!(
        one("dept").await,
        ("Dept".into(), "VARCHAR2".into(), "HR".into())
    );

    for action in ["start", "reset"] {
        let path = format!("/v1/processes/{prcs}/{action}");
        let (status, body) = kit.call(Method::PUT, &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let left = get(kit, &token, &vars).await;
    let names: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["BUSINESS_REF"], "{left}");
}
