//! `/v1/admin/policy`, `/v1/admin/keys` and `/v1/admin/audit`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::paging::{Collection, Paging};
use super::{ApiResult, BearerAuth, Tag};
use crate::state::AppState;
use crate::store::audit::{self, Actor};
use crate::store::{keys, policy};

/// A casbin rule: `role` (or `*`, any role) may call `method` (or `*`) on `path`
/// (keyMatch2 pattern: `:param` segments, trailing `*`).
#[derive(Object, Clone)]
pub struct PolicyRule {
    #[oai(read_only)]
    pub id: i64,
    pub role: String,
    pub path: String,
    pub method: String,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewRule {
    pub role: String,
    pub path: String,
    pub method: String,
}

#[derive(Object)]
pub struct RuleAnswer {
    pub success: bool,
    pub message: String,
    pub item: PolicyRule,
}

#[derive(ApiResponse)]
pub enum RuleCreated {
    #[oai(status = 201)]
    Created(Json<RuleAnswer>),
}

impl From<policy::Rule> for PolicyRule {
    fn from(r: policy::Rule) -> Self {
        PolicyRule {
            id: r.id,
            role: r.role,
            path: r.path,
            method: r.method,
        }
    }
}

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

pub struct AdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// The casbin policy.
    #[oai(path = "/v1/admin/policy", method = "get")]
    async fn policy(
        &self,
        _auth: BearerAuth,
        req: &Request,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<Collection<PolicyRule>>> {
        let rules: Vec<PolicyRule> = policy::list(&self.state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let paging = Paging::new(limit.0, offset.0);
        Ok(Json(Collection::from_all(
            rules,
            paging,
            &self.state.public_url,
            req,
        )))
    }

    /// Add a rule; every instance applies it within two seconds.
    #[oai(path = "/v1/admin/policy", method = "post")]
    async fn add_rule(&self, auth: BearerAuth, body: Json<NewRule>) -> ApiResult<RuleCreated> {
        let actor = Actor::client(&auth.0.token.client_id);
        let rule =
            policy::add(&self.state.db, &actor, &body.role, &body.path, &body.method).await?;
        self.state.reload().await?;
        Ok(RuleCreated::Created(Json(RuleAnswer {
            success: true,
            message: "rule added".into(),
            item: rule.into(),
        })))
    }

    /// Remove a rule.
    #[oai(path = "/v1/admin/policy/:rule_id", method = "delete")]
    async fn remove_rule(
        &self,
        auth: BearerAuth,
        rule_id: Path<i64>,
    ) -> ApiResult<Json<RuleAnswer>> {
        let actor = Actor::client(&auth.0.token.client_id);
        let rule = policy::remove(&self.state.db, &actor, rule_id.0).await?;
        self.state.reload().await?;
        Ok(Json(RuleAnswer {
            success: true,
            message: "rule removed".into(),
            item: rule.into(),
        }))
    }

    /// Published signing keys, newest first.
    #[oai(path = "/v1/admin/keys", method = "get")]
    async fn keys(
        &self,
        _auth: BearerAuth,
        req: &Request,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<Collection<SigningKey>>> {
        let items: Vec<SigningKey> = keys::published(&self.state.db)
            .await?
            .iter()
            .map(|k| {
                let v = k.view();
                SigningKey {
                    kid: v.kid,
                    algorithm: v.algorithm.into(),
                    created_at: v.created_at,
                    retired_at: v.retired_at,
                    publish_until: v.publish_until,
                    active: v.active,
                }
            })
            .collect();
        let paging = Paging::new(limit.0, offset.0);
        Ok(Json(Collection::from_all(
            items,
            paging,
            &self.state.public_url,
            req,
        )))
    }

    /// A new signing key; the old one stays published until its last token expires.
    #[oai(path = "/v1/admin/keys/rotate", method = "post")]
    async fn rotate_key(&self, auth: BearerAuth) -> ApiResult<Json<KeyAnswer>> {
        let actor = Actor::client(&auth.0.token.client_id);
        let kid = keys::rotate(&self.state.db, &actor, self.state.config.access_token_ttl).await?;
        self.state.reload().await?;
        Ok(Json(KeyAnswer {
            success: true,
            message: "signing key rotated".into(),
            kid,
        }))
    }

    /// The audit log, newest first.
    #[oai(path = "/v1/admin/audit", method = "get")]
    async fn audit(
        &self,
        _auth: BearerAuth,
        req: &Request,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<Collection<AuditRow>>> {
        let paging = Paging::new(limit.0, offset.0);
        let (entries, total) = audit::list(&self.state.db, paging.limit, paging.offset).await?;
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
            &self.state.public_url,
            req,
        )))
    }
}

impl poem_openapi::types::Example for NewRule {
    fn example() -> Self {
        NewRule {
            role: "Read".into(),
            path: "/v1/utils/roles".into(),
            method: "GET".into(),
        }
    }
}
