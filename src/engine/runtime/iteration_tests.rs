//! Loop and multi-instance activities: parallel and sequential over a list or an array, loops
//! until their completion condition holds, output collections, boundary events on the whole.

use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, flow, process};
use crate::engine::value::VariableValue;

/// S → Work (repeated per `characteristics`) → After → E.
fn repeated(activity: &str, characteristics: &str, inside: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:{activity} id="Work">{characteristics}{inside}</bpmn:{activity}>
           <bpmn:userTask id="After"/><bpmn:endEvent id="E"/>{}{}{}"#,
        flow("f1", "S", "Work", None),
        flow("f2", "Work", "After", None),
        flow("f3", "After", "E", None),
    ))
}

fn multi(sequential: bool, input: &str, output: &str, completion: &str) -> String {
    format!(
        r#"<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"><bpmn:extensionElements>
             {input}{output}{completion}</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>"#
    )
}

fn list_input(variable: &str) -> String {
    format!(
        "<apex:inputCollection><apex:expressionType>processVariableList</apex:expressionType>\
         <apex:expression>{variable}</apex:expression><apex:insideVariable>ename</apex:insideVariable>\
         </apex:inputCollection>"
    )
}

fn output(variable: &str, inside: &str) -> String {
    format!(
        "<apex:outputCollection><apex:expressionType>processVariableArray</apex:expressionType>\
         <apex:expression>{variable}</apex:expression><apex:insideVariable>{inside}</apex:insideVariable>\
         </apex:outputCollection>"
    )
}

fn completion(expression: &str) -> String {
    format!(
        "<apex:completionCondition><apex:expressionType>plsqlExpression</apex:expressionType>\
         <apex:expression>{expression}</apex:expression></apex:completionCondition>"
    )
}

fn iterations_at(harness: &Harness, element: &str) -> Vec<(u32, String)> {
    let mut found: Vec<(u32, String)> = harness
        .instance
        .subflows()
        .iter()
        .filter(|s| s.current_element == element && s.is_live() && s.loop_counter.is_some())
        .map(|s| {
            let item = harness.instance.iteration_variables(s.id).expect("item");
            (s.loop_counter.unwrap_or_default(), item["ename"].to_text())
        })
        .collect();
    found.sort();
    found
}

fn complete_iteration(harness: &mut Harness, counter: u32) {
    let subflow = harness
        .instance
        .subflows()
        .iter()
        .find(|s| s.loop_counter == Some(counter) && s.is_live())
        .cloned()
        .expect("iteration");
    harness
        .run(|instance, ctx| instance.complete_step(ctx, subflow.id, &subflow.step_key))
        .expect("complete iteration");
}

fn started(xml: &str, employees: &str) -> Harness {
    let mut harness = Harness::new(xml);
    harness.set("EmpList", VariableValue::Varchar(employees.into()));
    harness.start();
    harness
}

#[test]
fn a_parallel_multi_instance_runs_every_item_at_once_and_gathers_outputs() {
    let xml = repeated(
        "userTask",
        &multi(false, &list_input("EmpList"), &output("Done", "ename"), ""),
        "",
    );
    let mut harness = started(&xml, "SMITH:JONES:FORD");
    let waiting = harness.at_element("Work");
    assert_eq!(waiting.status, SubflowStatus::Iterating);
    assert_eq!(
        iterations_at(&harness, "Work"),
        [(1, "SMITH".into()), (2, "JONES".into()), (3, "FORD".into())]
    );
    for counter in [2, 1, 3] {
        complete_iteration(&mut harness, counter);
    }
    let after = harness.at_element("After");
    assert_eq!(after.id, waiting.id, "the waiting token moves on");
    assert_eq!(
        harness.instance.variable("Done"),
        Some(&VariableValue::Json(serde_json::json!([
            {"ename": "SMITH"}, {"ename": "JONES"}, {"ename": "FORD"}
        ])))
    );
    assert!(
        harness.instance.variable("ename").is_none(),
        "items stay in their iteration"
    );
}

#[test]
fn a_sequential_multi_instance_runs_one_item_after_the_other_until_its_condition_holds() {
    let xml = repeated(
        "userTask",
        &multi(
            true,
            &list_input("EmpList"),
            "",
            &completion(":F4A$completed_instances &gt;= 2"),
        ),
        "",
    );
    let mut harness = started(&xml, "A:B:C:D");
    assert_eq!(iterations_at(&harness, "Work"), [(1, "A".into())]);
    complete_iteration(&mut harness, 1);
    assert_eq!(iterations_at(&harness, "Work"), [(2, "B".into())]);
    complete_iteration(&mut harness, 2);
    harness.at_element("After");
    assert!(iterations_at(&harness, "Work").is_empty());
}

#[test]
fn a_parallel_completion_condition_stops_the_iterations_still_running() {
    let xml = repeated(
        "userTask",
        &multi(
            false,
            &list_input("EmpList"),
            "",
            &completion(":F4A$completed_instances = 1"),
        ),
        "",
    );
    let mut harness = started(&xml, "A:B:C");
    complete_iteration(&mut harness, 2);
    harness.at_element("After");
    assert!(
        iterations_at(&harness, "Work").is_empty(),
        "the others stopped"
    );
}

#[test]
fn an_empty_collection_skips_the_activity() {
    let xml = repeated(
        "userTask",
        &multi(false, &list_input("EmpList"), "", ""),
        "",
    );
    let harness = started(&xml, "");
    harness.at_element("After");
}

#[test]
fn a_missing_collection_puts_the_step_in_error() {
    let xml = repeated("userTask", &multi(false, &list_input("Nobody"), "", ""), "");
    let harness = started(&xml, "A");
    assert_eq!(harness.status(), ProcessStatus::Error);
}

#[test]
fn a_loop_repeats_until_its_condition_holds_with_the_loop_counter() {
    let characteristics = format!(
        "<bpmn:standardLoopCharacteristics><bpmn:extensionElements>{}{}\
         </bpmn:extensionElements></bpmn:standardLoopCharacteristics>",
        output("Rounds", "Note"),
        completion(":F4A$loop_counter &gt;= 3"),
    );
    let note = "<bpmn:extensionElements><apex:afterTask><apex:processVariable>\
        <apex:varSequence>0</apex:varSequence><apex:varName>Note</apex:varName>\
        <apex:varDataType>VARCHAR2</apex:varDataType><apex:varExpressionType>plsqlExpression</apex:varExpressionType>\
        <apex:varExpression>'round ' || :F4A$loop_counter</apex:varExpression></apex:processVariable>\
        </apex:afterTask></bpmn:extensionElements>";
    let xml = repeated("userTask", &characteristics, note);
    let mut harness = started(&xml, "");
    for counter in 1..=3 {
        complete_iteration(&mut harness, counter);
    }
    harness.at_element("After");
    assert!(harness.instance.variable("Rounds").is_some());
}

#[test]
fn an_array_drives_a_repeated_subprocess_whose_inside_sees_the_item() {
    let input = "<apex:inputCollection><apex:expressionType>processVariableArray</apex:expressionType>\
        <apex:expression>EmpArray</apex:expression></apex:inputCollection>";
    let label = "<bpmn:extensionElements><apex:afterTask><apex:processVariable>\
        <apex:varSequence>0</apex:varSequence><apex:varName>Label</apex:varName>\
        <apex:varDataType>VARCHAR2</apex:varDataType><apex:varExpressionType>plsqlExpression</apex:varExpressionType>\
        <apex:varExpression>'emp ' || :F4A$ename</apex:varExpression></apex:processVariable>\
        </apex:afterTask></bpmn:extensionElements>";
    let inside = format!(
        r#"<bpmn:startEvent id="IS"/><bpmn:userTask id="Inner">{label}</bpmn:userTask><bpmn:endEvent id="IE"/>{}{}"#,
        flow("i1", "IS", "Inner", None),
        flow("i2", "Inner", "IE", None),
    );
    let xml = repeated(
        "subProcess",
        &multi(false, input, &output("Out", "ename:empno:Label"), ""),
        &inside,
    );
    let mut harness = Harness::new(&xml);
    harness.set(
        "EmpArray",
        VariableValue::Json(serde_json::json!([
            {"ename": "SMITH", "empno": 7369},
            {"ename": "FORD", "empno": 7902}
        ])),
    );
    harness.start();
    let inner: Vec<_> = harness
        .instance
        .subflows()
        .iter()
        .filter(|s| s.current_element == "Inner" && s.is_live())
        .cloned()
        .collect();
    assert_eq!(inner.len(), 2);
    for token in inner {
        harness
            .run(|instance, ctx| instance.complete_step(ctx, token.id, &token.step_key))
            .expect("complete inner");
    }
    harness.at_element("After");
    assert_eq!(
        harness.instance.variable("Out"),
        Some(&VariableValue::Json(serde_json::json!([
            {"ename": "SMITH", "empno": 7369, "Label": "emp SMITH"},
            {"ename": "FORD", "empno": 7902, "Label": "emp FORD"}
        ])))
    );
    assert!(
        harness.instance.variable("Label").is_none(),
        "gathered variables stay inside"
    );
}

#[test]
fn an_interrupting_boundary_on_a_repeated_task_stops_every_iteration() {
    let boundary = format!(
        r#"<bpmn:boundaryEvent id="B" attachedToRef="Work"><bpmn:messageEventDefinition>
             <bpmn:extensionElements><apex:messageName><apex:expressionType>static</apex:expressionType>
             <apex:expression>stop</apex:expression></apex:messageName></bpmn:extensionElements>
           </bpmn:messageEventDefinition></bpmn:boundaryEvent>
           <bpmn:userTask id="Stopped"/><bpmn:endEvent id="SE"/>{}{}"#,
        flow("b1", "B", "Stopped", None),
        flow("b2", "Stopped", "SE", None),
    );
    let xml = repeated(
        "userTask",
        &multi(false, &list_input("EmpList"), "", ""),
        "",
    )
    .replace(
        "<bpmn:userTask id=\"After\"/>",
        &format!("<bpmn:userTask id=\"After\"/>{boundary}"),
    );
    let mut harness = started(&xml, "A:B");
    assert_eq!(
        harness.instance.subscriptions().len(),
        1,
        "one boundary for the whole activity"
    );
    harness
        .run(|instance, ctx| instance.correlate_message(ctx, "stop", None, None, None))
        .expect("correlate");
    harness.at_element("Stopped");
    assert!(iterations_at(&harness, "Work").is_empty());
}
