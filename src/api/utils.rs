//! `/v1/utils/*` and `/v1/me`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::answers::admin::{ApiResult, Ping};
use crate::services::App;

#[derive(Object, Clone)]
pub struct RoleItem {
    pub role_name: String,
}

#[derive(Object)]
pub struct HeaderItem {
    pub name: String,
    pub value: String,
}

/// The request as the gateway saw it.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Cgi {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub remote_addr: String,
    /// Headers; credentials are redacted.
    pub headers: Vec<HeaderItem>,
    pub client_id: String,
    pub roles: Vec<String>,
}

/// Who the token belongs to.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Me {
    pub client_id: String,
    /// The token's subject: the person's id for delegated tokens, the client otherwise.
    pub sub: String,
    /// The person's username, for delegated tokens.
    pub user: Option<String>,
    /// Roles in force: those of the token that the client still holds.
    pub roles: Vec<String>,
    pub scope: String,
    /// Expiry of the token (Unix seconds).
    pub exp: i64,
}

const REDACTED_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

pub struct UtilsApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Utils")]
impl UtilsApi {
    /// Is the gateway up and does my token work? (any role)
    ///
    /// Any valid Bearer token with at least one role gets `{"status": "ok"}`; a missing, expired or
    /// revoked token gets 401.
    #[oai(path = "/v1/utils/ping", method = "get", operation_id = "ping")]
    async fn ping(&self, _auth: BearerAuth) -> ApiResult<Json<Ping>> {
        Ok(Json(Ping {
            status: "ok".into(),
        }))
    }

    /// The caller's roles.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Lists the roles in force
    /// for this token (those it carries that the client still holds) as `{role_name}` items;
    /// `limit` (default 100, at most 1000) and `offset` page the list.
    #[oai(path = "/v1/utils/roles", method = "get", operation_id = "listMyRoles")]
    async fn roles(
        &self,
        auth: BearerAuth,
        req: &Request,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> ApiResult<Json<Collection<RoleItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let all: Vec<RoleItem> = auth
            .0
            .roles
            .iter()
            .map(|r| RoleItem {
                role_name: r.name().into(),
            })
            .collect();
        Ok(Json(Collection::from_all(
            all,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// The request as the gateway saw it (credentials redacted).
    ///
    /// Needs the Admin role; without it the answer is an empty collection, not this object. Echoes
    /// the method, path, query, remote address and headers (`Authorization`, `Cookie` and
    /// `Proxy-Authorization` redacted), with the caller's client id and roles.
    #[oai(
        path = "/v1/utils/print_cgi",
        method = "get",
        operation_id = "printCgi"
    )]
    async fn print_cgi(&self, auth: BearerAuth, req: &Request) -> ApiResult<Json<Cgi>> {
        let headers = req
            .headers()
            .iter()
            .map(|(name, value)| HeaderItem {
                name: name.as_str().to_owned(),
                value: if REDACTED_HEADERS.contains(&name.as_str()) {
                    "[redacted]".into()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                },
            })
            .collect();
        Ok(Json(Cgi {
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            query: req.uri().query().map(str::to_owned),
            remote_addr: crate::caller::peer(req.remote_addr()),
            headers,
            client_id: auth.0.client_id().to_owned(),
            roles: auth.0.roles.names(),
        }))
    }

    /// Who the token belongs to: client, roles, scopes, user if any. (any role)
    ///
    /// Any valid Bearer token with at least one role. `roles` are those in force (the token's roles
    /// that the client still holds); `exp` is the token's expiry in Unix seconds.
    #[oai(path = "/v1/me", method = "get", operation_id = "getMe")]
    async fn me(&self, auth: BearerAuth) -> ApiResult<Json<Me>> {
        let caller = &auth.0;
        Ok(Json(Me {
            client_id: caller.client_id().to_owned(),
            sub: caller.sub().to_owned(),
            user: caller
                .person()
                .and_then(|sub| self.app.view().people.get(sub).map(|p| p.username.clone())),
            roles: caller.roles.names(),
            scope: caller.scopes().to_string(),
            exp: caller.exp(),
        }))
    }
}
