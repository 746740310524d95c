//! Flows for APEX's process-variable expressions (`apex:beforeTask`, `afterTask`,
//! `beforeEvent`, `onEvent`, `beforeSplit`, `afterMerge`): each sets one variable, from a
//! static text, another variable, or a PL/SQL expression or function body of the subset the
//! engine evaluates. SQL queries and PL/SQL outside the subset need Oracle: they import with a
//! warning and set nothing.

use chrono::{TimeZone, Utc};

use super::plsql::{Env, Expression, Form, Value};
use super::value::VariableValue;

/// When an element runs a set: as a token arrives (before the task, before the event waits,
/// before the split), or as it leaves (after the task, when the event happens, after the merge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    After,
}

impl Phase {
    /// The phase of an `apex:` set, by its element name.
    pub fn of_set(name: &str) -> Option<Phase> {
        match name {
            "beforeTask" | "beforeEvent" | "beforeSplit" => Some(Phase::Before),
            "afterTask" | "onEvent" | "afterMerge" => Some(Phase::After),
            _ => None,
        }
    }
}

/// One `apex:processVariable` of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableExpression {
    pub phase: Phase,
    /// `apex:varSequence`: the order within the set.
    pub sequence: i64,
    pub name: String,
    pub data_type: DataType,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Varchar,
    Number,
    Date,
    Clob,
    Json,
}

impl DataType {
    /// `apex:varDataType` as Flows writes it.
    pub fn named(name: &str) -> Option<DataType> {
        match name.trim().to_ascii_uppercase().as_str() {
            "VARCHAR2" | "VARCHAR" => Some(DataType::Varchar),
            "NUMBER" => Some(DataType::Number),
            "DATE" | "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP" => Some(DataType::Date),
            "CLOB" => Some(DataType::Clob),
            "JSON" => Some(DataType::Json),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Static(String),
    /// A copy of another process variable.
    ProcessVariable(String),
    Plsql(Expression),
    /// Needs Oracle (a SQL query, PL/SQL outside the subset): not evaluated here.
    Oracle,
}

impl Source {
    /// `apex:varExpressionType` and `apex:varExpression`; `Err` for an unknown type.
    pub fn read(expression_type: &str, text: &str) -> Result<Source, String> {
        let plsql = |form| Expression::parse(text, form).map_or(Source::Oracle, Source::Plsql);
        Ok(match expression_type.trim() {
            "static" => Source::Static(text.to_owned()),
            "processVariable" => Source::ProcessVariable(text.trim().to_owned()),
            "plsqlExpression" | "plsqlRawExpression" => plsql(Form::Expression),
            "plsqlFunctionBody" | "plsqlRawFunctionBody" => plsql(Form::FunctionBody),
            "sqlQuerySingle" | "sqlQueryList" | "sqlQueryArray" => Source::Oracle,
            other => return Err(format!("variable expression type '{other}' is not known")),
        })
    }
}

impl VariableExpression {
    /// The value to store: `Ok(None)` stores null (the variable is removed), an error is what
    /// Flows would raise. Not called for [`Source::Oracle`].
    pub fn evaluate(&self, env: &dyn Env) -> Result<Option<VariableValue>, String> {
        let value = match &self.source {
            Source::Static(text) => Value::text(text.clone()),
            Source::ProcessVariable(name) => match env.variable(name) {
                Some(VariableValue::Number(n)) => Value::Number(n),
                Some(VariableValue::Date(d)) => Value::Date(d.naive_utc()),
                Some(VariableValue::Json(json)) => Value::text(json.to_string()),
                Some(other) => Value::text(other.to_text()),
                None => Value::Null,
            },
            Source::Plsql(expression) => expression
                .evaluate(env)
                .map_err(|error| format!("evaluating '{}': {error}", expression.text()))?,
            Source::Oracle => return Ok(None),
        };
        self.typed(value)
    }

    /// The value converted to the declared type as Oracle converts (text to number or date
    /// where it reads as one, else an error).
    fn typed(&self, value: Value) -> Result<Option<VariableValue>, String> {
        let failed = |error: String| format!("{} ({:?}): {error}", self.name, self.data_type);
        Ok(match self.data_type {
            DataType::Number => value
                .as_number()
                .map_err(|e| failed(e.0))?
                .map(VariableValue::Number),
            DataType::Date => value
                .as_date()
                .map_err(|e| failed(e.0))?
                .map(|date| VariableValue::Date(Utc.from_utc_datetime(&date))),
            DataType::Json => value
                .as_text()
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| failed(format!("not JSON: {e}")))?
                .map(VariableValue::Json),
            DataType::Clob => value.as_text().map(VariableValue::Clob),
            DataType::Varchar => value.as_text().map(VariableValue::Varchar),
        })
    }
}
