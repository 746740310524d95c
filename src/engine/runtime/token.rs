//! Token movement: how subflows travel through the diagram until they wait.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::{Context, EngineError};
use crate::engine::diagram::{Diagram, Element, ElementKind, MessageDefinition, ValueSource};
use crate::engine::instance::{
    Instance, MessageSubscription, ProcessStatus, Subflow, SubflowId, SubflowStatus, Timer,
};
use crate::engine::value::VariableValue;

/// Element entries allowed in one operation before the engine assumes an endless loop
/// (e.g. exclusive gateways that route a token in a circle without any wait state).
const MAX_MOVES: usize = 10_000;

/// A subflow that should move along a flow (`Some`) or (re-)enter its current element.
type Move = (SubflowId, Option<String>);

/// What an operation did, collected while it runs.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub moved: Vec<SubflowId>,
    pub correlated: Vec<MessageSubscription>,
    pub fired: Vec<Timer>,
    /// Subflows that went into error, with the reason.
    pub failures: Vec<(SubflowId, String)>,
}

/// One operation in progress on a working copy of the instance.
pub(super) struct Run<'r, 'a> {
    pub diagram: &'a Diagram,
    ctx: &'r mut Context<'a>,
    pub instance: &'r mut Instance,
    pub report: Report,
}

impl<'r, 'a> Run<'r, 'a> {
    pub fn new(ctx: &'r mut Context<'a>, instance: &'r mut Instance) -> Self {
        Self {
            diagram: ctx.diagram,
            ctx,
            instance,
            report: Report::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    pub fn subflow(&self, id: SubflowId) -> Result<&Subflow, EngineError> {
        self.instance
            .subflow(id)
            .ok_or(EngineError::SubflowNotFound)
    }

    pub fn subflow_mut(&mut self, id: SubflowId) -> Result<&mut Subflow, EngineError> {
        self.instance
            .subflows
            .iter_mut()
            .find(|subflow| subflow.id == id)
            .ok_or(EngineError::SubflowNotFound)
    }

    /// The element a subflow is at, looked up in the diagram.
    pub fn current_element(&self, id: SubflowId) -> Result<&'a Element, EngineError> {
        let element_id = &self.subflow(id)?.current_element;
        self.diagram.element(element_id).ok_or_else(|| {
            EngineError::InconsistentState(format!("element {element_id} is not in the diagram"))
        })
    }

    pub fn set_status(&mut self, id: SubflowId, status: SubflowStatus) -> Result<(), EngineError> {
        self.subflow_mut(id)?.status = status;
        self.note_changed(id);
        Ok(())
    }

    /// Records that an operation changed this subflow.
    pub fn note_changed(&mut self, id: SubflowId) {
        if !self.report.moved.contains(&id) {
            self.report.moved.push(id);
        }
    }

    pub fn new_subflow(&mut self, parent_id: Option<SubflowId>, element_id: &str) -> SubflowId {
        let id = self.instance.next_subflow_id;
        self.instance.next_subflow_id += 1;
        let step_key = (self.ctx.step_keys)();
        self.instance.subflows.push(Subflow {
            id,
            parent_id,
            current_element: element_id.to_owned(),
            status: SubflowStatus::Running,
            step_key,
            became_current: self.ctx.now,
            reservation: None,
            work_started: None,
            arrived_via: None,
        });
        self.note_changed(id);
        id
    }

    /// Puts a subflow at an element with a fresh step key, ready to run.
    pub fn move_to(
        &mut self,
        id: SubflowId,
        element_id: &str,
        arrived_via: Option<String>,
    ) -> Result<(), EngineError> {
        let step_key = (self.ctx.step_keys)();
        let now = self.ctx.now;
        let subflow = self.subflow_mut(id)?;
        subflow.current_element = element_id.to_owned();
        subflow.arrived_via = arrived_via;
        subflow.status = SubflowStatus::Running;
        subflow.step_key = step_key;
        subflow.became_current = now;
        subflow.reservation = None;
        subflow.work_started = None;
        self.note_changed(id);
        Ok(())
    }

    /// Completes the subflow's current element and moves on along its single outgoing flow.
    pub fn leave(&mut self, id: SubflowId) -> Result<(), EngineError> {
        let element = self.current_element(id)?;
        let flow = element.outgoing.first().ok_or_else(|| {
            EngineError::InconsistentState(format!("element {} has no outgoing flow", element.id))
        })?;
        self.complete_element(&element.id);
        self.advance(id, Some(flow.clone()))
    }

    /// Moves tokens until every one of them waits, ends or fails.
    pub fn advance(&mut self, id: SubflowId, flow: Option<String>) -> Result<(), EngineError> {
        let mut queue: VecDeque<Move> = VecDeque::from([(id, flow)]);
        let mut moves = 0;
        while let Some((id, flow)) = queue.pop_front() {
            if self.instance.status.has_ended() {
                break; // a terminate end event stopped everything
            }
            moves += 1;
            if moves > MAX_MOVES {
                return Err(EngineError::EndlessLoop(MAX_MOVES));
            }
            if let Some(flow_id) = flow {
                let flow = self.diagram.flow(&flow_id).ok_or_else(|| {
                    EngineError::InconsistentState(format!("flow {flow_id} is not in the diagram"))
                })?;
                self.move_to(id, &flow.target, Some(flow_id))?;
            }
            self.enter(id, &mut queue)?;
        }
        Ok(())
    }

    /// Runs the behaviour of the element the subflow has just reached.
    fn enter(&mut self, id: SubflowId, queue: &mut VecDeque<Move>) -> Result<(), EngineError> {
        let element = self.current_element(id)?;
        match &element.kind {
            // The subflow waits here in status running until the step is completed.
            ElementKind::Task(_) => {}
            ElementKind::StartEvent => {
                self.complete_element(&element.id);
                queue.extend(
                    element
                        .outgoing
                        .first()
                        .map(|flow| (id, Some(flow.clone()))),
                );
            }
            ElementKind::EndEvent { terminate: false } => {
                self.complete_element(&element.id);
                self.finish(id)?;
            }
            ElementKind::EndEvent { terminate: true } => {
                self.complete_element(&element.id);
                self.end_everything(ProcessStatus::Completed);
            }
            ElementKind::ExclusiveGateway { default_flow } => {
                match self.choose_flow(element, default_flow.as_deref()) {
                    Some(flow) => {
                        self.complete_element(&element.id);
                        queue.push_back((id, Some(flow.to_owned())));
                    }
                    None => self.fail(
                        id,
                        element,
                        "no condition holds and there is no default flow",
                    )?,
                }
            }
            ElementKind::ParallelGateway => self.enter_parallel(id, element, queue)?,
            ElementKind::MessageCatchEvent(definition) | ElementKind::ReceiveTask(definition) => {
                match self.subscription(id, definition) {
                    Ok(subscription) => {
                        self.instance.subscriptions.push(subscription);
                        self.set_status(id, SubflowStatus::WaitingMessage)?;
                    }
                    Err(reason) => self.fail(id, element, &reason)?,
                }
            }
            ElementKind::TimerCatchEvent(definition) => match definition.due_after(self.now()) {
                Some(due) => {
                    self.instance.timers.push(Timer {
                        subflow_id: id,
                        due,
                    });
                    self.set_status(id, SubflowStatus::WaitingTimer)?;
                }
                None => self.fail(id, element, "the timer's due date is out of range")?,
            },
        }
        Ok(())
    }

    /// The first outgoing flow (document order) whose condition holds, else the default.
    /// The default flow is only the fallback, whatever condition it may carry; a flow
    /// without condition (a merge's single way out) always holds.
    fn choose_flow(&self, gateway: &'a Element, default: Option<&'a str>) -> Option<&'a str> {
        let variables = &self.instance.variables;
        gateway
            .outgoing
            .iter()
            .map(String::as_str)
            .filter(|flow_id| Some(*flow_id) != default)
            .find(|flow_id| {
                self.diagram.flow(flow_id).is_some_and(|flow| {
                    flow.condition
                        .as_ref()
                        .is_none_or(|condition| condition.evaluate(variables))
                })
            })
            .or(default)
    }

    /// Joins (when there are several incoming flows) and then forks (when there are several
    /// outgoing flows) or passes the token on.
    fn enter_parallel(
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
        if let [only] = gateway.outgoing.as_slice() {
            queue.push_back((continuing, Some(only.clone())));
            return Ok(());
        }
        self.set_status(continuing, SubflowStatus::Split)?;
        for flow in &gateway.outgoing {
            let child = self.new_subflow(Some(continuing), &gateway.id);
            queue.push_back((child, Some(flow.clone())));
        }
        Ok(())
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

    fn subscription(
        &self,
        id: SubflowId,
        definition: &MessageDefinition,
    ) -> Result<MessageSubscription, String> {
        let resolve = |source: &ValueSource| match source {
            ValueSource::Static(text) => Ok(text.clone()),
            ValueSource::ProcessVariable(name) => self
                .instance
                .variables
                .get(name)
                .map(VariableValue::to_text)
                .ok_or_else(|| format!("process variable '{name}' is not set")),
        };
        let (correlation_key, correlation_value) = match &definition.correlation {
            Some(correlation) => (
                Some(resolve(&correlation.key)?),
                Some(resolve(&correlation.value)?),
            ),
            None => (None, None),
        };
        Ok(MessageSubscription {
            subflow_id: id,
            message_name: resolve(&definition.message_name)?,
            correlation_key,
            correlation_value,
            payload_variable: definition.payload_variable.clone(),
        })
    }

    /// Completes a subflow, and its parent too once a split has no live children left.
    pub fn finish(&mut self, id: SubflowId) -> Result<(), EngineError> {
        let mut next = Some(id);
        while let Some(id) = next {
            let subflow = self.subflow_mut(id)?;
            subflow.status = SubflowStatus::Completed;
            subflow.reservation = None;
            let parent = subflow.parent_id;
            self.note_changed(id);
            next = parent.filter(|&parent| {
                let split = self
                    .instance
                    .subflow(parent)
                    .is_some_and(|subflow| subflow.status == SubflowStatus::Split);
                split
                    && !self
                        .instance
                        .subflows
                        .iter()
                        .any(|child| child.parent_id == Some(parent) && child.is_live())
            });
        }
        Ok(())
    }

    /// Stops every subflow and closes all waits (terminate end event or terminate call).
    pub fn end_everything(&mut self, status: ProcessStatus) {
        for subflow in self.instance.subflows.iter_mut().filter(|s| s.is_live()) {
            subflow.status = SubflowStatus::Completed;
            subflow.reservation = None;
            if !self.report.moved.contains(&subflow.id) {
                self.report.moved.push(subflow.id);
            }
        }
        self.instance.subscriptions.clear();
        self.instance.timers.clear();
        self.instance.error_elements.clear();
        self.instance.status = status;
    }

    fn fail(&mut self, id: SubflowId, element: &Element, reason: &str) -> Result<(), EngineError> {
        self.set_status(id, SubflowStatus::Error)?;
        if !self.instance.error_elements.contains(&element.id) {
            self.instance.error_elements.push(element.id.clone());
        }
        self.report
            .failures
            .push((id, format!("{}: {reason}", element.id)));
        Ok(())
    }

    pub fn complete_element(&mut self, element_id: &str) {
        if !self
            .instance
            .completed_elements
            .iter()
            .any(|id| id == element_id)
        {
            self.instance.completed_elements.push(element_id.to_owned());
        }
    }

    /// Derives the instance status from its subflows after an operation.
    pub fn refresh_status(&mut self) {
        if !matches!(
            self.instance.status,
            ProcessStatus::Running | ProcessStatus::Error
        ) {
            return;
        }
        let subflows = &self.instance.subflows;
        self.instance.status = if subflows.iter().any(|s| s.status == SubflowStatus::Error) {
            ProcessStatus::Error
        } else if subflows.iter().any(Subflow::is_live) {
            ProcessStatus::Running
        } else {
            ProcessStatus::Completed
        };
    }
}
