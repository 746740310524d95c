//! What an imported element asks of Flows for APEX that the engine leaves to others: PL/SQL,
//! e-mail, APEX pages and AI calls wait as steps an external system completes; process
//! variable expressions are not run.

use roxmltree::Node;

use super::APEX_NS;
use crate::engine::diagram::{
    Element, ElementKind, ImportWarning, TaskKind, ThrowKind, ValueSource,
};
use crate::engine::expressions::Source;
use crate::engine::iteration::Collection;
use crate::engine::timer::TimerDefinition;

pub(super) fn of_element(node: Node, element: &Element) -> Vec<ImportWarning> {
    let mut warnings = Vec::new();
    let mut warn = |message: String| {
        warnings.push(ImportWarning {
            element_id: element.id.clone(),
            message,
        });
    };
    if let ElementKind::Task(kind) = &element.kind
        && let Some(work) = external_work(node, *kind)
    {
        warn(format!(
            "{work} is not run here; the step waits until an external system completes it"
        ));
    }
    if let ElementKind::TimerCatchEvent(TimerDefinition::Incomplete)
    | ElementKind::TimerStart(TimerDefinition::Incomplete) = element.kind
    {
        warn(
            "the timer has no definition: as in Flows, a token reaching it goes into error"
                .to_string(),
        );
    }
    if let ElementKind::MessageCatchEvent(definition) | ElementKind::ReceiveTask(definition) =
        &element.kind
        && definition.message_name == ValueSource::Static(String::new())
    {
        warn(
            "there is no message name (apex:messageName): a token reaching it goes into \
              error"
                .to_string(),
        );
    }
    if let ElementKind::ThrowEvent(kind) = &element.kind {
        let effect = match kind {
            ThrowKind::Message => Some("the message is not sent"),
            ThrowKind::Signal => Some("the signal is not broadcast"),
            ThrowKind::None => None,
        };
        if let Some(effect) = effect {
            warn(format!("{effect}; the token passes the event"));
        }
    }
    if element.kind == (ElementKind::EndEvent { terminate: false }) {
        let thrown = super::event_definitions(node)
            .map(|definition| {
                definition
                    .tag_name()
                    .name()
                    .trim_end_matches("EventDefinition")
            })
            .next();
        if let Some(thrown) = thrown {
            warn(format!(
                "the {thrown} is not thrown: at the top level the path ends here, as in Flows"
            ));
        }
    }
    if let ElementKind::CallActivity(call) = &element.kind
        && call.diagram_name.is_none()
    {
        warn(
            "the call activity names no diagram (apex:calledDiagram): as in Flows, no instance \
             can be created until it does"
                .to_string(),
        );
    }
    if let Some(iteration) = &element.iteration
        && let Some(Collection::Oracle(kind)) = &iteration.input
    {
        warn(format!(
            "the input collection is an SQL query ({kind}), which needs Oracle: a token reaching \
             the activity goes into error"
        ));
    }
    let handed_over = match &element.kind {
        ElementKind::CallActivity(call) => [&call.in_variables[..], &call.out_variables[..]],
        _ => [&[][..], &[][..]],
    };
    for expression in element
        .expressions
        .iter()
        .chain(handed_over.into_iter().flatten())
    {
        if expression.source == Source::Oracle {
            warn(format!(
                "the expression for process variable '{}' needs Oracle (a SQL query or PL/SQL \
                 beyond the supported subset); it is not set here",
                expression.name
            ));
        }
    }
    warnings
}

/// What Flows would run for this task, if anything.
fn external_work(node: Node, kind: TaskKind) -> Option<String> {
    let apex_type = node.attribute((APEX_NS, "type"));
    let described = |default: &str| match apex_type {
        Some("executePlsql") => "its PL/SQL code (apex:executePlsql)".to_string(),
        Some("sendMail") => "its e-mail (apex:sendMail)".to_string(),
        Some("apexAIGeneration") => "its AI generation (apex:apexAIGeneration)".to_string(),
        Some("apexPage") => "its APEX page (apex:apexPage)".to_string(),
        Some("apexApproval") => "its APEX approval task (apex:apexApproval)".to_string(),
        Some(other) => format!("its {other} work (apex:type)"),
        None => default.to_string(),
    };
    match kind {
        TaskKind::ScriptTask => Some(described("its script")),
        TaskKind::ServiceTask => Some(described("its service")),
        TaskKind::SendTask => Some(described("its message")),
        TaskKind::BusinessRuleTask => Some(described("its business rule")),
        TaskKind::UserTask | TaskKind::ManualTask | TaskKind::Task => None,
    }
}
