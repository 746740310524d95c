//! Diagrams uploaded by the admin API and run through the process API: import refusals,
//! versions, status, export, timers and a gateway that finds no flow.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::{Backend, Kit, TestDb};
use crate::on_both_backends;
use crate::process::{activities, complete, current, open_steps, process, start, steps_in, token};

on_both_backends!(
    diagram_upload_listing_and_export,
    versions_are_text_and_releasing_deprecates,
    timers_fire_and_reschedule,
    gateway_error_and_restart
);

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

/// Versions are text, named at import or numbered; a version a name has already is refused;
/// releasing one deprecates the one released before; a process names the version it expects.
async fn versions_are_text_and_releasing_deprecates(kit: &Kit) {
    let token = token(kit).await;
    let query = "?name=Waiting&version=1.0-beta&category=timers&status=released";
    let (status, body) = upload(kit, &token, TIMER_DIAGRAM, query).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = &body["item"];
    assert_eq!(
        (&item["name"], &item["version"], &item["category"]),
        (&json!("Waiting"), &json!("1.0-beta"), &json!("timers"))
    );
    let beta = item["dgrm_id"].as_i64().unwrap();
    let (status, body) = upload(kit, &token, TIMER_DIAGRAM, query).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the name has it already: {body}"
    );
    // Without a version: the next number of that name.
    let (_, body) = upload(kit, &token, TIMER_DIAGRAM, "?name=Waiting&version=7").await;
    let seven = body["item"]["dgrm_id"].as_i64().unwrap();
    let (_, body) = upload(kit, &token, TIMER_DIAGRAM, "?name=Waiting").await;
    assert_eq!(body["item"]["version"], "8");
    // Without a name: the process's; the versions of another name do not count.
    let (_, body) = upload(kit, &token, TIMER_DIAGRAM, "").await;
    assert_eq!(
        (&body["item"]["name"], &body["item"]["version"]),
        (&json!("Wait an hour"), &json!("1"))
    );

    // Releasing 7 deprecates 1.0-beta.
    let (status, body) = kit
        .call(
            Method::PUT,
            &format!("/v1/admin/diagrams/{seven}/status"),
            Some(&token),
            Some(json!({"status": "released"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = kit
        .call(
            Method::GET,
            "/v1/diagrams?status=all&name=waiting",
            Some(&token),
            None,
        )
        .await;
    let statuses: Vec<(Value, Value)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["version"].clone(), d["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("1.0-beta"), json!("deprecated")),
            (json!("7"), json!("released")),
            (json!("8"), json!("draft")),
        ]
    );
    // Importing released deprecates too.
    let (_, body) = upload(kit, &token, TIMER_DIAGRAM, "?name=Waiting&status=released").await;
    assert_eq!(body["item"]["version"], "9");
    let (_, listed) = kit
        .call(Method::GET, "/v1/diagrams?name=waiting", Some(&token), None)
        .await;
    assert_eq!(listed["count"], 1, "one released version: {listed}");
    assert_eq!(listed["items"][0]["version"], "9");
    let (_, old) = kit
        .call(
            Method::GET,
            &format!("/v1/diagrams/{beta}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(old["items"][0]["status"], "deprecated");

    // Creating with a version: the diagram's (as text or number) or 404 "Item not found".
    let (_, body) = upload(
        kit,
        &token,
        TIMER_DIAGRAM,
        "?name=Versioned&version=3&status=released",
    )
    .await;
    let three = body["item"]["dgrm_id"].as_i64().unwrap();
    let create = format!("/v1/diagrams/{three}/processes");
    for version in [json!("3"), json!(3)] {
        let (status, body) = kit
            .call(
                Method::POST,
                &create,
                Some(&token),
                Some(json!({"version": version})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{version}: {body}");
    }
    let (status, body) = kit
        .call(
            Method::POST,
            &create,
            Some(&token),
            Some(json!({"version": "4"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"success": false, "message": "Item not found"})
        )
    );
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
            (json!("Wait"), json!("waiting for timer"))
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
    let unsupported = TIMER_DIAGRAM.replace("bpmn:userTask", "bpmn:complexGateway");
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
        (json!("draft"), json!("1"))
    );
    let dgrm = body["item"]["dgrm_id"].as_i64().unwrap();
    let (_, again) = upload(kit, &token, TIMER_DIAGRAM, "").await;
    assert_eq!(again["item"]["version"], "2", "same name: next version");

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
    let (status, bogus) = kit
        .call(Method::GET, "/v1/diagrams?status=bogus", Some(&token), None)
        .await;
    assert_eq!(
        (status, bogus["count"].clone()),
        (StatusCode::OK, json!(0)),
        "an unknown status finds nothing"
    );

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
    assert_eq!(activities(kit, &token, prcs).await["error"], json!(["Gw"]));
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

/// The migration to text versions keeps the rows there are: their numbers become text, and a
/// name still takes each version once.
async fn version_migration_keeps_rows(backend: Backend) {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database, Statement};

    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let db = Database::connect(&test_db.url).await.unwrap();
    Migrator::up(&db, Some(4)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO diagrams (name, version, status, category, xml, created_at) \
         VALUES ('Old', 3, 'released', NULL, '<x/>', 0), ('Old', 12, 'draft', 'c', '<y/>', 0)",
    )
    .await
    .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version, status, category FROM diagrams ORDER BY id",
        ))
        .await
        .unwrap();
    let rows: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "version").unwrap(),
                r.try_get("", "status").unwrap(),
                r.try_get("", "category").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("3".into(), "released".into(), None),
            ("12".into(), "draft".into(), Some("c".into()))
        ]
    );
    let again = db
        .execute_unprepared(
            "INSERT INTO diagrams (name, version, status, xml, created_at) \
             VALUES ('Old', '3', 'draft', '<z/>', 0)",
        )
        .await;
    assert!(again.is_err(), "the name takes each version once");
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_migration_keeps_rows_sqlite() {
    version_migration_keeps_rows(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_migration_keeps_rows_postgres() {
    version_migration_keeps_rows(Backend::Postgres).await;
}
