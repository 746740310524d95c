//! Loop and multi-instance activities: the subflow reaching the activity waits `iterating`
//! while each iteration runs the activity in a subflow of its own (all at once, one after the
//! other, or again and again for a loop), each with its item's variables; when they are done,
//! or the completion condition holds, the output collection is set and it moves on.

use std::collections::VecDeque;

use super::EngineError;
use super::token::{Move, Run};
use crate::engine::condition::IterationCounters;
use crate::engine::diagram::Element;
use crate::engine::instance::{IterationRun, SubflowId, SubflowStatus};
use crate::engine::iteration::{self, Iteration, IterationMode, MAX_LOOPS};
use crate::engine::value::VariableValue;
use crate::engine::variables::{self, VariableMap};

impl<'a> Run<'_, 'a> {
    /// The variables of the iterations subflow `id` runs in, innermost first (within its
    /// variable scope).
    pub(super) fn iteration_layers(&self, id: SubflowId) -> Vec<&VariableMap> {
        let mut layers = Vec::new();
        let mut current = Some(id);
        while let Some(subflow) = current.and_then(|id| self.instance.subflow(id)) {
            if let Some(layer) = self.instance.iteration_variables.get(&subflow.id) {
                layers.push(layer);
            }
            if subflow.scope == subflow.id {
                break; // a called diagram's scope sees nothing of its caller's iterations
            }
            current = subflow.parent_id;
        }
        layers
    }

    /// Sets (or, for `None`, removes) a variable as an expression of subflow `id` does: in the
    /// innermost iteration that has it, else in the subflow's scope.
    pub(super) fn store_variable(
        &mut self,
        id: SubflowId,
        name: &str,
        value: Option<VariableValue>,
    ) -> Result<(), EngineError> {
        let mut holder = None;
        let mut current = Some(id);
        while let Some(subflow) = current.and_then(|id| self.instance.subflow(id)) {
            let layer = self.instance.iteration_variables.get(&subflow.id);
            if layer.is_some_and(|layer| variables::lookup(layer, name).is_some())
                || (layer.is_some() && self.gathers(subflow.id, name))
            {
                holder = Some(subflow.id);
                break;
            }
            if subflow.scope == subflow.id {
                break;
            }
            current = subflow.parent_id;
        }
        let map = match holder {
            Some(holder) => self.instance.iteration_variables.entry(holder).or_default(),
            None => self.variables_of_mut(id)?,
        };
        match value {
            Some(value) => variables::store(map, name, value),
            None => {
                variables::remove(map, name);
            }
        }
        Ok(())
    }

    /// Whether the output collection of the activity iteration `id` runs gathers `name`: such
    /// a variable belongs to the iteration.
    fn gathers(&self, id: SubflowId, name: &str) -> bool {
        let activity = self.subflow(id).ok().and_then(|s| s.origin.clone());
        let element = activity.and_then(|activity| self.diagram_of(id).ok()?.element(&activity));
        element
            .and_then(|element| element.iteration.as_ref()?.output.as_ref())
            .is_some_and(|output| output.inside.iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Whether subflow `id` is an iteration of `element` (rather than the subflow waiting at
    /// it, or a token passing an element without iterations).
    pub(super) fn runs_iteration_of(
        &self,
        id: SubflowId,
        element: &Element,
    ) -> Result<bool, EngineError> {
        let subflow = self.subflow(id)?;
        Ok(element.iteration.is_some()
            && subflow.loop_counter.is_some()
            && subflow.origin.as_deref() == Some(element.id.as_str()))
    }

    /// A token reaches a repeated activity: it waits there while the first iterations start
    /// (all of them for a parallel multi-instance). An empty collection skips the activity.
    pub(super) fn start_iterations(
        &mut self,
        id: SubflowId,
        element: &'a Element,
        iteration: &'a Iteration,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let items = iteration.items(&self.condition_context(id)?.visible());
        let items = match items {
            Ok(items) => items,
            Err(reason) => return self.fail(id, element, &reason),
        };
        let total = (iteration.mode != IterationMode::Loop).then_some(items.len() as u32);
        if total == Some(0) {
            self.finish_iterations(id, element, IterationRun::default(), iteration, queue)?;
            return Ok(());
        }
        self.set_status(id, SubflowStatus::Iterating)?;
        self.arm_boundaries(id, &element.id)?;
        let mut run = IterationRun {
            pending: items,
            total,
            ..IterationRun::default()
        };
        let first = match iteration.mode {
            IterationMode::Parallel => run.pending.len(),
            IterationMode::Sequential | IterationMode::Loop => 1,
        };
        for _ in 0..first {
            self.next_iteration(id, element, &mut run, queue)?;
        }
        self.instance.iterations.insert(id, run);
        Ok(())
    }

    /// Starts the next iteration: a subflow at the activity with its loop counter and item.
    fn next_iteration(
        &mut self,
        waiting: SubflowId,
        element: &Element,
        run: &mut IterationRun,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        run.started += 1;
        let item = if run.pending.is_empty() {
            VariableMap::new()
        } else {
            run.pending.remove(0)
        };
        let child = self.new_subflow(Some(waiting), &element.id);
        let subflow = self.subflow_mut(child)?;
        subflow.loop_counter = Some(run.started);
        subflow.origin = Some(element.id.clone());
        self.instance.iteration_variables.insert(child, item);
        queue.push_back((child, None));
        Ok(())
    }

    /// An iteration has run the activity: its outputs are kept, and the activity is done when
    /// the completion condition holds or nothing is left to run.
    pub(super) fn iteration_passed(
        &mut self,
        id: SubflowId,
        element: &Element,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let Some(iteration) = &element.iteration else {
            return Ok(());
        };
        let subflow = self.subflow(id)?;
        let (waiting, counter) = match (subflow.parent_id, subflow.loop_counter) {
            (Some(waiting), Some(counter)) => (waiting, counter),
            _ => return Ok(()),
        };
        let Some(mut run) = self.instance.iterations.remove(&waiting) else {
            return Err(EngineError::InconsistentState(format!(
                "iteration {id} finished, but {waiting} runs no iterations"
            )));
        };
        if let Some(output) = &iteration.output {
            let context = self.condition_context(id)?;
            let element = iteration::output_element(&output.inside, |name| {
                use crate::engine::plsql::Env;
                context.variable(name)
            });
            run.outputs.insert(counter, element);
        }
        self.complete_element(&element.id);
        let finished = self.subflow_mut(id)?;
        finished.status = SubflowStatus::Completed;
        finished.reservation = None;
        self.note_changed(id);
        self.instance.iteration_variables.remove(&id);
        run.completed += 1;

        let active = self.live_iterations(waiting).len() as u32;
        let counters = IterationCounters {
            loop_counter: counter,
            completed: run.completed,
            active,
            total: run.total,
        };
        let done = match &iteration.completion {
            Some(condition) => {
                let mut context = self.condition_context(waiting)?;
                context.counters = Some(counters);
                match condition.holds(&context) {
                    Ok(holds) => holds,
                    Err(reason) => {
                        self.instance.iterations.insert(waiting, run);
                        return self.fail(
                            waiting,
                            element,
                            &format!("completion condition: {reason}"),
                        );
                    }
                }
            }
            None => false,
        };
        let more = match iteration.mode {
            IterationMode::Parallel => false,
            IterationMode::Sequential => !run.pending.is_empty(),
            IterationMode::Loop => true,
        };
        if done || (active == 0 && !more) {
            for stopped in self.live_iterations(waiting) {
                self.stop_inside(stopped)?;
                self.instance
                    .subscriptions
                    .retain(|s| s.subflow_id != stopped);
                self.instance.timers.retain(|t| t.subflow_id != stopped);
                self.instance.iteration_variables.remove(&stopped);
                let subflow = self.subflow_mut(stopped)?;
                subflow.status = SubflowStatus::Completed;
                subflow.reservation = None;
                self.note_changed(stopped);
            }
            return self.finish_iterations(waiting, element, run, iteration, queue);
        }
        if more && active == 0 {
            if iteration.mode == IterationMode::Loop && run.started >= MAX_LOOPS {
                self.instance.iterations.insert(waiting, run);
                return self.fail(
                    waiting,
                    element,
                    &format!(
                        "the loop ran {MAX_LOOPS} times without its completion condition holding"
                    ),
                );
            }
            self.next_iteration(waiting, element, &mut run, queue)?;
        }
        self.instance.iterations.insert(waiting, run);
        Ok(())
    }

    /// The iterations of the activity `waiting` waits at that still run.
    fn live_iterations(&self, waiting: SubflowId) -> Vec<SubflowId> {
        self.instance
            .subflows
            .iter()
            .filter(|s| s.parent_id == Some(waiting) && s.loop_counter.is_some() && s.is_live())
            .map(|s| s.id)
            .collect()
    }

    /// Sets the output collection and moves the waiting subflow on past the activity.
    fn finish_iterations(
        &mut self,
        waiting: SubflowId,
        element: &Element,
        run: IterationRun,
        iteration: &Iteration,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        if let Some(output) = &iteration.output {
            let gathered = serde_json::Value::Array(run.outputs.into_values().collect());
            self.store_variable(
                waiting,
                &output.variable,
                Some(VariableValue::Json(gathered)),
            )?;
        }
        self.disarm_boundaries(waiting);
        self.set_status(waiting, SubflowStatus::Running)?;
        self.complete_element(&element.id);
        self.move_on(waiting, element, queue)
    }
}
