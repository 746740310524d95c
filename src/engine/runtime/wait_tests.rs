//! Message and timer catch events, and terminate end events.

use chrono::TimeDelta;
use serde_json::json;

use super::EngineError;
use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, at, flow, process};
use crate::engine::value::VariableValue;

fn apex_value(tag: &str, kind: &str, expression: &str) -> String {
    format!(
        "<apex:{tag}><apex:expressionType>{kind}</apex:expressionType>\
         <apex:expression>{expression}</apex:expression></apex:{tag}>"
    )
}

/// S → W (the given wait element) → E
fn waiting_at(element: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/>{element}<bpmn:endEvent id="E"/>{}{}"#,
        flow("f1", "S", "W", None),
        flow("f2", "W", "E", None)
    ))
}

fn correlated_catch_event() -> String {
    waiting_at(&format!(
        r#"<bpmn:intermediateCatchEvent id="W"><bpmn:messageEventDefinition>
             <bpmn:extensionElements>{}{}{}<apex:payloadVariable>reply</apex:payloadVariable>
             </bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>"#,
        apex_value("messageName", "processVariable", "topic"),
        apex_value("correlationKey", "static", "case_no"),
        apex_value("correlationValue", "processVariable", "case_no"),
    ))
}

#[test]
fn message_catch_subscribes_with_values_resolved_on_arrival() {
    let mut harness = Harness::new(&correlated_catch_event());
    harness.set("topic", VariableValue::Varchar("answer".into()));
    harness.set("case_no", VariableValue::Number(17.0));
    harness.start();
    assert_eq!(
        harness.at_element("W").status,
        SubflowStatus::WaitingMessage
    );
    harness.set("case_no", VariableValue::Number(18.0));

    let subscription = harness.instance.subscriptions()[0].clone();
    assert_eq!(subscription.message_name, "answer");
    assert_eq!(subscription.correlation_value.as_deref(), Some("17"));
    assert!(
        harness
            .instance
            .awaits_message("answer", Some("case_no"), Some("17"))
    );
    assert!(
        !harness
            .instance
            .awaits_message("answer", Some("case_no"), Some("18"))
    );

    let payload = json!("see attachment");
    let outcome = harness
        .run(|i, ctx| {
            i.correlate_message(ctx, "answer", Some("case_no"), Some("17"), Some(&payload))
        })
        .expect("correlate");
    assert_eq!(outcome.correlated, [subscription]);
    assert_eq!(harness.status(), ProcessStatus::Completed);
    assert_eq!(
        harness.instance.variable("reply"),
        Some(&VariableValue::Clob("see attachment".into()))
    );
}

#[test]
fn message_catch_fails_without_its_variable_and_restarts() {
    let mut harness = Harness::new(&correlated_catch_event());
    harness.set("topic", VariableValue::Varchar("answer".into()));
    harness.start();
    let failed = harness.at_element("W");
    assert_eq!(failed.status, SubflowStatus::Error);
    assert_eq!(harness.status(), ProcessStatus::Error);

    harness.set("case_no", VariableValue::Varchar("C-9".into()));
    harness
        .run(|i, ctx| i.restart_step(ctx, failed.id, &failed.step_key))
        .expect("restart");
    assert_eq!(harness.status(), ProcessStatus::Running);
    assert_eq!(
        harness.instance.subscriptions()[0]
            .correlation_value
            .as_deref(),
        Some("C-9")
    );
}

#[test]
fn receive_task_takes_its_name_from_the_referenced_message() {
    let xml = waiting_at(r#"<bpmn:receiveTask id="W" messageRef="M"/>"#).replace(
        r#"<bpmn:process"#,
        r#"<bpmn:message id="M" name="go"/><bpmn:process"#,
    );
    let mut harness = Harness::new(&xml);
    harness.start();
    let step = harness.at_element("W");
    assert_eq!(step.status, SubflowStatus::WaitingMessage);
    let not_a_task = harness.run(|i, ctx| i.complete_step(ctx, step.id, &step.step_key));
    assert_eq!(not_a_task, Err(EngineError::NotAWaitingTask));

    let outcome = harness
        .run(|i, ctx| i.correlate_message(ctx, "go", Some("any"), Some("thing"), None))
        .expect("correlate");
    assert_eq!(outcome.correlated.len(), 1);
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

fn timer(definition: &str) -> String {
    waiting_at(&format!(
        r#"<bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition>{definition}
           </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
    ))
}

#[test]
fn duration_timers_fire_when_due() {
    let mut harness = Harness::new(&timer("<bpmn:timeDuration>PT5M</bpmn:timeDuration>"));
    harness.start();
    assert_eq!(harness.at_element("W").status, SubflowStatus::WaitingTimer);
    assert_eq!(harness.instance.next_timer_due(), Some(at(8, 5)));

    harness.now = at(8, 4);
    let early = harness.run(|i, ctx| i.fire_due_timers(ctx)).expect("fire");
    assert!(early.fired_timers.is_empty());
    assert_eq!(harness.status(), ProcessStatus::Running);

    harness.now = at(8, 5);
    let due = harness.run(|i, ctx| i.fire_due_timers(ctx)).expect("fire");
    assert_eq!(due.fired_timers.len(), 1);
    assert_eq!(harness.status(), ProcessStatus::Completed);
    assert!(harness.instance.timers().is_empty());
}

#[test]
fn date_timers_are_due_at_their_date() {
    let mut harness = Harness::new(&timer(
        "<bpmn:timeDate>2024-01-01T09:30:00+01:00</bpmn:timeDate>",
    ));
    harness.start();
    assert_eq!(harness.instance.next_timer_due(), Some(at(8, 30)));
}

#[test]
fn timers_can_be_rescheduled_or_fired_at_once() {
    let mut harness = Harness::new(&timer("<bpmn:timeDuration>P1DT2H</bpmn:timeDuration>"));
    harness.start();
    assert_eq!(
        harness.instance.next_timer_due(),
        Some(at(8, 0) + TimeDelta::hours(26))
    );
    let step = harness.at_element("W");

    let later = at(12, 0);
    harness
        .run(|i, ctx| i.reschedule_timer(ctx, step.id, &step.step_key, false, Some(later)))
        .expect("reschedule");
    assert_eq!(harness.instance.next_timer_due(), Some(later));
    let missing =
        harness.run(|i, ctx| i.reschedule_timer(ctx, step.id, &step.step_key, false, None));
    assert_eq!(missing, Err(EngineError::MissingTimestamp));
    let stale = harness.run(|i, ctx| i.reschedule_timer(ctx, step.id, "old", true, None));
    assert_eq!(stale, Err(EngineError::StepKeyMismatch));

    let outcome = harness
        .run(|i, ctx| i.reschedule_timer(ctx, step.id, &step.step_key, true, None))
        .expect("fire now");
    assert_eq!(outcome.fired_timers.len(), 1);
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn rescheduling_needs_a_waiting_timer() {
    let mut harness = Harness::new(&correlated_catch_event());
    harness.set("topic", VariableValue::Varchar("t".into()));
    harness.set("case_no", VariableValue::Varchar("1".into()));
    harness.start();
    let step = harness.at_element("W");
    let refused =
        harness.run(|i, ctx| i.reschedule_timer(ctx, step.id, &step.step_key, true, None));
    assert_eq!(refused, Err(EngineError::NotWaitingForTimer));
}

#[test]
fn terminate_end_event_stops_every_branch() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:parallelGateway id="Split"/>
           <bpmn:task id="A"/>
           <bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition>
             <bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
           </bpmn:intermediateCatchEvent>
           <bpmn:endEvent id="Stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>
           <bpmn:endEvent id="E"/>{}{}{}{}{}"#,
        flow("f0", "S", "Split", None),
        flow("fa", "Split", "A", None),
        flow("fw", "Split", "Wait", None),
        flow("stop", "A", "Stop", None),
        flow("fe", "Wait", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    assert_eq!(harness.instance.timers().len(), 1);
    let outcome = harness.complete("A").expect("A");
    assert_eq!(outcome.status, ProcessStatus::Completed);
    assert!(harness.instance.timers().is_empty());
    assert!(harness.instance.subflows().iter().all(|s| !s.is_live()));
    assert!(
        !harness
            .instance
            .activities()
            .completed
            .contains(&"E".to_string())
    );
}

#[test]
fn a_timer_start_event_holds_the_first_step_until_it_fires() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"><bpmn:timerEventDefinition>
             <bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>
           <bpmn:userTask id="T"/><bpmn:endEvent id="E"/>{}{}"#,
        flow("f1", "S", "T", None),
        flow("f2", "T", "E", None)
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    assert_eq!(harness.at_element("S").status, SubflowStatus::WaitingTimer);
    assert_eq!(harness.instance.next_timer_due(), Some(at(8, 10)));
    harness.now = at(8, 10);
    harness
        .run(|instance, ctx| instance.fire_due_timers(ctx))
        .expect("fires");
    harness.complete("T").expect("complete T");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn a_subprocess_start_event_cannot_wait_for_a_timer() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:subProcess id="Sub">
             <bpmn:startEvent id="IS"><bpmn:timerEventDefinition>
               <bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>
             <bpmn:endEvent id="IE"/>{}</bpmn:subProcess><bpmn:endEvent id="E"/>{}{}"#,
        flow("i1", "IS", "IE", None),
        flow("f1", "S", "Sub", None),
        flow("f2", "Sub", "E", None)
    ));
    let error = crate::engine::Diagram::parse(&xml).expect_err("refused");
    assert_eq!(error.element_id, "IS");
}
