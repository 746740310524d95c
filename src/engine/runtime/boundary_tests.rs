//! Boundary events on tasks and subprocesses: timers and messages, interrupting or not, and
//! errors and escalations thrown inside a subprocess.

use chrono::Duration;

use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, at, flow, process};

/// S → Work → E, and boundary `B` (its definition given) on Work → Late → LE.
fn on_task(cancel: bool, definition: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:userTask id="Work"/><bpmn:endEvent id="E"/>
           <bpmn:boundaryEvent id="B" attachedToRef="Work" cancelActivity="{cancel}">{definition}</bpmn:boundaryEvent>
           <bpmn:task id="Late"/><bpmn:endEvent id="LE"/>{}{}{}{}"#,
        flow("f1", "S", "Work", None),
        flow("f2", "Work", "E", None),
        flow("b1", "B", "Late", None),
        flow("b2", "Late", "LE", None),
    ))
}

const TEN_MINUTES: &str = "<bpmn:timerEventDefinition><bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>";

fn fire_timers(harness: &mut Harness) {
    harness
        .run(|instance, ctx| instance.fire_due_timers(ctx))
        .expect("timers fire");
}

#[test]
fn an_interrupting_timer_takes_the_token_off_its_task() {
    let mut harness = Harness::new(&on_task(true, TEN_MINUTES));
    harness.start();
    let work = harness.at_element("Work");
    assert_eq!(harness.instance.next_timer_due(), Some(at(8, 10)));
    harness.now = at(8, 11);
    fire_timers(&mut harness);
    let late = harness.at_element("Late");
    assert_eq!(late.id, work.id, "the same token moved");
    assert!(harness.current().iter().all(|c| c != "Work"));
    harness.complete("Late").expect("complete Late");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn a_non_interrupting_cycle_adds_tokens_and_stops_with_its_task() {
    let cycle = "<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT5M</bpmn:timeCycle></bpmn:timerEventDefinition>";
    let mut harness = Harness::new(&on_task(false, cycle));
    harness.start();
    for minute in [5, 10] {
        harness.now = at(8, minute);
        fire_timers(&mut harness);
    }
    let reminders = |harness: &Harness| {
        harness
            .instance
            .subflows()
            .iter()
            .filter(|s| s.current_element == "Late" && s.is_live())
            .count()
    };
    assert_eq!(reminders(&harness), 2, "one token per firing");
    assert_eq!(harness.at_element("Work").status, SubflowStatus::Running);
    harness.complete("Work").expect("complete Work");
    assert_eq!(
        harness.instance.next_timer_due(),
        None,
        "disarmed with its task"
    );
    harness.now = at(8, 30);
    fire_timers(&mut harness);
    assert_eq!(reminders(&harness), 2);
}

#[test]
fn a_message_boundary_is_correlated_like_a_catch_event() {
    let message = r#"<bpmn:messageEventDefinition>
        <bpmn:extensionElements><apex:messageName><apex:expressionType>static</apex:expressionType><apex:expression>cancel</apex:expression></apex:messageName></bpmn:extensionElements>
      </bpmn:messageEventDefinition>"#;
    let mut harness = Harness::new(&on_task(true, message));
    harness.start();
    harness
        .run(|instance, ctx| instance.correlate_message(ctx, "cancel", None, None, None))
        .expect("correlates");
    harness.at_element("Late");
    assert!(harness.instance.subscriptions().is_empty());
}

/// S → Sub[ IS → Inner → (inner end) ] → After → E, boundary `B` on Sub → Caught → CE.
fn on_subprocess(inner_end: &str, boundary: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/>
           <bpmn:subProcess id="Sub">
             <bpmn:startEvent id="IS"/><bpmn:userTask id="Inner"/><bpmn:userTask id="Other"/>
             {inner_end}<bpmn:endEvent id="OE"/>
             <bpmn:parallelGateway id="Fork"/>{}{}{}{}{}
           </bpmn:subProcess>
           <bpmn:task id="After"/><bpmn:endEvent id="E"/>
           {boundary}<bpmn:task id="Caught"/><bpmn:endEvent id="CE"/>{}{}{}{}{}"#,
        flow("i1", "IS", "Fork", None),
        flow("i2", "Fork", "Inner", None),
        flow("i3", "Fork", "Other", None),
        flow("i4", "Inner", "Throw", None),
        flow("i5", "Other", "OE", None),
        flow("f1", "S", "Sub", None),
        flow("f2", "Sub", "After", None),
        flow("f3", "After", "E", None),
        flow("c1", "B", "Caught", None),
        flow("c2", "Caught", "CE", None),
    ))
}

#[test]
fn an_error_end_inside_leaves_by_the_error_boundary() {
    let xml = on_subprocess(
        r#"<bpmn:endEvent id="Throw"><bpmn:errorEventDefinition errorRef="Err_1"/></bpmn:endEvent>"#,
        r#"<bpmn:boundaryEvent id="B" attachedToRef="Sub"><bpmn:errorEventDefinition errorRef="Err_1"/></bpmn:boundaryEvent>"#,
    );
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.complete("Inner").expect("complete Inner");
    harness.at_element("Caught");
    assert!(
        harness.current().iter().all(|c| c != "Other" && c != "Sub"),
        "the inside stopped: {:?}",
        harness.current()
    );
    harness.complete("Caught").expect("complete Caught");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn a_non_interrupting_escalation_lets_the_subprocess_go_on() {
    let xml = on_subprocess(
        r#"<bpmn:endEvent id="Throw"><bpmn:escalationEventDefinition/></bpmn:endEvent>"#,
        r#"<bpmn:boundaryEvent id="B" attachedToRef="Sub" cancelActivity="false"><bpmn:escalationEventDefinition/></bpmn:boundaryEvent>"#,
    );
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.complete("Inner").expect("complete Inner");
    harness.at_element("Caught");
    assert_eq!(
        harness.at_element("Sub").status,
        SubflowStatus::InSubprocess
    );
    harness.complete("Other").expect("complete Other");
    harness.at_element("After");
    harness.complete("Caught").expect("complete Caught");
    harness.complete("After").expect("complete After");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn an_interrupting_timer_on_a_subprocess_stops_its_inside() {
    let xml = on_subprocess(
        r#"<bpmn:endEvent id="Throw"/>"#,
        &format!(
            r#"<bpmn:boundaryEvent id="B" attachedToRef="Sub">{TEN_MINUTES}</bpmn:boundaryEvent>"#
        ),
    );
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.now += Duration::minutes(10);
    fire_timers(&mut harness);
    harness.at_element("Caught");
    assert!(
        harness
            .instance
            .subflows()
            .iter()
            .filter(|s| s.current_element == "Inner" || s.current_element == "Other")
            .all(|s| s.status == SubflowStatus::Completed)
    );
}
