use sea_orm::entity::prelude::*;

/// A revoked access token, kept until it would have expired anyway.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub client_id: String,
    pub expires_at: i64,
    pub revoked_at: i64,
    /// The revocation counter when it was revoked: instances read the rows past what they saw.
    pub seq: i64,
}

impl ActiveModelBehavior for ActiveModel {}
