//! What the process API shares with Flows for APEX: request bodies read raw and judged with
//! Flows' messages, its error answers (with proper statuses), item links and action answers.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde_json::{Map, Value, json};

use super::paging::Link;
pub use super::raw_body::RawJson;

/// A parsed body: nothing, one object, or an array.
pub enum Body {
    Empty,
    One(Map<String, Value>),
    Many(Vec<Value>),
}

impl<Doc> RawJson<Doc> {
    /// Judges the body as Flows does; an empty body is fine unless `required`.
    pub fn parse(&self, required: bool) -> Result<Body, Failure> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return if required {
                Err(Failure::bad("Payload not accepted"))
            } else {
                Ok(Body::Empty)
            };
        }
        if !self.declared {
            return Err(Failure::new(415, "Unsupported Media Type"));
        }
        let value: Value = serde_json::from_slice(&self.bytes).map_err(|_| {
            let content = String::from_utf8_lossy(&self.bytes)
                .chars()
                .take(4000)
                .collect::<String>();
            Failure::bad("JSON Payload can not be processed")
                .with("payload", json!({"content": content}))
        })?;
        match value {
            Value::Object(map) => Ok(Body::One(map)),
            Value::Array(items) => Ok(Body::Many(items)),
            _ => Err(Failure::bad("Payload not accepted")),
        }
    }

    /// One object (or nothing when optional); an array is refused.
    pub fn object(&self, required: bool) -> Result<Map<String, Value>, Failure> {
        match self.parse(required)? {
            Body::Empty => Ok(Map::new()),
            Body::One(map) => Ok(map),
            Body::Many(_) => Err(Failure::bad("Multiple objects found")),
        }
    }
}

/// A required string attribute, or Flows' "Attribute not found" echoing the item.
pub fn required_str<'m>(item: &'m Map<String, Value>, name: &str) -> Result<&'m str, Failure> {
    match item.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(Failure::bad("Attribute not found").with("item", Value::Object(item.clone()))),
    }
}

/// An optional string attribute (numbers are taken as their text).
pub fn optional_str(item: &Map<String, Value>, name: &str) -> Result<Option<String>, Failure> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Failure::bad(format!("Attribute {name} must be a string"))
            .with("item", Value::Object(item.clone()))),
    }
}

/// `{"success": false, "message": …}` plus Flows' extras (`item`, `items`, `payload`).
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub body: Map<String, Value>,
}

impl Failure {
    pub fn new(status: u16, message: impl Into<String>) -> Failure {
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(false));
        body.insert("message".into(), Value::String(message.into()));
        Failure { status, body }
    }

    pub fn bad(message: impl Into<String>) -> Failure {
        Failure::new(400, message)
    }

    pub fn with(mut self, key: &str, value: Value) -> Failure {
        self.body.insert(key.into(), value);
        self
    }
}

impl From<crate::Error> for Failure {
    fn from(err: crate::Error) -> Self {
        use crate::Error;
        match err {
            Error::Invalid(m) => Failure::bad(m),
            Error::NotFound(_) => Failure::new(404, "Item not found"),
            Error::Conflict(m) => Failure::new(409, m),
            Error::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                Failure::new(503, "Service temporarily unavailable")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Failure::new(500, "Internal error")
            }
        }
    }
}

/// Error answers of the process API.
#[derive(ApiResponse)]
pub enum FlowsError {
    /// `JSON Payload can not be processed`, `Payload not accepted`, `Multiple objects found`,
    /// `Attribute not found`.
    #[oai(status = 400)]
    BadRequest(Json<Value>),
    /// No, a malformed, an expired or a revoked Bearer token (answered by the gate).
    #[oai(status = 401)]
    Unauthorized(Json<Value>),
    /// The caller lacks the role.
    #[oai(status = 403)]
    Forbidden(Json<Value>),
    /// `Item not found`
    #[oai(status = 404)]
    NotFound(Json<Value>),
    /// The engine refused: wrong state, stale step_key, message not correlated.
    #[oai(status = 409)]
    Conflict(Json<Value>),
    /// `Payload too large` (over 1 MiB)
    #[oai(status = 413)]
    TooLarge(Json<Value>),
    /// `Unsupported Media Type` (not application/json)
    #[oai(status = 415)]
    UnsupportedMediaType(Json<Value>),
    /// `Processing Error`: an element of an array failed; nothing was applied.
    #[oai(status = 422)]
    Unprocessable(Json<Value>),
    #[oai(status = 500)]
    Internal(Json<Value>),
    #[oai(status = 503)]
    Unavailable(Json<Value>),
}

impl From<Failure> for FlowsError {
    fn from(failure: Failure) -> Self {
        let body = Json(Value::Object(failure.body));
        match failure.status {
            400 => FlowsError::BadRequest(body),
            401 => FlowsError::Unauthorized(body),
            403 => FlowsError::Forbidden(body),
            404 => FlowsError::NotFound(body),
            409 => FlowsError::Conflict(body),
            413 => FlowsError::TooLarge(body),
            415 => FlowsError::UnsupportedMediaType(body),
            422 => FlowsError::Unprocessable(body),
            503 => FlowsError::Unavailable(body),
            _ => FlowsError::Internal(body),
        }
    }
}

impl From<crate::Error> for FlowsError {
    fn from(err: crate::Error) -> Self {
        Failure::from(err).into()
    }
}

pub type FlowsResult<T> = Result<T, FlowsError>;

/// A link of an item: `{rel, href, action, types}`.
pub fn link(rel: &str, href: String, action: &str) -> Link {
    Link {
        rel: rel.into(),
        href,
        action: Some(action.into()),
        types: Some(vec!["application/json".into()]),
    }
}

/// `{"success": true, "message": …, "links"?, "items"?}`
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Answer {
    pub success: bool,
    pub message: String,
    pub links: Option<Vec<Link>>,
    /// The elements as sent (array calls).
    pub items: Option<Vec<Value>>,
}

impl Answer {
    pub fn new(message: &str, links: Option<Vec<Link>>, items: Option<Vec<Value>>) -> Json<Answer> {
        Json(Answer {
            success: true,
            message: message.into(),
            links,
            items,
        })
    }
}

/// The elements of a call that takes one object or an array; `Processing Error` (422) names
/// the elements that failed when an array was sent, the single failure otherwise.
pub fn elements(raw_body: Body) -> Result<(Vec<Map<String, Value>>, bool), Failure> {
    match raw_body {
        Body::Empty => Err(Failure::bad("Payload not accepted")),
        Body::One(map) => Ok((vec![map], false)),
        Body::Many(items) => {
            if items.is_empty() {
                return Err(Failure::bad("Payload not accepted"));
            }
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(map) => maps.push(map),
                    _ => return Err(Failure::bad("Payload not accepted")),
                }
            }
            Ok((maps, true))
        }
    }
}

/// The 422 answer for an array call whose element `index` failed.
pub fn processing_error(items: &[Map<String, Value>], index: usize, failure: Failure) -> Failure {
    let reason = failure.body.get("message").cloned().unwrap_or(Value::Null);
    let echoed: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut item = item.clone();
            if i == index {
                let kind = if failure.status == 400 {
                    "missing attribute"
                } else {
                    "processing error"
                };
                item.insert("errors".into(), json!([{"type": kind, "value": reason}]));
            }
            Value::Object(item)
        })
        .collect();
    Failure::new(422, "Processing Error").with("items", Value::Array(echoed))
}
