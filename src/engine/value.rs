//! Typed process variables, as Flows for APEX stores them, and how Flows renders them as text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
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

/// Flows' default date format (`flow_constants_pkg.gc_prov_default_date_format`).
pub const FLOWS_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

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
    /// varchar, number, date, clob, json). Dates are read in RFC 3339 or Flows' formats.
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
            ("date", Json::String(text)) => parse_date(text).map(Self::Date).ok_or_else(|| {
                ValueError(format!(
                    "'{text}' is not a date (RFC 3339, YYYY-MM-DD or YYYY-MM-DD HH24:MI:SS)"
                ))
            }),
            ("json", json) => Ok(Self::Json(json.clone())),
            ("varchar" | "varchar2" | "clob" | "number" | "date", other) => Err(ValueError(
                format!("a {kind} value cannot be given as {}", json_kind(other)),
            )),
            _ => Err(ValueError(format!("unknown variable type '{type_name}'"))),
        }
    }

    /// The value as JSON, typed: text for VARCHAR2 and CLOB, a number (whole numbers without a
    /// fraction) for NUMBER, RFC 3339 for DATE, the document for JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Varchar(text) | Self::Clob(text) => serde_json::Value::String(text.clone()),
            Self::Number(number) => number_json(*number),
            Self::Date(date) => serde_json::Value::String(format_rfc3339(date)),
            Self::Json(json) => json.clone(),
        }
    }

    /// The value as Flows renders it as text (its REST views and `get_var_as_vc2`): numbers as
    /// Oracle's `TO_CHAR` writes them (`120`, `2.5`, `.5`), dates as `YYYY-MM-DD HH24:MI:SS`,
    /// JSON as its text.
    pub fn render(&self) -> String {
        match self {
            Self::Varchar(text) | Self::Clob(text) => text.clone(),
            Self::Number(number) => oracle_number(*number),
            Self::Date(date) => date.format(FLOWS_DATE_FORMAT).to_string(),
            Self::Json(serde_json::Value::String(text)) => text.clone(),
            Self::Json(json) => json.to_string(),
        }
    }

    /// The value as text where Flows binds or substitutes it (`:F4A$name`, `&F4A$name.`,
    /// message names and correlation values): the same as [`VariableValue::render`].
    pub fn to_text(&self) -> String {
        self.render()
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

/// Whole numbers as JSON integers (`120`, never `120.0`), others as they are.
fn number_json(number: f64) -> serde_json::Value {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: exact in f64
    if number.fract() == 0.0 && number.abs() < LIMIT {
        // In range and whole, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let whole = number as i64;
        return serde_json::Value::Number(whole.into());
    }
    serde_json::Number::from_f64(number).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A number as Oracle's `TO_CHAR(number)` writes it: no trailing zeros, no exponent for
/// ordinary magnitudes, and no leading zero before the decimal point (`.5`, `-.25`).
pub fn oracle_number(number: f64) -> String {
    if number == 0.0 {
        return "0".to_string();
    }
    let text = number.to_string();
    if text.contains(['e', 'E']) {
        return text;
    }
    if let Some(rest) = text.strip_prefix("0.") {
        return format!(".{rest}");
    }
    if let Some(rest) = text.strip_prefix("-0.") {
        return format!("-.{rest}");
    }
    text
}

fn format_rfc3339(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A finite number written as text, surrounding blanks allowed (`.5` too, as Oracle writes it).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date in RFC 3339 or one of Flows' formats: `YYYY-MM-DD HH24:MI:SS` (optionally with a
/// fraction and a zone, `UTC` or an offset), `YYYY-MM-DDTHH24:MI:SS` without a zone, or a plain
/// `YYYY-MM-DD` (midnight). Dates without a zone are UTC.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&Utc));
    }
    let (local, zone) = split_zone(text);
    let offset = zone_offset(zone)?;
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(local, format) {
            return Some(naive.and_utc() - offset);
        }
    }
    NaiveDate::parse_from_str(local, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc() - offset)
}

/// Splits a trailing ` UTC`, ` +02:00`, `Z` from a date.
fn split_zone(text: &str) -> (&str, &str) {
    if let Some((local, zone)) = text.rsplit_once(' ')
        && local.contains(':')
        && (zone.chars().all(|c| c.is_ascii_alphabetic()) || zone.starts_with(['+', '-']))
    {
        return (local.trim_end(), zone);
    }
    if let Some(local) = text.strip_suffix('Z') {
        return (local, "Z");
    }
    (text, "")
}

/// The offset of a zone: empty, `Z`, `UTC` and `GMT` are zero; `+HH:MM` and `-HH:MM` as written.
fn zone_offset(zone: &str) -> Option<chrono::TimeDelta> {
    match zone.to_ascii_uppercase().as_str() {
        "" | "Z" | "UTC" | "GMT" => Some(chrono::TimeDelta::zero()),
        other => {
            let (sign, rest) = match other.as_bytes().first()? {
                b'+' => (1, &other[1..]),
                b'-' => (-1, &other[1..]),
                _ => return None,
            };
            let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
            let hours: i64 = hours.parse().ok()?;
            let minutes: i64 = minutes.parse().ok()?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            Some(chrono::TimeDelta::minutes(sign * (hours * 60 + minutes)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
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
        assert_eq!(date.render(), "2024-03-01 00:00:00");
        assert_eq!(date.to_json(), json!("2024-03-01T00:00:00Z"));
        assert_eq!(
            VariableValue::from_api("json", &json!({"a": 1})).map(|v| v.to_json()),
            Ok(json!({"a": 1}))
        );
    }

    #[test]
    fn dates_are_read_in_flows_formats_and_rfc_3339() {
        let expected = Utc
            .with_ymd_and_hms(2024, 6, 24, 9, 15, 0)
            .single()
            .expect("valid");
        for text in [
            "2024-06-24T09:15:00Z",
            "2024-06-24T11:15:00+02:00",
            "2024-06-24 09:15:00",
            "2024-06-24 09:15:00 UTC",
            "2024-06-24 11:15:00 +02:00",
            "2024-06-24T09:15:00",
            "2024-06-24 09:15",
        ] {
            assert_eq!(parse_date(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_date("2024-06-24").map(|d| d.format("%H:%M").to_string()),
            Some("00:00".into())
        );
        for text in ["24/06/2024", "tomorrow", "2024-06-24 09:15:00 Mars", ""] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_render_as_oracle_writes_them() {
        assert_eq!(VariableValue::Number(5000.0).render(), "5000");
        assert_eq!(VariableValue::Number(2.5).render(), "2.5");
        assert_eq!(VariableValue::Number(0.5).render(), ".5");
        assert_eq!(VariableValue::Number(-0.25).render(), "-.25");
        assert_eq!(VariableValue::Number(0.0).render(), "0");
        assert_eq!(VariableValue::Number(5000.0).type_name(), "NUMBER");
        assert_eq!(VariableValue::Number(120.0).to_json().to_string(), "120");
        assert_eq!(VariableValue::Number(1.5).to_json().to_string(), "1.5");
        assert_eq!(
            VariableValue::Json(json!({"a": [1, 2]})).render(),
            r#"{"a":[1,2]}"#
        );
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
