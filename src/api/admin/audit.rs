//! `/v1/admin/audit`: the audit log.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::{App, audit};

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditRow {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub success: bool,
}

pub struct AuditApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin")]
impl AuditApi {
    /// The audit log, newest first.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Changes to clients,
    /// policy, keys and diagrams, deleted instances, revoked tokens and failed authentications,
    /// with `at` in Unix seconds; `limit` (default 100, at most 1000) and `offset` page the list.
    #[oai(
        path = "/v1/admin/audit",
        method = "get",
        operation_id = "listAuditEntries"
    )]
    async fn audit(
        &self,
        _auth: BearerAuth,
        req: &Request,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<Collection<AuditRow>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (entries, total) = audit::list(&self.app, paging).await?;
        let items = entries
            .into_iter()
            .map(|e| AuditRow {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
                success: e.success,
            })
            .collect();
        Ok(Json(Collection::page(
            items,
            total,
            paging,
            &self.app.public_url,
            req,
        )))
    }
}
