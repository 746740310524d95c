//! Running an element's `apex:` process-variable expressions as a token arrives or leaves.

use super::EngineError;
use super::token::Run;
use crate::engine::diagram::Element;
use crate::engine::expressions::{Phase, Source};
use crate::engine::instance::SubflowId;

impl Run<'_, '_> {
    /// Sets the variables of the element's expressions for `phase`, in sequence (each sees
    /// those set before it). A failing expression puts the subflow in error, as in Flows:
    /// returns whether the token may go on.
    pub(super) fn run_expressions(
        &mut self,
        id: SubflowId,
        element: &Element,
        phase: Phase,
    ) -> Result<bool, EngineError> {
        for expression in element.expressions.iter().filter(|e| e.phase == phase) {
            if expression.source == Source::Oracle {
                continue; // listed among the import's warnings
            }
            let evaluated = expression.evaluate(&self.condition_context(id)?);
            match evaluated {
                Ok(value) => self.store_variable(id, &expression.name, value)?,
                Err(reason) => {
                    self.fail(
                        id,
                        element,
                        &format!("variable {}: {reason}", expression.name),
                    )?;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
