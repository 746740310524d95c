//! Flows for APEX behaviours: PL/SQL conditions in `apex:sequence` order, routing variables,
//! inclusive split and merge, link events, event-based gateways and Oracle timers.

use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, at, flow, process};
use crate::engine::value::VariableValue;

fn plsql_flow(id: &str, source: &str, target: &str, sequence: u32, condition: &str) -> String {
    format!(
        r#"<bpmn:sequenceFlow id="{id}" sourceRef="{source}" targetRef="{target}" apex:sequence="{sequence}">
             <bpmn:conditionExpression language="plsqlExpression">{condition}</bpmn:conditionExpression>
           </bpmn:sequenceFlow>"#
    )
}

/// S → G (exclusive or inclusive) → A | B | C → M (merge of the same kind) → E.
fn three_way(gateway: &str, default: &str, flows: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:{gateway} id="G" {default}/>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:task id="C"/>
           <bpmn:{gateway} id="M"/><bpmn:endEvent id="E"/>
           {}{flows}{}{}{}{}"#,
        flow("f0", "S", "G", None),
        flow("fa", "A", "M", None),
        flow("fb", "B", "M", None),
        flow("fc", "C", "M", None),
        flow("fe", "M", "E", None),
    ))
}

fn conditioned(gateway: &str) -> String {
    three_way(
        gateway,
        r#"default="toC""#,
        &[
            // Document order B before A, but apex:sequence puts A first.
            plsql_flow("toB", "G", "B", 20, ":F4A$food like '%CHIPS%'"),
            plsql_flow("toA", "G", "A", 10, "upper(:F4A$food) like '%PIZZA%'"),
            flow("toC", "G", "C", None),
        ]
        .concat(),
    )
}

fn current_tasks(harness: &Harness) -> Vec<String> {
    let mut current = harness.current();
    current.sort();
    current
}

#[test]
fn plsql_conditions_are_evaluated_in_sequence_order() {
    let mut harness = Harness::new(&conditioned("exclusiveGateway"));
    harness.set("FOOD", VariableValue::Varchar("pizza:CHIPS".into()));
    harness.start();
    assert_eq!(current_tasks(&harness), ["A"]);

    let mut harness = Harness::new(&conditioned("exclusiveGateway"));
    harness.set("food", VariableValue::Varchar("soup".into()));
    harness.start();
    assert_eq!(
        current_tasks(&harness),
        ["C"],
        "the default when nothing holds"
    );
}

#[test]
fn a_routing_variable_picks_the_flow_of_a_gateway_without_conditions() {
    let xml = three_way(
        "exclusiveGateway",
        "",
        &[
            flow("toA", "G", "A", None),
            flow("toB", "G", "B", None),
            flow("toC", "G", "C", None),
        ]
        .concat(),
    );
    let diagram = crate::engine::Diagram::parse(&xml).expect("imports");
    assert!(
        diagram
            .warnings()
            .iter()
            .any(|w| w.element_id == "G" && w.message.contains("G:route")),
        "{:?}",
        diagram.warnings()
    );

    let mut harness = Harness::new(&xml);
    harness.set("G:route", VariableValue::Varchar("toB".into()));
    harness.start();
    assert_eq!(current_tasks(&harness), ["B"]);

    let mut harness = Harness::new(&xml);
    harness.start();
    assert_eq!(
        harness.status(),
        ProcessStatus::Error,
        "no route and no variable"
    );

    let mut harness = Harness::new(&xml);
    harness.set("G:route", VariableValue::Varchar("toA:toB".into()));
    harness.start();
    assert_eq!(harness.status(), ProcessStatus::Error, "one route only");
}

#[test]
fn inclusive_gateways_split_on_every_holding_condition_and_merge_what_they_started() {
    let mut harness = Harness::new(&conditioned("inclusiveGateway"));
    harness.set("food", VariableValue::Varchar("PIZZA:CHIPS".into()));
    harness.start();
    assert_eq!(current_tasks(&harness), ["A", "B"]);
    harness.complete("A").expect("complete A");
    assert_eq!(harness.at_element("M").status, SubflowStatus::WaitingJoin);
    harness.complete("B").expect("complete B");
    assert_eq!(harness.status(), ProcessStatus::Completed);

    let mut harness = Harness::new(&conditioned("inclusiveGateway"));
    harness.set("food", VariableValue::Varchar("soup".into()));
    harness.start();
    assert_eq!(current_tasks(&harness), ["C"]);
    harness.complete("C").expect("complete C");
    assert_eq!(
        harness.status(),
        ProcessStatus::Completed,
        "one branch merges alone"
    );
}

#[test]
fn an_inclusive_routing_variable_names_several_flows() {
    let xml = three_way(
        "inclusiveGateway",
        "",
        &[
            flow("toA", "G", "A", None),
            flow("toB", "G", "B", None),
            flow("toC", "G", "C", None),
        ]
        .concat(),
    );
    let mut harness = Harness::new(&xml);
    harness.set("G:route", VariableValue::Varchar("toA:toC".into()));
    harness.start();
    assert_eq!(current_tasks(&harness), ["A", "C"]);
    harness.complete("C").expect("complete C");
    harness.complete("A").expect("complete A");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn link_events_jump_and_throw_events_pass() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:intermediateThrowEvent id="N"/>
           <bpmn:intermediateThrowEvent id="L1" name="LinkA"><bpmn:linkEventDefinition name=""/></bpmn:intermediateThrowEvent>
           <bpmn:intermediateCatchEvent id="L2" name="LinkA"><bpmn:linkEventDefinition/></bpmn:intermediateCatchEvent>
           <bpmn:task id="T"/><bpmn:endEvent id="E"><bpmn:errorEventDefinition/></bpmn:endEvent>
           {}{}{}{}"#,
        flow("f1", "S", "N", None),
        flow("f2", "N", "L1", None),
        flow("f3", "L2", "T", None),
        flow("f4", "T", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    assert_eq!(harness.current(), ["T"]);
    harness.complete("T").expect("complete");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn the_first_event_after_an_event_based_gateway_wins() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:eventBasedGateway id="G"/>
           <bpmn:intermediateCatchEvent id="Msg"><bpmn:messageEventDefinition>
             <bpmn:extensionElements><apex:messageName><apex:expression>go</apex:expression></apex:messageName></bpmn:extensionElements>
           </bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="Late"><bpmn:timerEventDefinition>
             <bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:endEvent id="E"/>
           {}{}{}{}{}{}{}"#,
        flow("f1", "S", "G", None),
        flow("f2", "G", "Msg", None),
        flow("f3", "G", "Late", None),
        flow("f4", "Msg", "A", None),
        flow("f5", "Late", "B", None),
        flow("f6", "A", "E", None),
        flow("f7", "B", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    assert_eq!(harness.instance.timers().len(), 1);
    assert_eq!(harness.instance.subscriptions().len(), 1);
    harness
        .run(|i, ctx| i.correlate_message(ctx, "go", None, None, None))
        .expect("correlate");
    assert_eq!(harness.current(), ["A"]);
    assert!(harness.instance.timers().is_empty(), "the timer closed");
    harness.complete("A").expect("complete");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn oracle_timers_schedule_from_their_settings() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition apex:timerType="oracleDuration">
             <bpmn:extensionElements><apex:oracleDuration>
               <apex:intervalYM>00-00</apex:intervalYM><apex:intervalDS>000 00:02:30</apex:intervalDS>
             </apex:oracleDuration></bpmn:extensionElements>
           </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="D"><bpmn:timerEventDefinition apex:timerType="oracleDate">
             <bpmn:extensionElements><apex:oracleDate>
               <apex:date>01-JAN-2024 10:15:00</apex:date><apex:formatMask>DD-MON-YYYY HH24:MI:SS</apex:formatMask>
             </apex:oracleDate></bpmn:extensionElements>
           </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="V"><bpmn:timerEventDefinition>
             <bpmn:timeDuration>&amp;F4A$wait.</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:endEvent id="E"/>{}{}{}{}"#,
        flow("f1", "S", "W", None),
        flow("f2", "W", "D", None),
        flow("f3", "D", "V", None),
        flow("f4", "V", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.set("WAIT", VariableValue::Varchar("PT5M".into()));
    harness.start();
    let due = harness.instance.next_timer_due().expect("a timer");
    assert_eq!(due, at(8, 2) + chrono::TimeDelta::seconds(30));
    harness.now = at(8, 3);
    harness.run(|i, ctx| i.fire_due_timers(ctx)).expect("fire");
    assert_eq!(harness.instance.next_timer_due(), Some(at(10, 15)));
    harness.now = at(10, 15);
    harness.run(|i, ctx| i.fire_due_timers(ctx)).expect("fire");
    assert_eq!(
        harness.instance.next_timer_due(),
        Some(at(10, 20)),
        "from a variable"
    );
}

#[test]
fn several_outgoing_flows_split_and_none_end_the_path() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:task id="T"/><bpmn:task id="A"/>
           <bpmn:serviceTask id="B"/><bpmn:endEvent id="E"/>{}{}{}{}"#,
        flow("f1", "S", "T", None),
        flow("f2", "T", "A", None),
        flow("f3", "T", "B", None),
        flow("f4", "A", "E", None),
    ));
    let diagram = crate::engine::Diagram::parse(&xml).expect("imports");
    let warned: Vec<&str> = diagram
        .warnings()
        .iter()
        .map(|w| w.element_id.as_str())
        .collect();
    assert_eq!(warned, ["B", "T", "B"], "{:?}", diagram.warnings());
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.complete("T").expect("complete T");
    assert_eq!(current_tasks(&harness), ["A", "B"]);
    harness.complete("B").expect("complete B");
    assert_eq!(harness.status(), ProcessStatus::Running);
    harness.complete("A").expect("complete A");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn an_empty_timer_or_a_nameless_message_imports_and_fails_when_reached() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>
           <bpmn:receiveTask id="R"/><bpmn:endEvent id="E"/>{}{}{}"#,
        flow("f1", "S", "W", None),
        flow("f2", "W", "R", None),
        flow("f3", "R", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    assert_eq!(harness.diagram.warnings().len(), 2);
    harness.start();
    assert_eq!(harness.status(), ProcessStatus::Error);
    assert_eq!(harness.instance.activities().error, ["W"]);
}
