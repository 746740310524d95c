//! `bpmn:multiInstanceLoopCharacteristics` and `bpmn:standardLoopCharacteristics` with Flows
//! for APEX's `apex:` settings.

use roxmltree::Node;

use super::{APEX_NS, ImportError, bpmn_children, in_bpmn_namespace, text_of};
use crate::engine::condition::FlowCondition;
use crate::engine::iteration::{Collection, Iteration, IterationMode, OutputCollection};

/// The activity's loop or multi-instance settings, if it has any.
pub(super) fn iteration(id: &str, activity: Node) -> Result<Option<Iteration>, ImportError> {
    let refuse = |reason: String| ImportError::new(id, reason);
    let characteristics = activity.children().find(|child| {
        in_bpmn_namespace(*child)
            && matches!(
                child.tag_name().name(),
                "multiInstanceLoopCharacteristics" | "standardLoopCharacteristics"
            )
    });
    let Some(node) = characteristics else {
        return Ok(None);
    };
    let apex = |name: &str| {
        bpmn_children(node, "extensionElements")
            .flat_map(|container| container.children())
            .find(|child| {
                child.is_element()
                    && child.tag_name().namespace() == Some(APEX_NS)
                    && child.tag_name().name() == name
            })
    };
    let part = |parent: Node, name: &str| {
        parent
            .children()
            .find(|child| child.is_element() && child.tag_name().name() == name)
            .map(text_of)
            .filter(|text| !text.is_empty())
    };
    let mode = if node.tag_name().name() == "standardLoopCharacteristics" {
        IterationMode::Loop
    } else if node.attribute("isSequential") == Some("true") {
        IterationMode::Sequential
    } else {
        IterationMode::Parallel
    };
    let (input, inside_variable) = match apex("inputCollection") {
        Some(collection) => {
            let expression = part(collection, "expression").unwrap_or_default();
            let source = match part(collection, "expressionType").as_deref() {
                Some("processVariableList") => Collection::List(expression),
                Some("processVariableArray") => Collection::Array(expression),
                Some(query @ ("sqlQueryList" | "sqlQueryArray")) => {
                    Collection::Oracle(query.to_owned())
                }
                other => {
                    return Err(refuse(format!(
                        "input collection type '{}' is not known",
                        other.unwrap_or_default()
                    )));
                }
            };
            (Some(source), part(collection, "insideVariable"))
        }
        None => (None, None),
    };
    if mode != IterationMode::Loop && input.is_none() {
        return Err(refuse(
            "a multi-instance activity needs an input collection (apex:inputCollection)"
                .to_string(),
        ));
    }
    let output = apex("outputCollection").and_then(|collection| {
        let variable = part(collection, "expression")?;
        let inside = part(collection, "insideVariable")
            .unwrap_or_default()
            .split(':')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        Some(OutputCollection { variable, inside })
    });
    let completion = match apex("completionCondition") {
        Some(condition) => match part(condition, "expression") {
            Some(text) => {
                let language = part(condition, "expressionType");
                Some(
                    FlowCondition::parse(&text, language.as_deref())
                        .map_err(|error| refuse(format!("completion condition: {error}")))?,
                )
            }
            None => None,
        },
        None => None,
    };
    if mode == IterationMode::Loop && completion.is_none() {
        return Err(refuse(
            "a loop needs a completion condition (apex:completionCondition)".to_string(),
        ));
    }
    Ok(Some(Iteration {
        mode,
        input,
        inside_variable,
        output,
        completion,
    }))
}
