//! Event definitions of catch events and the Flows for APEX (`apex:`) message extensions.

use std::collections::HashMap;

use roxmltree::Node;

use super::{APEX_NS, ImportError, bpmn_children, event_definitions, text_of};
use crate::engine::diagram::{
    BoundaryTrigger, CallDefinition, CalledVersion, Correlation, ElementKind, MessageDefinition,
    ValueSource,
};
use crate::engine::expressions::{DataType, Phase, Source, VariableExpression};
use crate::engine::timer::TimerDefinition;

/// An intermediateCatchEvent: exactly one message or timer definition.
pub(super) fn catch_event(
    id: &str,
    node: Node,
    message_names: &HashMap<&str, &str>,
) -> Result<ElementKind, ImportError> {
    let definitions: Vec<Node> = event_definitions(node).collect();
    let [definition] = definitions.as_slice() else {
        return Err(ImportError::new(
            id,
            "a catch event needs exactly one message, timer or link event definition",
        ));
    };
    match definition.tag_name().name() {
        "messageEventDefinition" => {
            let message_ref = definition.attribute("messageRef");
            let message = message_definition(id, *definition, message_ref, message_names)?;
            Ok(ElementKind::MessageCatchEvent(message))
        }
        "timerEventDefinition" => Ok(ElementKind::TimerCatchEvent(timer(id, *definition)?)),
        "linkEventDefinition" => Ok(ElementKind::LinkCatch {
            name: super::link_name(node, *definition),
        }),
        other => Err(ImportError::new(
            id,
            format!("catch events with a {other} are not supported"),
        )),
    }
}

/// A boundaryEvent: attached to an activity, interrupting unless `cancelActivity="false"`
/// (errors always interrupt), waiting for a timer, a message, an error or an escalation.
pub(super) fn boundary_event(
    id: &str,
    node: Node,
    message_names: &HashMap<&str, &str>,
) -> Result<ElementKind, ImportError> {
    let attached_to = node
        .attribute("attachedToRef")
        .filter(|target| !target.trim().is_empty())
        .ok_or_else(|| ImportError::new(id, "the boundary event has no attachedToRef"))?
        .to_owned();
    let definitions: Vec<Node> = event_definitions(node).collect();
    let [definition] = definitions.as_slice() else {
        return Err(ImportError::new(
            id,
            "a boundary event needs exactly one timer, message, error or escalation definition",
        ));
    };
    let reference = |name: &str| definition.attribute(name).map(str::to_owned);
    let trigger = match definition.tag_name().name() {
        "timerEventDefinition" => BoundaryTrigger::Timer(timer(id, *definition)?),
        "messageEventDefinition" => BoundaryTrigger::Message(message_definition(
            id,
            *definition,
            definition.attribute("messageRef"),
            message_names,
        )?),
        "errorEventDefinition" => BoundaryTrigger::Error(reference("errorRef")),
        "escalationEventDefinition" => BoundaryTrigger::Escalation(reference("escalationRef")),
        other => {
            return Err(ImportError::new(
                id,
                format!("boundary events with a {other} are not supported"),
            ));
        }
    };
    let interrupting = matches!(trigger, BoundaryTrigger::Error(_))
        || node.attribute("cancelActivity") != Some("false");
    Ok(ElementKind::BoundaryEvent {
        attached_to,
        interrupting,
        trigger,
    })
}

/// The `apex:` process-variable expressions of an element (`beforeTask`, `afterTask`,
/// `beforeEvent`, `onEvent`, `beforeSplit`, `afterMerge`), ordered by phase and sequence.
pub(super) fn variable_expressions(
    id: &str,
    node: Node,
) -> Result<Vec<VariableExpression>, ImportError> {
    let mut expressions = Vec::new();
    for set in apex_sets(node) {
        if let Some(phase) = Phase::of_set(set.tag_name().name()) {
            expressions.extend(read_set(id, set, phase)?);
        }
    }
    expressions.sort_by_key(|expression| (expression.phase == Phase::After, expression.sequence));
    Ok(expressions)
}

/// A call activity's `apex:calledDiagram…` settings and its `inVariables`/`outVariables`.
pub(super) fn call_definition(id: &str, node: Node) -> Result<CallDefinition, ImportError> {
    let refuse = |reason: &str| ImportError::new(id, reason);
    let diagram_name = node
        .attribute((APEX_NS, "calledDiagram"))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    let version = match node.attribute((APEX_NS, "calledDiagramVersionSelection")) {
        None | Some("latestVersion") => CalledVersion::Latest,
        Some("namedVersion") => CalledVersion::Named(
            node.attribute((APEX_NS, "calledDiagramVersion"))
                .map(str::trim)
                .filter(|version| !version.is_empty())
                .ok_or_else(|| {
                    refuse("namedVersion needs the version to call (apex:calledDiagramVersion)")
                })?
                .to_owned(),
        ),
        Some(other) => {
            return Err(ImportError::new(
                id,
                format!("calledDiagramVersionSelection '{other}' is not known"),
            ));
        }
    };
    let mut in_variables = Vec::new();
    let mut out_variables = Vec::new();
    for set in apex_sets(node) {
        match set.tag_name().name() {
            "inVariables" => in_variables.extend(read_set(id, set, Phase::Before)?),
            "outVariables" => out_variables.extend(read_set(id, set, Phase::After)?),
            _ => {}
        }
    }
    in_variables.sort_by_key(|expression| expression.sequence);
    out_variables.sort_by_key(|expression| expression.sequence);
    Ok(CallDefinition {
        diagram_name,
        version,
        in_variables,
        out_variables,
    })
}

/// The `apex:` children of an element's `extensionElements`.
fn apex_sets<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    bpmn_children(node, "extensionElements")
        .flat_map(|container| container.children())
        .filter(|child| child.is_element() && child.tag_name().namespace() == Some(APEX_NS))
}

/// The `apex:processVariable`s of one set.
fn read_set(id: &str, set: Node, phase: Phase) -> Result<Vec<VariableExpression>, ImportError> {
    let apex_child = |parent: Node, name: &str| {
        parent
            .children()
            .find(|child| child.is_element() && child.tag_name().name() == name)
            .map(text_of)
            .unwrap_or_default()
    };
    let mut expressions = Vec::new();
    let variables = set
        .children()
        .filter(|child| child.is_element() && child.tag_name().name() == "processVariable");
    for variable in variables {
        let name = apex_child(variable, "varName");
        let refuse = |reason: String| ImportError::new(id, format!("variable '{name}': {reason}"));
        if name.is_empty() {
            return Err(refuse(
                "the process variable has no apex:varName".to_string(),
            ));
        }
        let type_name = apex_child(variable, "varDataType");
        let data_type = DataType::named(&type_name)
            .ok_or_else(|| refuse(format!("data type '{type_name}' is not known")))?;
        let source = Source::read(
            &apex_child(variable, "varExpressionType"),
            &apex_child(variable, "varExpression"),
        )
        .map_err(refuse)?;
        expressions.push(VariableExpression {
            phase,
            sequence: apex_child(variable, "varSequence").parse().unwrap_or(0),
            name,
            data_type,
            source,
        });
    }
    Ok(expressions)
}

/// A timerEventDefinition: ISO (`timeDate`, `timeDuration`, `timeCycle`) or, with
/// `apex:timerType`, Flows' `oracleDate`, `oracleDuration` and `oracleCycle` settings.
pub(super) fn timer(id: &str, definition: Node) -> Result<TimerDefinition, ImportError> {
    let refuse = |reason: String| ImportError::new(id, reason);
    let apex_settings = |name: &str| {
        bpmn_children(definition, "extensionElements")
            .flat_map(|container| container.children())
            .find(|child| {
                child.is_element()
                    && child.tag_name().namespace() == Some(APEX_NS)
                    && child.tag_name().name() == name
            })
    };
    let apex_text = |settings: Node, name: &str| {
        settings
            .children()
            .find(|child| child.is_element() && child.tag_name().name() == name)
            .map(text_of)
            .unwrap_or_default()
    };
    let timer_type = definition.attribute((APEX_NS, "timerType"));
    if let Some(oracle) = timer_type.filter(|t| t.starts_with("oracle")) {
        let settings = apex_settings(oracle).ok_or_else(|| {
            refuse(format!(
                "apex:timerType {oracle} has no apex:{oracle} settings"
            ))
        })?;
        let definition = match oracle {
            "oracleDate" => TimerDefinition::oracle_date(
                &apex_text(settings, "date"),
                &apex_text(settings, "formatMask"),
            ),
            "oracleDuration" => TimerDefinition::oracle_duration(
                &apex_text(settings, "intervalYM"),
                &apex_text(settings, "intervalDS"),
            ),
            "oracleCycle" => TimerDefinition::oracle_cycle(
                &apex_text(settings, "startIntervalDS"),
                &apex_text(settings, "repeatIntervalDS"),
                &apex_text(settings, "maxRuns"),
            ),
            other => return Err(refuse(format!("apex:timerType {other} is not supported"))),
        };
        return definition.map_err(|error| refuse(format!("{oracle}: {error}")));
    }
    let settings: Vec<Node> = definition
        .children()
        .filter(|child| super::in_bpmn_namespace(*child))
        .filter(|child| child.tag_name().name().starts_with("time"))
        .collect();
    let setting = match settings.as_slice() {
        [] => return Ok(TimerDefinition::Incomplete),
        [setting] => setting,
        _ => {
            return Err(refuse(
                "a timer needs exactly one of timeDate, timeDuration or timeCycle (or an \
                 apex:timerType)"
                    .to_string(),
            ));
        }
    };
    let text = text_of(*setting);
    match setting.tag_name().name() {
        "timeDuration" => TimerDefinition::iso_duration(&text),
        "timeDate" => TimerDefinition::iso_date(&text),
        "timeCycle" => TimerDefinition::iso_cycle(&text),
        other => Err(format!("{other} timers are not supported")),
    }
    .map_err(refuse)
}

/// Reads `apex:messageName`, `apex:correlationKey`, `apex:correlationValue` and
/// `apex:payloadVariable` from the `extensionElements` of `holder` (the
/// messageEventDefinition, or the receiveTask itself). Without `apex:messageName`, the name
/// of the referenced `bpmn:message` is used.
pub(super) fn message_definition(
    id: &str,
    holder: Node,
    message_ref: Option<&str>,
    message_names: &HashMap<&str, &str>,
) -> Result<MessageDefinition, ImportError> {
    let refuse = |reason: String| ImportError::new(id, reason);
    let extensions: Vec<Node> = bpmn_children(holder, "extensionElements")
        .flat_map(|container| container.children())
        .filter(|child| child.is_element() && child.tag_name().namespace() == Some(APEX_NS))
        .collect();
    let apex = |name: &str| {
        extensions
            .iter()
            .copied()
            .find(|child| child.tag_name().name() == name)
    };

    let referenced_name = message_ref
        .and_then(|reference| message_names.get(reference))
        .map(|name| ValueSource::Static((*name).to_owned()));
    let message_name = match apex("messageName") {
        Some(node) => value_source("apex:messageName", node).map_err(refuse)?,
        // Flows imports it; a token that reaches it goes into error.
        None => referenced_name.unwrap_or(ValueSource::Static(String::new())),
    };
    let correlation = match (apex("correlationKey"), apex("correlationValue")) {
        (None, None) => None,
        (Some(key), Some(value)) => Some(Correlation {
            key: value_source("apex:correlationKey", key).map_err(refuse)?,
            value: value_source("apex:correlationValue", value).map_err(refuse)?,
        }),
        (Some(_), None) => {
            return Err(refuse(
                "apex:correlationKey is given without apex:correlationValue".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(refuse(
                "apex:correlationValue is given without apex:correlationKey".to_string(),
            ));
        }
    };
    let payload_variable = apex("payloadVariable")
        .map(text_of)
        .filter(|name| !name.is_empty());
    Ok(MessageDefinition {
        message_name,
        correlation,
        payload_variable,
    })
}

/// `<apex:expressionType>` (default `static`) and a non-empty `<apex:expression>`.
fn value_source(label: &str, node: Node) -> Result<ValueSource, String> {
    let child_text = |name: &str| {
        node.children()
            .find(|child| child.is_element() && child.tag_name().name() == name)
            .map(text_of)
    };
    let expression = child_text("expression").unwrap_or_default();
    if expression.is_empty() {
        return Err(format!("{label} has no apex:expression"));
    }
    match child_text("expressionType").as_deref() {
        None | Some("static") => Ok(ValueSource::Static(expression)),
        Some("processVariable") => Ok(ValueSource::ProcessVariable(expression)),
        Some(other) => Err(format!(
            "{label}: expression type '{other}' is not supported (use static or processVariable)"
        )),
    }
}
