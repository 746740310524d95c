//! Call activities: the called diagram runs on levels and in a scope of its own, with in- and
//! out-variables, and ends (normally, by a terminate end, by an error) back at the caller.

use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, flow};
use crate::engine::value::VariableValue;

fn variable(set: &str, name: &str, kind: &str, expression: &str) -> String {
    format!(
        r#"<apex:{set}><apex:processVariable><apex:varSequence>0</apex:varSequence>
             <apex:varName>{name}</apex:varName><apex:varDataType>VARCHAR2</apex:varDataType>
             <apex:varExpressionType>{kind}</apex:varExpressionType>
             <apex:varExpression>{expression}</apex:varExpression>
           </apex:processVariable></apex:{set}>"#
    )
}

/// S → Call (calls "Shipping", hands over Order as OrderRef, gets Shipper back) → After → E,
/// with `boundary` attached to Call (its path: B → Handled → HE).
fn caller(boundary: &str) -> String {
    format!(
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
              xmlns:apex="https://flowsforapex.org" id="Defs">
             <bpmn:process id="Main">
               <bpmn:startEvent id="S"/>
               <bpmn:callActivity id="Call" apex:calledDiagram="Shipping"
                   apex:calledDiagramVersionSelection="latestVersion">
                 <bpmn:extensionElements>{}{}</bpmn:extensionElements>
               </bpmn:callActivity>
               <bpmn:userTask id="After"/><bpmn:endEvent id="E"/>
               {boundary}{}{}{}
             </bpmn:process>
           </bpmn:definitions>"#,
        variable("inVariables", "OrderRef", "processVariable", "Order"),
        variable("outVariables", "Shipper", "processVariable", "ShipperName"),
        flow("f1", "S", "Call", None),
        flow("f2", "Call", "After", None),
        flow("f3", "After", "E", None),
    )
}

/// The called diagram: CS → Ship (sets ShipperName from OrderRef) → `end` (id CE).
fn called(end: &str) -> String {
    format!(
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
              xmlns:apex="https://flowsforapex.org" id="Defs2">
             <bpmn:error id="Err" errorCode="late"/>
             <bpmn:process id="Shipping" apex:isCallable="true">
               <bpmn:startEvent id="CS"/>
               <bpmn:userTask id="Ship"><bpmn:extensionElements>{}</bpmn:extensionElements></bpmn:userTask>
               {end}{}{}
             </bpmn:process>
           </bpmn:definitions>"#,
        variable(
            "afterTask",
            "ShipperName",
            "plsqlExpression",
            "'DHL for ' || :F4A$OrderRef"
        ),
        flow("c1", "CS", "Ship", None),
        flow("c2", "Ship", "CE", None),
    )
}

const PLAIN_END: &str = r#"<bpmn:endEvent id="CE"/>"#;

fn started(boundary: &str, end: &str) -> Harness {
    let mut harness = Harness::new(&caller(boundary));
    harness.bind_call(None, "Call", 7, &called(end));
    harness.set("Order", VariableValue::Varchar("O-1".into()));
    harness.start();
    harness
}

#[test]
fn the_called_diagram_runs_in_a_scope_of_its_own() {
    let harness = started("", PLAIN_END);
    let waiting = harness.at_element("Call");
    assert_eq!(waiting.status, SubflowStatus::InCallActivity);
    let inside = harness.at_element("Ship");
    assert_eq!(inside.dgrm_id, Some(7));
    assert_eq!(inside.calling_subflow, Some(waiting.id));
    assert_eq!(inside.parent_id, Some(waiting.id));
    assert_eq!(inside.process_level, inside.id);
    assert_eq!(inside.diagram_level, inside.id);
    assert_eq!(inside.scope, inside.id);
    assert_eq!(inside.origin.as_deref(), Some("Call"));
    let scope = harness
        .instance
        .scope_variables(inside.scope)
        .expect("the called scope");
    assert_eq!(
        scope.get("OrderRef"),
        Some(&VariableValue::Varchar("O-1".into())),
        "in-variables are evaluated in the caller's scope"
    );
    assert!(
        harness.instance.variable("OrderRef").is_none(),
        "and set only in the called one"
    );
    assert_eq!(harness.instance.scopes(), vec![0, inside.scope]);
}

#[test]
fn out_variables_come_back_and_the_caller_moves_on() {
    let mut harness = started("", PLAIN_END);
    let waiting = harness.at_element("Call");
    harness.complete("Ship").expect("complete Ship");
    let after = harness.at_element("After");
    assert_eq!(after.id, waiting.id, "the calling token itself moves on");
    assert_eq!(
        harness.instance.variable("Shipper"),
        Some(&VariableValue::Varchar("DHL for O-1".into()))
    );
    assert!(
        harness.instance.variable("ShipperName").is_none(),
        "called-scope variables stay there"
    );
    harness.complete("After").expect("complete After");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn a_terminate_end_in_the_called_diagram_ends_only_the_call() {
    let terminate = r#"<bpmn:endEvent id="CE"><bpmn:terminateEventDefinition/></bpmn:endEvent>"#;
    let mut harness = started("", terminate);
    harness.complete("Ship").expect("complete Ship");
    assert_eq!(harness.status(), ProcessStatus::Running);
    harness.at_element("After");
}

#[test]
fn an_error_end_in_the_called_diagram_is_caught_by_the_call_activitys_boundary() {
    let boundary = format!(
        r#"<bpmn:boundaryEvent id="B" attachedToRef="Call"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
           <bpmn:userTask id="Handled"/><bpmn:endEvent id="HE"/>{}{}"#,
        flow("b1", "B", "Handled", None),
        flow("b2", "Handled", "HE", None),
    );
    let error_end =
        r#"<bpmn:endEvent id="CE"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent>"#;
    let mut harness = started(&boundary, error_end);
    let waiting = harness.at_element("Call");
    harness.complete("Ship").expect("complete Ship");
    let handled = harness.at_element("Handled");
    assert_eq!(
        handled.id, waiting.id,
        "the interrupting boundary takes the token"
    );
    assert!(
        harness.instance.variable("Shipper").is_none(),
        "no out-variables on an interrupted return"
    );
    assert!(harness.current().iter().all(|c| c != "After"));
}

#[test]
fn a_message_boundary_on_the_call_stops_the_called_diagram() {
    let boundary = format!(
        r#"<bpmn:boundaryEvent id="B" attachedToRef="Call">
             <bpmn:messageEventDefinition><bpmn:extensionElements><apex:messageName>
               <apex:expressionType>static</apex:expressionType><apex:expression>cancel</apex:expression>
             </apex:messageName></bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:boundaryEvent>
           <bpmn:userTask id="Handled"/><bpmn:endEvent id="HE"/>{}{}"#,
        flow("b1", "B", "Handled", None),
        flow("b2", "Handled", "HE", None),
    );
    let mut harness = started(&boundary, PLAIN_END);
    let inside = harness.at_element("Ship").id;
    harness
        .run(|instance, ctx| instance.correlate_message(ctx, "cancel", None, None, None))
        .expect("correlate");
    harness.at_element("Handled");
    let stopped = harness.instance.subflow(inside).expect("kept");
    assert_eq!(stopped.status, SubflowStatus::Completed);
}

#[test]
fn an_unbound_call_puts_the_token_in_error() {
    let mut harness = Harness::new(&caller(""));
    harness.start();
    assert_eq!(harness.status(), ProcessStatus::Error);
}

#[test]
fn variables_can_be_set_in_a_called_scope_and_not_in_one_that_does_not_exist() {
    let mut harness = started("", PLAIN_END);
    let scope = harness.at_element("Ship").scope;
    harness
        .instance
        .set_scoped_variables(vec![(
            scope,
            "OrderRef".into(),
            VariableValue::Varchar("O-2".into()),
        )])
        .expect("set in the called scope");
    harness.complete("Ship").expect("complete Ship");
    assert_eq!(
        harness.instance.variable("Shipper"),
        Some(&VariableValue::Varchar("DHL for O-2".into()))
    );
    assert!(
        harness
            .instance
            .set_scoped_variables(vec![(999, "x".into(), VariableValue::Varchar("y".into()))])
            .is_err()
    );
}
