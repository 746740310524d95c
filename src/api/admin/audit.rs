//! `/v1/admin/audit`: the audit log.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::audit::AuditFilter;
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
    /// How many times it happened: repeated failures of one actor, action and detail within a
    /// minute are one row.
    pub count: i64,
}

pub struct AuditApi {
    pub app: Arc<App>,
}

// One handler argument per documented query parameter.
#[allow(clippy::too_many_arguments)]
#[OpenApi(tag = "Tag::Admin")]
impl AuditApi {
    /// The audit log, newest first.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Changes to clients,
    /// policy, keys and diagrams, deleted instances, revoked tokens and failed authentications,
    /// with `at` in Unix seconds and `count` (repeated failures within a minute are one row).
    /// Filters: `actor` (part of it, any case), `action` (exactly), `success`. `limit` (default
    /// 100, at most 1000) and `offset` page the list.
    #[oai(
        path = "/v1/admin/audit",
        method = "get",
        operation_id = "listAuditEntries"
    )]
    async fn audit(
        &self,
        _auth: BearerAuth,
        req: &Request,
        /// Part of the actor, without regard to case (`remote:`, `client:…`).
        actor: Query<Option<String>>,
        /// The action, exactly (`client.create`, `auth.client`).
        action: Query<Option<String>>,
        /// `true` for changes, `false` for failures.
        success: Query<Option<bool>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<AuditRow>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let filter = AuditFilter {
            actor: actor
                .0
                .map(|a| a.trim().chars().take(200).collect::<String>())
                .filter(|a| !a.is_empty()),
            action: action.0.filter(|a| !a.is_empty()),
            success: success.0,
        };
        let (entries, total) = audit::search(&self.app, &filter, paging).await?;
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
                count: e.count,
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
