//! The HTTP API: thin poem-openapi services, one module per resource, over the use cases in
//! [`crate::services`]. The process API speaks Flows for APEX's dialect ([`apex`], items in
//! [`dto`]); errors are answered by [`crate::answers`].

pub mod admin;
pub mod apex;
pub mod diagrams;
pub mod document;
pub mod dto;
pub mod flow_requests;
pub mod health;
pub mod instances;
pub mod messages;
pub mod oauth;
pub mod paging;
pub mod raw_body;
pub mod steps;
pub mod utils;
pub mod variables;

use std::sync::Arc;

use poem::{Request, RequestBody};
use poem_openapi::registry::{
    MetaOAuthFlow, MetaOAuthFlows, MetaOAuthScope, MetaSecurityScheme, Registry,
};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, OpenApiService, Tags};

use crate::caller::Caller;
use crate::roles::Role;
use crate::services::App;

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
    /// Flow requests: a client asks, a person confirms in the browser
    #[oai(rename = "flow requests")]
    FlowRequests,
    /// Management of clients, people, developer apps, policy, signing keys, diagrams and audit log
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
    (
        oauth::OAuthApi,
        diagrams::DiagramsApi,
        instances::InstancesApi,
        steps::StepsApi,
        variables::VariablesApi,
        messages::MessagesApi,
        flow_requests::FlowRequestsApi,
    ),
    (
        utils::UtilsApi,
        admin::clients::ClientsApi,
        admin::users::UsersApi,
        admin::apps::AppsApi,
        admin::policy::PolicyApi,
        admin::keys::KeysApi,
        admin::audit::AuditApi,
        admin::diagrams::DiagramsAdminApi,
        health::HealthApi,
    ),
);

pub fn services(app: &Arc<App>) -> Services {
    let app = || Arc::clone(app);
    (
        (
            oauth::OAuthApi { app: app() },
            diagrams::DiagramsApi { app: app() },
            instances::InstancesApi { app: app() },
            steps::StepsApi { app: app() },
            variables::VariablesApi { app: app() },
            messages::MessagesApi { app: app() },
            flow_requests::FlowRequestsApi { app: app() },
        ),
        (
            utils::UtilsApi { app: app() },
            admin::clients::ClientsApi { app: app() },
            admin::users::UsersApi { app: app() },
            admin::apps::AppsApi { app: app() },
            admin::policy::PolicyApi { app: app() },
            admin::keys::KeysApi { app: app() },
            admin::audit::AuditApi { app: app() },
            admin::diagrams::DiagramsAdminApi { app: app() },
            health::HealthApi { app: app() },
        ),
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
    let (json, yaml_text) = documents(&openapi(services(&App::detached(server_url)), server_url));
    if yaml { yaml_text } else { json }
}

/// The completed document of a service (see [`document::complete`]), as JSON and as YAML.
pub fn documents(service: &OpenApiService<Services, ()>) -> (String, String) {
    let json = document::complete(&service.spec());
    let yaml = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|value| serde_yaml::to_string(&value).ok())
        .unwrap_or_else(|| service.spec_yaml());
    (json, yaml)
}

/// A Bearer access token. The gate has already checked it and admitted its caller
/// ([`Caller::current`]); this documents the scheme and hands the caller over without parsing
/// the header again.
pub struct BearerAuth(pub Caller);

impl<'a> ApiExtractor<'a> for BearerAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        let flow = |authorization_url, refresh_url| MetaOAuthFlow {
            authorization_url,
            token_url: Some("/oauth/token"),
            refresh_url,
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
                description: Some(
                    "client_credentials with HTTP Basic or form-posted secrets, or the \
                     authorization code flow with PKCE (S256) for apps acting for people; \
                     scopes narrow the roles",
                ),
                name: None,
                key_in: None,
                scheme: None,
                bearer_format: None,
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: None,
                    client_credentials: Some(flow(None, None)),
                    authorization_code: Some(flow(Some("/oauth/authorize"), Some("/oauth/token"))),
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
        _req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Only reachable without a caller if the gate was bypassed: refuse like the gate would.
        Caller::current().map(BearerAuth).ok_or_else(|| {
            let refused =
                crate::answers::gate::unauthorized(crate::answers::gate::Refusal::Missing);
            poem::Error::from_response(refused)
        })
    }
}
