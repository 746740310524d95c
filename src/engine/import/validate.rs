//! Graph checks that make an imported process runnable: connected flows, the flow counts
//! each element kind needs, and a path from the start event through every element to an end.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{DeclaredFlows, ImportError};
use crate::engine::diagram::{Diagram, Element, ElementKind, SequenceFlow};

pub(super) fn check(
    process_id: &str,
    process_name: Option<&str>,
    mut elements: Vec<Element>,
    flows: Vec<SequenceFlow>,
    declared: &[DeclaredFlows],
) -> Result<Diagram, ImportError> {
    check_unique_ids(process_id, &elements, &flows)?;
    connect(&mut elements, &flows)?;
    let flows_by_id: HashMap<&str, &SequenceFlow> =
        flows.iter().map(|flow| (flow.id.as_str(), flow)).collect();
    check_declared_references(declared, &flows_by_id)?;
    let start_event = single_start_event(process_id, &elements)?;
    for element in &elements {
        check_flow_counts(element, &flows_by_id)?;
    }
    check_conditions(&elements, &flows)?;
    check_paths(&elements, &flows, &start_event)?;
    Ok(Diagram::assemble(
        process_id.to_owned(),
        process_name.map(str::to_owned),
        start_event,
        elements,
        flows,
    ))
}

fn check_unique_ids(
    process_id: &str,
    elements: &[Element],
    flows: &[SequenceFlow],
) -> Result<(), ImportError> {
    let mut seen = HashSet::from([process_id]);
    let ids = elements
        .iter()
        .map(|e| e.id.as_str())
        .chain(flows.iter().map(|f| f.id.as_str()));
    for id in ids {
        if !seen.insert(id) {
            return Err(ImportError::new(id, "the id is used more than once"));
        }
    }
    Ok(())
}

/// Fills each element's `incoming`/`outgoing` from the flows, refusing dangling references.
fn connect(elements: &mut [Element], flows: &[SequenceFlow]) -> Result<(), ImportError> {
    let index: HashMap<String, usize> = elements
        .iter()
        .enumerate()
        .map(|(position, element)| (element.id.clone(), position))
        .collect();
    for flow in flows {
        let position_of = |reference: &str, attribute: &str| {
            index.get(reference).copied().ok_or_else(|| {
                ImportError::new(
                    flow.id.as_str(),
                    format!("{attribute} '{reference}' does not name a flow node of the process"),
                )
            })
        };
        let source = position_of(&flow.source, "sourceRef")?;
        let target = position_of(&flow.target, "targetRef")?;
        elements[source].outgoing.push(flow.id.clone());
        elements[target].incoming.push(flow.id.clone());
    }
    Ok(())
}

/// `<incoming>`/`<outgoing>` children are redundant, but when present they must agree.
fn check_declared_references(
    declared: &[DeclaredFlows],
    flows: &HashMap<&str, &SequenceFlow>,
) -> Result<(), ImportError> {
    for element in declared {
        let refuse = |reason: String| ImportError::new(element.element_id.as_str(), reason);
        for reference in &element.incoming {
            match flows.get(reference.as_str()) {
                None => {
                    return Err(refuse(format!(
                        "incoming flow '{reference}' does not exist"
                    )));
                }
                Some(flow) if flow.target != element.element_id => {
                    return Err(refuse(format!(
                        "incoming flow '{reference}' does not end at this element"
                    )));
                }
                Some(_) => {}
            }
        }
        for reference in &element.outgoing {
            match flows.get(reference.as_str()) {
                None => {
                    return Err(refuse(format!(
                        "outgoing flow '{reference}' does not exist"
                    )));
                }
                Some(flow) if flow.source != element.element_id => {
                    return Err(refuse(format!(
                        "outgoing flow '{reference}' does not start at this element"
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn single_start_event(process_id: &str, elements: &[Element]) -> Result<String, ImportError> {
    let mut starts = elements
        .iter()
        .filter(|element| element.kind == ElementKind::StartEvent);
    let first = starts
        .next()
        .ok_or_else(|| ImportError::new(process_id, "the process has no start event"))?;
    if let Some(second) = starts.next() {
        return Err(ImportError::new(
            second.id.as_str(),
            "a process may have only one start event",
        ));
    }
    Ok(first.id.clone())
}

fn check_flow_counts(
    element: &Element,
    flows: &HashMap<&str, &SequenceFlow>,
) -> Result<(), ImportError> {
    let refuse = |reason: String| Err(ImportError::new(element.id.as_str(), reason));
    match &element.kind {
        ElementKind::StartEvent if !element.incoming.is_empty() => {
            refuse("a start event cannot have incoming flows".to_string())
        }
        ElementKind::EndEvent { .. } if !element.outgoing.is_empty() => {
            refuse("an end event cannot have outgoing flows".to_string())
        }
        ElementKind::EndEvent { .. } => Ok(()),
        ElementKind::ExclusiveGateway { .. } | ElementKind::ParallelGateway
            if element.outgoing.is_empty() =>
        {
            refuse("the gateway has no outgoing sequence flow".to_string())
        }
        ElementKind::ExclusiveGateway { default_flow } => {
            if let Some(default) = default_flow
                && !element.outgoing.contains(default)
            {
                return refuse(format!(
                    "default flow '{default}' is not an outgoing flow of this gateway"
                ));
            }
            if element.outgoing.len() == 1 {
                return Ok(());
            }
            let unguarded = element.outgoing.iter().find(|id| {
                Some(*id) != default_flow.as_ref()
                    && flows
                        .get(id.as_str())
                        .is_some_and(|flow| flow.condition.is_none())
            });
            match unguarded {
                Some(flow) => Err(ImportError::new(
                    flow.as_str(),
                    format!(
                        "the flow leaves exclusive gateway '{}' without a condition \
                         and is not its default flow",
                        element.id
                    ),
                )),
                None => Ok(()),
            }
        }
        ElementKind::ParallelGateway => Ok(()),
        _ => match element.outgoing.len() {
            1 => Ok(()),
            0 => refuse("there is no outgoing sequence flow".to_string()),
            _ => refuse(
                "there are several outgoing sequence flows; split with a gateway".to_string(),
            ),
        },
    }
}

fn check_conditions(elements: &[Element], flows: &[SequenceFlow]) -> Result<(), ImportError> {
    let exclusive_gateways: HashSet<&str> = elements
        .iter()
        .filter(|element| matches!(element.kind, ElementKind::ExclusiveGateway { .. }))
        .map(|element| element.id.as_str())
        .collect();
    match flows
        .iter()
        .find(|flow| flow.condition.is_some() && !exclusive_gateways.contains(flow.source.as_str()))
    {
        Some(flow) => Err(ImportError::new(
            flow.id.as_str(),
            "conditions are only supported on flows leaving an exclusive gateway",
        )),
        None => Ok(()),
    }
}

/// Every element must be reachable from the start event and lead to some end event.
fn check_paths(
    elements: &[Element],
    flows: &[SequenceFlow],
    start_event: &str,
) -> Result<(), ImportError> {
    let mut forward: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut backward: HashMap<&str, Vec<&str>> = HashMap::new();
    for flow in flows {
        forward.entry(&flow.source).or_default().push(&flow.target);
        backward.entry(&flow.target).or_default().push(&flow.source);
    }

    let reached = walk([start_event], &forward);
    if let Some(lost) = elements.iter().find(|e| !reached.contains(e.id.as_str())) {
        return Err(ImportError::new(
            lost.id.as_str(),
            "it cannot be reached from the start event",
        ));
    }
    let ends = elements
        .iter()
        .filter(|element| matches!(element.kind, ElementKind::EndEvent { .. }))
        .map(|element| element.id.as_str());
    let finishing = walk(ends, &backward);
    match elements.iter().find(|e| !finishing.contains(e.id.as_str())) {
        Some(stuck) => Err(ImportError::new(
            stuck.id.as_str(),
            "no path leads from it to an end event",
        )),
        None => Ok(()),
    }
}

/// Breadth-first search; returns every id reached from `from` along `edges`.
fn walk<'a>(
    from: impl IntoIterator<Item = &'a str>,
    edges: &HashMap<&'a str, Vec<&'a str>>,
) -> HashSet<&'a str> {
    let mut queue: VecDeque<&str> = from.into_iter().collect();
    let mut seen: HashSet<&str> = queue.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        for &neighbour in edges.get(id).into_iter().flatten() {
            if seen.insert(neighbour) {
                queue.push_back(neighbour);
            }
        }
    }
    seen
}
