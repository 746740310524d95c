//! Setting an instance's variables (`PUT /v1/processes/:id/process_vars`): each checked and
//! converted first, then all set in one move, or none.

use super::App;
use super::moves::apply;
use super::processes::{ElementFailed, ProcessView, show};
use crate::engine::{SubflowId, VariableValue};
use crate::{Error, Result};

/// One variable to set: `type` (varchar, number, date, clob, json) and `value` as sent, and
/// its scope, named by `scope` or by a step of the instance (`sbfl_id`), as JSON values.
#[derive(Clone, Debug)]
pub struct VariableInput {
    pub name: String,
    pub type_name: String,
    pub value: serde_json::Value,
    pub scope: Option<serde_json::Value>,
    pub sbfl_id: Option<serde_json::Value>,
}

/// Where a variable goes: a scope, or the scope of a step, by engine subflow id.
#[derive(Clone, Copy, Debug)]
enum Target {
    Scope(SubflowId),
    StepScope(SubflowId),
}

/// Checks a variable's scope and converts its value. `scope` is 0 (process level) or the
/// `sbfl_id` of the step that opened a called diagram's scope, as Flows numbers scopes;
/// `sbfl_id` names the scope of that step.
fn variable(
    input: VariableInput,
    process: Option<&ProcessView>,
) -> Result<(Target, String, VariableValue)> {
    use serde_json::Value;
    let local = |step: &Value| {
        let global = step.as_i64()?;
        let process = process?;
        process
            .step_ids
            .iter()
            .find(|(_, id)| *id == global)
            .map(|(local, _)| *local)
    };
    let mut target = Target::Scope(0);
    match &input.scope {
        None | Some(Value::Null) => {}
        Some(scope) if scope.as_i64() == Some(0) => {}
        Some(scope) => match local(scope) {
            Some(local) if process.is_some_and(|p| p.instance.scopes().contains(&local)) => {
                target = Target::Scope(local);
            }
            _ => {
                return Err(Error::attribute(
                    "scope",
                    format!("scope {scope} does not exist in this process"),
                ));
            }
        },
    }
    match &input.sbfl_id {
        None | Some(Value::Null) => {}
        Some(step) => match local(step) {
            Some(local) => target = Target::StepScope(local),
            None => {
                return Err(Error::attribute(
                    "sbfl_id",
                    format!("step {step} is not a step of this process"),
                ));
            }
        },
    }
    let value = VariableValue::from_api(&input.type_name, &input.value)
        .map_err(|e| Error::attribute("value", e.0))?;
    Ok((target, input.name, value))
}

/// Sets variables, all or none: the first element that fails fails the call.
pub async fn set_variables(
    app: &App,
    prcs_id: i64,
    inputs: Vec<VariableInput>,
) -> Result<(), ElementFailed> {
    let names_a_scope = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .is_some_and(|v| !v.is_null() && v.as_i64() != Some(0))
    };
    let process = if inputs
        .iter()
        .any(|input| names_a_scope(&input.scope) || names_a_scope(&input.sbfl_id))
    {
        Some(show(app, prcs_id).await.map_err(ElementFailed::whole)?)
    } else {
        None
    };
    let mut values = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        values.push(variable(input, process.as_deref()).map_err(ElementFailed::at(index))?);
    }
    apply(app, prcs_id, |instance, _| {
        let scoped = values
            .iter()
            .map(|(target, name, value)| {
                let scope = match *target {
                    Target::Scope(scope) => scope,
                    Target::StepScope(step) => instance.subflow(step).map_or(0, |s| s.scope),
                };
                (scope, name.clone(), value.clone())
            })
            .collect();
        instance.set_scoped_variables(scoped)
    })
    .await
    .map_err(ElementFailed::whole)?;
    Ok(())
}
