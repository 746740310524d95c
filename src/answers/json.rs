//! A JSON answer serialized straight from its value. poem-openapi's `Json` first builds a
//! `serde_json::Value` of the whole body and then serializes that: on the token and
//! introspection endpoints, which answer tens of thousands of times a second, that was one
//! allocation per field and a twentieth of a token's instructions. The document still shows
//! the type's schema; a test below keeps the two renderings equal.
//!
//! [`WrittenJson`] goes further for an answer kept with what it shows: a process instance kept
//! in memory is rendered once, at its first read (`ProcessView::written`), and then served as
//! bytes.

use std::marker::PhantomData;

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde::Serialize;

const JSON: &str = "application/json; charset=utf-8";

pub struct DirectJson<T>(pub T);

impl<T: Type> Payload for DirectJson<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for DirectJson<T> {
    fn into_response(self) -> Response {
        // Room for a token answer, so that the buffer is not grown on the way.
        let mut body = Vec::with_capacity(768);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder().content_type(JSON).body(body),
            // Plain structs of strings and numbers: serializing them cannot fail.
            Err(err) => {
                tracing::error!(error = %err, "could not serialize an answer");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A JSON answer of schema `T`, already written: by [`json_bytes`], or to the same effect.
pub struct WrittenJson<T> {
    body: Vec<u8>,
    schema: PhantomData<fn() -> T>,
}

impl<T: ToJSON> WrittenJson<T> {
    /// `value` as `Json(value)` would answer it.
    pub fn of(value: &T) -> Self {
        Self::from_bytes(json_bytes(value))
    }

    pub fn from_bytes(body: Vec<u8>) -> Self {
        WrittenJson {
            body,
            schema: PhantomData,
        }
    }
}

/// The bytes `Json(value)` answers.
pub fn json_bytes<T: ToJSON>(value: &T) -> Vec<u8> {
    // A `serde_json::Value` always serializes: its keys are strings.
    serde_json::to_vec(&value.to_json()).unwrap_or_default()
}

/// The bytes of `value` through its `Serialize`: for a type whose `Serialize` writes what its
/// `ToJSON` does (each such type has a test), without the `serde_json::Value` in between.
pub fn serialized_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Structs of strings, numbers and lists: serializing them into memory cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl<T: Type> Payload for WrittenJson<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for WrittenJson<T> {
    fn into_response(self) -> Response {
        Response::builder().content_type(JSON).body(self.body)
    }
}

/// Declared in the document exactly as `Json<T>`.
impl<T: ToJSON> ApiResponse for WrittenJson<T> {
    fn meta() -> MetaResponses {
        Json::<T>::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
