//! Embedded subprocesses: the outer token waits `in subprocess` while inner tokens run, and
//! moves on once the inside has ended; a terminate end event inside ends only the inside.

use crate::engine::Diagram;
use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, flow, process};

/// S → Before → Sub[ IS → Inner → IE ] → After → E
fn nested(inner: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:task id="Before"/>
           <bpmn:subProcess id="Sub">{inner}</bpmn:subProcess>
           <bpmn:task id="After"/><bpmn:endEvent id="E"/>
           {}{}{}{}"#,
        flow("f1", "S", "Before", None),
        flow("f2", "Before", "Sub", None),
        flow("f3", "Sub", "After", None),
        flow("f4", "After", "E", None),
    ))
}

fn linear_inside() -> String {
    format!(
        r#"<bpmn:startEvent id="IS"/><bpmn:userTask id="Inner"/><bpmn:endEvent id="IE"/>{}{}"#,
        flow("i1", "IS", "Inner", None),
        flow("i2", "Inner", "IE", None),
    )
}

#[test]
fn the_outer_token_waits_while_the_inside_runs() {
    let mut harness = Harness::new(&nested(&linear_inside()));
    harness.start();
    harness.complete("Before").expect("complete Before");
    let waiting = harness.at_element("Sub");
    assert_eq!(waiting.status, SubflowStatus::InSubprocess);
    let inner = harness.at_element("Inner");
    assert_eq!(inner.parent_id, Some(waiting.id));
    assert_eq!(
        inner.process_level, inner.id,
        "as in Flows, the first subflow of a level names it"
    );
    assert_eq!(inner.calling_subflow, Some(waiting.id));
    assert_eq!(inner.status, SubflowStatus::Running);

    harness.complete("Inner").expect("complete Inner");
    let after = harness.at_element("After");
    assert_eq!(after.id, waiting.id, "the outer token itself moves on");
    assert!(
        harness
            .instance
            .activities()
            .completed
            .contains(&"Sub".to_string())
    );
    harness.complete("After").expect("complete After");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

/// IS → Fork → A → `end_a` (id EndA) and B → EB, inside the subprocess.
fn forked_inside(end_a: &str) -> String {
    format!(
        r#"<bpmn:startEvent id="IS"/><bpmn:parallelGateway id="Fork"/>
           <bpmn:task id="A"/><bpmn:task id="B"/>{end_a}<bpmn:endEvent id="EB"/>{}{}{}{}{}"#,
        flow("i1", "IS", "Fork", None),
        flow("i2", "Fork", "A", None),
        flow("i3", "Fork", "B", None),
        flow("i4", "A", "EndA", None),
        flow("i5", "B", "EB", None),
    )
}

#[test]
fn parallel_branches_inside_all_end_before_the_outer_token_moves() {
    let inside = forked_inside(r#"<bpmn:endEvent id="EndA"/>"#);
    let mut harness = Harness::new(&nested(&inside));
    harness.start();
    harness.complete("Before").expect("complete Before");
    let waiting = harness.at_element("Sub").id;
    let level = harness
        .instance
        .subflows()
        .iter()
        .find(|s| s.current_element == "Fork")
        .map(|s| s.process_level)
        .expect("the first subflow inside");
    assert_ne!(level, 0);
    for branch in ["A", "B"] {
        let token = harness.at_element(branch);
        assert_eq!(
            token.process_level, level,
            "{branch} runs on the subprocess's level"
        );
        assert_eq!(token.calling_subflow, Some(waiting), "{branch}");
    }
    harness.complete("A").expect("complete A");
    assert_eq!(
        harness.at_element("Sub").status,
        SubflowStatus::InSubprocess
    );
    harness.complete("B").expect("complete B");
    harness.at_element("After");
}

#[test]
fn a_terminate_end_inside_ends_only_the_subprocess() {
    let inside = forked_inside(
        r#"<bpmn:endEvent id="EndA"><bpmn:terminateEventDefinition/></bpmn:endEvent>"#,
    );
    let mut harness = Harness::new(&nested(&inside));
    harness.start();
    harness.complete("Before").expect("complete Before");
    harness.complete("A").expect("complete A");
    assert_eq!(
        harness.status(),
        ProcessStatus::Running,
        "the instance goes on"
    );
    harness.at_element("After");
    assert!(
        harness
            .instance
            .subflows()
            .iter()
            .all(|s| s.current_element != "B" || s.status == SubflowStatus::Completed),
        "B was stopped: {:#?}",
        harness.instance.subflows()
    );
}

#[test]
fn subprocesses_nest() {
    let deepest = format!(
        r#"<bpmn:startEvent id="DS"/><bpmn:task id="D"/><bpmn:endEvent id="DE"/>{}{}"#,
        flow("d1", "DS", "D", None),
        flow("d2", "D", "DE", None),
    );
    let deeper = format!(
        r#"<bpmn:startEvent id="IS"/><bpmn:subProcess id="Deep">{deepest}</bpmn:subProcess>
           <bpmn:endEvent id="IE"/>{}{}"#,
        flow("i1", "IS", "Deep", None),
        flow("i2", "Deep", "IE", None),
    );
    let mut harness = Harness::new(&nested(&deeper));
    harness.start();
    harness.complete("Before").expect("complete Before");
    assert_eq!(
        harness.at_element("Deep").status,
        SubflowStatus::InSubprocess
    );
    harness.complete("D").expect("complete D");
    harness.complete("After").expect("complete After");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn the_import_checks_the_inside() {
    let refused = |inside: &str| Diagram::parse(&nested(inside)).unwrap_err();
    assert_eq!(refused("").element_id, "Sub", "no start event");
    let crossing = format!(
        r#"<bpmn:startEvent id="IS"/><bpmn:endEvent id="IE"/>{}{}"#,
        flow("i1", "IS", "IE", None),
        flow("out", "IS", "After", None),
    );
    assert_eq!(refused(&crossing).element_id, "out");
    let event_subprocess = process(
        r#"<bpmn:startEvent id="S"/><bpmn:endEvent id="E"/>
           <bpmn:sequenceFlow id="f" sourceRef="S" targetRef="E"/>
           <bpmn:subProcess id="Ev" triggeredByEvent="true"/>"#,
    );
    assert!(
        Diagram::parse(&event_subprocess)
            .unwrap_err()
            .reason
            .contains("event subprocesses")
    );
}
