use sea_orm::entity::prelude::*;

/// Who did what, when: every management action and every failed authentication.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub success: bool,
    /// How many times it happened (repeated failures within a minute are one row).
    pub count: i64,
}

impl ActiveModelBehavior for ActiveModel {}
