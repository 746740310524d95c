//! Typed process variables, as Flows for APEX stores them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The value of one process variable. Serialized as `{"type": "varchar", "value": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum VariableValue {
    Varchar(String),
    Number(f64),
    Date(DateTime<Utc>),
    Clob(String),
    Json(serde_json::Value),
}

/// A value the process API sent that does not fit the declared type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl VariableValue {
    /// The type name the process API reports (Flows for APEX column types).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Varchar(_) => "VARCHAR2",
            Self::Number(_) => "NUMBER",
            Self::Date(_) => "DATE",
            Self::Clob(_) => "CLOB",
            Self::Json(_) => "JSON",
        }
    }

    /// Builds a value from the API's `{type, value}` pair (`type` case-insensitive:
    /// varchar, number, date, clob, json).
    pub fn from_api(type_name: &str, value: &serde_json::Value) -> Result<Self, ValueError> {
        use serde_json::Value as Json;
        let kind = type_name.to_ascii_lowercase();
        match (kind.as_str(), value) {
            ("varchar" | "varchar2", Json::String(text)) => Ok(Self::Varchar(text.clone())),
            ("clob", Json::String(text)) => Ok(Self::Clob(text.clone())),
            ("number", Json::Number(number)) => number
                .as_f64()
                .filter(|n| n.is_finite())
                .map(Self::Number)
                .ok_or_else(|| ValueError(format!("{number} is not a usable number"))),
            ("number", Json::String(text)) => parse_number(text)
                .map(Self::Number)
                .ok_or_else(|| ValueError(format!("'{text}' is not a number"))),
            ("date", Json::String(text)) => parse_date(text)
                .map(Self::Date)
                .ok_or_else(|| ValueError(format!("'{text}' is not an RFC 3339 date"))),
            ("json", json) => Ok(Self::Json(json.clone())),
            ("varchar" | "varchar2" | "clob" | "number" | "date", other) => Err(ValueError(
                format!("a {kind} value cannot be given as {}", json_kind(other)),
            )),
            _ => Err(ValueError(format!("unknown variable type '{type_name}'"))),
        }
    }

    /// The value as the process API shows it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Varchar(text) | Self::Clob(text) => serde_json::Value::String(text.clone()),
            Self::Number(number) => serde_json::Number::from_f64(*number)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Self::Date(date) => serde_json::Value::String(format_date(date)),
            Self::Json(json) => json.clone(),
        }
    }

    /// The value as text, used when a variable supplies a message name or correlation value.
    pub fn to_text(&self) -> String {
        match self {
            Self::Varchar(text) | Self::Clob(text) => text.clone(),
            // f64's Display prints 5000.0 as "5000", which is what a correlation expects.
            Self::Number(number) => number.to_string(),
            Self::Date(date) => format_date(date),
            Self::Json(serde_json::Value::String(text)) => text.clone(),
            Self::Json(json) => json.to_string(),
        }
    }

    /// A message payload as it is stored in the payload variable: text as CLOB, anything
    /// else as JSON; `null` stores nothing.
    pub fn from_payload(payload: &serde_json::Value) -> Option<Self> {
        match payload {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(Self::Clob(text.clone())),
            json => Some(Self::Json(json.clone())),
        }
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn format_date(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A finite number written as text, surrounding blanks allowed.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An RFC 3339 timestamp, or a plain `YYYY-MM-DD` date meaning midnight UTC.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_values_are_checked_against_their_type() {
        assert_eq!(
            VariableValue::from_api("VARCHAR", &json!("x")),
            Ok(VariableValue::Varchar("x".into()))
        );
        assert_eq!(
            VariableValue::from_api("number", &json!("12.5")),
            Ok(VariableValue::Number(12.5))
        );
        assert_eq!(
            VariableValue::from_api("number", &json!(7)),
            Ok(VariableValue::Number(7.0))
        );
        assert!(VariableValue::from_api("number", &json!("seven")).is_err());
        assert!(VariableValue::from_api("varchar", &json!(7)).is_err());
        assert!(VariableValue::from_api("blob", &json!("x")).is_err());
        let date = VariableValue::from_api("date", &json!("2024-03-01")).expect("date");
        assert_eq!(date.to_text(), "2024-03-01T00:00:00Z");
        assert_eq!(
            VariableValue::from_api("json", &json!({"a": 1})).map(|v| v.to_json()),
            Ok(json!({"a": 1}))
        );
    }

    #[test]
    fn numbers_print_without_a_trailing_fraction() {
        assert_eq!(VariableValue::Number(5000.0).to_text(), "5000");
        assert_eq!(VariableValue::Number(2.5).to_text(), "2.5");
        assert_eq!(VariableValue::Number(5000.0).type_name(), "NUMBER");
    }

    #[test]
    fn serialized_form_carries_the_type() {
        let value = VariableValue::Varchar("EU".into());
        let text = serde_json::to_string(&value).expect("serialize");
        assert_eq!(text, r#"{"type":"varchar","value":"EU"}"#);
        let back: VariableValue = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, value);
    }

    #[test]
    fn payloads_become_clob_or_json() {
        assert_eq!(
            VariableValue::from_payload(&json!("paid")),
            Some(VariableValue::Clob("paid".into()))
        );
        assert_eq!(
            VariableValue::from_payload(&json!({"amount": 3})),
            Some(VariableValue::Json(json!({"amount": 3})))
        );
        assert_eq!(VariableValue::from_payload(&serde_json::Value::Null), None);
    }
}
