use sea_orm::entity::prelude::*;

/// A refresh token (stored as its SHA-256) of a family that descends from one authorization.
/// Each use marks it used and issues the next; `access_jti` is the access token issued with it,
/// revoked with the family.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_pk: i64,
    pub scopes: String,
    pub access_jti: String,
    pub access_expires_at: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
