//! Errors raised by the framework rather than by us (unknown route, wrong method, a parameter
//! that does not parse, a body over the limit) and panics in handlers, as JSON answers that say
//! nothing of their cause.

use std::any::Any;

use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};

use super::failure;
use crate::Error;

/// `{"success": false, "message": …}` for a framework error; ours pass through unchanged.
pub fn answer(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let message = match status {
        StatusCode::NOT_FOUND => "Resource not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Media Type".to_owned(),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "request failed");
            "Internal error".to_owned()
        }
        _ => err.to_string(),
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
        assert_eq!(body, r#"{"message":"Internal error","success":false}"#);
    }
}
