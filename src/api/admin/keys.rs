//! `/v1/admin/keys`: the signing keys.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::{App, keys};

/// A signing key (public information only).
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// Until when a retired key stays in the JWKS.
    pub publish_until: Option<i64>,
    pub active: bool,
}

#[derive(Object)]
pub struct KeyAnswer {
    pub success: bool,
    pub message: String,
    pub kid: String,
}

pub struct KeysApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin")]
impl KeysApi {
    /// Published signing keys, newest first.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. The active key comes
    /// first; a retired key is listed until `publish_until`. `limit` (default 100, at most 1000)
    /// and `offset` page the list.
    #[oai(
        path = "/v1/admin/keys",
        method = "get",
        operation_id = "listSigningKeys"
    )]
    async fn keys(
        &self,
        _auth: BearerAuth,
        req: &Request,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<SigningKey>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let items = keys::list(&self.app)
            .await?
            .into_iter()
            .map(|v| SigningKey {
                kid: v.kid,
                algorithm: v.algorithm.into(),
                created_at: v.created_at,
                retired_at: v.retired_at,
                publish_until: v.publish_until,
                active: v.active,
            })
            .collect();
        Ok(Json(Collection::from_all(
            items,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// A new signing key; the old one stays published until its last token expires.
    ///
    /// Needs the Admin role (403 without it). New tokens are signed with the new key, whose `kid`
    /// the answer gives; tokens already issued stay valid.
    #[oai(
        path = "/v1/admin/keys/rotate",
        method = "post",
        operation_id = "rotateSigningKey"
    )]
    async fn rotate_key(&self, auth: BearerAuth) -> ApiResult<Json<KeyAnswer>> {
        let kid = keys::rotate(&self.app, &auth.0.actor()).await?;
        Ok(Json(KeyAnswer {
            success: true,
            message: "signing key rotated".into(),
            kid,
        }))
    }
}
