//! Graph checks that make an imported process runnable: connected flows, the flow counts
//! each element kind needs, and a path from the start event through every element to an end.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{DeclaredFlows, ImportError, Parts};
use crate::engine::diagram::{
    BoundaryTrigger, Diagram, Element, ElementKind, ImportWarning, SequenceFlow,
};

pub(super) fn check(
    process_id: &str,
    process_name: Option<&str>,
    parts: Parts,
) -> Result<Diagram, ImportError> {
    let Parts {
        mut elements,
        declared,
        flows,
        mut warnings,
        scopes,
    } = parts;
    check_unique_ids(process_id, &elements, &flows)?;
    resolve_links(&mut elements)?;
    connect(&mut elements, &flows)?;
    check_scopes(&flows, &scopes)?;
    check_boundary_events(&elements, &scopes)?;
    warnings.extend(uncaught_throws(&elements, &scopes));
    warnings.extend(idle_boundary_warnings(&elements));
    let flows_by_id: HashMap<&str, &SequenceFlow> =
        flows.iter().map(|flow| (flow.id.as_str(), flow)).collect();
    check_declared_references(&declared, &flows_by_id)?;
    let start_event = single_start_event(process_id, &elements, &scopes)?;
    for element in &elements {
        check_flow_counts(element)?;
        warnings.extend(implicit_flow_warning(element));
        warnings.extend(routing_variable_warning(element, &flows_by_id));
    }
    check_conditions(&elements, &flows)?;
    check_event_gateways(&elements, &flows_by_id)?;
    check_paths(&elements, &flows, &start_event)?;
    let element_scopes = scopes
        .into_iter()
        .filter(|(id, _)| !flows_by_id.contains_key(id.as_str()))
        .collect();
    Ok(Diagram::assemble(
        process_id.to_owned(),
        process_name.map(str::to_owned),
        start_event,
        elements,
        flows,
        element_scopes,
        warnings,
    ))
}

/// A boundary event sits on a task or subprocess of its own (sub)process, and nothing flows
/// into it.
fn check_boundary_events(
    elements: &[Element],
    scopes: &HashMap<String, String>,
) -> Result<(), ImportError> {
    for element in elements {
        let ElementKind::BoundaryEvent { attached_to, .. } = &element.kind else {
            continue;
        };
        let refuse = |reason: String| Err(ImportError::new(element.id.as_str(), reason));
        let Some(activity) = elements.iter().find(|e| &e.id == attached_to) else {
            return refuse(format!(
                "it is attached to '{attached_to}', which is not here"
            ));
        };
        let is_activity = matches!(
            activity.kind,
            ElementKind::Task(_)
                | ElementKind::ReceiveTask(_)
                | ElementKind::SubProcess { .. }
                | ElementKind::CallActivity(_)
        );
        if !is_activity {
            return refuse(format!(
                "boundary events attach to tasks, subprocesses and call activities, not to \
                 '{attached_to}'"
            ));
        }
        if scopes.get(&element.id) != scopes.get(attached_to) {
            return refuse("it is not in the same (sub)process as its activity".to_string());
        }
        if !element.incoming.is_empty() {
            return refuse("a boundary event cannot have incoming flows".to_string());
        }
    }
    Ok(())
}

/// Error and escalation boundary events catch what a subprocess or a called diagram throws;
/// on a task (a script failing, in Flows) nothing here raises them.
fn idle_boundary_warnings(elements: &[Element]) -> Vec<ImportWarning> {
    elements
        .iter()
        .filter_map(|element| match &element.kind {
            ElementKind::BoundaryEvent {
                attached_to,
                trigger: BoundaryTrigger::Error(_) | BoundaryTrigger::Escalation(_),
                ..
            } if elements.iter().any(|activity| {
                &activity.id == attached_to
                    && !matches!(
                        activity.kind,
                        ElementKind::SubProcess { .. } | ElementKind::CallActivity(_)
                    )
            }) =>
            {
                Some(ImportWarning {
                    element_id: element.id.clone(),
                    message: format!(
                        "nothing raises it: '{attached_to}' is not run here (in Flows a \
                         failing script would); the path after it is never taken"
                    ),
                })
            }
            _ => None,
        })
        .collect()
}

/// Escalations no boundary event of an enclosing subprocess catches: the token passes (or
/// the path ends), as in Flows.
fn uncaught_throws(elements: &[Element], scopes: &HashMap<String, String>) -> Vec<ImportWarning> {
    let catches = |subprocess: &str, thrown: Option<&str>| {
        elements.iter().any(|e| {
            matches!(&e.kind, ElementKind::BoundaryEvent {
                attached_to,
                trigger: BoundaryTrigger::Escalation(caught),
                ..
            } if attached_to == subprocess && BoundaryTrigger::catches(caught.as_deref(), thrown))
        })
    };
    elements
        .iter()
        .filter_map(|element| match &element.kind {
            ElementKind::EscalationThrow { escalation }
            | ElementKind::EscalationEnd { escalation } => {
                let enclosing = scopes.get(&element.id);
                let caught = enclosing
                    .is_some_and(|subprocess| catches(subprocess, escalation.as_deref()));
                let message = if enclosing.is_some() {
                    "the escalation has nobody to catch it; the token goes on as if it were not there"
                } else {
                    "only a call activity calling this diagram can catch the escalation; \
                     otherwise the token goes on as if it were not there"
                };
                (!caught).then(|| ImportWarning {
                    element_id: element.id.clone(),
                    message: message.to_string(),
                })
            }
            _ => None,
        })
        .collect()
}

/// A sequence flow stays inside its (sub)process: it may not enter or leave a subprocess.
fn check_scopes(
    flows: &[SequenceFlow],
    scopes: &HashMap<String, String>,
) -> Result<(), ImportError> {
    for flow in flows {
        let scope = scopes.get(&flow.id);
        if scopes.get(&flow.source) != scope || scopes.get(&flow.target) != scope {
            return Err(ImportError::new(
                flow.id.as_str(),
                "the sequence flow crosses the boundary of a subprocess",
            ));
        }
    }
    Ok(())
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

fn single_start_event(
    process_id: &str,
    elements: &[Element],
    scopes: &HashMap<String, String>,
) -> Result<String, ImportError> {
    let mut starts = elements.iter().filter(|element| {
        matches!(
            element.kind,
            ElementKind::StartEvent | ElementKind::TimerStart(_)
        ) && !scopes.contains_key(&element.id)
    });
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

/// Points each link throw at the link catch event of its name (it is read as a name).
fn resolve_links(elements: &mut [Element]) -> Result<(), ImportError> {
    let catches: Vec<(String, String)> = elements
        .iter()
        .filter_map(|element| match &element.kind {
            ElementKind::LinkCatch { name } => Some((name.clone(), element.id.clone())),
            _ => None,
        })
        .collect();
    for element in elements.iter_mut() {
        if let ElementKind::LinkThrow { target } = &mut element.kind {
            let matching: Vec<&String> = catches
                .iter()
                .filter(|(name, _)| name == target)
                .map(|(_, id)| id)
                .collect();
            match matching.as_slice() {
                [only] => *target = (*only).clone(),
                [] => {
                    return Err(ImportError::new(
                        element.id.as_str(),
                        format!("no link catch event is named '{target}'"),
                    ));
                }
                _ => {
                    return Err(ImportError::new(
                        element.id.as_str(),
                        format!("several link catch events are named '{target}'"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_flow_counts(element: &Element) -> Result<(), ImportError> {
    let refuse = |reason: String| Err(ImportError::new(element.id.as_str(), reason));
    match &element.kind {
        ElementKind::LinkThrow { .. } if !element.outgoing.is_empty() => {
            refuse("a link throw event cannot have outgoing flows".to_string())
        }
        ElementKind::LinkThrow { .. } => Ok(()),
        ElementKind::LinkCatch { .. } if !element.incoming.is_empty() => {
            refuse("a link catch event cannot have incoming flows".to_string())
        }
        ElementKind::StartEvent | ElementKind::TimerStart(_) if !element.incoming.is_empty() => {
            refuse("a start event cannot have incoming flows".to_string())
        }
        ElementKind::EndEvent { .. }
        | ElementKind::ErrorEnd { .. }
        | ElementKind::EscalationEnd { .. }
            if !element.outgoing.is_empty() =>
        {
            refuse("an end event cannot have outgoing flows".to_string())
        }
        ElementKind::EndEvent { .. } => Ok(()),
        ElementKind::ExclusiveGateway { .. }
        | ElementKind::InclusiveGateway { .. }
        | ElementKind::ParallelGateway
        | ElementKind::EventBasedGateway
            if element.outgoing.is_empty() =>
        {
            refuse("the gateway has no outgoing sequence flow".to_string())
        }
        ElementKind::ExclusiveGateway { default_flow }
        | ElementKind::InclusiveGateway { default_flow } => match default_flow {
            Some(default) if !element.outgoing.contains(default) => refuse(format!(
                "default flow '{default}' is not an outgoing flow of this gateway"
            )),
            _ => Ok(()),
        },
        ElementKind::ParallelGateway | ElementKind::EventBasedGateway => Ok(()),
        // Other elements with none or several: an implicit end or parallel split.
        _ => Ok(()),
    }
}

/// An activity or event without outgoing flow ends its path; with several it splits
/// (BPMN's implicit end and uncontrolled flow).
fn implicit_flow_warning(element: &Element) -> Option<ImportWarning> {
    let gateway_or_end = matches!(
        element.kind,
        ElementKind::ExclusiveGateway { .. }
            | ElementKind::InclusiveGateway { .. }
            | ElementKind::ParallelGateway
            | ElementKind::EventBasedGateway
            | ElementKind::EndEvent { .. }
            | ElementKind::LinkThrow { .. }
    );
    let message = match element.outgoing.len() {
        _ if gateway_or_end => return None,
        0 => "there is no outgoing flow: the path ends here (an implicit end)",
        1 => return None,
        _ => {
            "there are several outgoing flows: the token takes them all (an implicit \
              parallel split)"
        }
    };
    Some(ImportWarning {
        element_id: element.id.clone(),
        message: message.to_string(),
    })
}

/// A splitting gateway whose flows (other than the default) carry no condition is routed, as
/// in Flows for APEX, by the process variable `<gateway id>:route`.
fn routing_variable_warning(
    element: &Element,
    flows: &HashMap<&str, &SequenceFlow>,
) -> Option<ImportWarning> {
    let (ElementKind::ExclusiveGateway { default_flow }
    | ElementKind::InclusiveGateway { default_flow }) = &element.kind
    else {
        return None;
    };
    if element.outgoing.len() < 2 {
        return None;
    }
    let unguarded = element
        .outgoing
        .iter()
        .filter(|id| Some(*id) != default_flow.as_ref())
        .filter(|id| {
            flows
                .get(id.as_str())
                .is_some_and(|f| f.condition.is_none())
        })
        .count();
    (unguarded > 0).then(|| ImportWarning {
        element_id: element.id.clone(),
        message: format!(
            "{unguarded} outgoing flow(s) carry no condition: the gateway is routed by the \
             process variable '{}:route' (flow ids separated by ':')",
            element.id
        ),
    })
}

fn check_conditions(elements: &[Element], flows: &[SequenceFlow]) -> Result<(), ImportError> {
    let exclusive_gateways: HashSet<&str> = elements
        .iter()
        .filter(|element| {
            matches!(
                element.kind,
                ElementKind::ExclusiveGateway { .. } | ElementKind::InclusiveGateway { .. }
            )
        })
        .map(|element| element.id.as_str())
        .collect();
    match flows
        .iter()
        .find(|flow| flow.condition.is_some() && !exclusive_gateways.contains(flow.source.as_str()))
    {
        Some(flow) => Err(ImportError::new(
            flow.id.as_str(),
            "conditions are only supported on flows leaving an exclusive or inclusive gateway",
        )),
        None => Ok(()),
    }
}

/// Each flow leaving an event-based gateway must lead to a message or timer catch event (or
/// a receive task) that waits for nothing else.
fn check_event_gateways(
    elements: &[Element],
    flows: &HashMap<&str, &SequenceFlow>,
) -> Result<(), ImportError> {
    let by_id: HashMap<&str, &Element> = elements.iter().map(|e| (e.id.as_str(), e)).collect();
    for gateway in elements
        .iter()
        .filter(|element| element.kind == ElementKind::EventBasedGateway)
    {
        for flow_id in &gateway.outgoing {
            let target = flows
                .get(flow_id.as_str())
                .and_then(|flow| by_id.get(flow.target.as_str()));
            let waits = target.is_some_and(|target| {
                target.incoming.len() == 1
                    && matches!(
                        target.kind,
                        ElementKind::MessageCatchEvent(_)
                            | ElementKind::TimerCatchEvent(_)
                            | ElementKind::ReceiveTask(_)
                    )
            });
            if !waits {
                return Err(ImportError::new(
                    flow_id.as_str(),
                    format!(
                        "a flow leaving event-based gateway '{}' must lead to a message or \
                         timer catch event (or a receive task) with no other incoming flow",
                        gateway.id
                    ),
                ));
            }
        }
    }
    Ok(())
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
    for element in elements {
        match &element.kind {
            ElementKind::LinkThrow { target } => {
                forward.entry(&element.id).or_default().push(target);
                backward.entry(target).or_default().push(&element.id);
            }
            // Reaching a subprocess reaches its inside; its inside ends at its own end events.
            ElementKind::SubProcess { start_event } => {
                forward.entry(&element.id).or_default().push(start_event);
            }
            // Reaching an activity reaches its boundary events.
            ElementKind::BoundaryEvent { attached_to, .. } => {
                forward.entry(attached_to).or_default().push(&element.id);
            }
            _ => {}
        }
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
        .filter(|element| {
            matches!(element.kind, ElementKind::EndEvent { .. })
                || (element.outgoing.is_empty()
                    && !matches!(element.kind, ElementKind::LinkThrow { .. }))
        })
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
