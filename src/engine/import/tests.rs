//! Import of the sample diagrams, namespace handling and every refusal.

use proptest::prelude::*;

use crate::engine::diagram::{Diagram, ElementKind, ValueSource};
use crate::engine::test_support::{LINEAR_REVIEW, ORDER_FULFILMENT, flow, process};
use crate::engine::timer::{IsoDuration, TimerDefinition};

#[test]
fn order_fulfilment_imports_with_conditions_and_message() {
    let diagram = Diagram::parse(ORDER_FULFILMENT).expect("imports");
    assert_eq!(diagram.process_id(), "Process_order");
    assert_eq!(diagram.process_name(), Some("Order fulfilment"));
    assert_eq!(diagram.start_event().id, "Start");
    assert_eq!(diagram.elements().len(), 11);
    assert_eq!(diagram.flows().len(), 12);
    let large = diagram.flow("F_large").expect("flow");
    assert_eq!(
        large.condition.as_ref().map(ToString::to_string).as_deref(),
        Some("amount > 1000")
    );
    let gateway = diagram.element("Gw_Amount").expect("gateway");
    assert_eq!(gateway.outgoing, ["F_large", "F_small"]);
    assert_eq!(
        gateway.kind,
        ElementKind::ExclusiveGateway {
            default_flow: Some("F_small".into())
        }
    );
    let Some(ElementKind::MessageCatchEvent(message)) =
        diagram.element("Catch_Payment").map(|e| &e.kind)
    else {
        panic!("Catch_Payment is a message catch event");
    };
    assert_eq!(
        message.message_name,
        ValueSource::Static("payment-received".into())
    );
    let correlation = message.correlation.as_ref().expect("correlation");
    assert_eq!(correlation.key, ValueSource::Static("order_id".into()));
    assert_eq!(
        correlation.value,
        ValueSource::ProcessVariable("order_id".into())
    );
    assert_eq!(message.payload_variable.as_deref(), Some("payment"));
}

#[test]
fn linear_review_imports() {
    let diagram = Diagram::parse(LINEAR_REVIEW).expect("imports");
    assert_eq!(diagram.process_name(), Some("Document review"));
    assert_eq!(
        diagram.element("Task_Review").map(|e| e.incoming.clone()),
        Some(vec!["Flow_1".into()])
    );
}

#[test]
fn any_prefix_and_foreign_content_are_accepted() {
    let xml = r#"<?xml version="1.0"?>
      <definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                   xmlns:di="http://www.omg.org/spec/BPMN/20100524/DI"
                   xmlns:x="urn:vendor" id="D">
        <collaboration id="C"><participant id="Pa" processRef="P"/></collaboration>
        <process id="P">
          <documentation>Ignored</documentation>
          <extensionElements><x:anything/></extensionElements>
          <laneSet id="L"><lane id="Lane1"/></laneSet>
          <x:vendorThing/>
          <startEvent id="S"><documentation>start</documentation></startEvent>
          <task id="T"><extensionElements><x:foo/></extensionElements></task>
          <endEvent id="E"/>
          <textAnnotation id="Note"><text>hi</text></textAnnotation>
          <association id="As" sourceRef="T" targetRef="Note"/>
          <sequenceFlow id="f1" sourceRef="S" targetRef="T"/>
          <sequenceFlow id="f2" sourceRef="T" targetRef="E"/>
        </process>
        <di:BPMNDiagram id="Dia"/>
      </definitions>"#;
    let diagram = Diagram::parse(xml).expect("imports");
    assert_eq!(diagram.elements().len(), 3);
    let other_prefix = LINEAR_REVIEW
        .replace("bpmn:", "b:")
        .replace("xmlns:bpmn", "xmlns:b");
    assert!(Diagram::parse(&other_prefix).is_ok());
}

#[test]
fn conditions_are_unescaped_and_timers_parsed() {
    let xml = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:exclusiveGateway id="G" default="d"/>
           <bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition>
             <bpmn:timeDuration> PT5M </bpmn:timeDuration></bpmn:timerEventDefinition>
           </bpmn:intermediateCatchEvent><bpmn:endEvent id="E"/>{}{}{}{}"#,
        flow("f0", "S", "G", None),
        flow(
            "c",
            "G",
            "W",
            Some("<![CDATA[a < 3]]> and b &lt;&gt; 'x&amp;y'")
        ),
        flow("d", "G", "E", None),
        flow("f2", "W", "E", None),
    ));
    let diagram = Diagram::parse(&xml).expect("imports");
    let condition = diagram
        .flow("c")
        .and_then(|f| f.condition.as_ref())
        .expect("condition");
    assert_eq!(condition.to_string(), "a < 3 and b != 'x&y'");
    let expected = IsoDuration::parse("PT5M")
        .map(TimerDefinition::Duration)
        .expect("duration");
    assert_eq!(
        diagram.element("W").map(|e| &e.kind),
        Some(&ElementKind::TimerCatchEvent(expected))
    );
}

/// S → X → E where X is the given element; extra content is appended to the process.
fn around(element: &str, extra: &str) -> String {
    process(&format!(
        r#"<bpmn:startEvent id="S"/>{element}<bpmn:endEvent id="E"/>{}{}{extra}"#,
        flow("f1", "S", "X", None),
        flow("f2", "X", "E", None)
    ))
}

fn message_catch(extensions: &str) -> String {
    around(
        &format!(
            r#"<bpmn:intermediateCatchEvent id="X"><bpmn:messageEventDefinition>
                 <bpmn:extensionElements>{extensions}</bpmn:extensionElements>
               </bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>"#
        ),
        "",
    )
}

fn timer_catch(definition: &str) -> String {
    around(
        &format!(
            r#"<bpmn:intermediateCatchEvent id="X"><bpmn:timerEventDefinition>{definition}
               </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
        ),
        "",
    )
}

const NAME: &str = "<apex:messageName><apex:expression>m</apex:expression></apex:messageName>";

fn refusal(xml: &str) -> (String, String) {
    let error = Diagram::parse(xml).expect_err("the diagram should be refused");
    assert_eq!(
        error.to_string(),
        format!("element {}: {}", error.element_id, error.reason)
    );
    (error.element_id, error.reason)
}

#[test]
fn refusals_name_the_element_and_the_reason() {
    let cases: Vec<(String, &str, &str)> = vec![
        ("<definitions".into(), "definitions", "not well-formed XML"),
        (
            "<definitions id='x'/>".into(),
            "definitions",
            "root element must be definitions",
        ),
        (
            r#"<b:definitions xmlns:b="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D"/>"#
                .into(),
            "D",
            "contains no process",
        ),
        (
            process(r#"<bpmn:startEvent id="S"/>"#).replace(
                "</bpmn:definitions>",
                r#"<bpmn:process id="P2"><bpmn:startEvent id="S9"/></bpmn:process></bpmn:definitions>"#,
            ),
            "P2",
            "several processes of the collaboration",
        ),
        (
            around(r#"<bpmn:complexGateway id="X"/>"#, ""),
            "X",
            "complexGateway is not supported",
        ),
        (
            around(r#"<bpmn:subProcess id="X"/>"#, ""),
            "X",
            "the subprocess has no start event",
        ),
        (
            around(
                r#"<bpmn:task id="X"/>"#,
                r#"<bpmn:boundaryEvent id="B" attachedToRef="X"/>"#,
            ),
            "B",
            "a boundary event needs exactly one timer, message, error or escalation definition",
        ),
        (around(r#"<bpmn:task/>"#, ""), "task", "has no id"),
        (
            around(
                r#"<bpmn:task id="X"/>"#,
                r#"<bpmn:sequenceFlow id="f3" targetRef="E"/>"#,
            ),
            "f3",
            "has no sourceRef",
        ),
        (
            around(r#"<bpmn:task id="X"/>"#, &flow("f3", "X", "Nowhere", None)),
            "f3",
            "targetRef 'Nowhere' does not name",
        ),
        (
            around(
                r#"<bpmn:task id="X"/><bpmn:task id="Lonely"/>"#,
                &flow("f3", "Lonely", "E", None),
            ),
            "Lonely",
            "cannot be reached",
        ),
        (
            around(
                r#"<bpmn:exclusiveGateway id="X" default="f2"/><bpmn:exclusiveGateway id="G"/>"#,
                &flow("f3", "X", "G", Some("a = 1")),
            ),
            "G",
            "no outgoing sequence flow",
        ),
        (
            around(
                r#"<bpmn:exclusiveGateway id="X" default="f2"/><bpmn:task id="T"/><bpmn:exclusiveGateway id="L"/>"#,
                &[
                    flow("f3", "X", "T", Some("a = 1")),
                    flow("f4", "T", "L", None),
                    flow("f5", "L", "T", None),
                ]
                .concat(),
            ),
            "T",
            "no path leads from it to an end event",
        ),
        (
            around(
                r#"<bpmn:exclusiveGateway id="X" default="f2"/>"#,
                &flow("f3", "X", "E", Some("a = ")),
            ),
            "f3",
            "condition syntax error",
        ),
        (
            around(r#"<bpmn:exclusiveGateway id="X" default="f1"/>"#, ""),
            "X",
            "default flow 'f1' is not an outgoing flow",
        ),
        (
            around(
                r#"<bpmn:parallelGateway id="X"/>"#,
                &flow("f3", "X", "E", Some("a = 1")),
            ),
            "f3",
            "only supported on flows leaving an exclusive or inclusive gateway",
        ),
        (
            around(
                r#"<bpmn:task id="X"/><bpmn:startEvent id="S2"/>"#,
                &flow("f3", "S2", "X", None),
            ),
            "S2",
            "only one start event",
        ),
        (process(r#"<bpmn:endEvent id="E"/>"#), "P", "no start event"),
        (
            around(r#"<bpmn:task id="X"/>"#, "").replace(
                r#"<bpmn:startEvent id="S"/>"#,
                r#"<bpmn:startEvent id="S"><bpmn:messageEventDefinition/></bpmn:startEvent>"#,
            ),
            "S",
            "start events with a messageEventDefinition",
        ),
        (
            around(r#"<bpmn:task id="X"/>"#, "").replace(
                r#"<bpmn:endEvent id="E"/>"#,
                r#"<bpmn:endEvent id="E"><bpmn:signalEventDefinition/></bpmn:endEvent>"#,
            ),
            "E",
            "end events with a signalEventDefinition",
        ),
        (
            around(r#"<bpmn:task id="X"/><bpmn:task id="E"/>"#, ""),
            "E",
            "used more than once",
        ),
        (
            around(
                r#"<bpmn:task id="X"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:task>"#,
                "",
            ),
            "X",
            "outgoing flow 'f1' does not start at this element",
        ),
        (
            around(
                r#"<bpmn:task id="X"><bpmn:incoming>nope</bpmn:incoming></bpmn:task>"#,
                "",
            ),
            "X",
            "incoming flow 'nope' does not exist",
        ),
        (
            around(
                r#"<bpmn:userTask id="X"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>"#,
                "",
            ),
            "X",
            "needs an input collection",
        ),
        (
            around(
                r#"<bpmn:userTask id="X"><bpmn:standardLoopCharacteristics/></bpmn:userTask>"#,
                "",
            ),
            "X",
            "a loop needs a completion condition",
        ),
        (
            around(
                r#"<bpmn:receiveTask id="X"><bpmn:standardLoopCharacteristics/></bpmn:receiveTask>"#,
                "",
            ),
            "X",
            "receive tasks",
        ),
        (
            around(r#"<bpmn:intermediateCatchEvent id="X"/>"#, ""),
            "X",
            "exactly one message, timer or link",
        ),
        (
            around(
                r#"<bpmn:intermediateCatchEvent id="X"><bpmn:signalEventDefinition/></bpmn:intermediateCatchEvent>"#,
                "",
            ),
            "X",
            "signalEventDefinition are not supported",
        ),
        (
            timer_catch("<bpmn:timeCycle>every hour</bpmn:timeCycle>"),
            "X",
            "is not a cycle",
        ),
        (
            timer_catch("<bpmn:timeDuration>5 minutes</bpmn:timeDuration>"),
            "X",
            "not an ISO 8601 duration",
        ),
        (
            timer_catch("<bpmn:timeDate>tomorrow</bpmn:timeDate>"),
            "X",
            "not an ISO 8601 date",
        ),
        (
            timer_catch("<bpmn:timeDate>T10:00:00</bpmn:timeDate><bpmn:timeDuration>PT1H</bpmn:timeDuration>"),
            "X",
            "exactly one of timeDate, timeDuration or timeCycle",
        ),
        (
            message_catch(
                "<apex:messageName><apex:expressionType>static</apex:expressionType></apex:messageName>",
            ),
            "X",
            "apex:messageName has no apex:expression",
        ),
        (
            message_catch(
                "<apex:messageName><apex:expressionType>plsqlExpression</apex:expressionType><apex:expression>x</apex:expression></apex:messageName>",
            ),
            "X",
            "expression type 'plsqlExpression' is not supported",
        ),
        (
            message_catch(&format!(
                "{NAME}<apex:correlationKey><apex:expression>k</apex:expression></apex:correlationKey>"
            )),
            "X",
            "apex:correlationKey is given without apex:correlationValue",
        ),
    ];
    for (xml, element_id, reason) in cases {
        let (found_id, found_reason) = refusal(&xml);
        assert_eq!(found_id, element_id, "{found_reason}\n{xml}");
        assert!(
            found_reason.contains(reason),
            "{found_reason:?} should mention {reason:?}"
        );
    }
}

#[test]
fn a_complete_message_catch_is_accepted() {
    assert!(Diagram::parse(&message_catch(NAME)).is_ok());
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Diagram::parse(&text);
    }

    #[test]
    fn damaged_samples_never_panic(cut in 0..ORDER_FULFILMENT.len(), junk in ".{0,12}") {
        let mut damaged = ORDER_FULFILMENT.as_bytes()[..cut].to_vec();
        damaged.extend_from_slice(junk.as_bytes());
        damaged.extend_from_slice(&ORDER_FULFILMENT.as_bytes()[cut..]);
        let _ = Diagram::parse(&String::from_utf8_lossy(&damaged));
    }
}
