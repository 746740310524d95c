use sea_orm::entity::prelude::*;

/// One casbin `p` rule: `subject` (a role, or `*` for any role) may call `action` (HTTP method)
/// on `object` (a keyMatch2 path pattern).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subject: String,
    pub object: String,
    pub action: String,
}

impl ActiveModelBehavior for ActiveModel {}
