//! Boundary events: armed when a token reaches their activity, disarmed when it leaves; a
//! timer or message takes the boundary path, and errors and escalations thrown inside a
//! subprocess or a called diagram are caught by the boundary events of the subprocess or call
//! activity.

use std::collections::VecDeque;

use super::EngineError;
use super::token::{Move, Run, TimerInputs};
use crate::engine::diagram::{BoundaryTrigger, Element, ElementKind};
use crate::engine::instance::{SubflowId, SubflowStatus, Timer};

/// An error or an escalation thrown inside a subprocess.
#[derive(Clone, Copy)]
pub(super) enum Thrown<'t> {
    Error(Option<&'t str>),
    Escalation(Option<&'t str>),
}

impl Run<'_, '_> {
    /// Opens the timers and message subscriptions of the activity's boundary events for the
    /// token that has just reached it.
    pub(super) fn arm_boundaries(
        &mut self,
        id: SubflowId,
        activity: &str,
    ) -> Result<(), EngineError> {
        if self.subflow(id)?.loop_counter.is_some() {
            return Ok(()); // the subflow waiting at a repeated activity holds its boundaries
        }
        for event in self.diagram_of(id)?.boundary_events(activity) {
            let ElementKind::BoundaryEvent {
                trigger,
                interrupting,
                ..
            } = &event.kind
            else {
                continue;
            };
            let armed = match trigger {
                BoundaryTrigger::Timer(definition) => {
                    let variables = TimerInputs(self.variables_of(id)?);
                    definition.schedule(self.now(), &variables).map(|schedule| {
                        self.instance.timers.push(Timer {
                            subflow_id: id,
                            due: schedule.due,
                            event: Some(event.id.clone()),
                            // An interrupting timer can fire once only.
                            repeat: schedule.repeat.filter(|_| !interrupting),
                        });
                    })
                }
                BoundaryTrigger::Message(definition) => {
                    self.subscription(id, definition).map(|mut subscription| {
                        subscription.event = Some(event.id.clone());
                        self.instance.subscriptions.push(subscription);
                    })
                }
                BoundaryTrigger::Error(_) | BoundaryTrigger::Escalation(_) => Ok(()),
            };
            if let Err(reason) = armed {
                let element = self.current_element(id)?;
                return self.fail(
                    id,
                    element,
                    &format!("boundary event {}: {reason}", event.id),
                );
            }
        }
        Ok(())
    }

    /// Closes the boundary timers and subscriptions of a token leaving its activity.
    pub(super) fn disarm_boundaries(&mut self, id: SubflowId) {
        self.instance
            .timers
            .retain(|timer| timer.subflow_id != id || timer.event.is_none());
        self.instance
            .subscriptions
            .retain(|subscription| subscription.subflow_id != id || subscription.event.is_none());
    }

    /// A boundary timer or message arrived for the token at its activity.
    pub(super) fn boundary_triggered(
        &mut self,
        id: SubflowId,
        event_id: &str,
        timer: Option<Timer>,
    ) -> Result<(), EngineError> {
        let Some(event) = self.diagram_of(id)?.element(event_id) else {
            return Err(EngineError::InconsistentState(format!(
                "boundary event {event_id} is not in the diagram"
            )));
        };
        let ElementKind::BoundaryEvent {
            attached_to,
            interrupting,
            ..
        } = &event.kind
        else {
            return Ok(());
        };
        let subflow = self.subflow(id)?;
        if self.instance.status.has_ended()
            || !subflow.is_live()
            || subflow.current_element != *attached_to
        {
            return Ok(());
        }
        // A cycle fires again until its repetitions run out.
        if let Some(mut timer) = timer
            && let Some(repeat) = timer.repeat.as_mut()
            && repeat.times_left > 1
            && let Some(next) = repeat.every.after(timer.due)
        {
            repeat.times_left -= 1;
            timer.due = next;
            self.instance.timers.push(timer);
        }
        let mut queue = VecDeque::new();
        self.take_boundary(id, event, *interrupting, &mut queue)?;
        self.drain(queue)
    }

    /// Sends a token along a boundary event's path: the token at the activity itself when the
    /// event interrupts (stopping what runs inside a subprocess), else a new one.
    fn take_boundary(
        &mut self,
        id: SubflowId,
        event: &Element,
        interrupting: bool,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let token = if interrupting {
            self.disarm_boundaries(id);
            self.stop_inside(id)?;
            self.move_to(id, &event.id, None)?;
            id
        } else {
            let child = self.new_subflow(Some(id), &event.id);
            self.subflow_mut(child)?.origin = Some(event.id.clone());
            child
        };
        self.complete_element(&event.id);
        self.pass(token, event, queue)
    }

    /// An error or escalation thrown inside a subprocess: the subprocess's boundary event for
    /// it takes over. Returns whether one caught it.
    pub(super) fn throw(
        &mut self,
        id: SubflowId,
        thrown: Thrown,
        queue: &mut VecDeque<Move>,
    ) -> Result<bool, EngineError> {
        let Some(level) = self.enclosing(id)? else {
            return Ok(false);
        };
        let catcher = level.diagram.boundary_events(level.activity).find(|event| {
            match (&event.kind, thrown) {
                (
                    ElementKind::BoundaryEvent {
                        trigger: BoundaryTrigger::Error(caught),
                        ..
                    },
                    Thrown::Error(code),
                )
                | (
                    ElementKind::BoundaryEvent {
                        trigger: BoundaryTrigger::Escalation(caught),
                        ..
                    },
                    Thrown::Escalation(code),
                ) => BoundaryTrigger::catches(caught.as_deref(), code),
                _ => false,
            }
        });
        let Some(catcher) = catcher else {
            return Ok(false);
        };
        let ElementKind::BoundaryEvent { interrupting, .. } = catcher.kind else {
            return Ok(false);
        };
        self.take_boundary(level.waiting, catcher, interrupting, queue)?;
        Ok(true)
    }

    /// The subflow waiting at `subprocess` for the token `id` that runs inside it.
    pub(super) fn waiting_at(
        &self,
        id: SubflowId,
        subprocess: &str,
    ) -> Result<SubflowId, EngineError> {
        let mut candidate = self.subflow(id)?.parent_id;
        while let Some(parent) = candidate {
            let subflow = self.subflow(parent)?;
            if subflow.status == SubflowStatus::InSubprocess
                && subflow.current_element == subprocess
            {
                return Ok(parent);
            }
            candidate = subflow.parent_id;
        }
        Err(EngineError::InconsistentState(format!(
            "no subflow waits at subprocess {subprocess}"
        )))
    }

    /// Stops every token running inside the subprocess a subflow waits at (nothing for a
    /// subflow at a task), with their waits.
    pub(super) fn stop_inside(&mut self, waiting: SubflowId) -> Result<(), EngineError> {
        let mut inside: Vec<SubflowId> = self
            .instance
            .subflows
            .iter()
            .filter(|s| {
                s.parent_id == Some(waiting)
                    && (s.calling_subflow == Some(waiting) || s.loop_counter.is_some())
            })
            .map(|s| s.id)
            .collect();
        let mut index = 0;
        while let Some(&parent) = inside.get(index) {
            index += 1;
            inside.extend(
                self.instance
                    .subflows
                    .iter()
                    .filter(|s| s.parent_id == Some(parent))
                    .map(|s| s.id),
            );
        }
        self.instance.iterations.remove(&waiting);
        for stopped in inside {
            self.instance.iterations.remove(&stopped);
            self.instance.iteration_variables.remove(&stopped);
            self.instance
                .subscriptions
                .retain(|s| s.subflow_id != stopped);
            self.instance.timers.retain(|t| t.subflow_id != stopped);
            let subflow = self.subflow_mut(stopped)?;
            if subflow.is_live() {
                subflow.status = SubflowStatus::Completed;
                subflow.reservation = None;
                self.note_changed(stopped);
            }
        }
        Ok(())
    }
}
