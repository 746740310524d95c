//! The HTTP API: thin poem-openapi services over the domain. Answers share one error type and
//! the collection envelope of Flows for APEX.

pub mod admin;
pub mod admin_clients;
pub mod admin_diagrams;
pub mod flows;
pub mod health;
pub mod oauth;
pub mod paging;
pub mod process_actions;
pub mod processes;
pub mod raw_body;
pub mod utils;

use std::sync::Arc;

use poem::{Request, RequestBody};
use poem_openapi::payload::Json;
use poem_openapi::registry::{
    MetaOAuthFlow, MetaOAuthFlows, MetaOAuthScope, MetaSecurityScheme, Registry,
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object, OpenApiService, Tags,
};

use crate::gate::Caller;
use crate::roles::Role;
use crate::state::AppState;

#[derive(Tags)]
pub enum Tag {
    /// BPMN diagrams
    #[oai(rename = "diagrams")]
    Diagrams,
    /// Process instances
    #[oai(rename = "processes")]
    Processes,
    /// Process variables
    #[oai(rename = "process variables")]
    ProcessVariables,
    /// Steps (subflows) and their actions
    #[oai(rename = "steps")]
    Steps,
    /// BPMN messages and subscriptions
    #[oai(rename = "messages")]
    Messages,
    /// Utilities
    #[oai(rename = "utils")]
    Utils,
    /// Management of clients, policy, signing keys, diagrams and the audit log
    #[oai(rename = "admin")]
    Admin,
    /// OAuth 2.0 authorization server
    #[oai(rename = "oauth")]
    Oauth,
    /// Liveness, readiness and metrics
    #[oai(rename = "health")]
    Health,
}

/// Every service, for the server and for the OpenAPI document.
pub type Services = (
    oauth::OAuthApi,
    processes::ProcessApi,
    process_actions::ActionsApi,
    utils::UtilsApi,
    admin_clients::ClientsApi,
    admin::AdminApi,
    admin_diagrams::DiagramsAdminApi,
    health::HealthApi,
);

pub fn services(state: &Arc<AppState>) -> Services {
    let state = || Arc::clone(state);
    (
        oauth::OAuthApi { state: state() },
        processes::ProcessApi { state: state() },
        process_actions::ActionsApi { state: state() },
        utils::UtilsApi { state: state() },
        admin_clients::ClientsApi { state: state() },
        admin::AdminApi { state: state() },
        admin_diagrams::DiagramsAdminApi { state: state() },
        health::HealthApi { state: state() },
    )
}

/// The OpenAPI service around the API.
pub fn openapi(services: Services, server_url: &str) -> OpenApiService<Services, ()> {
    OpenApiService::new(services, "flowgate", env!("CARGO_PKG_VERSION"))
        .description(
            "Role-based API gateway and OAuth 2.0 authorization server for a Flows-for-APEX-style \
             process API. Get a token at `/oauth/token` (client_credentials); every `/v1/` call \
             needs it as `Authorization: Bearer`. Without the role a GET answers an empty \
             collection and other methods answer 403.",
        )
        .license("Apache-2.0")
        .server(server_url)
}

/// The server URL written into the committed document (`flowgate openapi`).
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// The OpenAPI document as JSON (or YAML), made from the code alone: no database, no server.
pub fn document(yaml: bool, server_url: &str) -> String {
    let service = openapi(services(&AppState::detached()), server_url);
    if yaml {
        service.spec_yaml()
    } else {
        service.spec()
    }
}

/// A Bearer access token. The gate has already checked it and left its caller in the request;
/// this documents the scheme and hands the caller over without parsing the header again.
pub struct BearerAuth(pub Arc<Caller>);

impl<'a> ApiExtractor<'a> for BearerAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        let flow = |token_url| MetaOAuthFlow {
            authorization_url: None,
            token_url: Some(token_url),
            refresh_url: None,
            scopes: Role::ALL
                .into_iter()
                .map(|role| MetaOAuthScope {
                    name: role.scope(),
                    description: Some(role.description()),
                })
                .collect(),
        };
        registry.create_security_scheme(
            "OAuth2",
            MetaSecurityScheme {
                ty: "oauth2",
                description: Some("client_credentials with HTTP Basic or form-posted secrets; scopes narrow the roles"),
                name: None,
                key_in: None,
                scheme: None,
                bearer_format: None,
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: None,
                    client_credentials: Some(flow("/oauth/token")),
                    authorization_code: None,
                }),
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            "BearerAuth",
            MetaSecurityScheme {
                ty: "http",
                description: Some("An access token from /oauth/token"),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["OAuth2", "BearerAuth"]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Only reachable without a caller if the gate was bypassed: refuse like the gate would.
        req.extensions()
            .get::<Arc<Caller>>()
            .cloned()
            .map(BearerAuth)
            .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::UNAUTHORIZED))
    }
}

/// `{"success": false, "message": …}`
#[derive(Object)]
pub struct Failure {
    pub success: bool,
    pub message: String,
}

/// `{"success": true, "message": …}`
#[derive(Object)]
pub struct Done {
    pub success: bool,
    pub message: String,
}

impl Done {
    pub fn new(message: &str) -> Json<Done> {
        Json(Done {
            success: true,
            message: message.to_owned(),
        })
    }
}

#[derive(ApiResponse)]
pub enum ApiError {
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

fn failure(message: impl Into<String>) -> Json<Failure> {
    Json(Failure {
        success: false,
        message: message.into(),
    })
}

impl From<crate::Error> for ApiError {
    fn from(err: crate::Error) -> Self {
        use crate::Error;
        match err {
            Error::Invalid(m) => ApiError::BadRequest(failure(m)),
            Error::NotFound(m) => ApiError::NotFound(failure(m)),
            Error::Conflict(m) => ApiError::Conflict(failure(m)),
            Error::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                ApiError::Unavailable(failure("Service temporarily unavailable"))
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::Internal(failure("Internal error"))
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
