//! The Flows for APEX dialect of the process API: `{"success": false, "message": M}` with
//! Flows' messages and proper statuses (docs/contract.md §4), plus the extras Flows echoes (`item`,
//! `items`, `payload`). A missing item is Flows' `Item not found`.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use serde_json::{Map, Value};

use crate::Error;

/// The answers a process API operation may give besides its success.
#[derive(ApiResponse)]
pub enum Documented {
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

/// A domain error answered in the Flows dialect, with what Flows echoes beside the message.
#[derive(Debug)]
pub struct FlowsError {
    pub error: Error,
    extras: Map<String, Value>,
}

pub type FlowsResult<T> = Result<T, FlowsError>;

impl FlowsError {
    /// Adds what Flows echoes: the `item` or `items` sent, or the `payload` it could not read.
    pub fn with(mut self, key: &str, value: Value) -> FlowsError {
        self.extras.insert(key.to_owned(), value);
        self
    }

    /// Flows' message for the error.
    pub fn message(&self) -> String {
        message_of(&self.error)
    }
}

/// Flows' message for an error (also the `value` of a `processing error` in an echoed object).
pub fn message_of(error: &Error) -> String {
    match error {
        Error::NotFound(_) => "Item not found".into(),
        Error::UnsupportedMediaType { .. } => "Unsupported Media Type".into(),
        other => super::public_message(other),
    }
}

impl From<Error> for FlowsError {
    fn from(error: Error) -> Self {
        FlowsError {
            error,
            extras: Map::new(),
        }
    }
}

impl ApiResponse for FlowsError {
    fn meta() -> MetaResponses {
        Documented::meta()
    }

    fn register(registry: &mut Registry) {
        Documented::register(registry);
    }
}

impl From<FlowsError> for poem::Error {
    fn from(err: FlowsError) -> Self {
        let message = err.message();
        let status = super::status(&err.error);
        let mut response = super::json(status, &super::failure_body(message, err.extras));
        super::add_headers(&err.error, &mut response);
        poem::Error::from_response(response)
    }
}
