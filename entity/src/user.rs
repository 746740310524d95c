use sea_orm::entity::prelude::*;

/// A person who logs in. `user_id` is the stable subject (`sub`) of their delegated tokens;
/// `username_key` is the lowercased username, unique. The password is an Argon2id PHC string.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub user_id: String,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    pub password_hash: String,
    pub enabled: bool,
    pub is_admin: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
