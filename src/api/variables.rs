//! Process variables: read (filtered by scope and name) and set (one object or an array, all
//! or nothing).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::apex::{
    Answer, FlowsResult, Needed, Problem, RawJson, echo_all, elements, failed, found, judge_all,
    require, required_text,
};
use super::dto::{VariableItem, variables};
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::Error;
use crate::engine::VariableValue;
use crate::services::App;
use crate::services::processes;
use crate::services::variables::{self, VariableInput};

/// One variable of `PUT process_vars` (or an array of them).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct VariableIn {
    pub name: String,
    /// varchar, number, date, clob, json
    #[oai(rename = "type")]
    pub ty: String,
    pub value: Value,
    pub scope: Option<i64>,
    pub sbfl_id: Option<i64>,
}

/// One element: `name`, `type` and `value` must be there (Flows names each one missing), and
/// the value must fit its type. Judged before anything is applied, so that every bad element of
/// an array is named.
fn input(item: &Map<String, Value>) -> Result<VariableInput, Problem> {
    require(
        item,
        &[
            Needed::Text("name"),
            Needed::Text("type"),
            Needed::Any("value"),
        ],
    )?;
    let name = required_text(item, "name")?;
    let type_name = required_text(item, "type")?;
    let value = item.get("value").cloned().unwrap_or(Value::Null);
    VariableValue::from_api(&type_name, &value).map_err(|e| Error::attribute("value", e.0))?;
    Ok(VariableInput {
        name,
        type_name,
        value,
        scope: item.get("scope").cloned(),
        sbfl_id: item.get("sbfl_id").cloned(),
    })
}

pub struct VariablesApi {
    pub app: Arc<App>,
}

// One handler argument per documented query parameter.
#[allow(clippy::too_many_arguments)]
#[OpenApi(tag = "Tag::ProcessVariables")]
impl VariablesApi {
    /// Process variables, filtered by `scope` and `name`.
    ///
    /// Needs the Read role; without it the answer is an empty collection. `scope` is 0 (process
    /// level) or the `sbfl_id` that opened a called diagram's scope; `name` matches
    /// case-insensitively; `limit` (default 100, at most 1000) and `offset` page the list. An
    /// unknown instance has no variables.
    #[oai(
        path = "/v1/processes/:prcs_id/process_vars",
        method = "get",
        operation_id = "getProcessVariables"
    )]
    async fn process_vars(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        scope: Query<Option<i64>>,
        name: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<VariableItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let Some(p) = found(processes::show(&self.app, prcs_id.0).await)? else {
            return Ok(Json(Collection::from_all(
                Vec::new(),
                paging,
                &self.app.public_url,
                req,
            )));
        };
        let all = variables(&p)
            .into_iter()
            .filter(|v| scope.0.is_none_or(|s| s == v.scope))
            .filter(|v| {
                name.0
                    .as_deref()
                    .is_none_or(|n| n.eq_ignore_ascii_case(&v.name))
            })
            .collect();
        Ok(Json(Collection::from_all(
            all,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Set process variables: one object or an array, all or nothing.
    ///
    /// Needs the Write role (403 without it). Each element is `{name, type, value}` (`type`:
    /// varchar, number, date, clob, json), optionally with a `scope` (0, or the scope of a called
    /// diagram) or the `sbfl_id` of a step of this instance (its scope); the answer echoes them. A bad object is echoed with its `errors` (a
    /// `missing attribute` for each one missing, a `processing error` for a value that fails):
    /// 400 for a single object (`Attribute not found` or the reason), 422 `Processing Error`
    /// for an array, which echoes every element. 404 `Item not found` for an unknown instance.
    #[oai(
        path = "/v1/processes/:prcs_id/process_vars",
        method = "put",
        operation_id = "setProcessVariables"
    )]
    async fn set_vars(
        &self,
        _auth: BearerAuth,
        prcs_id: Path<i64>,
        body: RawJson<VariableIn>,
    ) -> FlowsResult<Json<Answer>> {
        let (items, is_array) = elements(body.parse(true)?)?;
        let inputs = judge_all(&items, is_array, input)?;
        if let Err(refused) = variables::set_variables(&self.app, prcs_id.0, inputs).await {
            return Err(match refused.index {
                Some(index) => failed(&items, is_array, vec![(index, refused.error.into())]),
                None => refused.error.into(),
            });
        }
        Ok(Answer::new(
            "process variables updated",
            None,
            Some(echo_all(items)),
        ))
    }
}

impl poem_openapi::types::Example for VariableIn {
    fn example() -> Self {
        VariableIn {
            name: "reviewer".into(),
            ty: "varchar".into(),
            value: Value::from("alice"),
            scope: None,
            sbfl_id: None,
        }
    }
}
