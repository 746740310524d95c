//! Errors raised by the framework rather than by us (unknown route, wrong method, a parameter
//! that does not parse, a body over the limit) and panics in handlers, as JSON answers that say
//! nothing of their cause.

use std::any::Any;

use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};

use super::failure;
use crate::Error;

/// Our words for a request the framework could not read: which parameter or field, never
/// the parser's own wording (nor an echo of what was sent).
fn request_problem(err: &poem::Error) -> Option<String> {
    use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        return Some(format!("The query parameter `{}` is not valid", param.name));
    }
    if let Some(path) = err.downcast_ref::<ParsePathError>() {
        // The router knows path parameters by position only (`param0`).
        let positional = path
            .name
            .strip_prefix("param")
            .is_some_and(|n| n.parse::<u8>().is_ok());
        return Some(if positional {
            "A path parameter is not valid (ids are whole numbers)".into()
        } else {
            format!("The path parameter `{}` is not valid", path.name)
        });
    }
    if let Some(payload) = err.downcast_ref::<ParseRequestPayloadError>() {
        let named = |marker: &str, close: char| {
            payload
                .reason
                .split(marker)
                .nth(1)
                .and_then(|rest| rest.split(close).next())
                .filter(|name| {
                    !name.is_empty()
                        && name.len() <= 64
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(str::to_owned)
        };
        return Some(if let Some(field) = named("unknown field `", '`') {
            format!("The body has a field `{field}` that this operation does not take")
        } else if let Some(field) = named("field `", '`')
            && let Some((_, constraint)) = payload.reason.split_once("verification failed. ")
        {
            format!(
                "The body's field `{field}` must be {}",
                documented_constraint(constraint)
            )
        } else if let Some(field) = named("field \"", '"') {
            format!("The body's field `{field}` is missing or not of the right type")
        } else {
            // `(occurred while parsing "CreateUser")`: the body's schema, as the document names it.
            match named("while parsing \"", '"') {
                Some(schema) => format!(
                    "The body is not a valid {schema} (a field is missing or of the wrong type)"
                ),
                None => "The body is not JSON of the expected shape".into(),
            }
        });
    }
    None
}

/// A documented constraint (`minLength(8)`, as poem-openapi prints it) in words.
fn documented_constraint(constraint: &str) -> String {
    let bound = |prefix: &str| {
        constraint
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|n| n.parse::<u64>().ok())
    };
    if let Some(n) = bound("minLength(") {
        format!("at least {n} characters long")
    } else if let Some(n) = bound("maxLength(") {
        format!("at most {n} characters long")
    } else {
        "as the API document describes it".to_owned()
    }
}

/// `{"success": false, "message": …}` for a framework error; ours pass through unchanged.
pub fn answer(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    if let Some(problem) = request_problem(&err) {
        return failure(StatusCode::BAD_REQUEST, &problem);
    }
    let message = match status {
        StatusCode::NOT_FOUND => "Resource not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Media Type".to_owned(),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "request failed");
            "Internal error".to_owned()
        }
        _ => "The request cannot be handled".to_owned(),
    };
    let mut response = failure(status, &message);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="flowgate""#),
        );
    }
    response
}

/// A body over the size limit.
pub fn too_large() -> Response {
    super::plain(&Error::TooLarge)
}

/// A JSON body with a key twice in one object (which one would count is anybody's guess).
pub fn duplicate_key(key: &str) -> Response {
    let shown: String = key.chars().take(64).collect();
    super::plain(&Error::attribute(
        key,
        format!("The JSON body has the key {shown:?} twice in one object"),
    ))
}

/// A body that did not arrive in time (408); the connection is closed after it.
pub fn timed_out() -> Response {
    let mut response = super::plain(&Error::TimedOut);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Turns a panic in a handler into a 500 JSON answer, logged (inside the request's span, so
/// with its request id) with what the panic said.
#[derive(Clone, Copy, Debug, Default)]
pub struct PanicAnswer;

impl poem::middleware::PanicHandler for PanicAnswer {
    type Response = Response;

    fn get_response(&self, err: Box<dyn Any + Send + 'static>) -> Response {
        let what = err
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        tracing::error!(panic = %what, "a handler panicked");
        failure(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    }
}

#[cfg(test)]
mod tests {
    use poem::middleware::CatchPanic;
    use poem::{Endpoint, EndpointExt, Request};

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json() {
        let endpoint = poem::endpoint::make_sync(|_| -> &'static str {
            panic!("database password is hunter2")
        })
        .with(CatchPanic::new().with_handler(PanicAnswer));
        let response = endpoint
            .call(Request::builder().finish())
            .await
            .map(poem::IntoResponse::into_response)
            .unwrap_or_else(|err| err.into_response());
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().into_string().await.unwrap();
        assert_eq!(body, r#"{"success":false,"message":"Internal error"}"#);
    }
}
