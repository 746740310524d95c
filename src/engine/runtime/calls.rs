//! Call activities: the token waits while another diagram runs in a scope of its own, with
//! the in-variables handed over at the start and the out-variables copied back at the end,
//! as Flows for APEX's `flow_call_activities` and `flow_subprocesses` do.

use std::collections::VecDeque;

use super::EngineError;
use super::token::{Move, Run};
use crate::engine::diagram::{CallDefinition, Diagram, Element};
use crate::engine::expressions::{Source, VariableExpression};
use crate::engine::instance::{SubflowId, SubflowStatus};
use crate::engine::value::VariableValue;
use crate::engine::variables;

/// The level a subflow runs inside: the subflow waiting at the subprocess or call activity
/// that opened it, with that activity and the diagram it is in.
pub(super) struct Level<'a> {
    pub waiting: SubflowId,
    pub diagram: &'a Diagram,
    pub activity: &'a str,
}

impl<'a> Run<'_, 'a> {
    /// The subprocess or call activity whose inside the subflow runs in; `None` at the top
    /// level of the instance's own diagram.
    pub(super) fn enclosing(&self, id: SubflowId) -> Result<Option<Level<'a>>, EngineError> {
        let diagram = self.diagram_of(id)?;
        let element = self.current_element(id)?;
        if let Some(subprocess) = diagram.scope_of(&element.id) {
            return Ok(Some(Level {
                waiting: self.waiting_at(id, subprocess)?,
                diagram,
                activity: subprocess,
            }));
        }
        let subflow = self.subflow(id)?;
        match (subflow.dgrm_id, subflow.calling_subflow) {
            (Some(_), Some(caller)) => Ok(Some(Level {
                waiting: caller,
                diagram: self.diagram_of(caller)?,
                activity: &self.current_element(caller)?.id,
            })),
            (Some(_), None) => Err(EngineError::InconsistentState(format!(
                "subflow {id} runs in a called diagram but has no calling subflow"
            ))),
            (None, _) => Ok(None),
        }
    }

    /// A token reaches a call activity: it waits there, and a new token starts the called
    /// diagram on a process level, diagram level and variable scope of its own (each named by
    /// that token, as in Flows), holding the in-variables evaluated in the caller's scope.
    pub(super) fn call(
        &mut self,
        id: SubflowId,
        element: &'a Element,
        call: &'a CallDefinition,
        queue: &mut VecDeque<Move>,
    ) -> Result<(), EngineError> {
        let caller_diagram = self.subflow(id)?.dgrm_id;
        let Some(dgrm_id) = self.instance.called_diagram(caller_diagram, &element.id) else {
            return self.fail(
                id,
                element,
                &format!(
                    "no diagram '{}' is bound to it",
                    call.diagram_name.as_deref().unwrap_or_default()
                ),
            );
        };
        let called = self.ctx.called.get(&dgrm_id).copied().ok_or_else(|| {
            EngineError::InconsistentState(format!("called diagram {dgrm_id} is not loaded"))
        })?;
        let handed = match self.evaluate_all(id, &call.in_variables) {
            Ok(handed) => handed,
            Err(reason) => return self.fail(id, element, &reason),
        };
        self.set_status(id, SubflowStatus::InCallActivity)?;
        self.arm_boundaries(id, &element.id)?;
        let child = self.new_subflow(Some(id), &called.start_event().id);
        let inner = self.subflow_mut(child)?;
        inner.process_level = child;
        inner.diagram_level = child;
        inner.scope = child;
        inner.calling_subflow = Some(id);
        inner.dgrm_id = Some(dgrm_id);
        inner.origin = Some(element.id.clone());
        set_all(self.instance.scope_map_mut(child), handed);
        queue.push_back((child, None));
        Ok(())
    }

    /// The called diagram has ended: its out-variables, evaluated in its scope, are set in the
    /// caller's. Returns whether the caller may move on (a failing one puts it in error).
    pub(super) fn return_from_call(
        &mut self,
        id: SubflowId,
        element: &Element,
        call: &CallDefinition,
    ) -> Result<bool, EngineError> {
        let Some(called_scope) = self
            .instance
            .subflows
            .iter()
            .rev()
            .find(|s| s.calling_subflow == Some(id) && s.scope == s.id && s.dgrm_id.is_some())
            .map(|s| s.id)
        else {
            return Err(EngineError::InconsistentState(format!(
                "subflow {id} returns from a call that never started"
            )));
        };
        match self.evaluate_all(called_scope, &call.out_variables) {
            Ok(handed) => {
                set_all(self.variables_of_mut(id)?, handed);
                Ok(true)
            }
            Err(reason) => {
                self.fail(id, element, &reason)?;
                Ok(false)
            }
        }
    }

    /// Evaluates handed-over variables in the scope of subflow `id` (skipping what needs
    /// Oracle, listed among the import's warnings).
    fn evaluate_all(
        &self,
        id: SubflowId,
        expressions: &[VariableExpression],
    ) -> Result<Vec<(String, Option<VariableValue>)>, String> {
        let context = self.condition_context(id).map_err(|e| e.to_string())?;
        expressions
            .iter()
            .filter(|expression| expression.source != Source::Oracle)
            .map(|expression| {
                expression
                    .evaluate(&context)
                    .map(|value| (expression.name.clone(), value))
                    .map_err(|reason| format!("variable {}: {reason}", expression.name))
            })
            .collect()
    }
}

/// Sets each variable, removing those whose value is null (as a null expression result does).
fn set_all(scope: &mut variables::VariableMap, values: Vec<(String, Option<VariableValue>)>) {
    for (name, value) in values {
        match value {
            Some(value) => variables::store(scope, &name, value),
            None => {
                variables::remove(scope, &name);
            }
        }
    }
}
