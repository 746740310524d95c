//! Call activities over HTTP: the call structure is bound when an instance is created (a
//! missing or uncallable diagram is refused then), the called diagram runs in a scope of its
//! own that the variables API can read and write, and out-variables come back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;
use crate::process::{complete, open_steps, start};

on_both_backends!(call_activities_run_the_called_diagram);

const CALLER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:apex="https://flowsforapex.org" id="Defs">
  <bpmn:process id="Order" isExecutable="true">
    <bpmn:startEvent id="Start"/>
    <bpmn:callActivity id="Call" apex:calledDiagram="Shipping" apex:calledDiagramVersionSelection="latestVersion">
      <bpmn:extensionElements>
        <apex:inVariables><apex:processVariable>
          <apex:varSequence>0</apex:varSequence><apex:varName>OrderRef</apex:varName>
          <apex:varDataType>VARCHAR2</apex:varDataType>
          <apex:varExpressionType>processVariable</apex:varExpressionType><apex:varExpression>Order</apex:varExpression>
        </apex:processVariable></apex:inVariables>
        <apex:outVariables><apex:processVariable>
          <apex:varSequence>0</apex:varSequence><apex:varName>Shipper</apex:varName>
          <apex:varDataType>VARCHAR2</apex:varDataType>
          <apex:varExpressionType>processVariable</apex:varExpressionType><apex:varExpression>ShipperName</apex:varExpression>
        </apex:processVariable></apex:outVariables>
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:userTask id="After"/>
    <bpmn:endEvent id="End"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Call"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Call" targetRef="After"/>
    <bpmn:sequenceFlow id="F3" sourceRef="After" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// The called diagram; `CALLABLE` is replaced by `true` or `false`.
const CALLED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:apex="https://flowsforapex.org" id="Defs2">
  <bpmn:process id="Shipping" apex:isCallable="CALLABLE">
    <bpmn:startEvent id="ShipStart"/>
    <bpmn:userTask id="Ship">
      <bpmn:extensionElements><apex:afterTask><apex:processVariable>
        <apex:varSequence>0</apex:varSequence><apex:varName>ShipperName</apex:varName>
        <apex:varDataType>VARCHAR2</apex:varDataType>
        <apex:varExpressionType>plsqlExpression</apex:varExpressionType>
        <apex:varExpression>'DHL for ' || :F4A$OrderRef</apex:varExpression>
      </apex:processVariable></apex:afterTask></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="ShipEnd"/>
    <bpmn:sequenceFlow id="S1" sourceRef="ShipStart" targetRef="Ship"/>
    <bpmn:sequenceFlow id="S2" sourceRef="Ship" targetRef="ShipEnd"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn upload(kit: &Kit, token: &str, xml: &str, name: &str, version: &str) -> i64 {
    let response = kit
        .http
        .post(kit.url("/v1/admin/diagrams"))
        .query(&[("name", name), ("version", version), ("status", "released")])
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(xml.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["item"]["dgrm_id"].as_i64().unwrap()
}

async fn create(kit: &Kit, token: &str, dgrm: i64) -> (StatusCode, Value) {
    kit.call(
        Method::POST,
        &format!("/v1/diagrams/{dgrm}/processes"),
        Some(token),
        Some(json!({"name": "call"})),
    )
    .await
}

/// The variables `GET /v1/processes/:prcs_id/process_vars?{query}` lists, as (name, value).
pub(crate) async fn variables(
    kit: &Kit,
    token: &str,
    prcs: i64,
    query: &str,
) -> Vec<(String, String)> {
    let path = format!("/v1/processes/{prcs}/process_vars?{query}");
    let (status, body) = kit.call(Method::GET, &path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap().to_owned();
            (name, v["value"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn call_activities_run_the_called_diagram(kit: &Kit) {
    let token = kit.admin_token().await;
    let token = token.as_str();
    let caller = upload(kit, token, CALLER, "Order", "1").await;
    let instances = format!("/v1/diagrams/{caller}/processes");

    // Bound when the instance is created: nothing to call yet, then nothing callable.
    let (status, body) = create(kit, token, caller).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("does not exist"),
        "{body}"
    );
    upload(
        kit,
        token,
        &CALLED.replace("CALLABLE", "false"),
        "Shipping",
        "1",
    )
    .await;
    let (status, body) = create(kit, token, caller).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("not callable"),
        "{body}"
    );
    let (_, listed) = kit.call(Method::GET, &instances, Some(token), None).await;
    assert_eq!(listed["items"], json!([]), "refusals create nothing");

    // Releasing version 2 deprecates version 1: the latest released version is called.
    upload(
        kit,
        token,
        &CALLED.replace("CALLABLE", "true"),
        "Shipping",
        "2",
    )
    .await;
    let vars = json!([{"name": "Order", "type": "varchar", "value": "O-1"}]);
    let prcs = start(kit, token, caller, vars).await;
    let steps = open_steps(kit, token, prcs).await;
    let waiting = steps.iter().find(|s| s["current"] == "Call").unwrap();
    assert_eq!(waiting["status"], "in call activity");
    let inside = steps.iter().find(|s| s["current"] == "Ship").unwrap();
    assert_eq!(inside["calling_sbfl"], waiting["sbfl_id"]);
    assert_eq!(inside["scope"], inside["sbfl_id"]);
    assert_eq!(inside["process_level"], inside["sbfl_id"]);
    assert_eq!(inside["diagram_level"], inside["sbfl_id"]);
    let scope = inside["scope"].as_i64().unwrap();
    assert_eq!(
        variables(kit, token, prcs, &format!("scope={scope}")).await,
        [("OrderRef".to_string(), "O-1".to_string())]
    );
    assert!(
        !variables(kit, token, prcs, "scope=0")
            .await
            .iter()
            .any(|(name, _)| name == "OrderRef"),
        "in-variables live in the called scope only"
    );

    // The variables API writes a called scope, by scope or by a step in it; an unknown scope
    // is refused and changes nothing.
    let path = format!("/v1/processes/{prcs}/process_vars");
    let set = json!({"name": "OrderRef", "type": "varchar", "value": "O-2", "scope": scope});
    let (status, body) = kit.call(Method::PUT, &path, Some(token), Some(set)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let unknown =
        json!({"name": "OrderRef", "type": "varchar", "value": "X", "scope": scope + 1000});
    let (status, body) = kit
        .call(Method::PUT, &path, Some(token), Some(unknown))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let by_step =
        json!({"name": "Note", "type": "varchar", "value": "n", "sbfl_id": inside["sbfl_id"]});
    let (status, body) = kit
        .call(Method::PUT, &path, Some(token), Some(by_step))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let in_scope = variables(kit, token, prcs, &format!("scope={scope}")).await;
    assert!(
        in_scope.contains(&("OrderRef".to_string(), "O-2".to_string())),
        "{in_scope:?}"
    );
    assert!(
        in_scope.contains(&("Note".to_string(), "n".to_string())),
        "{in_scope:?}"
    );

    // The called diagram ends: ShipperName comes back as Shipper, the caller moves on.
    complete(kit, token, prcs, "Ship").await;
    assert!(
        variables(kit, token, prcs, "scope=0")
            .await
            .contains(&("Shipper".to_string(), "DHL for O-2".to_string()))
    );
    complete(kit, token, prcs, "After").await;
    let (_, process) = kit
        .call(
            Method::GET,
            &format!("/v1/processes/{prcs}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(process["items"][0]["status"], "completed", "{process}");
}
