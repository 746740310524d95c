//! The one place where errors become HTTP answers. Every dialect the HTTP surface speaks is
//! rendered here from the domain [`Error`] (or the OAuth and gate refusals): the Flows JSON of
//! the process API ([`flows`]), the admin JSON ([`admin`]), RFC 6749 §5.2 ([`oauth`]), the
//! gate's 401/403/404/405 and empty collections ([`gate`]), framework errors and panics
//! ([`framework`]), HTML error pages ([`html`]) and redirects back to a client carrying
//! `error` and `state` ([`redirect`]). No error status or error body is built anywhere else.
//! Internals are logged here (with the request's id, from the request span) and never sent.

pub mod admin;
pub mod fixed_header;
pub mod flows;
pub mod framework;
pub mod gate;
pub mod html;
pub mod json;
pub mod oauth;
pub mod redirect;

use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use crate::Error;

/// The status every dialect answers an error kind with.
pub fn status(err: &Error) -> StatusCode {
    match err {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Invalid { .. } => StatusCode::BAD_REQUEST,
        Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TimedOut => StatusCode::REQUEST_TIMEOUT,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs what went wrong on our side (the caller is told only in general terms).
fn log_internal(err: &Error) {
    match err {
        Error::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
        Error::Internal(detail) => tracing::error!(%detail, "internal error"),
        _ => {}
    }
}

/// What may be told to the caller; server-side failures are logged and told in general terms.
pub fn public_message(err: &Error) -> String {
    log_internal(err);
    match err {
        Error::Unavailable(_) => "Service temporarily unavailable".into(),
        Error::Internal(_) => "Internal error".into(),
        Error::RateLimited { .. } => "Too many requests; retry later".into(),
        Error::UnsupportedMediaType { accepted } => {
            format!("Unsupported Media Type: send {}", accepted.join(", "))
        }
        other => other.to_string(),
    }
}

/// The headers an error kind calls for: `Retry-After`, `Accept` (RFC 9110 §15.5.16),
/// `WWW-Authenticate` (not on pages: a browser would ask for Basic credentials).
fn add_headers(err: &Error, response: &mut Response) {
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    let headers = response.headers_mut();
    match err {
        Error::RateLimited { retry_after } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        Error::UnsupportedMediaType { accepted } => {
            if let Ok(value) = HeaderValue::from_str(&accepted.join(", ")) {
                headers.insert(header::ACCEPT, value);
            }
        }
        Error::Unauthenticated(_) if !is_page => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="flowgate""#),
            );
        }
        _ => {}
    }
}

/// A JSON answer.
fn json(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// `{"success": false, "message": …}` plus any extras.
fn failure_body(message: String, extras: Map<String, Value>) -> Value {
    let mut body = Map::with_capacity(2 + extras.len());
    body.insert("success".into(), Value::Bool(false));
    body.insert("message".into(), Value::String(message));
    body.extend(extras);
    Value::Object(body)
}

/// `{"success": false, "message": …}` with a status: the shape of the admin API, the gate and
/// framework errors.
pub fn failure(status: StatusCode, message: &str) -> Response {
    json(status, &failure_body(message.to_owned(), Map::new()))
}

/// The error in the plain `{"success": false, "message"}` shape, with its status and headers.
pub fn plain(err: &Error) -> Response {
    let mut response = failure(status(err), &public_message(err));
    add_headers(err, &mut response);
    response
}
