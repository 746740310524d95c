//! The operations of the process API on an [`Instance`]. Each one works on a copy and
//! replaces the instance only when it succeeds, so a refusal leaves the state untouched.

mod boundary;
mod calls;
mod expressions;
mod gateways;
mod iterations;
mod token;

#[cfg(test)]
mod boundary_tests;
#[cfg(test)]
mod call_tests;
#[cfg(test)]
mod expression_tests;
#[cfg(test)]
mod fidelity_tests;
#[cfg(test)]
mod iteration_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod sample_tests;
#[cfg(test)]
mod subprocess_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wait_tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::diagram::{Diagram, ElementKind};
use super::instance::{
    Instance, MessageSubscription, ProcessStatus, SubflowId, SubflowStatus, Timer,
};
use super::value::VariableValue;
use super::variables::{self, BUSINESS_REF};
use token::Run;

/// What an operation needs from outside: the diagram the instance runs and the diagrams its
/// call activities are bound to, the current time and a source of step keys (random in
/// production, a counter in tests).
pub struct Context<'a> {
    diagram: &'a Diagram,
    called: BTreeMap<i64, &'a Diagram>,
    now: DateTime<Utc>,
    step_keys: &'a mut dyn FnMut() -> String,
}

impl<'a> Context<'a> {
    pub fn new(
        diagram: &'a Diagram,
        now: DateTime<Utc>,
        step_keys: &'a mut dyn FnMut() -> String,
    ) -> Self {
        Self {
            diagram,
            called: BTreeMap::new(),
            now,
            step_keys,
        }
    }

    /// Adds a diagram a call activity of the instance calls (see [`Instance::calls`]).
    pub fn with_called(mut self, dgrm_id: i64, diagram: &'a Diagram) -> Self {
        self.called.insert(dgrm_id, diagram);
        self
    }
}

/// What a successful operation did. The new state itself is the instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub previous_status: ProcessStatus,
    pub status: ProcessStatus,
    /// Subflows created, moved, completed or otherwise changed (for `reset`: removed), in the
    /// order they were first touched.
    pub changed_subflows: Vec<SubflowId>,
    /// Subscriptions that a message matched (and closed): `correlate_message` only.
    pub correlated: Vec<MessageSubscription>,
    /// Timers that fired: `fire_due_timers` and immediate `reschedule_timer`.
    pub fired_timers: Vec<Timer>,
}

impl Outcome {
    fn unchanged(status: ProcessStatus) -> Self {
        Self {
            previous_status: status,
            status,
            changed_subflows: Vec::new(),
            correlated: Vec::new(),
            fired_timers: Vec::new(),
        }
    }

    pub fn status_changed(&self) -> bool {
        self.previous_status != self.status
    }
}

/// Why an operation was refused; the message is meant for the API's 409 answers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    #[error("Process is not running")]
    ProcessNotRunning,
    #[error("Process has already been started")]
    ProcessAlreadyStarted,
    #[error("Process has already ended")]
    ProcessEnded,
    #[error("Subflow not found")]
    SubflowNotFound,
    #[error("Step key does not match current step")]
    StepKeyMismatch,
    #[error("Step is not a task waiting to be completed")]
    NotAWaitingTask,
    #[error("Step is already reserved")]
    AlreadyReserved,
    #[error("Reservation must not be empty")]
    EmptyReservation,
    #[error("Step is not in error")]
    StepNotInError,
    #[error("Step is not waiting for a timer")]
    NotWaitingForTimer,
    #[error("new_timestamp is required unless is_immediate is true")]
    MissingTimestamp,
    #[error("Step is still in error: {0}")]
    StillInError(String),
    #[error("Invalid process variable: {0}")]
    InvalidVariable(String),
    #[error("Process did not reach a wait state within {0} moves; the diagram loops")]
    EndlessLoop(usize),
    #[error("Process state does not match its diagram: {0}")]
    InconsistentState(String),
}

impl Instance {
    /// created → running: a token leaves the start event and runs until it waits.
    pub fn start(&mut self, ctx: &mut Context) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            if run.instance.status != ProcessStatus::Created {
                return Err(EngineError::ProcessAlreadyStarted);
            }
            run.instance.status = ProcessStatus::Running;
            let start_event = run.diagram.start_event();
            let root = run.new_subflow(None, &start_event.id);
            run.advance(root, None)
        })
    }

    /// Completes the task a subflow waits at and moves the token on.
    pub fn complete_step(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            run.waiting_task(subflow_id, step_key)?;
            run.leave(subflow_id)
        })
    }

    pub fn reserve(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
        reservation: &str,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            run.waiting_task(subflow_id, step_key)?;
            if reservation.trim().is_empty() {
                return Err(EngineError::EmptyReservation);
            }
            let subflow = run.subflow_mut(subflow_id)?;
            if subflow.reservation.is_some() {
                return Err(EngineError::AlreadyReserved);
            }
            subflow.reservation = Some(reservation.to_owned());
            run.note_changed(subflow_id);
            Ok(())
        })
    }

    /// Removes a reservation; releasing an unreserved step changes nothing.
    pub fn release(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            run.waiting_task(subflow_id, step_key)?;
            run.subflow_mut(subflow_id)?.reservation = None;
            run.note_changed(subflow_id);
            Ok(())
        })
    }

    /// Records that work on a waiting task has begun (the first call's time is kept).
    pub fn start_step(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            run.waiting_task(subflow_id, step_key)?;
            let now = run.now();
            run.subflow_mut(subflow_id)?.work_started.get_or_insert(now);
            run.note_changed(subflow_id);
            Ok(())
        })
    }

    /// Re-runs the element of a subflow in error (e.g. re-evaluates a gateway after the
    /// variables were fixed). Refused, changing nothing, if it fails again.
    pub fn restart_step(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            let subflow = run.checked_step(subflow_id, step_key)?;
            if subflow.status != SubflowStatus::Error {
                return Err(EngineError::StepNotInError);
            }
            let element_id = subflow.current_element.clone();
            let arrived_via = subflow.arrived_via.clone();
            run.move_to(subflow_id, &element_id, arrived_via)?;
            run.advance(subflow_id, None)?;
            let failed_again = run.subflow(subflow_id)?.status == SubflowStatus::Error
                && run.subflow(subflow_id)?.current_element == element_id;
            if failed_again {
                let reason = run
                    .report
                    .failures
                    .iter()
                    .rev()
                    .find(|(id, _)| *id == subflow_id);
                let reason = reason.map(|(_, reason)| reason.clone());
                return Err(EngineError::StillInError(reason.unwrap_or(element_id)));
            }
            let still_failing_here = run
                .instance
                .subflows
                .iter()
                .any(|s| s.status == SubflowStatus::Error && s.current_element == element_id);
            if !still_failing_here {
                run.instance.error_elements.retain(|id| *id != element_id);
            }
            Ok(())
        })
    }

    /// Delivers a message to every open subscription it matches: each is closed, the payload
    /// stored in its payload variable, and its subflow moves on. Matching nothing is not an
    /// error here (the caller decides whether a message nobody awaited is a refusal); an
    /// instance that is not running (e.g. in error) matches nothing.
    pub fn correlate_message(
        &mut self,
        ctx: &mut Context,
        name: &str,
        key: Option<&str>,
        value: Option<&str>,
        payload: Option<&serde_json::Value>,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            if run.instance.status != ProcessStatus::Running {
                return Ok(());
            }
            let (matched, open): (Vec<MessageSubscription>, _) =
                std::mem::take(&mut run.instance.subscriptions)
                    .into_iter()
                    .partition(|subscription| subscription.matches(name, key, value));
            run.instance.subscriptions = open;
            let payload = payload.and_then(VariableValue::from_payload);
            for subscription in matched {
                if let (Some(variable), Some(payload)) = (&subscription.payload_variable, &payload)
                {
                    let scope = run.variables_of_mut(subscription.subflow_id)?;
                    variables::store(scope, variable, payload.clone());
                }
                match &subscription.event {
                    Some(event) => run.boundary_triggered(subscription.subflow_id, event, None)?,
                    None => {
                        run.leave_wait(subscription.subflow_id, SubflowStatus::WaitingMessage)?
                    }
                }
                run.report.correlated.push(subscription);
            }
            Ok(())
        })
    }

    /// Fires every timer due at `ctx`'s time, earliest first. Timers of an instance that is
    /// not running wait until it runs again.
    pub fn fire_due_timers(&mut self, ctx: &mut Context) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            if run.instance.status != ProcessStatus::Running {
                return Ok(());
            }
            let now = run.now();
            let (mut due, pending): (Vec<Timer>, Vec<Timer>) =
                std::mem::take(&mut run.instance.timers)
                    .into_iter()
                    .partition(|timer| timer.due <= now);
            run.instance.timers = pending;
            due.sort_by_key(|timer| (timer.due, timer.subflow_id));
            for timer in due {
                match timer.event.clone() {
                    Some(event) => {
                        run.boundary_triggered(timer.subflow_id, &event, Some(timer.clone()))?
                    }
                    None => run.leave_wait(timer.subflow_id, SubflowStatus::WaitingTimer)?,
                }
                run.report.fired.push(timer);
            }
            Ok(())
        })
    }

    /// Fires a waiting timer now, or moves it to `new_timestamp` (a past time fires at the
    /// next `fire_due_timers`).
    pub fn reschedule_timer(
        &mut self,
        ctx: &mut Context,
        subflow_id: SubflowId,
        step_key: &str,
        is_immediate: bool,
        new_timestamp: Option<DateTime<Utc>>,
    ) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            run.require_running()?;
            if run.checked_step(subflow_id, step_key)?.status != SubflowStatus::WaitingTimer {
                return Err(EngineError::NotWaitingForTimer);
            }
            let timer_position = run
                .instance
                .timers
                .iter()
                .position(|timer| timer.subflow_id == subflow_id)
                .ok_or_else(|| EngineError::InconsistentState("the timer is missing".into()))?;
            if is_immediate {
                let timer = run.instance.timers.remove(timer_position);
                run.leave_wait(subflow_id, SubflowStatus::WaitingTimer)?;
                run.report.fired.push(timer);
                return Ok(());
            }
            let due = new_timestamp.ok_or(EngineError::MissingTimestamp)?;
            run.instance.timers[timer_position].due = due;
            run.note_changed(subflow_id);
            Ok(())
        })
    }

    /// Back to `created`: subflows, subscriptions, timers, the activity record and every
    /// variable but `BUSINESS_REF` are cleared. Subflow ids keep counting, so old ids never come back.
    pub fn reset(&mut self) -> Outcome {
        let previous_status = self.status;
        let changed_subflows = self.subflows.iter().map(|subflow| subflow.id).collect();
        self.status = ProcessStatus::Created;
        self.subflows.clear();
        self.subscriptions.clear();
        self.timers.clear();
        self.completed_elements.clear();
        self.error_elements.clear();
        // As Flows' reset_process: every variable goes but the built-in one.
        self.variables
            .retain(|name, _| name.eq_ignore_ascii_case(BUSINESS_REF));
        self.scoped_variables.clear();
        self.iterations.clear();
        self.iteration_variables.clear();
        Outcome {
            previous_status,
            changed_subflows,
            ..Outcome::unchanged(self.status)
        }
    }

    /// Stops the instance: every subflow completes, subscriptions and timers are closed.
    pub fn terminate(&mut self, ctx: &mut Context) -> Result<Outcome, EngineError> {
        self.transact(ctx, |run| {
            if run.instance.status.has_ended() {
                return Err(EngineError::ProcessEnded);
            }
            run.end_everything(ProcessStatus::Terminated);
            Ok(())
        })
    }

    /// Sets process variables (scope 0), all or none. Allowed in every status.
    pub fn set_variables(
        &mut self,
        variables: Vec<(String, VariableValue)>,
    ) -> Result<Outcome, EngineError> {
        self.set_scoped_variables(
            variables
                .into_iter()
                .map(|(name, value)| (0, name, value))
                .collect(),
        )
    }

    /// Sets variables, each in its scope (0, or a scope a call activity opened), all or none.
    pub fn set_scoped_variables(
        &mut self,
        variables: Vec<(SubflowId, String, VariableValue)>,
    ) -> Result<Outcome, EngineError> {
        let scopes = self.scopes();
        for (scope, name, value) in &variables {
            if name.trim().is_empty() {
                return Err(EngineError::InvalidVariable("the name is empty".into()));
            }
            if !scopes.contains(scope) {
                return Err(EngineError::InvalidVariable(format!(
                    "scope {scope} does not exist in this process"
                )));
            }
            if let VariableValue::Number(number) = value
                && !number.is_finite()
            {
                return Err(EngineError::InvalidVariable(format!(
                    "{name} is not a finite number"
                )));
            }
        }
        for (scope, name, value) in variables {
            variables::store(self.scope_map_mut(scope), &name, value);
        }
        Ok(Outcome::unchanged(self.status))
    }

    fn transact(
        &mut self,
        ctx: &mut Context,
        operation: impl FnOnce(&mut Run) -> Result<(), EngineError>,
    ) -> Result<Outcome, EngineError> {
        let previous_status = self.status;
        let mut working = self.clone();
        let mut run = Run::new(ctx, &mut working);
        operation(&mut run)?;
        run.refresh_status();
        let report = run.report;
        let outcome = Outcome {
            previous_status,
            status: working.status,
            changed_subflows: report.moved,
            correlated: report.correlated,
            fired_timers: report.fired,
        };
        *self = working;
        Ok(outcome)
    }
}

impl Run<'_, '_> {
    fn require_running(&self) -> Result<(), EngineError> {
        match self.instance.status {
            ProcessStatus::Running => Ok(()),
            _ => Err(EngineError::ProcessNotRunning),
        }
    }

    /// The subflow, if it exists and the caller presented its current step key.
    fn checked_step(
        &self,
        subflow_id: SubflowId,
        step_key: &str,
    ) -> Result<&super::instance::Subflow, EngineError> {
        let subflow = self.subflow(subflow_id)?;
        if subflow.step_key != step_key {
            return Err(EngineError::StepKeyMismatch);
        }
        Ok(subflow)
    }

    /// Checks that the instance runs and the subflow waits at a task under this key.
    fn waiting_task(&self, subflow_id: SubflowId, step_key: &str) -> Result<(), EngineError> {
        self.require_running()?;
        let status = self.checked_step(subflow_id, step_key)?.status;
        let at_task = matches!(self.current_element(subflow_id)?.kind, ElementKind::Task(_));
        if status == SubflowStatus::Running && at_task {
            Ok(())
        } else {
            Err(EngineError::NotAWaitingTask)
        }
    }

    /// Moves on a subflow whose message or timer arrived, unless the process ended meanwhile
    /// (a terminate end event reached by an earlier subflow in the same operation).
    fn leave_wait(
        &mut self,
        subflow_id: SubflowId,
        waiting: SubflowStatus,
    ) -> Result<(), EngineError> {
        if self.instance.status.has_ended() || self.subflow(subflow_id)?.status != waiting {
            return Ok(());
        }
        self.close_other_events(subflow_id)?;
        self.leave(subflow_id)
    }
}
