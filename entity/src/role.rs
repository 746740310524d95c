use sea_orm::entity::prelude::*;

/// A role a token can carry (`Read`, `Write`, `Messages`, `Admin`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub description: String,
}

impl ActiveModelBehavior for ActiveModel {}
