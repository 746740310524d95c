use sea_orm::entity::prelude::*;

/// An authorization code (stored as its SHA-256): single use, 60 seconds. `redirect_uri` is the
/// one sent to the authorization endpoint, if one was; `family_id` names the refresh-token
/// family its redemption starts, so that a second use can revoke it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub user_pk: i64,
    pub scopes: String,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
