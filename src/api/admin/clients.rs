//! `/v1/admin/clients`: create, list, show, update, enable/disable, delete, rotate the secret,
//! grant and revoke roles. Every change is audited and reloaded at once on this instance.

use super::text::Text;
use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Done;
use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::App;
use crate::services::clients::{self, ClientUpdate, ClientView, NewClient, parse_roles};

/// A client (never its secret).
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
    /// Confidential clients have a secret; public ones use PKCE.
    pub confidential: bool,
    pub enabled: bool,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ClientView> for Client {
    fn from(v: ClientView) -> Self {
        Client {
            client_id: v.client_id,
            name: v.name,
            description: v.description,
            redirect_uris: v.redirect_uris,
            support_email: v.support_email,
            support_uri: v.support_uri,
            owner: v.owner,
            confidential: v.confidential,
            enabled: v.enabled,
            roles: v.roles,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct CreateClient {
    pub name: Text,
    pub description: Option<Text>,
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    pub support_email: Option<Text>,
    pub support_uri: Option<Text>,
    pub owner: Option<Text>,
    /// Role names: `Read`, `Write`, `Messages`, `Admin`.
    #[oai(default)]
    pub roles: Vec<String>,
    /// A public client has no secret.
    #[oai(default)]
    pub public: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct UpdateClient {
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub redirect_uris: Option<Vec<String>>,
    pub support_email: Option<Text>,
    pub support_uri: Option<Text>,
    pub owner: Option<Text>,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct RoleChange {
    /// Role names.
    pub roles: Vec<String>,
}

/// A client with its new secret, which is shown this once.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClientWithSecret {
    #[oai(flatten)]
    pub client: Client,
    pub client_secret: Option<String>,
}

#[derive(Object)]
pub struct ClientAnswer {
    pub success: bool,
    pub message: String,
    pub item: Client,
}

#[derive(Object)]
pub struct SecretAnswer {
    pub success: bool,
    pub message: String,
    pub item: ClientWithSecret,
}

#[derive(ApiResponse)]
pub enum Created {
    /// Created; the secret is in the answer and nowhere else (not to be stored by caches).
    #[oai(status = 201)]
    Created(Json<SecretAnswer>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum Rotated {
    /// The new secret, in the answer and nowhere else (not to be stored by caches).
    #[oai(status = 200)]
    Rotated(Json<SecretAnswer>, #[oai(header = "Cache-Control")] String),
}

/// Answers that carry a secret must not be kept by any cache.
const NO_STORE: &str = "no-store";

fn answer(message: &str, view: ClientView) -> Json<ClientAnswer> {
    Json(ClientAnswer {
        success: true,
        message: message.into(),
        item: view.into(),
    })
}

pub struct ClientsApi {
    pub app: Arc<App>,
}

fn secret_answer(message: &str, created: clients::Created) -> Json<SecretAnswer> {
    Json(SecretAnswer {
        success: true,
        message: message.into(),
        item: ClientWithSecret {
            client: created.client.into(),
            client_secret: created.secret,
        },
    })
}

#[OpenApi(tag = "Tag::Admin", prefix_path = "/v1/admin/clients")]
impl ClientsApi {
    /// List clients.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. One page of clients,
    /// oldest first, never with their secrets; `limit` (default 100, at most 1000) and `offset`
    /// page the list.
    #[oai(path = "/", method = "get", operation_id = "listClients")]
    async fn list(
        &self,
        _auth: BearerAuth,
        req: &Request,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<Client>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (views, total) = clients::list(&self.app, paging).await?;
        let items = views.into_iter().map(Client::from).collect();
        Ok(Json(Collection::page(
            items,
            total,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Create a client; a confidential client's secret is shown once, in this answer.
    ///
    /// Needs the Admin role (403 without it). The body needs `name`; `roles` are `Read`, `Write`,
    /// `Messages`, `Admin`, and an unknown field, role, URL or e-mail address is refused with 400.
    /// Answers 201 with the client and, unless `public`, its `client_secret`, which cannot be read
    /// again.
    #[oai(path = "/", method = "post", operation_id = "createClient")]
    async fn create(&self, auth: BearerAuth, body: Json<CreateClient>) -> ApiResult<Created> {
        let body = body.0;
        let new = NewClient {
            roles: parse_roles(&body.roles.join(","))?,
            name: body.name.into_inner(),
            description: body.description.map(Text::into_inner),
            redirect_uris: body.redirect_uris,
            support_email: body.support_email.map(Text::into_inner),
            support_uri: body.support_uri.map(Text::into_inner),
            owner: body.owner.map(Text::into_inner),
            public: body.public,
        };
        let created = clients::create(&self.app, &auth.0.actor(), new).await?;
        Ok(Created::Created(
            secret_answer("client created", created),
            NO_STORE.into(),
        ))
    }

    /// One client.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Answers a collection of
    /// one client, never with its secret; 404 for an unknown client.
    #[oai(path = "/:client_id", method = "get", operation_id = "getClient")]
    async fn show(
        &self,
        _auth: BearerAuth,
        req: &Request,
        client_id: Path<String>,
    ) -> ApiResult<Json<Collection<Client>>> {
        let view = clients::show(&self.app, &client_id.0).await?;
        Ok(Json(Collection::one(
            view.into(),
            &self.app.public_url,
            req,
        )))
    }

    /// Change a client's descriptive fields.
    ///
    /// Needs the Admin role (403 without it). Only the fields sent change; roles, secret and the
    /// enabled state have their own operations. 400 for an invalid value or an unknown field, 404
    /// for an unknown client.
    #[oai(path = "/:client_id", method = "put", operation_id = "updateClient")]
    async fn update(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
        body: Json<UpdateClient>,
    ) -> ApiResult<Json<ClientAnswer>> {
        let body = body.0;
        let update = ClientUpdate {
            name: body.name.map(Text::into_inner),
            description: body.description.map(Text::into_inner),
            redirect_uris: body.redirect_uris,
            support_email: body.support_email.map(Text::into_inner),
            support_uri: body.support_uri.map(Text::into_inner),
            owner: body.owner.map(Text::into_inner),
        };
        let view = clients::update(&self.app, &auth.0.actor(), &client_id.0, update).await?;
        Ok(answer("client updated", view))
    }

    /// Delete a client; its tokens stop working at once.
    ///
    /// Needs the Admin role (403 without it). 404 for an unknown client.
    #[oai(path = "/:client_id", method = "delete", operation_id = "deleteClient")]
    async fn delete(&self, auth: BearerAuth, client_id: Path<String>) -> ApiResult<Json<Done>> {
        clients::delete(&self.app, &auth.0.actor(), &client_id.0).await?;
        Ok(Done::new("client deleted"))
    }

    /// Enable a client.
    ///
    /// Needs the Admin role (403 without it). The client can get tokens again; answers the client,
    /// 404 for an unknown client.
    #[oai(
        path = "/:client_id/enable",
        method = "put",
        operation_id = "enableClient"
    )]
    async fn enable(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
    ) -> ApiResult<Json<ClientAnswer>> {
        let view = clients::set_enabled(&self.app, &auth.0.actor(), &client_id.0, true).await?;
        Ok(answer("client enabled", view))
    }

    /// Disable a client; its tokens stop working at once.
    ///
    /// Needs the Admin role (403 without it). The client gets no tokens until enabled again;
    /// answers the client, 404 for an unknown client.
    #[oai(
        path = "/:client_id/disable",
        method = "put",
        operation_id = "disableClient"
    )]
    async fn disable(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
    ) -> ApiResult<Json<ClientAnswer>> {
        let view = clients::set_enabled(&self.app, &auth.0.actor(), &client_id.0, false).await?;
        Ok(answer("client disabled", view))
    }

    /// A new secret (shown once); the old one stops working.
    ///
    /// Needs the Admin role (403 without it). Answers the client with its new `client_secret`,
    /// which cannot be read again. With `revoke_tokens=true`, every token issued to the client
    /// until now stops working too (access tokens at once on every instance, refresh tokens
    /// revoked). 400 for a public client (it has no secret), 404 for an unknown client.
    #[oai(
        path = "/:client_id/secret",
        method = "post",
        operation_id = "rotateClientSecret"
    )]
    async fn rotate_secret(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
        /// Also revoke every token issued to the client until now (default `false`).
        revoke_tokens: Query<Option<bool>>,
    ) -> ApiResult<Rotated> {
        let revoke = revoke_tokens.0.unwrap_or(false);
        let actor = auth.0.actor();
        let rotated = clients::rotate_secret(&self.app, &actor, &client_id.0, revoke).await?;
        Ok(Rotated::Rotated(
            secret_answer("secret rotated", rotated),
            NO_STORE.into(),
        ))
    }

    /// Grant roles.
    ///
    /// Needs the Admin role (403 without it). The body lists role names (`Read`, `Write`,
    /// `Messages`, `Admin`) to add; tokens issued before keep the roles they had. 400 for an
    /// unknown role, 404 for an unknown client.
    #[oai(
        path = "/:client_id/roles",
        method = "post",
        operation_id = "grantClientRoles"
    )]
    async fn grant(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
        body: Json<RoleChange>,
    ) -> ApiResult<Json<ClientAnswer>> {
        let roles = parse_roles(&body.0.roles.join(","))?;
        let view =
            clients::change_roles(&self.app, &auth.0.actor(), &client_id.0, roles, true).await?;
        Ok(answer("roles granted", view))
    }

    /// Revoke roles; tokens already issued lose them at once.
    ///
    /// Needs the Admin role (403 without it). The body lists role names to remove; answers the
    /// client. 400 for an unknown role, 404 for an unknown client.
    #[oai(
        path = "/:client_id/roles",
        method = "delete",
        operation_id = "revokeClientRoles"
    )]
    async fn revoke(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
        body: Json<RoleChange>,
    ) -> ApiResult<Json<ClientAnswer>> {
        let roles = parse_roles(&body.0.roles.join(","))?;
        let view =
            clients::change_roles(&self.app, &auth.0.actor(), &client_id.0, roles, false).await?;
        Ok(answer("roles revoked", view))
    }
}

impl poem_openapi::types::Example for CreateClient {
    fn example() -> Self {
        CreateClient {
            name: "ERP connector".into(),
            description: Some("Starts orders and sends payments".into()),
            redirect_uris: vec!["https://erp.example.com/callback".into()],
            support_email: Some("ops@erp.example.com".into()),
            support_uri: None,
            owner: Some("Finance IT".into()),
            roles: vec!["Read".into(), "Write".into()],
            public: false,
        }
    }
}

impl poem_openapi::types::Example for UpdateClient {
    fn example() -> Self {
        UpdateClient {
            name: Some("ERP connector (production)".into()),
            description: None,
            redirect_uris: None,
            support_email: None,
            support_uri: None,
            owner: None,
        }
    }
}

impl poem_openapi::types::Example for RoleChange {
    fn example() -> Self {
        RoleChange {
            roles: vec!["Messages".into()],
        }
    }
}
