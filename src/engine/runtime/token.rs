//! Token movement: how subflows travel through the diagram until they wait.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::boundary::Thrown;
use super::{Context, EngineError};
use crate::engine::condition::ConditionContext;
use crate::engine::diagram::{Diagram, Element, ElementKind, MessageDefinition, ValueSource};
use crate::engine::expressions::Phase;
use crate::engine::instance::{
    Instance, MessageSubscription, ProcessStatus, Subflow, SubflowId, SubflowStatus, Timer,
};
use crate::engine::timer::TimerVariables;
use crate::engine::value::VariableValue;
use crate::engine::variables::{self, VariableMap};

/// Element entries allowed in one operation before the engine assumes an endless loop
/// (e.g. exclusive gateways that route a token in a circle without any wait state).
const MAX_MOVES: usize = 10_000;

/// A subflow that should move along a flow (`Some`) or (re-)enter its current element.
pub(super) type Move = (SubflowId, Option<String>);

/// What an operation did, collected while it runs.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub moved: Vec<SubflowId>,
    pub correlated: Vec<MessageSubscription>,
    pub fired: Vec<Timer>,
    /// Subflows that went into error, with the reason.
    pub failures: Vec<(SubflowId, String)>,
}

/// Timer definitions read process variables through this.
pub(super) struct TimerInputs<'v>(pub(super) &'v VariableMap);

impl TimerVariables for TimerInputs<'_> {
    fn substitute(&self, text: &str) -> String {
        variables::substitute(self.0, text)
    }

    fn value(&self, name: &str) -> Option<VariableValue> {
        variables::lookup(self.0, name).cloned()
    }
}

/// One operation in progress on a working copy of the instance.
pub(super) struct Run<'r, 'a> {
    pub diagram: &'a Diagram,
    pub ctx: &'r mut Context<'a>,
    pub instance: &'r mut Instance,
    pub report: Report,
    /// Subflows waiting at a subprocess whose inside has just ended: they move on once the
    /// moves under way are done.
    resuming: Vec<SubflowId>,
}

impl<'r, 'a> Run<'r, 'a> {
    pub fn new(ctx: &'r mut Context<'a>, instance: &'r mut Instance) -> Self {
        Self {
            diagram: ctx.diagram,
            ctx,
            instance,
            report: Report::default(),
            resuming: Vec::new(),
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

    /// The diagram a subflow runs in: the instance's own, or the one a call activity called.
    pub fn diagram_of(&self, id: SubflowId) -> Result<&'a Diagram, EngineError> {
        match self.subflow(id)?.dgrm_id {
            None => Ok(self.diagram),
            Some(dgrm_id) => self.ctx.called.get(&dgrm_id).copied().ok_or_else(|| {
                EngineError::InconsistentState(format!("called diagram {dgrm_id} is not loaded"))
            }),
        }
    }

    /// The element a subflow is at, looked up in its diagram.
    pub fn current_element(&self, id: SubflowId) -> Result<&'a Element, EngineError> {
        let element_id = &self.subflow(id)?.current_element;
        self.diagram_of(id)?.element(element_id).ok_or_else(|| {
            EngineError::InconsistentState(format!("element {element_id} is not in the diagram"))
        })
    }

    /// The variables of the scope a subflow runs in.
    pub fn variables_of(&self, id: SubflowId) -> Result<&VariableMap, EngineError> {
        Ok(self.instance.scope_map(self.subflow(id)?.scope))
    }

    pub fn variables_of_mut(&mut self, id: SubflowId) -> Result<&mut VariableMap, EngineError> {
        let scope = self.subflow(id)?.scope;
        Ok(self.instance.scope_map_mut(scope))
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

    /// What conditions and expressions read while this subflow runs: the variables, Flows'
    /// built-in binds and the time.
    pub(super) fn condition_context(
        &self,
        id: SubflowId,
    ) -> Result<ConditionContext<'_>, EngineError> {
        let subflow = self.subflow(id)?;
        Ok(ConditionContext {
            variables: self.instance.scope_map(subflow.scope),
            iteration_layers: self.iteration_layers(id),
            counters: None,
            subflow_id: id,
            step_key: &subflow.step_key,
            scope: subflow.scope,
            now: self.now(),
        })
    }

    /// A new subflow at `element_id`, forked from `parent_id`: it runs on the parent's process
    /// and diagram level, in its variable scope (a subprocess then opens a level of its own).
    pub fn new_subflow(&mut self, parent_id: Option<SubflowId>, element_id: &str) -> SubflowId {
        let parent = parent_id.and_then(|parent| self.instance.subflow(parent));
        let (process_level, diagram_level, scope, calling_subflow, dgrm_id) =
            parent.map_or((0, 0, 0, None, None), |p| {
                (
                    p.process_level,
                    p.diagram_level,
                    p.scope,
                    p.calling_subflow,
                    p.dgrm_id,
                )
            });
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
            process_level,
            diagram_level,
            scope,
            calling_subflow,
            origin: None,
            dgrm_id,
            loop_counter: None,
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
        self.disarm_boundaries(id);
        let element = self.current_element(id)?;
        self.complete_element(&element.id);
        let mut queue = VecDeque::new();
        self.pass(id, element, &mut queue)?;
        self.drain(queue)
    }

    /// Leaves an element along its outgoing flows: one, none (an implicit end: the subflow
    /// completes) or several (an implicit parallel split).
    pub(super) fn pass(
        &mut self,
        id: SubflowId,
        element: &Element,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        if !self.run_expressions(id, element, Phase::After)? {
            return Ok(());
        }
        if self.runs_iteration_of(id, element)? {
            return self.iteration_passed(id, element, queue);
        }
        self.move_on(id, element, queue)
    }

    /// Leaves along the element's outgoing flows, without running its expressions.
    pub(super) fn move_on(
        &mut self,
        id: SubflowId,
        element: &Element,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        match element.outgoing.as_slice() {
            [] => self.finish(id),
            [only] => {
                queue.push_back((id, Some(only.clone())));
                Ok(())
            }
            several => self.split(id, element, several.to_vec(), queue),
        }
    }

    /// Moves a token until it (and every token it forks) waits, ends or fails.
    pub fn advance(&mut self, id: SubflowId, flow: Option<String>) -> Result<(), EngineError> {
        self.drain(VecDeque::from([(id, flow)]))
    }

    /// Runs queued moves, and resumes subflows whose subprocess ended, until nothing moves.
    pub(super) fn drain(&mut self, mut queue: VecDeque<Move>) -> Result<(), EngineError> {
        let mut moves = 0;
        loop {
            let (id, flow) = match queue.pop_front() {
                Some(next) => next,
                None => match self.resuming.pop() {
                    Some(parent) => {
                        self.leave_subprocess(parent, &mut queue)?;
                        continue;
                    }
                    None => break,
                },
            };
            if self.instance.status.has_ended() {
                break; // a terminate end event stopped everything
            }
            if !self.subflow(id)?.is_live() {
                continue; // stopped meanwhile, by a terminate end event in its subprocess
            }
            moves += 1;
            if moves > MAX_MOVES {
                return Err(EngineError::EndlessLoop(MAX_MOVES));
            }
            if let Some(flow_id) = flow {
                let flow = self.diagram_of(id)?.flow(&flow_id).ok_or_else(|| {
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
        if let Some(iteration) = &element.iteration
            && self.subflow(id)?.loop_counter.is_none()
        {
            return self.start_iterations(id, element, iteration, queue);
        }
        if !self.run_expressions(id, element, Phase::Before)? {
            return Ok(());
        }
        let is_end = matches!(
            element.kind,
            ElementKind::EndEvent { .. }
                | ElementKind::ErrorEnd { .. }
                | ElementKind::EscalationEnd { .. }
        );
        if is_end && !self.run_expressions(id, element, Phase::After)? {
            return Ok(()); // nothing passes an end event later
        }
        match &element.kind {
            // The subflow waits here in status running until the step is completed.
            ElementKind::Task(_) => self.arm_boundaries(id, &element.id)?,
            ElementKind::StartEvent
            | ElementKind::ThrowEvent(_)
            | ElementKind::BoundaryEvent { .. }
            | ElementKind::LinkCatch { .. } => {
                self.complete_element(&element.id);
                self.pass(id, element, queue)?;
            }
            ElementKind::LinkThrow { target } => {
                self.complete_element(&element.id);
                self.move_to(id, target, None)?;
                queue.push_back((id, None));
            }
            ElementKind::EndEvent { terminate: false } => {
                self.complete_element(&element.id);
                self.finish(id)?;
            }
            ElementKind::EndEvent { terminate: true } => {
                self.complete_element(&element.id);
                match self.enclosing(id)? {
                    Some(level) => self.end_level(level.waiting)?,
                    None => self.end_everything(ProcessStatus::Completed),
                }
            }
            ElementKind::ErrorEnd { error } => {
                self.complete_element(&element.id);
                if !self.throw(id, Thrown::Error(error.as_deref()), queue)? {
                    self.finish(id)?;
                }
            }
            ElementKind::EscalationEnd { escalation } => {
                self.complete_element(&element.id);
                self.throw(id, Thrown::Escalation(escalation.as_deref()), queue)?;
                if self.subflow(id)?.is_live() {
                    self.finish(id)?;
                }
            }
            ElementKind::EscalationThrow { escalation } => {
                self.complete_element(&element.id);
                self.throw(id, Thrown::Escalation(escalation.as_deref()), queue)?;
                if self.subflow(id)?.is_live() {
                    self.pass(id, element, queue)?;
                }
            }
            ElementKind::SubProcess { start_event } => {
                self.set_status(id, SubflowStatus::InSubprocess)?;
                self.arm_boundaries(id, &element.id)?;
                let child = self.new_subflow(Some(id), start_event);
                let inner = self.subflow_mut(child)?;
                inner.process_level = child;
                inner.calling_subflow = Some(id);
                queue.push_back((child, None));
            }
            ElementKind::CallActivity(call) => self.call(id, element, call, queue)?,
            ElementKind::ExclusiveGateway { default_flow } => {
                self.enter_exclusive(id, element, default_flow.as_deref(), queue)?;
            }
            ElementKind::InclusiveGateway { default_flow } => {
                self.enter_inclusive(id, element, default_flow.as_deref(), queue)?;
            }
            ElementKind::ParallelGateway => self.enter_parallel(id, element, queue)?,
            ElementKind::EventBasedGateway => {
                self.complete_element(&element.id);
                self.split(id, element, element.outgoing.clone(), queue)?;
            }
            ElementKind::MessageCatchEvent(definition) | ElementKind::ReceiveTask(definition) => {
                match self.subscription(id, definition) {
                    Ok(subscription) => {
                        self.instance.subscriptions.push(subscription);
                        self.set_status(id, SubflowStatus::WaitingMessage)?;
                        if matches!(element.kind, ElementKind::ReceiveTask(_)) {
                            self.arm_boundaries(id, &element.id)?;
                        }
                    }
                    Err(reason) => self.fail(id, element, &reason)?,
                }
            }
            ElementKind::TimerCatchEvent(definition) | ElementKind::TimerStart(definition) => {
                let variables = TimerInputs(self.variables_of(id)?);
                match definition.schedule(self.now(), &variables) {
                    Ok(schedule) => {
                        // A catch event leaves at its first firing; only boundary events repeat.
                        self.instance.timers.push(Timer {
                            subflow_id: id,
                            due: schedule.due,
                            event: None,
                            repeat: None,
                        });
                        self.set_status(id, SubflowStatus::WaitingTimer)?;
                    }
                    Err(reason) => self.fail(id, element, &reason)?,
                }
            }
        }
        Ok(())
    }

    pub(super) fn subscription(
        &self,
        id: SubflowId,
        definition: &MessageDefinition,
    ) -> Result<MessageSubscription, String> {
        let variables = self.variables_of(id).map_err(|e| e.to_string())?;
        let resolve = |source: &ValueSource| match source {
            ValueSource::Static(text) => Ok(text.clone()),
            ValueSource::ProcessVariable(name) => variables
                .get(name)
                .map(VariableValue::to_text)
                .ok_or_else(|| format!("process variable '{name}' is not set")),
        };
        let message_name = resolve(&definition.message_name)?;
        if message_name.is_empty() {
            return Err("there is no message name (apex:messageName)".to_string());
        }
        let (correlation_key, correlation_value) = match &definition.correlation {
            Some(correlation) => (
                Some(resolve(&correlation.key)?),
                Some(resolve(&correlation.value)?),
            ),
            None => (None, None),
        };
        Ok(MessageSubscription {
            subflow_id: id,
            event: None,
            message_name,
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
            let Some(parent) = parent else { break };
            let parent_status = self.instance.subflow(parent).map(|subflow| subflow.status);
            // Children still running; of a subprocess, only those inside it count (tokens of
            // its non-interrupting boundary events run outside it).
            let any_child = |inside_only: bool| {
                self.instance.subflows.iter().any(|child| {
                    child.parent_id == Some(parent)
                        && child.is_live()
                        && (!inside_only || child.calling_subflow == Some(parent))
                })
            };
            next = None;
            match parent_status {
                Some(SubflowStatus::Split) if !any_child(false) => next = Some(parent),
                Some(SubflowStatus::InSubprocess | SubflowStatus::InCallActivity)
                    if !any_child(true) && !self.resuming.contains(&parent) =>
                {
                    self.resuming.push(parent);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The inside of the subprocess or called diagram a subflow waits at has ended: it moves
    /// on (after a call, with the out-variables copied back).
    fn leave_subprocess(
        &mut self,
        id: SubflowId,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let status = self.subflow(id)?.status;
        if !matches!(
            status,
            SubflowStatus::InSubprocess | SubflowStatus::InCallActivity
        ) {
            return Ok(()); // ended meanwhile (a terminate end event further out)
        }
        let element = self.current_element(id)?;
        if let ElementKind::CallActivity(call) = &element.kind
            && !self.return_from_call(id, element, call)?
        {
            return Ok(());
        }
        self.set_status(id, SubflowStatus::Running)?;
        self.disarm_boundaries(id);
        self.complete_element(&element.id);
        self.pass(id, element, queue)
    }

    /// A terminate end event inside a subprocess or called diagram ends that level only:
    /// every token inside it stops, and the subflow waiting at it moves on.
    fn end_level(&mut self, waiting: SubflowId) -> Result<(), EngineError> {
        self.stop_inside(waiting)?;
        if !self.resuming.contains(&waiting) {
            self.resuming.push(waiting);
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

    pub fn fail(
        &mut self,
        id: SubflowId,
        element: &Element,
        reason: &str,
    ) -> Result<(), EngineError> {
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
