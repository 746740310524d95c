//! `/oauth/token`, `/oauth/revoke`, RFC 8414 metadata and the JWKS. The form body is read raw
//! and parsed strictly by [`crate::oauth`], so every failure is an RFC 6749 §5.2 answer (never a
//! framework error), with `Cache-Control: no-store` and `Pragma: no-cache` on all of them.

use std::sync::Arc;

use poem::Request;
use poem::http::header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use super::raw_body::RawForm;
use crate::oauth::OAuthError;
use crate::oauth::grants::{self, Refused, Revocation, TokenRequest};
use crate::state::AppState;
use crate::telemetry::METRICS;

const NO_STORE: &str = "no-store";
const NO_CACHE: &str = "no-cache";

/// The documented shape of a token request (`application/x-www-form-urlencoded`).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TokenForm {
    /// `client_credentials`
    pub grant_type: String,
    /// Space-separated roles to narrow the token to: `read write messages admin`.
    pub scope: Option<String>,
    /// For `client_secret_post`.
    pub client_id: Option<String>,
    /// For `client_secret_post`.
    pub client_secret: Option<String>,
}

/// The documented shape of a revocation request.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RevokeForm {
    pub token: String,
    /// `access_token` or `refresh_token`
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

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

/// The body of an OAuth error and, for `invalid_client`, its optional Basic challenge.
fn error_parts(err: OAuthError) -> (Json<OAuthErrorBody>, Option<Option<String>>) {
    let unauthorized = err.code == "invalid_client";
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

pub struct OAuthApi {
    pub state: Arc<AppState>,
}

impl OAuthApi {
    fn request<'a, D>(req: &'a Request, form: &'a RawForm<D>) -> TokenRequest<'a> {
        TokenRequest {
            authorization: req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            is_form: form.declared,
            body: &form.bytes,
        }
    }

    fn refused(&self, req: &Request, refused: Refused) -> OAuthError {
        METRICS.token_errors.inc();
        if refused.error.code == "invalid_client" {
            let who = refused.claimed_client.unwrap_or_else(|| "unknown".into());
            self.state.failures.report(
                format!("client:{who}"),
                "auth.client",
                format!("client authentication failed from {}", req.remote_addr()),
            );
        }
        refused.error
    }
}

#[OpenApi(tag = "Tag::Oauth")]
impl OAuthApi {
    /// Token endpoint (RFC 6749 §3.2): `client_credentials` with `client_secret_basic` or
    /// `client_secret_post`.
    #[oai(path = "/oauth/token", method = "post")]
    async fn token(&self, req: &Request, form: RawForm<TokenForm>) -> TokenAnswer {
        let view = self.state.view();
        let issuer = self.state.issuer_settings(crate::now());
        match grants::token(&**view, &issuer, &Self::request(req, &form)) {
            Ok(issued) => {
                METRICS.tokens_issued.inc();
                TokenAnswer::Issued(
                    Json(TokenBody {
                        access_token: issued.access_token,
                        token_type: "Bearer".into(),
                        expires_in: issued.expires_in,
                        scope: issued.scope,
                    }),
                    NO_STORE.into(),
                    NO_CACHE.into(),
                )
            }
            Err(refused) => self.refused(req, refused).into(),
        }
    }

    /// Token revocation (RFC 7009) for access tokens issued to the calling client.
    #[oai(path = "/oauth/revoke", method = "post")]
    async fn revoke(&self, req: &Request, form: RawForm<RevokeForm>) -> RevokeAnswer {
        let decision = {
            let view = self.state.view();
            grants::revoke(&**view, &Self::request(req, &form), crate::now())
        };
        match decision {
            Ok(Revocation::Nothing) => RevokeAnswer::Done(NO_STORE.into(), NO_CACHE.into()),
            Ok(Revocation::Revoke {
                jti,
                client_id,
                expires_at,
            }) => {
                let stored =
                    crate::store::revocations::revoke(&self.state.db, &jti, &client_id, expires_at)
                        .await;
                match stored.and(self.state.reload().await) {
                    Ok(()) => RevokeAnswer::Done(NO_STORE.into(), NO_CACHE.into()),
                    Err(err) => {
                        tracing::warn!(error = %err, "revocation failed");
                        RevokeAnswer::Unavailable(Json(OAuthErrorBody {
                            error: "temporarily_unavailable".into(),
                            error_description: "The revocation could not be stored; retry".into(),
                        }))
                    }
                }
            }
            Err(refused) => self.refused(req, refused).into(),
        }
    }

    /// Authorization server metadata (RFC 8414).
    #[oai(path = "/.well-known/oauth-authorization-server", method = "get")]
    async fn metadata(&self) -> Json<serde_json::Value> {
        let base = &self.state.public_url;
        Json(serde_json::json!({
            "issuer": self.state.issuer,
            "token_endpoint": format!("{base}/oauth/token"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["read", "write", "messages", "admin"],
            "service_documentation": format!("{base}/docs"),
        }))
    }

    /// The public keys that sign access tokens (RFC 7517).
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self) -> Json<serde_json::Value> {
        Json(self.state.view().keys.jwks().clone())
    }
}

impl poem_openapi::types::Example for TokenForm {
    fn example() -> Self {
        TokenForm {
            grant_type: "client_credentials".into(),
            scope: None,
            client_id: None,
            client_secret: None,
        }
    }
}

impl poem_openapi::types::Example for RevokeForm {
    fn example() -> Self {
        RevokeForm {
            token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln".into(),
            token_type_hint: Some("access_token".into()),
            client_id: None,
            client_secret: None,
        }
    }
}
