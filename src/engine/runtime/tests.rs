//! Tasks, step operations, gateways and the instance life cycle.

use super::EngineError;
use crate::engine::instance::{Instance, ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, LINEAR_REVIEW, flow, process};
use crate::engine::value::VariableValue;

fn start_task_end(task_tag: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:{task_tag} id="T"/><bpmn:endEvent id="E"/>{}{}"#,
        flow("f1", "S", "T", None),
        flow("f2", "T", "E", None)
    ))
}

#[test]
fn every_task_kind_waits_until_completed() {
    for tag in [
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
    ] {
        let mut harness = Harness::new(&start_task_end(tag));
        harness.start();
        let step = harness.at_element("T");
        assert_eq!(step.status, SubflowStatus::Running, "{tag}");
        assert_eq!(harness.status(), ProcessStatus::Running);
        harness.complete("T").expect("complete");
        assert_eq!(harness.status(), ProcessStatus::Completed, "{tag}");
        assert_eq!(harness.instance.activities().completed, ["S", "T", "E"]);
    }
}

#[test]
fn every_move_changes_the_step_key_and_stale_keys_are_refused() {
    let mut harness = Harness::new(LINEAR_REVIEW);
    harness.start();
    let review = harness.at_element("Task_Review");
    harness.complete("Task_Review").expect("complete");
    let publish = harness.at_element("Task_Publish");
    assert_eq!(publish.id, review.id, "one subflow carries the token");
    assert_ne!(publish.step_key, review.step_key);

    let before = harness.instance.clone();
    let stale = harness.run(|i, ctx| i.complete_step(ctx, review.id, &review.step_key));
    assert_eq!(stale, Err(EngineError::StepKeyMismatch));
    assert_eq!(
        stale.unwrap_err().to_string(),
        "Step key does not match current step"
    );
    let missing = harness.run(|i, ctx| i.complete_step(ctx, 99, &publish.step_key));
    assert_eq!(missing, Err(EngineError::SubflowNotFound));
    assert_eq!(harness.instance, before, "refusals change nothing");
}

#[test]
fn step_operations_need_a_running_process() {
    let mut harness = Harness::new(LINEAR_REVIEW);
    let early = harness.run(|i, ctx| i.complete_step(ctx, 1, "key-1"));
    assert_eq!(early, Err(EngineError::ProcessNotRunning));
    harness.start();
    let again = harness.run(|i, ctx| i.start(ctx));
    assert_eq!(again, Err(EngineError::ProcessAlreadyStarted));
}

#[test]
fn reserve_release_and_start_step() {
    let mut harness = Harness::new(LINEAR_REVIEW);
    harness.start();
    let step = harness.at_element("Task_Review");
    let (id, key) = (step.id, step.step_key.clone());

    harness
        .run(|i, ctx| i.reserve(ctx, id, &key, "alice"))
        .expect("reserve");
    let again = harness.run(|i, ctx| i.reserve(ctx, id, &key, "bob"));
    assert_eq!(again, Err(EngineError::AlreadyReserved));
    assert_eq!(
        harness.at_element("Task_Review").reservation.as_deref(),
        Some("alice")
    );
    assert_eq!(
        harness.at_element("Task_Review").step_key,
        key,
        "a reservation is no move"
    );

    harness
        .run(|i, ctx| i.release(ctx, id, &key))
        .expect("release");
    assert_eq!(harness.at_element("Task_Review").reservation, None);
    let empty = harness.run(|i, ctx| i.reserve(ctx, id, &key, " "));
    assert_eq!(empty, Err(EngineError::EmptyReservation));

    harness
        .run(|i, ctx| i.start_step(ctx, id, &key))
        .expect("start step");
    assert_eq!(
        harness.at_element("Task_Review").work_started,
        Some(harness.now)
    );
    harness
        .run(|i, ctx| i.reserve(ctx, id, &key, "alice"))
        .expect("reserve");
    harness.complete("Task_Review").expect("complete");
    let next = harness.at_element("Task_Publish");
    assert_eq!((next.reservation, next.work_started), (None, None));
}

fn decision(conditions: [&str; 2], default: bool) -> String {
    let default_attribute = if default {
        r#" default="f_default""#
    } else {
        ""
    };
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:exclusiveGateway id="G"{default_attribute}/>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:task id="C"/><bpmn:endEvent id="E"/>
           {}{}{}{}{}{}{}"#,
        flow("f0", "S", "G", None),
        flow("f_a", "G", "A", Some(conditions[0])),
        flow("f_b", "G", "B", Some(conditions[1])),
        flow(
            "f_default",
            "G",
            "C",
            if default { None } else { Some("x = 0") }
        ),
        flow("fa", "A", "E", None),
        flow("fb", "B", "E", None),
        flow("fc", "C", "E", None),
    ))
}

fn decide(xml: &str, x: f64) -> Harness {
    let mut harness = Harness::new(xml);
    harness.set("x", VariableValue::Number(x));
    harness.start();
    harness
}

#[test]
fn exclusive_gateway_takes_the_first_flow_whose_condition_holds() {
    let xml = decision(["x &gt; 1", "x &gt; 2"], true);
    assert_eq!(decide(&xml, 5.0).current(), ["A"], "document order decides");
    assert_eq!(decide(&xml, 1.5).current(), ["A"]);
    assert_eq!(decide(&xml, 0.5).current(), ["C"], "else the default flow");
}

#[test]
fn no_condition_holds_puts_the_step_in_error_until_restarted() {
    let mut harness = decide(&decision(["x = 1", "x = 2"], false), 7.0);
    let failed = harness.at_element("G");
    assert_eq!(failed.status, SubflowStatus::Error);
    assert_eq!(harness.status(), ProcessStatus::Error);
    assert_eq!(harness.instance.activities().error, ["G"]);
    assert!(harness.current().is_empty());

    let before = harness.instance.clone();
    let refused = harness.run(|i, ctx| i.restart_step(ctx, failed.id, &failed.step_key));
    let Err(EngineError::StillInError(reason)) = refused else {
        panic!("expected StillInError, got {refused:?}");
    };
    assert!(reason.contains("no condition holds"), "{reason}");
    assert_eq!(harness.instance, before);

    harness.set("x", VariableValue::Number(2.0));
    let outcome = harness
        .run(|i, ctx| i.restart_step(ctx, failed.id, &failed.step_key))
        .expect("restart");
    assert_eq!(outcome.previous_status, ProcessStatus::Error);
    assert_eq!(outcome.status, ProcessStatus::Running);
    assert_eq!(harness.current(), ["B"]);
    assert!(harness.instance.activities().error.is_empty());

    let step = harness.at_element("B");
    let not_failed = harness.run(|i, ctx| i.restart_step(ctx, step.id, &step.step_key));
    assert_eq!(not_failed, Err(EngineError::StepNotInError));
}

/// S → split → A, B, C → join → D → E
fn three_way_split() -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:parallelGateway id="Split"/>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:task id="C"/>
           <bpmn:parallelGateway id="Join"/><bpmn:task id="D"/><bpmn:endEvent id="E"/>
           {}{}{}{}{}{}{}{}{}"#,
        flow("f0", "S", "Split", None),
        flow("fa", "Split", "A", None),
        flow("fb", "Split", "B", None),
        flow("fc", "Split", "C", None),
        flow("ja", "A", "Join", None),
        flow("jb", "B", "Join", None),
        flow("jc", "C", "Join", None),
        flow("fd", "Join", "D", None),
        flow("fe", "D", "E", None),
    ))
}

#[test]
fn parallel_join_waits_for_every_branch() {
    let mut harness = Harness::new(&three_way_split());
    let outcome = harness.start();
    assert_eq!(outcome.changed_subflows, [1, 2, 3, 4]);
    assert_eq!(harness.current(), ["A", "B", "C"]);
    assert_eq!(harness.instance.subflows()[0].status, SubflowStatus::Split);

    harness.complete("B").expect("B");
    harness.complete("A").expect("A");
    assert_eq!(harness.current(), ["Join", "C"]);
    let waiting = harness.instance.subflows().iter();
    assert_eq!(
        waiting
            .filter(|s| s.status == SubflowStatus::WaitingJoin)
            .count(),
        2
    );

    harness.complete("C").expect("C");
    assert_eq!(harness.current(), ["D"]);
    assert_eq!(harness.at_element("D").id, 1, "the parent continues");
    assert!(
        harness.instance.subflows()[1..]
            .iter()
            .all(|s| !s.is_live())
    );
    harness.complete("D").expect("D");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn branches_that_end_separately_complete_the_process() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:parallelGateway id="Split"/>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:endEvent id="EA"/><bpmn:endEvent id="EB"/>
           {}{}{}{}{}"#,
        flow("f0", "S", "Split", None),
        flow("fa", "Split", "A", None),
        flow("fb", "Split", "B", None),
        flow("ea", "A", "EA", None),
        flow("eb", "B", "EB", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.complete("A").expect("A");
    assert_eq!(harness.status(), ProcessStatus::Running);
    harness.complete("B").expect("B");
    assert_eq!(harness.status(), ProcessStatus::Completed);
    assert!(harness.instance.subflows().iter().all(|s| !s.is_live()));
}

#[test]
fn nested_joins_resume_the_right_subflows() {
    // Split into A, B, C; A and B meet at J1, which meets C at J2.
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:parallelGateway id="Split"/>
           <bpmn:task id="A"/><bpmn:task id="B"/><bpmn:task id="C"/>
           <bpmn:parallelGateway id="J1"/><bpmn:parallelGateway id="J2"/><bpmn:endEvent id="E"/>
           {}{}{}{}{}{}{}{}{}"#,
        flow("f0", "S", "Split", None),
        flow("fa", "Split", "A", None),
        flow("fb", "Split", "B", None),
        flow("fc", "Split", "C", None),
        flow("a1", "A", "J1", None),
        flow("b1", "B", "J1", None),
        flow("j12", "J1", "J2", None),
        flow("c2", "C", "J2", None),
        flow("fe", "J2", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.start();
    harness.complete("A").expect("A");
    harness.complete("B").expect("B");
    assert_eq!(harness.current(), ["J2", "C"]);
    harness.complete("C").expect("C");
    assert_eq!(harness.status(), ProcessStatus::Completed);
}

#[test]
fn a_loop_without_a_wait_state_is_refused() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:exclusiveGateway id="G1" default="out"/>
           <bpmn:exclusiveGateway id="G2"/><bpmn:endEvent id="E"/>{}{}{}{}"#,
        flow("f0", "S", "G1", None),
        flow("round", "G1", "G2", Some("x = 1")),
        flow("back", "G2", "G1", None),
        flow("out", "G1", "E", None),
    ));
    let mut harness = Harness::new(&xml);
    harness.set("x", VariableValue::Number(1.0));
    let looping = harness.run(|i, ctx| i.start(ctx));
    assert!(
        matches!(looping, Err(EngineError::EndlessLoop(_))),
        "{looping:?}"
    );
    assert_eq!(harness.status(), ProcessStatus::Created);
}

#[test]
fn terminate_reset_and_restart() {
    let mut harness = Harness::new(&three_way_split());
    harness.set("gone", VariableValue::Varchar("me".into()));
    harness.set("business_ref", VariableValue::Varchar("PO-1".into()));
    harness.start();
    harness.complete("A").expect("A");

    let outcome = harness.instance.reset();
    assert_eq!(outcome.previous_status, ProcessStatus::Running);
    assert_eq!(harness.status(), ProcessStatus::Created);
    assert!(harness.instance.subflows().is_empty());
    assert_eq!(harness.instance.activities(), Default::default());
    // As Flows (since 21.1): every variable is deleted but the built-in BUSINESS_REF.
    assert!(
        harness.instance.variable("gone").is_none(),
        "{:?}",
        harness.instance.variables()
    );
    assert!(harness.instance.variable("BUSINESS_REF").is_some());

    harness.start();
    assert_eq!(
        harness.instance.subflows()[0].id,
        5,
        "subflow ids are never reused"
    );
    let outcome = harness.run(|i, ctx| i.terminate(ctx)).expect("terminate");
    assert_eq!(outcome.status, ProcessStatus::Terminated);
    assert!(harness.instance.subflows().iter().all(|s| !s.is_live()));
    let again = harness.run(|i, ctx| i.terminate(ctx));
    assert_eq!(again, Err(EngineError::ProcessEnded));
}

#[test]
fn variables_are_validated_all_or_nothing() {
    let mut instance = Instance::new();
    let refused = instance.set_variables(vec![
        ("ok".into(), VariableValue::Number(1.0)),
        ("bad".into(), VariableValue::Number(f64::NAN)),
    ]);
    assert!(matches!(refused, Err(EngineError::InvalidVariable(_))));
    assert!(instance.variables().is_empty());
    let unnamed = instance.set_variables(vec![(" ".into(), VariableValue::Number(1.0))]);
    assert!(unnamed.is_err());
}

#[test]
fn a_stored_instance_resumes_where_it_stopped() {
    let mut harness = Harness::new(&three_way_split());
    harness.start();
    harness.complete("A").expect("A");
    let stored = serde_json::to_string(&harness.instance).expect("serialize");
    harness.instance = serde_json::from_str(&stored).expect("deserialize");
    for task in ["B", "C", "D"] {
        harness.complete(task).expect(task);
    }
    assert_eq!(harness.status(), ProcessStatus::Completed);
}
