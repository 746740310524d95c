//! `apex:` process-variable expressions: set before a task and after it, in sequence, from
//! static text, another variable and PL/SQL; a failing one puts the step in error.

use crate::engine::Diagram;
use crate::engine::instance::ProcessStatus;
use crate::engine::test_support::{Harness, flow, process};
use crate::engine::value::VariableValue;

fn variable(sequence: u32, name: &str, data_type: &str, kind: &str, expression: &str) -> String {
    format!(
        "<apex:processVariable><apex:varSequence>{sequence}</apex:varSequence>\
         <apex:varName>{name}</apex:varName><apex:varDataType>{data_type}</apex:varDataType>\
         <apex:varExpressionType>{kind}</apex:varExpressionType>\
         <apex:varExpression>{expression}</apex:varExpression></apex:processVariable>"
    )
}

fn with_sets(before: &str, after: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:task id="T"><bpmn:extensionElements>
             <apex:beforeTask>{before}</apex:beforeTask><apex:afterTask>{after}</apex:afterTask>
           </bpmn:extensionElements></bpmn:task>
           <bpmn:userTask id="Next"/><bpmn:endEvent id="E"/>{}{}{}"#,
        flow("f1", "S", "T", None),
        flow("f2", "T", "Next", None),
        flow("f3", "Next", "E", None),
    ))
}

fn value(harness: &Harness, name: &str) -> Option<VariableValue> {
    harness.instance.variables().get(name).cloned()
}

#[test]
fn before_and_after_a_task_in_sequence() {
    let before = [
        // Sequence 1 runs after 0 and sees what it set.
        variable(1, "Copy", "VARCHAR2", "processVariable", "Greeting"),
        variable(0, "Greeting", "VARCHAR2", "static", "hello"),
        variable(2, "Doubled", "NUMBER", "plsqlExpression", ":F4A$AMOUNT * 2"),
    ]
    .concat();
    let after = [
        variable(
            0,
            "Shout",
            "VARCHAR2",
            "plsqlFunctionBody",
            "return upper(:F4A$GREETING) || '!';",
        ),
        variable(1, "Due", "DATE", "static", "2024-02-01 10:00:00"),
        variable(
            2,
            "Stays",
            "VARCHAR2",
            "sqlQuerySingle",
            "select 1 from dual",
        ),
    ]
    .concat();
    let xml = with_sets(&before, &after);
    let diagram = Diagram::parse(&xml).expect("imports");
    assert!(
        diagram
            .warnings()
            .iter()
            .any(|w| w.element_id == "T" && w.message.contains("'Stays' needs Oracle")),
        "{:?}",
        diagram.warnings()
    );
    let mut harness = Harness::new(&xml);
    harness.set("amount", VariableValue::Number(21.0));
    harness.start();
    assert_eq!(
        value(&harness, "Greeting"),
        Some(VariableValue::Varchar("hello".into()))
    );
    assert_eq!(
        value(&harness, "Copy"),
        Some(VariableValue::Varchar("hello".into()))
    );
    assert_eq!(
        value(&harness, "Doubled"),
        Some(VariableValue::Number(42.0))
    );
    assert_eq!(
        value(&harness, "Shout"),
        None,
        "not before the task completes"
    );
    harness.complete("T").expect("complete T");
    assert_eq!(
        value(&harness, "Shout"),
        Some(VariableValue::Varchar("HELLO!".into()))
    );
    assert!(matches!(
        value(&harness, "Due"),
        Some(VariableValue::Date(_))
    ));
    assert_eq!(value(&harness, "Stays"), None);
}

#[test]
fn a_failing_expression_puts_the_step_in_error() {
    let before = variable(0, "N", "NUMBER", "plsqlExpression", "to_number('abc')");
    let mut harness = Harness::new(&with_sets(&before, ""));
    harness.start();
    assert_eq!(harness.status(), ProcessStatus::Error);
}

#[test]
fn unknown_types_are_refused_at_import() {
    let bad_type = variable(0, "N", "BLOB", "static", "x");
    let error = Diagram::parse(&with_sets(&bad_type, "")).unwrap_err();
    assert_eq!(error.element_id, "T");
    assert!(error.reason.contains("BLOB"), "{error}");
    let bad_kind = variable(0, "N", "VARCHAR2", "javascript", "x");
    assert!(Diagram::parse(&with_sets(&bad_kind, "")).is_err());
}
