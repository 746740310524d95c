//! The OAuth dialect (RFC 6749 §5): the token endpoint's answers and revocation's (RFC 7009),
//! every one with `Cache-Control: no-store` and `Pragma: no-cache`; `invalid_client` is 401,
//! with `WWW-Authenticate: Basic` when the client tried Basic.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::Error;
use crate::oauth::OAuthError;

const NO_STORE: &str = "no-store";
const NO_CACHE: &str = "no-cache";

/// RFC 6749 §5.1
#[derive(Object)]
pub struct TokenBody {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
}

/// RFC 6749 §5.2
#[derive(Object)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

#[derive(ApiResponse)]
pub enum TokenAnswer {
    /// A new access token.
    #[oai(status = 200)]
    Issued(
        Json<TokenBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// Client authentication failed.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
}

impl TokenAnswer {
    pub fn issued(body: TokenBody) -> TokenAnswer {
        TokenAnswer::Issued(Json(body), NO_STORE.into(), NO_CACHE.into())
    }
}

/// The body of an OAuth error and, for `invalid_client`, its optional Basic challenge.
fn error_parts(err: OAuthError) -> (Json<OAuthErrorBody>, Option<Option<String>>) {
    let unauthorized = err.status() == 401;
    let challenge = err
        .basic_challenge
        .then(|| r#"Basic realm="flowgate""#.to_owned());
    let body = Json(OAuthErrorBody {
        error: err.code.to_owned(),
        error_description: err.description,
    });
    (body, unauthorized.then_some(challenge))
}

impl From<OAuthError> for TokenAnswer {
    fn from(err: OAuthError) -> Self {
        match error_parts(err) {
            (body, Some(challenge)) => {
                TokenAnswer::Unauthorized(body, NO_STORE.into(), NO_CACHE.into(), challenge)
            }
            (body, None) => TokenAnswer::BadRequest(body, NO_STORE.into(), NO_CACHE.into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum RevokeAnswer {
    /// Revoked, or nothing to revoke (RFC 7009 §2.2).
    #[oai(status = 200)]
    Done(
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>),
}

impl RevokeAnswer {
    pub fn done() -> RevokeAnswer {
        RevokeAnswer::Done(NO_STORE.into(), NO_CACHE.into())
    }
}

impl From<OAuthError> for RevokeAnswer {
    fn from(err: OAuthError) -> Self {
        match error_parts(err) {
            (body, Some(challenge)) => {
                RevokeAnswer::Unauthorized(body, NO_STORE.into(), NO_CACHE.into(), challenge)
            }
            (body, None) => RevokeAnswer::BadRequest(body, NO_STORE.into(), NO_CACHE.into()),
        }
    }
}

/// A failure of ours under an OAuth endpoint (the database, say): `temporarily_unavailable`.
impl From<Error> for RevokeAnswer {
    fn from(err: Error) -> Self {
        super::log_internal(&err);
        RevokeAnswer::Unavailable(Json(OAuthErrorBody {
            error: "temporarily_unavailable".into(),
            error_description: "The revocation could not be stored; retry".into(),
        }))
    }
}
