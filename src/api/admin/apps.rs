//! `/v1/admin/apps`: developer apps that people registered in the portal. List them by status,
//! approve or reject them; an app gets no token and no consent page until approved.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::App;
use crate::services::apps::{self, AppView};

/// A developer app (never its secret).
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct DeveloperApp {
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Confidential apps have a secret; public ones use PKCE.
    pub confidential: bool,
    pub enabled: bool,
    /// The scopes it may ask people for.
    pub scopes: Vec<String>,
    /// The username of the person who registered it.
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<AppView> for DeveloperApp {
    fn from(v: AppView) -> Self {
        DeveloperApp {
            client_id: v.client_id,
            name: v.name,
            description: v.description,
            redirect_uris: v.redirect_uris,
            status: v.status,
            confidential: v.confidential,
            enabled: v.enabled,
            scopes: v.scopes,
            owner: v.owner,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Object)]
pub struct AppAnswer {
    pub success: bool,
    pub message: String,
    pub item: DeveloperApp,
}

fn answer(message: &str, view: AppView) -> Json<AppAnswer> {
    Json(AppAnswer {
        success: true,
        message: message.into(),
        item: view.into(),
    })
}

pub struct AppsApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin", prefix_path = "/v1/admin/apps")]
impl AppsApi {
    /// List developer apps.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. One page of the apps
    /// people registered, oldest first, optionally only those with `status` `pending`,
    /// `approved` or `rejected` (400 for another); `limit` and `offset` page the list.
    #[oai(path = "/", method = "get", operation_id = "listApps")]
    async fn list(
        &self,
        _auth: BearerAuth,
        req: &Request,
        /// Only apps with this status: `pending`, `approved` or `rejected`.
        status: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<DeveloperApp>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (views, total) = apps::list(&self.app, status.0.as_deref(), paging).await?;
        let items = views.into_iter().map(DeveloperApp::from).collect();
        Ok(Json(Collection::page(
            items,
            total,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Approve an app; people can then authorize it.
    ///
    /// Needs the Admin role (403 without it). The app gets consent pages and tokens from now on;
    /// answers the app, 404 for an unknown app (clients made by admins are not apps).
    #[oai(
        path = "/:client_id/approve",
        method = "put",
        operation_id = "approveApp"
    )]
    async fn approve(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
    ) -> ApiResult<Json<AppAnswer>> {
        let view = apps::decide(&self.app, &auth.0.actor(), &client_id.0, "approved").await?;
        Ok(answer("app approved", view))
    }

    /// Reject an app; it gets no consent page and no token.
    ///
    /// Needs the Admin role (403 without it). An approved app rejected later stops getting
    /// tokens; answers the app, 404 for an unknown app.
    #[oai(
        path = "/:client_id/reject",
        method = "put",
        operation_id = "rejectApp"
    )]
    async fn reject(
        &self,
        auth: BearerAuth,
        client_id: Path<String>,
    ) -> ApiResult<Json<AppAnswer>> {
        let view = apps::decide(&self.app, &auth.0.actor(), &client_id.0, "rejected").await?;
        Ok(answer("app rejected", view))
    }
}
