use sea_orm::entity::prelude::*;

/// A role granted to a person (`users.id` → `roles.name`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_pk: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
}

impl ActiveModelBehavior for ActiveModel {}
