//! `/v1/admin/users`: people who log in at `/login` and let apps act for them. Create, list,
//! show, enable/disable, reset a password, grant and revoke roles, make an admin of the console.
//! Every change is audited and visible at once; a person is addressed by user id or username.

use super::text::Text;
use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::clients::RoleChange;
use crate::answers::admin::ApiResult;
use crate::api::paging::{Collection, Paging};
use crate::api::{BearerAuth, Tag};
use crate::services::App;
use crate::services::clients::parse_roles;
use crate::services::users::{self, NewUser, UserView};

/// A person (never their password).
#[derive(Object, Clone)]
pub struct User {
    /// The stable id, the `sub` of the tokens issued for them.
    pub user_id: String,
    /// Unique without regard to case.
    pub username: String,
    /// A disabled person cannot log in and their delegated tokens stop working.
    pub enabled: bool,
    /// An admin of the HTML console.
    pub admin: bool,
    /// The roles apps may act with for them.
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UserView> for User {
    fn from(v: UserView) -> Self {
        User {
            user_id: v.user_id,
            username: v.username,
            enabled: v.enabled,
            admin: v.is_admin,
            roles: v.roles,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct CreateUser {
    /// 1 to 64 letters, digits, dots, underscores, hyphens or `@`.
    pub username: Text,
    /// 8 to 1024 characters, no control characters; stored as an Argon2id hash.
    #[oai(validator(min_length = 8, max_length = 1024))]
    pub password: Text,
    /// Role names: `Read`, `Write`, `Messages`, `Admin`.
    #[oai(default)]
    pub roles: Vec<String>,
    /// An admin of the HTML console.
    #[oai(default)]
    pub admin: bool,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewPassword {
    /// 8 to 1024 characters, no control characters.
    #[oai(validator(min_length = 8, max_length = 1024))]
    pub password: Text,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct AdminFlag {
    /// Whether the person is an admin of the HTML console.
    pub admin: bool,
}

#[derive(Object)]
pub struct UserAnswer {
    pub success: bool,
    pub message: String,
    pub item: User,
}

#[derive(ApiResponse)]
pub enum UserCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserAnswer>),
}

fn answer(message: &str, view: UserView) -> Json<UserAnswer> {
    Json(UserAnswer {
        success: true,
        message: message.into(),
        item: view.into(),
    })
}

pub struct UsersApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin", prefix_path = "/v1/admin/users")]
impl UsersApi {
    /// List people.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. One page of people,
    /// oldest first, never with their passwords; `limit` (default 100, at most 1000) and
    /// `offset` page the list.
    #[oai(path = "/", method = "get", operation_id = "listUsers")]
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
    ) -> ApiResult<Json<Collection<User>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (views, total) = users::list(&self.app, paging).await?;
        let items = views.into_iter().map(User::from).collect();
        Ok(Json(Collection::page(
            items,
            total,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Create a person who can log in.
    ///
    /// Needs the Admin role (403 without it). The body needs `username` and `password`; 400 for
    /// a bad username, a password shorter than 8 characters, an unknown role or field, 409 for a
    /// username that is taken (without regard to case). Answers 201 with the person, never with
    /// the password.
    #[oai(path = "/", method = "post", operation_id = "createUser")]
    async fn create(&self, auth: BearerAuth, body: Json<CreateUser>) -> ApiResult<UserCreated> {
        let body = body.0;
        let new = NewUser {
            roles: parse_roles(&body.roles.join(","))?,
            username: body.username.into_inner(),
            password: body.password.into_inner(),
            is_admin: body.admin,
        };
        let view = users::create(&self.app, &auth.0.actor(), new).await?;
        Ok(UserCreated::Created(answer("user created", view)))
    }

    /// One person.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. `user` is the user id
    /// or the username; answers a collection of one person, 404 for an unknown one.
    #[oai(path = "/:user", method = "get", operation_id = "getUser")]
    async fn show(
        &self,
        _auth: BearerAuth,
        req: &Request,
        user: Path<String>,
    ) -> ApiResult<Json<Collection<User>>> {
        let view = users::show(&self.app, &user.0).await?;
        Ok(Json(Collection::one(
            view.into(),
            &self.app.public_url,
            req,
        )))
    }

    /// Enable a person.
    ///
    /// Needs the Admin role (403 without it). The person can log in again; answers the person,
    /// 404 for an unknown one.
    #[oai(path = "/:user/enable", method = "put", operation_id = "enableUser")]
    async fn enable(&self, auth: BearerAuth, user: Path<String>) -> ApiResult<Json<UserAnswer>> {
        let view = users::set_enabled(&self.app, &auth.0.actor(), &user.0, true).await?;
        Ok(answer("user enabled", view))
    }

    /// Disable a person; their sessions end and delegated tokens stop working at once.
    ///
    /// Needs the Admin role (403 without it). The person cannot log in until enabled again;
    /// answers the person, 404 for an unknown one, 409 for the last enabled admin.
    #[oai(path = "/:user/disable", method = "put", operation_id = "disableUser")]
    async fn disable(&self, auth: BearerAuth, user: Path<String>) -> ApiResult<Json<UserAnswer>> {
        let view = users::set_enabled(&self.app, &auth.0.actor(), &user.0, false).await?;
        Ok(answer("user disabled", view))
    }

    /// Set a new password; the person's sessions end.
    ///
    /// Needs the Admin role (403 without it). The body is `{password}` (8 to 1024 characters);
    /// answers the person, never the password. 400 for a password too short or too long, 404 for
    /// an unknown person.
    #[oai(
        path = "/:user/password",
        method = "post",
        operation_id = "resetUserPassword"
    )]
    async fn reset_password(
        &self,
        auth: BearerAuth,
        user: Path<String>,
        body: Json<NewPassword>,
    ) -> ApiResult<Json<UserAnswer>> {
        let view =
            users::reset_password(&self.app, &auth.0.actor(), &user.0, &body.0.password).await?;
        Ok(answer("password reset", view))
    }

    /// Grant roles.
    ///
    /// Needs the Admin role (403 without it). The body lists role names (`Read`, `Write`,
    /// `Messages`, `Admin`) to add; apps acting for the person may then ask for them. 400 for an
    /// unknown role, 404 for an unknown person.
    #[oai(
        path = "/:user/roles",
        method = "post",
        operation_id = "grantUserRoles"
    )]
    async fn grant(
        &self,
        auth: BearerAuth,
        user: Path<String>,
        body: Json<RoleChange>,
    ) -> ApiResult<Json<UserAnswer>> {
        let roles = parse_roles(&body.0.roles.join(","))?;
        let view = users::change_roles(&self.app, &auth.0.actor(), &user.0, roles, true).await?;
        Ok(answer("roles granted", view))
    }

    /// Revoke roles; delegated tokens lose them at once.
    ///
    /// Needs the Admin role (403 without it). The body lists role names to remove; answers the
    /// person. 400 for an unknown role, 404 for an unknown person.
    #[oai(
        path = "/:user/roles",
        method = "delete",
        operation_id = "revokeUserRoles"
    )]
    async fn revoke(
        &self,
        auth: BearerAuth,
        user: Path<String>,
        body: Json<RoleChange>,
    ) -> ApiResult<Json<UserAnswer>> {
        let roles = parse_roles(&body.0.roles.join(","))?;
        let view = users::change_roles(&self.app, &auth.0.actor(), &user.0, roles, false).await?;
        Ok(answer("roles revoked", view))
    }

    /// Make a person an admin of the HTML console, or not.
    ///
    /// Needs the Admin role (403 without it). The body is `{admin: true|false}`; answers the
    /// person, 404 for an unknown one, 409 when it would leave no enabled admin.
    #[oai(path = "/:user/admin", method = "put", operation_id = "setUserAdmin")]
    async fn set_admin(
        &self,
        auth: BearerAuth,
        user: Path<String>,
        body: Json<AdminFlag>,
    ) -> ApiResult<Json<UserAnswer>> {
        let admin = body.0.admin;
        let view = users::set_admin(&self.app, &auth.0.actor(), &user.0, admin).await?;
        Ok(answer(
            if admin {
                "admin granted"
            } else {
                "admin removed"
            },
            view,
        ))
    }
}

impl poem_openapi::types::Example for CreateUser {
    fn example() -> Self {
        CreateUser {
            username: "jane.doe".into(),
            password: "correct horse battery staple".into(),
            roles: vec!["Read".into(), "Write".into()],
            admin: false,
        }
    }
}

impl poem_openapi::types::Example for NewPassword {
    fn example() -> Self {
        NewPassword {
            password: "a new, longer passphrase".into(),
        }
    }
}

impl poem_openapi::types::Example for AdminFlag {
    fn example() -> Self {
        AdminFlag { admin: true }
    }
}
