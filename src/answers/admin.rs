//! The admin dialect (`/v1/admin/*`, `/v1/utils/*`, `/v1/me`): `{"success": false,
//! "message"}` with the status of the error's kind. [`ApiError`] wraps the domain error; the
//! statuses it documents in the OpenAPI document are those of [`Documented`].

use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};

use crate::Error;

/// `{"success": false, "message": …}`
#[derive(Object)]
pub struct Failure {
    pub success: bool,
    pub message: String,
}

/// The answers an admin operation may give besides its success.
#[derive(ApiResponse)]
pub enum Documented {
    /// The request is malformed or invalid; nothing was changed.
    #[oai(status = 400)]
    BadRequest(Json<Failure>),
    /// No, a malformed, an expired or a revoked Bearer token (answered by the gate, with
    /// `WWW-Authenticate`).
    #[oai(status = 401)]
    Unauthorized(Json<Failure>),
    /// The caller lacks the role (non-GET methods).
    #[oai(status = 403)]
    Forbidden(Json<Failure>),
    /// No such item.
    #[oai(status = 404)]
    NotFound(Json<Failure>),
    /// The request conflicts with the current state.
    #[oai(status = 409)]
    Conflict(Json<Failure>),
    /// The body is over the size limit (1 MiB).
    #[oai(status = 413)]
    TooLarge(Json<Failure>),
    /// The body is not of the documented media type.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<Failure>),
    /// Something failed inside; details are in the server log.
    #[oai(status = 500)]
    Internal(Json<Failure>),
    /// The database is unreachable; retry later.
    #[oai(status = 503)]
    Unavailable(Json<Failure>),
}

/// A domain error answered in the admin dialect.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        Documented::meta()
    }

    fn register(registry: &mut Registry) {
        Documented::register(registry);
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        poem::Error::from_response(super::plain(&err.0))
    }
}

/// `{"status": …}`
#[derive(Object)]
pub struct Ping {
    /// `ok`
    pub status: String,
}

/// The readiness probe's answers.
#[derive(ApiResponse)]
pub enum Readiness {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Ping>),
    /// The database does not answer.
    #[oai(status = 503)]
    NotReady(Json<Ping>),
}
