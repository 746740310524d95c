use sea_orm::entity::prelude::*;

/// An Ed25519 signing key. The newest key without `retired_at` signs; retired keys stay
/// published in the JWKS until `publish_until`, when the last token they signed has expired.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// The 32-byte Ed25519 seed.
    pub private_key: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
