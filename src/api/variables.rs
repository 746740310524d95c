//! Process variables: read (filtered by scope and name) and set (one object or an array, all
//! or nothing).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::apex::{
    Answer, FlowsResult, RawJson, each, echo, echo_all, element_failed, elements, required,
    required_str,
};
use super::dto::{VariableItem, variables};
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::services::App;
use crate::services::processes::{self, VariableInput};

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

fn input(item: &Map<String, Value>) -> FlowsResult<VariableInput> {
    Ok(VariableInput {
        name: required_str(item, "name")?.to_owned(),
        type_name: required_str(item, "type")?.to_owned(),
        value: required(item, "value")?.clone(),
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
    /// Needs the Read role; without it the answer is an empty collection. All variables are at
    /// process level (`scope` 0) and `name` matches case-insensitively; `limit` (default 100, at
    /// most 1000) and `offset` page the list. 404 `Item not found` for an unknown instance.
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
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> FlowsResult<Json<Collection<VariableItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let p = processes::show(&self.app, prcs_id.0).await?;
        let all = variables(&p.instance)
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
    /// varchar, number, date, clob, json), optionally with `scope` 0 or the `sbfl_id` of a step of
    /// this instance; the answer echoes them. 400 for a bad single object (e.g.
    /// `Attribute not found`), 422 `Processing Error` when an array element fails (echoed with its
    /// `errors`), 404 `Item not found` for an unknown instance.
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
        let inputs = each(&items, is_array, input)?;
        if let Err(failed) = processes::set_variables(&self.app, prcs_id.0, inputs).await {
            return Err(match failed.index {
                Some(index) if is_array => element_failed(&items, true, index, failed.error.into()),
                Some(index) => echo(&items[index], failed.error),
                None => failed.error.into(),
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
