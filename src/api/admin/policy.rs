//! `/v1/admin/policy`: the casbin rules.

use super::text::Text;
use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::authz::Rule;
use crate::services::{App, policy};

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
    pub role: Text,
    pub path: Text,
    pub method: Text,
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

impl From<Rule> for PolicyRule {
    fn from(r: Rule) -> Self {
        PolicyRule {
            id: r.id,
            role: r.role,
            path: r.path,
            method: r.method,
        }
    }
}

fn answer(message: &str, rule: Rule) -> Json<RuleAnswer> {
    Json(RuleAnswer {
        success: true,
        message: message.into(),
        item: rule.into(),
    })
}

pub struct PolicyApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin")]
impl PolicyApi {
    /// The casbin policy.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Each rule lets `role`
    /// (`*`: any role) call `method` (`*`: any) on `path`, a keyMatch2 pattern; `limit` (default
    /// 100, at most 1000) and `offset` page the list.
    #[oai(
        path = "/v1/admin/policy",
        method = "get",
        operation_id = "listPolicyRules"
    )]
    async fn policy(
        &self,
        _auth: BearerAuth,
        req: &Request,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<PolicyRule>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let rules = policy::list(&self.app)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(Collection::from_all(
            rules,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Add a rule; every instance applies it within two seconds.
    ///
    /// Needs the Admin role (403 without it). The body is `{role, path, method}`; answers 201 with
    /// the rule and its `id`. 400 for an unknown role or method or a malformed path, 409 if the
    /// rule exists already.
    #[oai(
        path = "/v1/admin/policy",
        method = "post",
        operation_id = "addPolicyRule"
    )]
    async fn add_rule(&self, auth: BearerAuth, body: Json<NewRule>) -> ApiResult<RuleCreated> {
        let rule = policy::add(
            &self.app,
            &auth.0.actor(),
            &body.role,
            &body.path,
            &body.method,
        )
        .await?;
        Ok(RuleCreated::Created(answer("rule added", rule)))
    }

    /// Remove a rule.
    ///
    /// Needs the Admin role (403 without it). Answers the removed rule; every instance applies the
    /// change within two seconds. 404 for an unknown rule id.
    #[oai(
        path = "/v1/admin/policy/:rule_id",
        method = "delete",
        operation_id = "removePolicyRule"
    )]
    async fn remove_rule(
        &self,
        auth: BearerAuth,
        rule_id: Path<i64>,
    ) -> ApiResult<Json<RuleAnswer>> {
        let rule = policy::remove(&self.app, &auth.0.actor(), rule_id.0).await?;
        Ok(answer("rule removed", rule))
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
