//! `/oauth/token`, `/oauth/revoke`, RFC 8414 metadata and the JWKS. The form body is read raw
//! and parsed strictly by [`crate::oauth`], so every failure is an RFC 6749 §5.2 answer (never a
//! framework error), rendered by [`crate::answers::oauth`].

use std::sync::Arc;

use poem::Request;
use poem::http::header;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::Tag;
use super::raw_body::RawForm;
use crate::answers::oauth::{
    IntrospectAnswer, IntrospectionBody, RevokeAnswer, TokenAnswer, TokenBody,
};
use crate::oauth::OAuthError;
use crate::oauth::grants::{Refused, TokenRequest};
use crate::services::App;
use crate::services::delegation::GrantFailed;
use crate::services::tokens::{self, RevokeFailed};
use crate::telemetry::METRICS;

/// The documented shape of a token request (`application/x-www-form-urlencoded`).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TokenForm {
    /// `client_credentials`, `authorization_code` or `refresh_token`
    pub grant_type: String,
    /// Space-separated roles to narrow the token to: `read write messages admin`.
    pub scope: Option<String>,
    /// For `client_secret_post`, and for public clients.
    pub client_id: Option<String>,
    /// For `client_secret_post`.
    pub client_secret: Option<String>,
    /// `authorization_code`: the code from the authorization endpoint.
    pub code: Option<String>,
    /// `authorization_code`: the redirect URI the authorization request named, if it named one.
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636).
    pub code_verifier: Option<String>,
    /// `refresh_token`: the refresh token to use up.
    pub refresh_token: Option<String>,
}

/// The documented shape of an introspection request (RFC 7662).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct IntrospectForm {
    /// An empty value counts as absent (RFC 6749 §3.1).
    #[oai(validator(min_length = 1))]
    pub token: String,
    /// `access_token` or `refresh_token`
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The documented shape of a revocation request.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct RevokeForm {
    /// An empty value counts as absent (RFC 6749 §3.1).
    #[oai(validator(min_length = 1))]
    pub token: String,
    /// `access_token` or `refresh_token`
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

pub struct OAuthApi {
    pub app: Arc<App>,
}

impl OAuthApi {
    fn request<'a, D>(req: &'a Request, form: &'a RawForm<D>) -> TokenRequest<'a> {
        TokenRequest {
            address: req
                .remote_addr()
                .as_socket_addr()
                .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip()),
            authorization: req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            is_form: form.declared,
            body: &form.bytes,
        }
    }

    /// Counts the refusal and audits failed client authentication (and attempts refused while
    /// slowed down), as the address it came from: one row per address, client and minute, with
    /// a count. The claimed client is named only when it exists, so that made-up ids cannot
    /// multiply the rows.
    fn refused(&self, req: &Request, refused: Refused) -> OAuthError {
        METRICS.token_errors.inc();
        let detail = if refused.error.retry_after.is_some() {
            Some("client authentication refused: too many failures, slowed down".to_owned())
        } else if refused.error.code == "invalid_client" {
            Some(match refused.claimed_client {
                Some(id) if !refused.unknown_client => {
                    format!("client authentication failed for client:{id}")
                }
                Some(_) => "client authentication failed for an unknown client id".to_owned(),
                None => "client authentication failed: no credentials".to_owned(),
            })
        } else {
            None
        };
        if let Some(detail) = detail {
            let actor = crate::caller::remote_actor(req.remote_addr());
            self.app.failures.report(actor.0, "auth.client", detail);
        }
        refused.error
    }
}

#[OpenApi(tag = "Tag::Oauth")]
impl OAuthApi {
    /// Token endpoint (RFC 6749 §3.2).
    ///
    /// No Bearer token needed: the client authenticates with HTTP Basic (`client_secret_basic`)
    /// or with `client_id` and `client_secret` in the form (`client_secret_post`); a public client
    /// sends only its `client_id`. Grants: `client_credentials` (`scope`, space-separated
    /// `read write messages admin`, narrows the token to some of the client's roles),
    /// `authorization_code` (`code`, `redirect_uri`, `code_verifier`; single use, 60 s) and
    /// `refresh_token` (rotated: each answer carries the next one). Refusals are RFC 6749 §5.2
    /// errors: 401 `invalid_client`, otherwise 400 (`invalid_grant` for a used, expired or
    /// foreign code or refresh token, `invalid_scope`, `unsupported_grant_type`,
    /// `unauthorized_client` for a grant the client may not use or an app not approved).
    #[oai(path = "/oauth/token", method = "post", operation_id = "requestToken")]
    async fn token(&self, req: &Request, form: RawForm<TokenForm>) -> TokenAnswer {
        match tokens::issue(&self.app, &Self::request(req, &form)).await {
            Ok(issued) => {
                METRICS.tokens_issued.inc();
                TokenAnswer::issued(TokenBody {
                    access_token: issued.access_token,
                    token_type: "Bearer".into(),
                    expires_in: issued.expires_in,
                    scope: issued.scope,
                    refresh_token: issued.refresh_token,
                })
            }
            Err(GrantFailed::Refused(refused)) => self.refused(req, refused).into(),
            Err(GrantFailed::Failed(err)) => err.into(),
        }
    }

    /// Token revocation (RFC 7009) for tokens issued to the calling client.
    ///
    /// No Bearer token needed: the client authenticates as at `/oauth/token`, and may revoke only
    /// its own tokens (400 `unauthorized_client` otherwise). Revoking a refresh token revokes its
    /// whole family, with the access tokens issued from it. An unknown, malformed or expired token
    /// still answers 200 (RFC 7009 §2.2); a revoked token is refused by every instance within two
    /// seconds.
    #[oai(path = "/oauth/revoke", method = "post", operation_id = "revokeToken")]
    async fn revoke(&self, req: &Request, form: RawForm<RevokeForm>) -> RevokeAnswer {
        match tokens::revoke(&self.app, &Self::request(req, &form)).await {
            Ok(()) => RevokeAnswer::done(),
            Err(RevokeFailed::Refused(refused)) => self.refused(req, refused).into(),
            Err(RevokeFailed::Failed(err)) => err.into(),
        }
    }

    /// Token introspection (RFC 7662).
    ///
    /// For confidential clients (401 `invalid_client` otherwise): says whether an access or
    /// refresh token is active, and if so its scope, client, person (`username`, `sub`), expiry
    /// and type. A revoked, expired, foreign or malformed token is `{"active": false}`.
    #[oai(
        path = "/oauth/introspect",
        method = "post",
        operation_id = "introspectToken"
    )]
    async fn introspect(&self, req: &Request, form: RawForm<IntrospectForm>) -> IntrospectAnswer {
        match tokens::introspect(&self.app, &Self::request(req, &form)).await {
            Ok(Some(active)) => IntrospectAnswer::done(IntrospectionBody {
                active: true,
                scope: Some(active.scope),
                client_id: Some(active.client_id),
                username: active.username,
                token_type: Some(active.token_type.into()),
                exp: Some(active.exp),
                iat: Some(active.iat),
                sub: Some(active.sub),
                aud: active.aud,
                iss: active.iss,
                jti: active.jti,
            }),
            Ok(None) => IntrospectAnswer::done(IntrospectionBody::default()),
            Err(RevokeFailed::Refused(refused)) => self.refused(req, refused).into(),
            Err(RevokeFailed::Failed(err)) => err.into(),
        }
    }

    /// Authorization server metadata (RFC 8414).
    ///
    /// Public, no token needed. Names the issuer, the authorization, token, revocation,
    /// introspection and JWKS endpoints, the grants, PKCE (`S256`), the client authentication
    /// methods and the scopes.
    #[oai(
        path = "/.well-known/oauth-authorization-server",
        method = "get",
        operation_id = "getServerMetadata"
    )]
    async fn metadata(&self) -> Json<serde_json::Value> {
        let base = &self.app.public_url;
        Json(serde_json::json!({
            "issuer": self.app.issuer,
            "token_endpoint": format!("{base}/oauth/token"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["read", "write", "messages", "admin"],
            "service_documentation": format!("{base}/docs"),
        }))
    }

    /// The public keys that sign access tokens (RFC 7517).
    ///
    /// Public, no token needed. The Ed25519 keys that verify access tokens, by `kid`; a retired key
    /// stays here until the last token it signed has expired.
    #[oai(
        path = "/.well-known/jwks.json",
        method = "get",
        operation_id = "getJwks"
    )]
    async fn jwks(&self) -> Json<serde_json::Value> {
        Json(self.app.view().keys.jwks().clone())
    }
}

impl poem_openapi::types::Example for TokenForm {
    fn example() -> Self {
        TokenForm {
            grant_type: "client_credentials".into(),
            scope: None,
            client_id: None,
            client_secret: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
        }
    }
}

impl poem_openapi::types::Example for IntrospectForm {
    fn example() -> Self {
        IntrospectForm {
            token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln".into(),
            token_type_hint: Some("access_token".into()),
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
