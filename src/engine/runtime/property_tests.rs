//! Random operation sequences never panic and keep the instance state consistent.

use std::collections::HashSet;

use chrono::TimeDelta;
use proptest::prelude::*;

use crate::engine::instance::{Instance, ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, flow, process};
use crate::engine::value::VariableValue;

/// Exclusive gateway without default (can fail), split/join, message and timer waits,
/// and a terminate end.
fn mixed_diagram() -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:userTask id="T1"/>
           <bpmn:exclusiveGateway id="G"/><bpmn:parallelGateway id="Split"/>
           <bpmn:task id="A"/>
           <bpmn:intermediateCatchEvent id="M"><bpmn:messageEventDefinition>
             <bpmn:extensionElements>
               <apex:messageName><apex:expression>ping</apex:expression></apex:messageName>
               <apex:correlationKey><apex:expression>k</apex:expression></apex:correlationKey>
               <apex:correlationValue><apex:expressionType>processVariable</apex:expressionType>
                 <apex:expression>id</apex:expression></apex:correlationValue>
             </bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:parallelGateway id="Join"/><bpmn:endEvent id="E"/>
           <bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition>
             <bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>
           </bpmn:intermediateCatchEvent>
           <bpmn:endEvent id="Stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>
           {}"#,
        [
            flow("f0", "S", "T1", None),
            flow("f1", "T1", "G", None),
            flow("hi", "G", "Split", Some("amount &gt; 100")),
            flow("lo", "G", "W", Some("amount &lt; 50")),
            flow("fa", "Split", "A", None),
            flow("fm", "Split", "M", None),
            flow("ja", "A", "Join", None),
            flow("jm", "M", "Join", None),
            flow("fe", "Join", "E", None),
            flow("fs", "W", "Stop", None),
        ]
        .concat()
    ))
}

#[derive(Debug, Clone)]
enum Operation {
    Start,
    Complete { pick: usize, stale: bool },
    Reserve { pick: usize },
    Restart { pick: usize },
    Correlate { id: u8 },
    SetAmount(f64),
    SetId(u8),
    AdvanceClock { minutes: i64 },
    Reschedule { pick: usize, immediate: bool },
    Reset,
    Terminate,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        Just(Operation::Start),
        (0..4usize, any::<bool>()).prop_map(|(pick, stale)| Operation::Complete { pick, stale }),
        (0..4usize).prop_map(|pick| Operation::Reserve { pick }),
        (0..4usize).prop_map(|pick| Operation::Restart { pick }),
        (0..3u8).prop_map(|id| Operation::Correlate { id }),
        prop_oneof![Just(10.0), Just(75.0), Just(500.0)].prop_map(Operation::SetAmount),
        (0..3u8).prop_map(Operation::SetId),
        (0..20i64).prop_map(|minutes| Operation::AdvanceClock { minutes }),
        (0..4usize, any::<bool>())
            .prop_map(|(pick, immediate)| Operation::Reschedule { pick, immediate }),
        Just(Operation::Reset),
        Just(Operation::Terminate),
    ]
}

fn apply(harness: &mut Harness, operation: &Operation) {
    let subflow = |pick: usize| {
        let subflows = harness.instance.subflows();
        (!subflows.is_empty()).then(|| subflows[pick % subflows.len()].clone())
    };
    match *operation {
        Operation::Start => drop(harness.run(|i, ctx| i.start(ctx))),
        Operation::Complete { pick, stale } => {
            if let Some(s) = subflow(pick) {
                let key = if stale {
                    "stale".to_string()
                } else {
                    s.step_key
                };
                drop(harness.run(|i, ctx| i.complete_step(ctx, s.id, &key)));
            }
        }
        Operation::Reserve { pick } => {
            if let Some(s) = subflow(pick) {
                drop(harness.run(|i, ctx| i.reserve(ctx, s.id, &s.step_key, "me")));
            }
        }
        Operation::Restart { pick } => {
            if let Some(s) = subflow(pick) {
                drop(harness.run(|i, ctx| i.restart_step(ctx, s.id, &s.step_key)));
            }
        }
        Operation::Correlate { id } => {
            let value = id.to_string();
            drop(
                harness
                    .run(|i, ctx| i.correlate_message(ctx, "ping", Some("k"), Some(&value), None)),
            );
        }
        Operation::SetAmount(amount) => harness.set("amount", VariableValue::Number(amount)),
        Operation::SetId(id) => harness.set("id", VariableValue::Varchar(id.to_string())),
        Operation::AdvanceClock { minutes } => {
            harness.now += TimeDelta::minutes(minutes);
            drop(harness.run(|i, ctx| i.fire_due_timers(ctx)));
        }
        Operation::Reschedule { pick, immediate } => {
            if let Some(s) = subflow(pick) {
                let at = Some(harness.now);
                drop(
                    harness.run(|i, ctx| i.reschedule_timer(ctx, s.id, &s.step_key, immediate, at)),
                );
            }
        }
        Operation::Reset => drop(harness.instance.reset()),
        Operation::Terminate => drop(harness.run(|i, ctx| i.terminate(ctx))),
    }
}

fn check_invariants(instance: &Instance) -> Result<(), TestCaseError> {
    let live: Vec<_> = instance.live_subflows().collect();
    let status = instance.status();
    match status {
        ProcessStatus::Created => prop_assert!(instance.subflows().is_empty()),
        ProcessStatus::Running | ProcessStatus::Error => prop_assert!(!live.is_empty()),
        ProcessStatus::Completed | ProcessStatus::Terminated => prop_assert!(live.is_empty()),
    }
    let in_error = live.iter().any(|s| s.status == SubflowStatus::Error);
    prop_assert_eq!(in_error, status == ProcessStatus::Error);
    let keys: HashSet<&str> = live.iter().map(|s| s.step_key.as_str()).collect();
    prop_assert_eq!(keys.len(), live.len(), "step keys are unique");
    for subflow in &live {
        let subscriptions = instance
            .subscriptions()
            .iter()
            .filter(|s| s.subflow_id == subflow.id);
        let timers = instance
            .timers()
            .iter()
            .filter(|t| t.subflow_id == subflow.id);
        let waits_message = usize::from(subflow.status == SubflowStatus::WaitingMessage);
        let waits_timer = usize::from(subflow.status == SubflowStatus::WaitingTimer);
        prop_assert_eq!(subscriptions.count(), waits_message);
        prop_assert_eq!(timers.count(), waits_timer);
    }
    let waiting_total = instance.subscriptions().len() + instance.timers().len();
    let waiting_subflows = live
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                SubflowStatus::WaitingMessage | SubflowStatus::WaitingTimer
            )
        })
        .count();
    prop_assert_eq!(
        waiting_total,
        waiting_subflows,
        "no orphaned subscriptions or timers"
    );
    Ok(())
}

proptest! {
    #[test]
    fn random_operations_keep_the_state_consistent(
        operations in prop::collection::vec(operation(), 1..40)
    ) {
        let mut harness = Harness::new(&mixed_diagram());
        for operation in &operations {
            apply(&mut harness, operation);
            check_invariants(&harness.instance)?;
        }
    }
}
