//! BPMN 2.0 XML import: reads one process, refuses what the engine cannot run.
//!
//! Ignored on purpose: diagram interchange (`bpmndi`, other namespaces), documentation,
//! unknown extension elements, lanes, text annotations, associations and groups (they do not
//! affect the flow), and definitions-level elements other than `process` and `message`.

mod extensions;
mod iterations;
mod validate;
mod warnings;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use roxmltree::{Document, Node};
use thiserror::Error;

use super::condition::FlowCondition;
use super::diagram::{
    Diagram, Element, ElementKind, ImportWarning, SequenceFlow, TaskKind, ThrowKind,
};

pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
pub const APEX_NS: &str = "https://flowsforapex.org";

/// Why a diagram was refused, naming the offending element (or flow, or process).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("element {element_id}: {reason}")]
pub struct ImportError {
    pub element_id: String,
    pub reason: String,
}

impl ImportError {
    pub(crate) fn new(element_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            element_id: element_id.into(),
            reason: reason.into(),
        }
    }
}

/// Children of a process that carry no behaviour.
const IGNORED_PROCESS_CHILDREN: &[&str] = &[
    "documentation",
    "extensionElements",
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "ioSpecification",
    "property",
    "dataInputAssociation",
    "dataOutputAssociation",
    "category",
    // A subprocess's own flow references and loop settings, read with the subprocess itself.
    "incoming",
    "outgoing",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
];

/// A flow node's `<incoming>`/`<outgoing>` references, checked against the flows later.
pub(super) struct DeclaredFlows {
    element_id: String,
    incoming: Vec<String>,
    outgoing: Vec<String>,
}

pub(super) fn parse_diagram(xml: &str) -> Result<Diagram, ImportError> {
    let document = Document::parse(xml).map_err(|error| {
        ImportError::new("definitions", format!("not well-formed XML: {error}"))
    })?;
    let root = document.root_element();
    if !is_bpmn(root, "definitions") {
        return Err(ImportError::new(
            root.tag_name().name(),
            format!("the root element must be definitions in namespace {BPMN_NS}"),
        ));
    }
    let definitions_id = root.attribute("id").unwrap_or("definitions");
    let message_names: HashMap<&str, &str> = bpmn_children(root, "message")
        .filter_map(|message| Some((message.attribute("id")?, message.attribute("name")?)))
        .collect();

    let processes: Vec<Node> = bpmn_children(root, "process").collect();
    let process = running_process(definitions_id, &processes)?;
    let mut diagram = parse_process(process, &message_names)?;
    let others = processes.iter().filter(|other| other.id() != process.id());
    let ignored: Vec<ImportWarning> = others
        .map(|other| ImportWarning {
            element_id: other.attribute("id").unwrap_or("process").to_owned(),
            message: "this pool is not run: as in Flows for APEX, an instance runs the process \
                      with the none start event"
                .to_string(),
        })
        .collect();
    diagram.add_warnings(ignored);
    Ok(diagram)
}

/// The process an instance runs. As Flows for APEX (`flow_diagram.get_start_event`), that is
/// the one pool whose process holds a start event without event definition (or a timer start
/// event); a diagram with one process runs it.
fn running_process<'a, 'input>(
    definitions_id: &str,
    processes: &[Node<'a, 'input>],
) -> Result<Node<'a, 'input>, ImportError> {
    let startable: Vec<Node> = processes
        .iter()
        .copied()
        .filter(|process| {
            bpmn_children(*process, "startEvent").any(|start| {
                let definitions: Vec<Node> = event_definitions(start).collect();
                match definitions.as_slice() {
                    [] => true,
                    [only] => only.tag_name().name() == "timerEventDefinition",
                    _ => false,
                }
            })
        })
        .collect();
    match (processes, startable.as_slice()) {
        ([], _) => Err(ImportError::new(
            definitions_id,
            "the diagram contains no process",
        )),
        ([only], _) | (_, [only]) => Ok(*only),
        (_, []) => Err(ImportError::new(
            definitions_id,
            "no process of the collaboration has a start event without event definition",
        )),
        (_, [_, second, ..]) => Err(ImportError::new(
            second.attribute("id").unwrap_or("process"),
            "several processes of the collaboration have a start event without event \
             definition; Flows for APEX needs exactly one",
        )),
    }
}

fn parse_process(
    process: Node,
    message_names: &HashMap<&str, &str>,
) -> Result<Diagram, ImportError> {
    let process_id = required_id(process)?;
    let mut parts = Parts::default();
    read_children(process, None, message_names, &mut parts)?;
    let mut diagram = validate::check(&process_id, process.attribute("name"), parts)?;
    diagram.set_callable(process.attribute((APEX_NS, "isCallable")) == Some("true"));
    Ok(diagram)
}

/// What a process and its embedded subprocesses hold, flattened (ids are unique in a file).
#[derive(Default)]
pub(super) struct Parts {
    pub elements: Vec<Element>,
    pub declared: Vec<DeclaredFlows>,
    pub flows: Vec<SequenceFlow>,
    pub warnings: Vec<ImportWarning>,
    /// Element or flow id → the subprocess it is directly inside.
    pub scopes: HashMap<String, String>,
}

/// Reads the flow elements of a process or subprocess (`scope`), descending into embedded
/// subprocesses.
fn read_children(
    container: Node,
    scope: Option<&str>,
    message_names: &HashMap<&str, &str>,
    parts: &mut Parts,
) -> Result<(), ImportError> {
    for child in container.children().filter(|node| in_bpmn_namespace(*node)) {
        let tag = child.tag_name().name();
        if tag == "sequenceFlow" {
            let flow = parse_flow(child)?;
            if let Some(scope) = scope {
                parts.scopes.insert(flow.id.clone(), scope.to_owned());
            }
            parts.flows.push(flow);
        } else if !IGNORED_PROCESS_CHILDREN.contains(&tag) {
            let (mut element, flows_of_element) = parse_element(child, message_names)?;
            if scope.is_some() && matches!(element.kind, ElementKind::TimerStart(_)) {
                return Err(ImportError::new(
                    element.id,
                    "a subprocess's start event cannot wait for a timer",
                ));
            }
            parts.warnings.extend(warnings::of_element(child, &element));
            if let Some(scope) = scope {
                parts.scopes.insert(element.id.clone(), scope.to_owned());
            }
            if tag == "subProcess" {
                read_children(child, Some(&element.id), message_names, parts)?;
                element.kind = ElementKind::SubProcess {
                    start_event: inner_start_event(&element.id, parts)?,
                };
            }
            parts.elements.push(element);
            parts.declared.push(flows_of_element);
        }
    }
    Ok(())
}

/// The one start event without event definition directly inside a subprocess.
fn inner_start_event(subprocess: &str, parts: &Parts) -> Result<String, ImportError> {
    let mut starts = parts.elements.iter().filter(|element| {
        element.kind == ElementKind::StartEvent
            && parts.scopes.get(&element.id).map(String::as_str) == Some(subprocess)
    });
    match (starts.next(), starts.next()) {
        (Some(only), None) => Ok(only.id.clone()),
        (None, _) => Err(ImportError::new(
            subprocess,
            "the subprocess has no start event",
        )),
        (Some(_), Some(second)) => Err(ImportError::new(
            second.id.as_str(),
            "a subprocess may have only one start event",
        )),
    }
}

fn parse_element(
    node: Node,
    message_names: &HashMap<&str, &str>,
) -> Result<(Element, DeclaredFlows), ImportError> {
    let id = required_id(node)?;
    let tag = node.tag_name().name();
    let refuse = |reason: String| ImportError::new(id.as_str(), reason);
    let kind = match tag {
        "startEvent" => match event_definitions(node).collect::<Vec<_>>().as_slice() {
            [] => ElementKind::StartEvent,
            [only] if only.tag_name().name() == "timerEventDefinition" => {
                ElementKind::TimerStart(extensions::timer(&id, *only)?)
            }
            [definition, ..] => {
                return Err(refuse(format!(
                    "start events with a {} are not supported",
                    definition.tag_name().name()
                )));
            }
        },
        "endEvent" => end_event(node).map_err(refuse)?,
        "task" | "userTask" | "manualTask" | "scriptTask" | "serviceTask" | "sendTask"
        | "businessRuleTask" => ElementKind::Task(task_kind(tag)),
        "receiveTask" => {
            refuse_loops(node).map_err(refuse)?;
            let definition = extensions::message_definition(
                &id,
                node,
                node.attribute("messageRef"),
                message_names,
            )?;
            ElementKind::ReceiveTask(definition)
        }
        "exclusiveGateway" => ElementKind::ExclusiveGateway {
            default_flow: node.attribute("default").map(str::to_owned),
        },
        "inclusiveGateway" => ElementKind::InclusiveGateway {
            default_flow: node.attribute("default").map(str::to_owned),
        },
        "parallelGateway" => ElementKind::ParallelGateway,
        "eventBasedGateway" => ElementKind::EventBasedGateway,
        "intermediateCatchEvent" => extensions::catch_event(&id, node, message_names)?,
        "intermediateThrowEvent" => throw_event(node).map_err(refuse)?,
        "boundaryEvent" => extensions::boundary_event(&id, node, message_names)?,
        "subProcess" => {
            if node.attribute("triggeredByEvent") == Some("true") {
                return Err(refuse("event subprocesses are not supported".to_string()));
            }
            // The inner start event is filled in once the children are read.
            ElementKind::SubProcess {
                start_event: String::new(),
            }
        }
        "callActivity" => ElementKind::CallActivity(extensions::call_definition(&id, node)?),
        other => return Err(refuse(format!("element type {other} is not supported"))),
    };
    let references = |direction: &'static str| -> Vec<String> {
        bpmn_children(node, direction).map(text_of).collect()
    };
    let declared = DeclaredFlows {
        element_id: id.clone(),
        incoming: references("incoming"),
        outgoing: references("outgoing"),
    };
    let element = Element {
        expressions: extensions::variable_expressions(&id, node)?,
        iteration: iterations::iteration(&id, node)?,
        id,
        name: node.attribute("name").map(str::to_owned),
        kind,
        incoming: Vec::new(),
        outgoing: Vec::new(),
    };
    Ok((element, declared))
}

fn task_kind(tag: &str) -> TaskKind {
    match tag {
        "userTask" => TaskKind::UserTask,
        "manualTask" => TaskKind::ManualTask,
        "scriptTask" => TaskKind::ScriptTask,
        "serviceTask" => TaskKind::ServiceTask,
        "sendTask" => TaskKind::SendTask,
        "businessRuleTask" => TaskKind::BusinessRuleTask,
        _ => TaskKind::Task,
    }
}

fn end_event(node: Node) -> Result<ElementKind, String> {
    let definitions: Vec<Node> = event_definitions(node).collect();
    match definitions.as_slice() {
        [] => Ok(ElementKind::EndEvent { terminate: false }),
        [only] if only.tag_name().name() == "terminateEventDefinition" => {
            Ok(ElementKind::EndEvent { terminate: true })
        }
        // Caught by a boundary event of the enclosing subprocess, if one waits for it;
        // otherwise, as in Flows, the path ends there.
        [only] if only.tag_name().name() == "errorEventDefinition" => Ok(ElementKind::ErrorEnd {
            error: only.attribute("errorRef").map(str::to_owned),
        }),
        [only] if only.tag_name().name() == "escalationEventDefinition" => {
            Ok(ElementKind::EscalationEnd {
                escalation: only.attribute("escalationRef").map(str::to_owned),
            })
        }
        [only] if only.tag_name().name() == "messageEventDefinition" => {
            Ok(ElementKind::EndEvent { terminate: false })
        }
        [only] => Err(format!(
            "end events with a {} are not supported",
            only.tag_name().name()
        )),
        _ => Err("end events with several event definitions are not supported".to_string()),
    }
}

fn throw_event(node: Node) -> Result<ElementKind, String> {
    let definitions: Vec<Node> = event_definitions(node).collect();
    let kind = match definitions.as_slice() {
        [] => ThrowKind::None,
        [only] => match only.tag_name().name() {
            "messageEventDefinition" => ThrowKind::Message,
            "escalationEventDefinition" => {
                return Ok(ElementKind::EscalationThrow {
                    escalation: only.attribute("escalationRef").map(str::to_owned),
                });
            }
            "signalEventDefinition" => ThrowKind::Signal,
            "linkEventDefinition" => {
                // Resolved to the catch event's id once every element is read.
                return Ok(ElementKind::LinkThrow {
                    target: link_name(node, *only),
                });
            }
            other => return Err(format!("throw events with a {other} are not supported")),
        },
        _ => return Err("throw events with several event definitions are not supported".into()),
    };
    Ok(ElementKind::ThrowEvent(kind))
}

/// A link event's name: its linkEventDefinition's, else the event's own (the modeler often
/// leaves the definition's empty).
pub(super) fn link_name(event: Node, definition: Node) -> String {
    definition
        .attribute("name")
        .filter(|name| !name.trim().is_empty())
        .or_else(|| event.attribute("name"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn refuse_loops(node: Node) -> Result<(), String> {
    let looping = node.children().any(|child| {
        in_bpmn_namespace(child)
            && matches!(
                child.tag_name().name(),
                "standardLoopCharacteristics" | "multiInstanceLoopCharacteristics"
            )
    });
    if looping {
        Err("loop and multi-instance receive tasks are not supported".to_string())
    } else {
        Ok(())
    }
}

fn parse_flow(node: Node) -> Result<SequenceFlow, ImportError> {
    let id = required_id(node)?;
    let end = |attribute: &str| {
        node.attribute(attribute)
            .filter(|value| !value.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ImportError::new(id.as_str(), format!("sequence flow has no {attribute}"))
            })
    };
    let source = end("sourceRef")?;
    let target = end("targetRef")?;
    let condition = match bpmn_children(node, "conditionExpression").next() {
        Some(expression) => {
            let text = text_of(expression);
            if text.is_empty() {
                None
            } else {
                let condition = FlowCondition::parse(&text, expression.attribute("language"))
                    .map_err(|error| ImportError::new(id.as_str(), error))?;
                Some(condition)
            }
        }
        None => None,
    };
    let sequence = node
        .attribute((APEX_NS, "sequence"))
        .and_then(|text| text.trim().parse::<i64>().ok());
    Ok(SequenceFlow {
        id,
        source,
        target,
        condition,
        sequence,
    })
}

fn required_id(node: Node) -> Result<String, ImportError> {
    match node.attribute("id") {
        Some(id) if !id.trim().is_empty() => Ok(id.to_owned()),
        _ => Err(ImportError::new(
            node.tag_name().name(),
            "element has no id attribute",
        )),
    }
}

pub(super) fn in_bpmn_namespace(node: Node) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(BPMN_NS)
}

pub(super) fn is_bpmn(node: Node, name: &str) -> bool {
    in_bpmn_namespace(node) && node.tag_name().name() == name
}

pub(super) fn bpmn_children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |child| is_bpmn(*child, name))
}

/// Event definitions inline (`…EventDefinition`) or by reference (`eventDefinitionRef`).
pub(super) fn event_definitions<'a, 'input>(
    node: Node<'a, 'input>,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(|child| {
        in_bpmn_namespace(*child) && {
            let name = child.tag_name().name();
            name.ends_with("EventDefinition") || name == "eventDefinitionRef"
        }
    })
}

/// All text inside an element (CDATA included, comments skipped), trimmed.
pub(super) fn text_of(node: Node) -> String {
    let text: String = node
        .descendants()
        .filter(Node::is_text)
        .filter_map(|text| text.text())
        .collect();
    text.trim().to_owned()
}
