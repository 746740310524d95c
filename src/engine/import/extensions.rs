//! Event definitions of catch events and the Flows for APEX (`apex:`) message extensions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use roxmltree::Node;

use super::{APEX_NS, ImportError, bpmn_children, event_definitions, text_of};
use crate::engine::diagram::{Correlation, ElementKind, MessageDefinition, ValueSource};
use crate::engine::timer::{IsoDuration, TimerDefinition};

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
            "a catch event needs exactly one message or timer event definition",
        ));
    };
    match definition.tag_name().name() {
        "messageEventDefinition" => {
            let message_ref = definition.attribute("messageRef");
            let message = message_definition(id, *definition, message_ref, message_names)?;
            Ok(ElementKind::MessageCatchEvent(message))
        }
        "timerEventDefinition" => Ok(ElementKind::TimerCatchEvent(timer(id, *definition)?)),
        other => Err(ImportError::new(
            id,
            format!("catch events with a {other} are not supported"),
        )),
    }
}

fn timer(id: &str, definition: Node) -> Result<TimerDefinition, ImportError> {
    let refuse = |reason: String| ImportError::new(id, reason);
    let settings: Vec<Node> = definition
        .children()
        .filter(|child| super::in_bpmn_namespace(*child))
        .filter(|child| child.tag_name().name().starts_with("time"))
        .collect();
    let [setting] = settings.as_slice() else {
        return Err(refuse(
            "a timer needs exactly one of timeDuration or timeDate".to_string(),
        ));
    };
    let text = text_of(*setting);
    match setting.tag_name().name() {
        "timeDuration" => IsoDuration::parse(&text)
            .map(TimerDefinition::Duration)
            .map_err(refuse),
        "timeDate" => DateTime::parse_from_rfc3339(&text)
            .map(|date| TimerDefinition::Date(date.with_timezone(&Utc)))
            .map_err(|error| {
                refuse(format!(
                    "timeDate '{text}' is not an RFC 3339 date: {error}"
                ))
            }),
        other => Err(refuse(format!("{other} timers are not supported"))),
    }
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
        None => referenced_name.ok_or_else(|| {
            refuse("message catch has no message name (apex:messageName)".to_string())
        })?,
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
