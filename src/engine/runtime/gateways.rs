//! Gateways as Flows for APEX runs them: a routing variable `<gateway id>:route` wins over the
//! conditions; conditions are evaluated in `apex:sequence` order with the default flow last;
//! parallel joins wait for every incoming flow, inclusive merges for the branches their split
//! started.

use std::collections::VecDeque;

use super::EngineError;
use super::token::{Move, Run};
use crate::engine::diagram::{Element, ElementKind};
use crate::engine::instance::{SubflowId, SubflowStatus};
use crate::engine::variables;

/// The suffix of a gateway's routing variable (`gc_prov_suffix_route`).
const ROUTE_SUFFIX: &str = ":route";

impl<'a> Run<'_, 'a> {
    pub(super) fn enter_exclusive(
        &mut self,
        id: SubflowId,
        gateway: &'a Element,
        default: Option<&str>,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        match self.routes(id, gateway, default, true) {
            Ok(routes) => {
                self.complete_element(&gateway.id);
                queue.extend(routes.into_iter().take(1).map(|flow| (id, Some(flow))));
                Ok(())
            }
            Err(reason) => self.fail(id, gateway, &reason),
        }
    }

    /// Merges (several incoming flows), then splits along every chosen flow.
    pub(super) fn enter_inclusive(
        &mut self,
        id: SubflowId,
        gateway: &'a Element,
        default: Option<&str>,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let mut continuing = id;
        if gateway.incoming.len() > 1 {
            self.set_status(id, SubflowStatus::WaitingJoin)?;
            match self.merge_started_branches(id, gateway)? {
                Some(survivor) => continuing = survivor,
                None => return Ok(()),
            }
        }
        let routes = match self.routes(continuing, gateway, default, false) {
            Ok(routes) => routes,
            Err(reason) => return self.fail(continuing, gateway, &reason),
        };
        self.complete_element(&gateway.id);
        self.split(continuing, gateway, routes, queue)
    }

    /// Joins (when there are several incoming flows) and then forks (when there are several
    /// outgoing flows) or passes the token on.
    pub(super) fn enter_parallel(
        &mut self,
        id: SubflowId,
        gateway: &'a Element,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let mut continuing = id;
        if gateway.incoming.len() > 1 {
            self.set_status(id, SubflowStatus::WaitingJoin)?;
            match self.join(gateway)? {
                Some(survivor) => continuing = survivor,
                None => return Ok(()),
            }
        }
        self.complete_element(&gateway.id);
        self.split(continuing, gateway, gateway.outgoing.clone(), queue)
    }

    /// One flow: the token goes on. Several: it waits as `split` while a child subflow per
    /// flow (remembering the gateway as its origin) goes on.
    pub(super) fn split(
        &mut self,
        id: SubflowId,
        gateway: &Element,
        routes: Vec<String>,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        if let [only] = routes.as_slice()
            && gateway.outgoing.len() == 1
        {
            queue.push_back((id, Some(only.clone())));
            return Ok(());
        }
        self.set_status(id, SubflowStatus::Split)?;
        for flow in routes {
            let child = self.new_subflow(Some(id), &gateway.id);
            self.subflow_mut(child)?.origin = Some(gateway.id.clone());
            queue.push_back((child, Some(flow)));
        }
        Ok(())
    }

    /// The first catch event after an event-based gateway to happen closes the others: their
    /// subscriptions and timers go, their subflows complete.
    pub(super) fn close_other_events(&mut self, winner: SubflowId) -> Result<(), EngineError> {
        let subflow = self.subflow(winner)?;
        let (Some(parent), Some(origin)) = (subflow.parent_id, subflow.origin.clone()) else {
            return Ok(());
        };
        let from_event_gateway = self
            .diagram_of(winner)?
            .element(&origin)
            .is_some_and(|gateway| gateway.kind == ElementKind::EventBasedGateway);
        if !from_event_gateway {
            return Ok(());
        }
        let losers: Vec<SubflowId> = self
            .instance
            .subflows
            .iter()
            .filter(|s| s.id != winner && s.is_live() && s.parent_id == Some(parent))
            .filter(|s| s.origin.as_deref() == Some(origin.as_str()))
            .map(|s| s.id)
            .collect();
        for loser in losers {
            self.instance
                .subscriptions
                .retain(|s| s.subflow_id != loser);
            self.instance.timers.retain(|t| t.subflow_id != loser);
            self.finish(loser)?;
        }
        Ok(())
    }

    /// The flows to take, as Flows' `get_gateway_route` chooses them; an error names why none.
    fn routes(
        &self,
        id: SubflowId,
        gateway: &Element,
        default: Option<&str>,
        exclusive: bool,
    ) -> Result<Vec<String>, String> {
        if let [only] = gateway.outgoing.as_slice() {
            return Ok(vec![only.clone()]);
        }
        let variable = format!("{}{ROUTE_SUFFIX}", gateway.id);
        let scope = self.variables_of(id).map_err(|e| e.to_string())?;
        let routing = variables::lookup(scope, &variable)
            .map(|value| value.to_text())
            .filter(|text| !text.trim().is_empty());
        if let Some(routing) = routing {
            return self.routes_from_variable(gateway, &variable, &routing, exclusive);
        }
        let diagram = self.diagram_of(id).map_err(|e| e.to_string())?;
        let flow_of = |flow_id: &str| diagram.flow(flow_id);
        let mut ordered: Vec<(usize, &String)> = gateway.outgoing.iter().enumerate().collect();
        ordered.sort_by_key(|(index, flow_id)| {
            let sequence = flow_of(flow_id).and_then(|flow| flow.sequence);
            (
                Some(flow_id.as_str()) == default,
                sequence.is_none(),
                sequence,
                *index,
            )
        });
        let guarded = |flow_id: &str| flow_of(flow_id).is_some_and(|f| f.condition.is_some());
        let unguarded = gateway
            .outgoing
            .iter()
            .filter(|flow_id| Some(flow_id.as_str()) != default && !guarded(flow_id))
            .count();
        let no_route = || {
            format!(
                "no condition holds, there is no default flow and the routing variable \
                 '{variable}' is not set"
            )
        };
        let any_guarded = gateway.outgoing.iter().any(|flow_id| guarded(flow_id));
        if unguarded > 0 && any_guarded {
            return Err(format!(
                "some flows carry no condition and the routing variable '{variable}' is not set"
            ));
        }
        let context = self
            .condition_context(id)
            .map_err(|error| error.to_string())?;
        let mut chosen = Vec::new();
        for (_, flow_id) in ordered {
            let is_default = Some(flow_id.as_str()) == default;
            let holds = match flow_of(flow_id).and_then(|flow| flow.condition.as_ref()) {
                Some(condition) => condition
                    .holds(&context)
                    .map_err(|error| format!("flow {flow_id}: {error}"))?,
                None => false,
            };
            if holds || (is_default && chosen.is_empty()) {
                chosen.push(flow_id.clone());
                if exclusive {
                    break;
                }
            }
        }
        if chosen.is_empty() {
            return Err(no_route());
        }
        Ok(chosen)
    }

    /// The flows a routing variable names (`:`-separated; one for an exclusive gateway).
    fn routes_from_variable(
        &self,
        gateway: &Element,
        variable: &str,
        routing: &str,
        exclusive: bool,
    ) -> Result<Vec<String>, String> {
        let mut routes: Vec<String> = Vec::new();
        for route in routing.split(':').map(str::trim).filter(|r| !r.is_empty()) {
            if !routes.iter().any(|known| known == route) {
                routes.push(route.to_owned());
            }
        }
        if exclusive && routes.len() > 1 {
            return Err(format!(
                "the routing variable '{variable}' names more than one flow: {routing}"
            ));
        }
        let invalid: Vec<&str> = routes
            .iter()
            .filter(|route| !gateway.outgoing.contains(route))
            .map(String::as_str)
            .collect();
        if !invalid.is_empty() || routes.is_empty() {
            return Err(format!(
                "the routing variable '{variable}' names flows that do not leave the gateway: {}",
                invalid.join(",")
            ));
        }
        Ok(routes)
    }

    /// Flows' `gateway_merge`: once every live subflow its split started (same parent, same
    /// origin) waits here, they complete and the split's parent carries on. A token that did
    /// not come from a split passes.
    fn merge_started_branches(
        &mut self,
        id: SubflowId,
        gateway: &Element,
    ) -> Result<Option<SubflowId>, EngineError> {
        let arrived = self.subflow(id)?;
        let (Some(parent), Some(origin)) = (arrived.parent_id, arrived.origin.clone()) else {
            self.set_status(id, SubflowStatus::Running)?;
            return Ok(Some(id));
        };
        let parent_split = self
            .instance
            .subflow(parent)
            .is_some_and(|subflow| subflow.status == SubflowStatus::Split);
        if !parent_split {
            self.set_status(id, SubflowStatus::Running)?;
            return Ok(Some(id));
        }
        let siblings: Vec<(SubflowId, bool)> = self
            .instance
            .subflows
            .iter()
            .filter(|s| s.parent_id == Some(parent) && s.origin.as_deref() == Some(&origin))
            .filter(|s| s.is_live())
            .map(|s| {
                let waiting_here =
                    s.status == SubflowStatus::WaitingJoin && s.current_element == gateway.id;
                (s.id, waiting_here)
            })
            .collect();
        if siblings.iter().any(|(_, waiting_here)| !waiting_here) {
            return Ok(None);
        }
        // Resume the parent first, so that completing its children cannot complete it too.
        self.move_to(parent, &gateway.id, None)?;
        for (sibling, _) in siblings {
            self.finish(sibling)?;
        }
        Ok(Some(parent))
    }

    /// When a token waits at the join on every incoming flow, completes those subflows and
    /// returns the one that carries on: their parent if they are all that is left of its
    /// split, else the first of them.
    fn join(&mut self, gateway: &Element) -> Result<Option<SubflowId>, EngineError> {
        let mut arrived = Vec::with_capacity(gateway.incoming.len());
        for flow in &gateway.incoming {
            let waiting = self.instance.subflows.iter().find(|subflow| {
                subflow.status == SubflowStatus::WaitingJoin
                    && subflow.current_element == gateway.id
                    && subflow.arrived_via.as_deref() == Some(flow.as_str())
            });
            match waiting {
                Some(subflow) => arrived.push(subflow.id),
                None => return Ok(None),
            }
        }
        let Some(&first) = arrived.first() else {
            return Ok(None);
        };
        let survivor = self.resumable_parent(&arrived).unwrap_or(first);
        // Resume the survivor first, so that completing the others cannot complete it too.
        self.move_to(survivor, &gateway.id, None)?;
        for id in arrived.into_iter().filter(|&id| id != survivor) {
            self.finish(id)?;
        }
        Ok(Some(survivor))
    }

    fn resumable_parent(&self, arrived: &[SubflowId]) -> Option<SubflowId> {
        let parent_of = |id: &SubflowId| self.instance.subflow(*id).and_then(|s| s.parent_id);
        let parent = parent_of(arrived.first()?)?;
        let same_parent = arrived.iter().all(|id| parent_of(id) == Some(parent));
        let parent_is_split = self
            .instance
            .subflow(parent)
            .is_some_and(|subflow| subflow.status == SubflowStatus::Split);
        let other_children_live = self.instance.subflows.iter().any(|subflow| {
            subflow.parent_id == Some(parent) && subflow.is_live() && !arrived.contains(&subflow.id)
        });
        (same_parent && parent_is_split && !other_children_live).then_some(parent)
    }
}
