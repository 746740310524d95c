//! The call structure of a new instance: which stored diagram each call activity calls, for
//! the instance's diagram and every diagram it calls in turn. Resolved once, when the
//! instance is created, as Flows for APEX's `create_call_structure` does, so a later release
//! of a called diagram does not change an instance under way.

use std::sync::Arc;

use sea_orm::ConnectionTrait;

use super::diagrams::DiagramCache;
use crate::engine::{CallBinding, CalledVersion, Diagram};
use crate::{Error, Result, store};

/// The bindings of every call activity reachable from diagram `dgrm_id`. Refused (409) when a
/// called diagram is missing, not callable (`apex:isCallable`), or calls itself.
pub async fn bind(
    db: &impl ConnectionTrait,
    cache: &DiagramCache,
    dgrm_id: i64,
    diagram: Arc<Diagram>,
) -> Result<Vec<CallBinding>> {
    let mut bindings: Vec<CallBinding> = Vec::new();
    // (the diagram's id as a caller, the diagram, the chain of diagrams that led to it)
    let mut pending = vec![(None, diagram, vec![dgrm_id])];
    while let Some((caller, diagram, chain)) = pending.pop() {
        for (element, call) in diagram.calls() {
            if bindings
                .iter()
                .any(|b| b.caller == caller && b.activity == element.id)
            {
                continue; // a diagram called from two places binds its calls once
            }
            let Some(name) = &call.diagram_name else {
                return Err(Error::conflict(format!(
                    "Call activity {} names no diagram to call (apex:calledDiagram)",
                    element.id
                )));
            };
            let version = match &call.version {
                CalledVersion::Latest => None,
                CalledVersion::Named(version) => Some(version.as_str()),
            };
            let Some(target) = store::diagrams::by_name(db, name, version).await? else {
                return Err(Error::conflict(format!(
                    "Call activity {} calls diagram '{}'{}, which does not exist",
                    element.id,
                    name,
                    version.map_or(" (released)".to_string(), |v| format!(" version {v}")),
                )));
            };
            if chain.contains(&target.dgrm_id) {
                return Err(Error::conflict(format!(
                    "Call activity {} calls diagram '{}', which is already running in this \
                     call chain: a diagram cannot call itself",
                    element.id, name
                )));
            }
            let called = cache.get(db, target.dgrm_id).await?;
            if !called.is_callable() {
                return Err(Error::conflict(format!(
                    "Call activity {} calls diagram '{}' version {}, which is not callable \
                     (apex:isCallable)",
                    element.id, target.name, target.version
                )));
            }
            bindings.push(CallBinding {
                caller,
                activity: element.id.clone(),
                dgrm_id: target.dgrm_id,
            });
            let mut longer = chain.clone();
            longer.push(target.dgrm_id);
            pending.push((Some(target.dgrm_id), called, longer));
        }
    }
    Ok(bindings)
}

/// The diagrams an instance's call activities are bound to, parsed.
pub async fn called_diagrams(
    db: &impl ConnectionTrait,
    cache: &DiagramCache,
    calls: &[CallBinding],
) -> Result<Vec<(i64, Arc<Diagram>)>> {
    let mut diagrams: Vec<(i64, Arc<Diagram>)> = Vec::new();
    for call in calls {
        if !diagrams.iter().any(|(id, _)| *id == call.dgrm_id) {
            diagrams.push((call.dgrm_id, cache.get(db, call.dgrm_id).await?));
        }
    }
    Ok(diagrams)
}
