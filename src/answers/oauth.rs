//! The OAuth dialect (RFC 6749 §5): the token endpoint's answers and revocation's (RFC 7009),
//! every one with `Cache-Control: no-store` and `Pragma: no-cache`; `invalid_client` is 401,
//! with `WWW-Authenticate: Basic` when the client tried Basic.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;

use super::fixed_header::FixedHeader;
use super::json::{DirectJson, WrittenJson, serialized_bytes};
use crate::Error;
use crate::oauth::{OAuthError, is_token68};

const NO_STORE: FixedHeader = FixedHeader("no-store");
const NO_CACHE: FixedHeader = FixedHeader("no-cache");

/// RFC 6749 §5.1
#[derive(Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenBody {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    /// With the authorization-code and refresh grants: the next refresh token (the one sent,
    /// if any, is used up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// RFC 7662 §2.2: `active`, and for an active token what it is.
#[derive(Object, Serialize, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct IntrospectionBody {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The person, for a token that acts for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
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
        WrittenJson<TokenBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    /// Client authentication failed.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// Too many failed attempts from this client or address; retry after the time given.
    #[oai(status = 429)]
    TooManyRequests(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "Retry-After")] String,
    ),
    /// `temporarily_unavailable`: the database could not be reached; retry.
    #[oai(status = 503)]
    Unavailable(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
}

/// Our own failure under an OAuth endpoint, logged; the client is told to retry.
fn unavailable(err: &Error) -> Json<OAuthErrorBody> {
    super::log_internal(err);
    Json(OAuthErrorBody {
        error: "temporarily_unavailable".into(),
        error_description: "The request could not be completed; retry".into(),
    })
}

impl From<Error> for TokenAnswer {
    fn from(err: Error) -> Self {
        TokenAnswer::Unavailable(unavailable(&err), NO_STORE, NO_CACHE)
    }
}

impl TokenAnswer {
    pub fn issued(body: TokenBody) -> TokenAnswer {
        let written = WrittenJson::from_bytes(written_token(&body));
        TokenAnswer::Issued(written, NO_STORE, NO_CACHE)
    }
}

/// A token answer, written as its `Serialize` writes it. Its tokens are token68, which JSON
/// takes as they are, and serde_json would look at each of an access token's 600 bytes for
/// something to escape (a sixtieth of a token's instructions).
fn written_token(body: &TokenBody) -> Vec<u8> {
    let plain = |token: &str| is_token68(token.as_bytes());
    if !plain(&body.access_token) || !body.refresh_token.as_deref().is_none_or(plain) {
        return serialized_bytes(body);
    }
    let mut out = Vec::with_capacity(768);
    out.extend_from_slice(b"{\"access_token\":\"");
    out.extend_from_slice(body.access_token.as_bytes());
    // Into memory, a string or a number cannot fail to serialize.
    out.extend_from_slice(b"\",\"token_type\":");
    let _ = serde_json::to_writer(&mut out, &body.token_type);
    out.extend_from_slice(b",\"expires_in\":");
    let _ = serde_json::to_writer(&mut out, &body.expires_in);
    out.extend_from_slice(b",\"scope\":");
    let _ = serde_json::to_writer(&mut out, &body.scope);
    if let Some(refresh_token) = &body.refresh_token {
        out.extend_from_slice(b",\"refresh_token\":\"");
        out.extend_from_slice(refresh_token.as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
    out
}

/// An OAuth error sorted by the answer it needs.
enum Parts {
    /// 400
    Bad(Json<OAuthErrorBody>),
    /// 401, with `WWW-Authenticate: Basic` when the client tried Basic.
    Unauthorized(Json<OAuthErrorBody>, Option<String>),
    /// 429, with `Retry-After`.
    TooMany(Json<OAuthErrorBody>, String),
}

fn error_parts(err: OAuthError) -> Parts {
    let status = err.status();
    let challenge = err
        .basic_challenge
        .then(|| r#"Basic realm="flowgate""#.to_owned());
    let retry_after = err.retry_after.unwrap_or(1).to_string();
    let body = Json(OAuthErrorBody {
        error: err.code.to_owned(),
        error_description: err.description,
    });
    match status {
        429 => Parts::TooMany(body, retry_after),
        401 => Parts::Unauthorized(body, challenge),
        _ => Parts::Bad(body),
    }
}

impl From<OAuthError> for TokenAnswer {
    fn from(err: OAuthError) -> Self {
        match error_parts(err) {
            Parts::Unauthorized(body, challenge) => {
                TokenAnswer::Unauthorized(body, NO_STORE, NO_CACHE, challenge)
            }
            Parts::TooMany(body, wait) => {
                TokenAnswer::TooManyRequests(body, NO_STORE, NO_CACHE, wait)
            }
            Parts::Bad(body) => TokenAnswer::BadRequest(body, NO_STORE, NO_CACHE),
        }
    }
}

#[derive(ApiResponse)]
pub enum RevokeAnswer {
    /// Revoked, or nothing to revoke (RFC 7009 §2.2).
    #[oai(status = 200)]
    Done(
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// Too many failed attempts from this client or address.
    #[oai(status = 429)]
    TooManyRequests(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "Retry-After")] String,
    ),
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>),
}

impl RevokeAnswer {
    pub fn done() -> RevokeAnswer {
        RevokeAnswer::Done(NO_STORE, NO_CACHE)
    }
}

impl From<OAuthError> for RevokeAnswer {
    fn from(err: OAuthError) -> Self {
        match error_parts(err) {
            Parts::Unauthorized(body, challenge) => {
                RevokeAnswer::Unauthorized(body, NO_STORE, NO_CACHE, challenge)
            }
            Parts::TooMany(body, wait) => {
                RevokeAnswer::TooManyRequests(body, NO_STORE, NO_CACHE, wait)
            }
            Parts::Bad(body) => RevokeAnswer::BadRequest(body, NO_STORE, NO_CACHE),
        }
    }
}

/// A failure of ours under an OAuth endpoint (the database, say): `temporarily_unavailable`.
impl From<Error> for RevokeAnswer {
    fn from(err: Error) -> Self {
        RevokeAnswer::Unavailable(unavailable(&err))
    }
}

#[derive(ApiResponse)]
pub enum IntrospectAnswer {
    /// What the token is, or `{"active": false}`.
    #[oai(status = 200)]
    Done(
        DirectJson<IntrospectionBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
    ),
    /// Client authentication failed (introspection is for confidential clients).
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// Too many failed attempts from this client or address.
    #[oai(status = 429)]
    TooManyRequests(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] FixedHeader,
        #[oai(header = "Pragma")] FixedHeader,
        #[oai(header = "Retry-After")] String,
    ),
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>),
}

impl IntrospectAnswer {
    pub fn done(body: IntrospectionBody) -> IntrospectAnswer {
        IntrospectAnswer::Done(DirectJson(body), NO_STORE, NO_CACHE)
    }
}

impl From<OAuthError> for IntrospectAnswer {
    fn from(err: OAuthError) -> Self {
        match error_parts(err) {
            Parts::Unauthorized(body, challenge) => {
                IntrospectAnswer::Unauthorized(body, NO_STORE, NO_CACHE, challenge)
            }
            Parts::TooMany(body, wait) => {
                IntrospectAnswer::TooManyRequests(body, NO_STORE, NO_CACHE, wait)
            }
            Parts::Bad(body) => IntrospectAnswer::BadRequest(body, NO_STORE, NO_CACHE),
        }
    }
}

impl From<Error> for IntrospectAnswer {
    fn from(err: Error) -> Self {
        IntrospectAnswer::Unavailable(unavailable(&err))
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    /// The bodies sent straight from serde are what the documented schema renders, field for
    /// field and in the same order.
    #[test]
    fn direct_bodies_match_their_schema() {
        let token = |refresh_token: Option<&str>| TokenBody {
            access_token: "a.b.c".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            scope: "read \"write\"".into(),
            refresh_token: refresh_token.map(str::to_owned),
        };
        for body in [token(None), token(Some("r1"))] {
            let direct = serde_json::to_string(&body).unwrap();
            assert_eq!(direct, body.to_json().unwrap().to_string());
            assert_eq!(written_token(&body), direct.as_bytes(), "written by hand");
        }
        // Every token68 character is one JSON takes as it is.
        let mut body = token(Some("r-1_~+/="));
        body.access_token = "a.b-c_~+/=".into();
        let direct = serde_json::to_string(&body).unwrap();
        assert_eq!(written_token(&body), direct.as_bytes(), "token68 by hand");
        // Not a token as issued (escapes needed): serde_json writes it.
        for odd in ["a\"b", "a\\b", "é"] {
            let mut body = token(Some("r1"));
            body.access_token = odd.into();
            let direct = serde_json::to_string(&body).unwrap();
            assert_eq!(written_token(&body), direct.as_bytes(), "{odd}");
            let mut body = token(Some(odd));
            body.access_token = "a.b.c".into();
            let direct = serde_json::to_string(&body).unwrap();
            assert_eq!(written_token(&body), direct.as_bytes(), "{odd}");
        }
        let active = IntrospectionBody {
            active: true,
            scope: Some("read".into()),
            client_id: Some("c1".into()),
            username: Some("ann".into()),
            token_type: Some("Bearer".into()),
            exp: Some(2),
            iat: Some(1),
            sub: Some("c1".into()),
            aud: Some("https://gw.example".into()),
            iss: Some("https://gw.example".into()),
            jti: Some("j1".into()),
        };
        for body in [active, IntrospectionBody::default()] {
            let direct = serde_json::to_string(&body).unwrap();
            assert_eq!(direct, body.to_json().unwrap().to_string());
        }
    }
}
